"""The provider return workbook (``evalkit template --out return.xlsx``).

Sheets:

- **Instructions** — what each sheet is, who fills it, how to write dates,
  true/false and codes, and that identifiers must be pseudonymised;
- **Field guide** — every field: type, required, allowed values, meaning,
  example (the data contract);
- one sheet per table, header row only: bold headers (required ones
  highlighted), a note on each header with its meaning, and drop-down lists
  for codes and true/false (long lists point at the hidden **lists** sheet),
  whole-number and date checks;
- **lists** (hidden) — the allowed values from the VRU configuration.

By default every table is included: the six provider tables first, then the
partner tables (offences, comparison_pool, area_counts — police and health
data — and the VRU's interventions/area_rollout), whose sheet tabs are grey
and whose Instructions entry says who fills them. A provider leaves partner
sheets empty; an empty sheet is an empty table and validates clean. Pass
``tables=PROVIDER_TABLES`` for a provider-only workbook.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from evalkit.data.config import VRUConfig, load_config
from evalkit.data.contract import KIND_HELP, PROVIDER_TABLES, SUPPLIERS, TABLES, FieldSpec, allowed_values, table_spec
from evalkit.errors import SpecError
from evalkit.io_safe import text_cells, write_atomic

#: Rows given validation and formats (ample for a year's contacts of one provider).
TEMPLATE_ROWS = 20000
#: Excel limits an inline list to 255 characters; longer lists go to the lists sheet.
_INLINE_LIMIT = 255
LISTS_SHEET = "lists"
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_OPTIONAL_FILL = PatternFill("solid", fgColor="E2EFDA")
_PARTNER_TAB = "A6A6A6"
_PROVIDER_TAB = "70AD47"

_INSTRUCTIONS = [
    "How to fill in this workbook",
    "",
    "1. Fill one sheet per table, one row per record, starting in row 2. Do not rename sheets or headers.",
    "2. Required columns have an orange header and must be filled on every row; green columns are optional "
    "(leave the cell empty if not known).",
    "3. Dates: type them as dates (Excel date cells) or as YYYY-MM-DD, e.g. 2021-03-31.",
    "4. true/false columns: choose true or false from the drop-down (yes/no and 1/0 are also accepted).",
    "5. Codes: choose from the drop-down; the allowed values are in the Field guide sheet.",
    "6. Identifiers: person_id must be PSEUDONYMISED before the file leaves your organisation "
    "(`evalkit pseudonymise`). Never enter names, addresses, NHS numbers or PNC numbers.",
    "   Date of birth is asked because the evaluation needs each young person's age when referred (for the age "
    "range, the age bands and to match them with similar young people who were not referred); it stays in the "
    "VRU's secure store and never appears in any report, table or export, which show counts and ages in bands "
    "only.",
    "7. Hover over a header to see what the column means and an example.",
    "8. Check the file before sending: `evalkit validate <file>` lists every problem with its sheet, "
    "row and column.",
    "",
    "Sheets",
]


def _note(spec: FieldSpec, cfg: VRUConfig) -> str:
    parts = [spec.meaning_for(cfg), f"Type: {KIND_HELP[spec.kind]}.", "Required." if spec.required else "Optional."]
    values = allowed_values(spec, cfg)
    if values is not None:
        shown = ", ".join(values) if len(values) <= 12 else ", ".join(values[:12]) + ", … (see Field guide)"
        parts.append(f"Allowed: {shown}.")
    parts.append(f"Example: {spec.example_for(cfg)}")
    return "\n".join(parts)


class _Lists:
    """The hidden sheet of allowed values: one column per list, written once."""

    def __init__(self, wb: Workbook) -> None:
        self.ws = wb.create_sheet(LISTS_SHEET)
        self.ws.sheet_state = "hidden"
        self.ranges: dict[str, str] = {}

    def formula(self, key: str, values: list[str]) -> str:
        if key not in self.ranges:
            col = get_column_letter(len(self.ranges) + 1)
            self.ws[f"{col}1"] = key
            for i, v in enumerate(values, start=2):
                self.ws[f"{col}{i}"] = v
            self.ranges[key] = f"{quote_sheetname(LISTS_SHEET)}!${col}$2:${col}${len(values) + 1}"
        return self.ranges[key]


def _validation(spec: FieldSpec, cfg: VRUConfig, lists: _Lists) -> DataValidation | None:
    values = allowed_values(spec, cfg)
    msg = dict(showErrorMessage=True, errorTitle=f"Invalid {spec.name}", showInputMessage=False)
    if values is not None:
        inline = '"' + ",".join(values) + '"'
        # Excel splits inline lists on commas, so values containing commas must go to the lists sheet
        if len(inline) <= _INLINE_LIMIT and not any("," in v for v in values):
            formula = inline
        else:
            formula = lists.formula(spec.allowed or spec.name, values)
        return DataValidation(type="list", formula1=formula, allow_blank=True,
                              error=f"Choose a {spec.name} from the list.", **msg)
    if spec.kind == "bool":
        return DataValidation(type="list", formula1='"true,false"', allow_blank=True,
                              error="Choose true or false.", **msg)
    if spec.kind == "int":
        lo = int(spec.min) + (1 if spec.min_exclusive else 0) if spec.min is not None else -(10**9)
        hi = int(spec.max) if spec.max is not None else 10**9
        return DataValidation(type="whole", operator="between", formula1=str(lo), formula2=str(hi),
                              allow_blank=True, error=f"Enter a whole number from {lo} to {hi}.", **msg)
    if spec.kind == "float" and spec.min is not None:
        return DataValidation(type="decimal", operator="greaterThanOrEqual", formula1=f"{spec.min:g}",
                              allow_blank=True, error=f"Enter a number of at least {spec.min:g}.", **msg)
    if spec.kind == "date":
        # Excel stores dates as serial numbers: 1 = 1900-01-01, 73051 = 2099-12-31
        return DataValidation(type="date", operator="between", formula1="1", formula2="73051", allow_blank=True,
                              error="Enter a date (YYYY-MM-DD).", **msg)
    return None


def _table_sheet(wb: Workbook, name: str, cfg: VRUConfig, lists: _Lists) -> None:
    spec = TABLES[name]
    ws = wb.create_sheet(name)
    ws.sheet_properties.tabColor = _PROVIDER_TAB if spec.supplier == "provider" else _PARTNER_TAB
    for j, f in enumerate(spec.fields, start=1):
        cell = ws.cell(row=1, column=j, value=f.name)
        cell.font = Font(bold=True)
        cell.fill = _REQUIRED_FILL if f.required else _OPTIONAL_FILL
        cell.comment = Comment(_note(f, cfg), "evalkit", width=320, height=160)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(14, len(f.name) + 4)
        rng = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
        dv = _validation(f, cfg, lists)
        if dv is not None:
            dv.add(rng)
            ws.add_data_validation(dv)
        if f.kind == "date":
            ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
        elif f.kind in ("id", "text", "category"):
            ws.column_dimensions[letter].number_format = "@"  # keep "007" and "1" as text
    ws.freeze_panes = "A2"


def _instructions(wb: Workbook, names: Sequence[str], cfg: VRUConfig) -> None:
    ws = wb.active
    ws.title = "Instructions"
    lines = [f"{cfg.vru_name}: monitoring return"] + _INSTRUCTIONS
    for i, text in enumerate(lines, start=1):
        ws.cell(row=i, column=1, value=text)
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"].font = Font(bold=True)
    row = len(lines) + 1
    for j, head in enumerate(("sheet", "one row is", "filled by", "what it holds"), start=1):
        ws.cell(row=row, column=j, value=head).font = Font(bold=True)
    for name in names:
        spec = TABLES[name]
        row += 1
        for j, value in enumerate((name, spec.row_means, SUPPLIERS[spec.supplier], spec.description), start=1):
            ws.cell(row=row, column=j, value=value)
    ws.cell(row=row + 2, column=1, value=f"Template generated by evalkit on {dt.date.today().isoformat()}.")
    ws.column_dimensions["A"].width = 22
    for col in "BCD":
        ws.column_dimensions[col].width = 40
    for r in ws.iter_rows(min_row=3, max_row=len(lines)):
        r[0].alignment = Alignment(wrap_text=False)


def _field_guide(wb: Workbook, names: Sequence[str], cfg: VRUConfig) -> None:
    ws = wb.create_sheet("Field guide")
    heads = ("sheet", "field", "type", "required", "allowed values", "meaning", "example")
    for j, head in enumerate(heads, start=1):
        ws.cell(row=1, column=j, value=head).font = Font(bold=True)
    row = 1
    for name in names:
        for f in TABLES[name].fields:
            row += 1
            values = allowed_values(f, cfg)
            for j, v in enumerate((name, f.name, KIND_HELP[f.kind], "yes" if f.required else "no",
                                   ", ".join(values) if values else "", f.meaning_for(cfg),
                                   f.example_for(cfg)), start=1):
                ws.cell(row=row, column=j, value=v)
    for col, width in zip("ABCDEFG", (18, 26, 18, 9, 60, 70, 26)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"


def _no_formulas(wb: Workbook) -> None:
    """Every text cell stays text: openpyxl stores a value starting with '=' as a formula, so a code or a VRU
    name from the configuration that starts so (``=HYPERLINK(...)``) would run in Excel."""
    for ws in wb.worksheets:
        text_cells(ws)


def write_template(path: str | Path, *, tables: Sequence[str] | None = None, cfg: VRUConfig | None = None) -> Path:
    """Write the return workbook to ``path`` (atomically) and return the path.

    Parameters
    ----------
    tables
        Tables to include (default: all, provider tables first).
    cfg
        VRU configuration for the drop-down lists (default :func:`load_config`).
    """
    cfg = cfg or load_config()
    if tables is None:
        names = list(PROVIDER_TABLES) + [t for t in TABLES if t not in PROVIDER_TABLES]
    else:
        names = [table_spec(t).name for t in tables]
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise SpecError(f"{path}: the template is an Excel workbook, so its name must end in .xlsx. "
                        f"Fix: use --out {path.with_suffix('.xlsx')}.")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder. Fix: give a file name ending in .xlsx, e.g. {path / 'return.xlsx'}.")
    wb = Workbook()
    _instructions(wb, names, cfg)
    _field_guide(wb, names, cfg)
    lists = _Lists(wb)
    for name in names:
        _table_sheet(wb, name, cfg, lists)
    wb.move_sheet(LISTS_SHEET, offset=len(wb.sheetnames))  # hidden sheet last
    _no_formulas(wb)
    write_atomic(path, wb.save, private=False)  # a template is not sensitive: the usual permissions
    return path


__all__ = ["write_template", "TEMPLATE_ROWS", "LISTS_SHEET"]
