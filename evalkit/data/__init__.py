"""Data: the contract, validation, the embedded store and pseudonymisation.

Public API (imported lazily, so ``import evalkit.data`` stays cheap)::

    load_config(path=None) -> VRUConfig                      # evalkit.data.config
    TABLES, table_spec(name), render_contract_markdown()     # evalkit.data.contract
    schema_for(table, cfg=None) -> pandera DataFrameSchema   # evalkit.data.schemas
    validate_file(path, *, table=None, max_problems=200, cfg=None) -> list[Problem]
    validate_files(paths, ...) -> list[Problem]              # references checked across files
    read_valid(path, *, table=None, cfg=None) -> dict[str, DataFrame]
    ingest_files(paths, db_path, *, table=None) -> IngestReport
    summarise_store(db_path) -> str
    load_tables(src, *, tables=None, cfg=None) -> dict[str, DataFrame]
    write_template(path, *, tables=None, cfg=None) -> Path
    pseudonymise_file(src, out, *, key_file=None, columns=("person_id",)) -> str
    pseudonymise_series(series, *, key=None, key_file=None) -> Series
"""

from __future__ import annotations

import importlib

_WHERE = {
    "load_config": "config", "VRUConfig": "config",
    "TABLES": "contract", "table_spec": "contract", "render_contract_markdown": "contract",
    "schema_for": "schemas",
    "validate_file": "validate", "validate_files": "validate", "read_valid": "validate",
    "ingest_files": "store", "summarise_store": "store", "IngestReport": "store",
    "load_tables": "load",
    "write_template": "template",
    "pseudonymise_file": "privacy", "pseudonymise_series": "privacy",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
