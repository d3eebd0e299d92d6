"""Build card_krueger.csv (long FTE panel) from David Card's ``public.dat``.

Source: Card & Krueger (1994) data set ``njmin`` (public.dat + codebook) from
David Card's data archive, as mirrored in github.com/rafiash/CardKrueger-stata-sample
(commit 07bc929f1d6552db117bd27a7cf0d881d16e9494, file public.dat). The data
were released by the authors for replication; we store only the columns used.

FTE employment = full-time + managers + 0.5 * part-time (the paper's
definition). Sheet 407 appears twice (one NJ, one PA store); as in the
Stata replication, the NJ one is renumbered 408 so store ids are unique.

Usage: python make_card_krueger.py path/to/public.dat
"""

import sys
from pathlib import Path

import pandas as pd

NAMES = ("sheet chain co_owned state southj centralj northj pa1 pa2 shore ncalls empft emppt nmgrs "
         "wage_st inctime firstinc bonus pctaff meals open hrsopen psoda pfry pentree nregs nregs11 "
         "type2 status2 date2 ncalls2 empft2 emppt2 nmgrs2 wage_st2 inctime2 firstin2 special2 meals2 "
         "open2r hrsopen2 psoda2 pfry2 pentree2 nregs2 nregs112").split()


def main(src: str) -> None:
    raw = pd.read_csv(src, sep=r"\s+", header=None, names=NAMES, na_values=".")
    assert raw.shape == (410, 46), raw.shape
    raw.loc[(raw.sheet == 407) & (raw.state == 1), "sheet"] = 408
    assert raw.sheet.is_unique
    rows = []
    for wave, sfx in ((0, ""), (1, "2")):
        fte = raw[f"empft{sfx}"] + raw[f"nmgrs{sfx}"] + 0.5 * raw[f"emppt{sfx}"]
        rows.append(pd.DataFrame({"store": raw.sheet, "nj": raw.state, "post": wave, "fte": fte.round(4),
                                  "status2": raw.status2}))
    out = pd.concat(rows, ignore_index=True).sort_values(["store", "post"])
    out.to_csv(Path(__file__).with_name("card_krueger.csv"), index=False)
    print(out.shape)


if __name__ == "__main__":
    main(sys.argv[1])
