"""Value for money: offences averted, costed with the Home Office unit costs of crime.

* :mod:`evalkit.value.costs` -- the unit-cost table with provenance and verification; inflation with a deflator.
* :mod:`evalkit.value.arithmetic` -- the monetisation arithmetic as small pure functions.
* :mod:`evalkit.value.mix` -- the comparison group's offence mix (what the averted offences would have been).
* :mod:`evalkit.value.vfm` -- benefit-cost ratio and net benefit with uncertainty by simulation; break-even effect.

See docs/value.md.
"""

from evalkit.value.arithmetic import (GREEN_BOOK_DISCOUNT_RATE, benefit_cost_ratio, break_even_effect,
                                      break_even_rate, cost_per_offence, horizon_factor, net_benefit,
                                      offences_averted_per_person)
from evalkit.value.costs import UnitCost, UnitCostTable, inflate, load_gdp_deflator, load_unit_costs, read_deflator
from evalkit.value.mix import OffenceMix, offence_group_mix
from evalkit.value.vfm import Range, ValueForMoney, break_even_for, value_for_money

__all__ = ["GREEN_BOOK_DISCOUNT_RATE", "benefit_cost_ratio", "break_even_effect", "break_even_rate",
           "cost_per_offence", "horizon_factor", "net_benefit", "offences_averted_per_person", "UnitCost",
           "UnitCostTable", "inflate", "load_gdp_deflator", "load_unit_costs", "read_deflator", "OffenceMix", "offence_group_mix",
           "Range", "ValueForMoney", "break_even_for", "value_for_money"]
