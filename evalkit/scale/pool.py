"""Comparison-pool preparation out of core, in DuckDB: a pool larger than memory.

A national pooled evaluation may draw its comparison group from ten million
records or more. :func:`prepare_pool` does, in one DuckDB query over the files
(CSV, .csv.gz or Parquet; a glob matches many), what the report's pandas path
does on a loaded table (:func:`evalkit.analysis.data.comparison_pool` then
:func:`evalkit.measures.offending.offending_outcomes`):

* rows of one ``pool_source`` (or any) with an index date in the window;
* each person once: the earliest index date, then the first source in
  alphabetical order;
* age at the index date (``age_at_index``, else completed years from
  ``date_of_birth``), kept when within the age range;
* proven reoffending in ``(index_date, index_date + followup_months]`` with an
  outcome in the proven list dated by ``index_date + followup_months +
  waiting_months`` (calendar months, end-of-month clipping as pandas does);
  ``reoffended`` and ``n_offences`` are empty where follow-up is incomplete
  by ``data_end``.

The result is written to Parquet, ordered by ``person_id``, ready for
``evalkit match`` (which reads Parquet without pandas). DuckDB streams the
files and spills joins, windows and the sort to ``temp_directory`` when
``memory_limit`` is reached, so the pool never has to fit in memory.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from evalkit.errors import SpecError
from evalkit.results import ResultMixin

#: Pool columns carried through to the prepared file (when present).
CARRY = ("pool_source", "sex", "ethnicity_group", "locality", "prior_offences", "prior_violent_offences",
         "school_exclusion", "looked_after", "exploitation_concern", "substance_misuse_concern")


@dataclass(frozen=True)
class PoolPreparation(ResultMixin):
    """What :func:`prepare_pool` wrote (counts and time only)."""

    out: str
    rows_in: int
    people_out: int
    complete_followup: int
    seconds: float
    memory_limit: str
    title: str = "Comparison pool prepared"

    def _rows(self) -> list[dict]:
        return [{"rows read": self.rows_in, "people kept": self.people_out,
                 "with complete follow-up": self.complete_followup, "seconds": round(self.seconds, 2),
                 "memory limit": self.memory_limit}]


def _source(path: str | Path) -> str:
    text = str(path)
    low = text.lower()
    if low.endswith((".parquet", ".pq")):
        return f"read_parquet({_quote((text,))})"
    return f"read_csv({_quote((text,))}, header = true, auto_detect = true, sample_size = 100000)"


def _day(value: date | str | None, name: str) -> date | None:
    """A date from a date or ISO text (checked: it goes into SQL)."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SpecError(f"{name} must be a date written YYYY-MM-DD.") from None


def _quote(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def prepare_pool(pool: str | Path, offences: str | Path, out: str | Path, *, data_end: date | str,
                 pool_source: str = "any", start_from: date | str | None = None, start_to: date | str | None = None,
                 age_min: int = 0, age_max: int = 200, followup_months: int = 12, waiting_months: int = 6,
                 proven_outcomes: tuple[str, ...] = ("caution", "youth_caution", "youth_conditional_caution",
                                                     "conviction"),
                 memory_limit: str = "1GB", temp_directory: str | Path | None = None,
                 threads: int | None = None) -> PoolPreparation:
    """Prepare the comparison pool (module docstring) from files into a Parquet file ``out``.

    Parameters
    ----------
    pool, offences
        The comparison_pool and offences tables as CSV, .csv.gz or Parquet (a glob for several files).
    data_end
        Last date the offence extract covers.
    memory_limit, temp_directory, threads
        DuckDB's memory cap, where it spills beyond it (default: beside ``out``), and its threads.
    """
    import duckdb

    if followup_months < 1 or waiting_months < 0:
        raise SpecError("followup_months must be at least 1 and waiting_months at least 0.")
    data_end, start_from, start_to = (_day(data_end, "data_end"), _day(start_from, "start_from"),
                                      _day(start_to, "start_to"))
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit.strip(), flags=re.I):
        raise SpecError(f"memory_limit must be a size such as 512MB or 4GB, not '{memory_limit}'.")
    t0 = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    spill = Path(temp_directory) if temp_directory else out.parent / f".{out.name}.spill"
    tmp = out.with_name(f".{out.name}.tmp")
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = {_quote((str(spill),))}")
        con.execute("SET preserve_insertion_order = false")  # lets scans stream; the output is sorted anyway
        con.execute("SET enable_progress_bar = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_source(pool)}").fetchall()}
        carry = [c for c in CARRY if c in cols]
        where = ["index_date IS NOT NULL"]
        if pool_source != "any":
            where.append(f"pool_source = {_quote((pool_source,))}")
        if start_from is not None:
            where.append(f"index_date >= DATE '{start_from}'")
        if start_to is not None:
            where.append(f"index_date <= DATE '{start_to}'")
        age_at_index = "TRY_CAST(age_at_index AS INTEGER)" if "age_at_index" in cols else "NULL"
        born = "TRY_CAST(date_of_birth AS DATE)" if "date_of_birth" in cols else "NULL::DATE"
        source_order = "pool_source" if "pool_source" in cols else "person_id"
        carried = "".join(f", {c}" for c in carry)
        fu, wait = int(followup_months), int(waiting_months)
        sql = f"""
        WITH raw AS (
            SELECT CAST(person_id AS VARCHAR) AS person_id, CAST(index_date AS DATE) AS index_date,
                   {age_at_index} AS age_given, {born} AS born{carried}
            FROM {_source(pool)} WHERE {' AND '.join(where)}
        ), one AS (
            -- each person's earliest row as a grouped arg_min (hash aggregates spill to disk; a window
            -- over ten million people ran out of a 1 GB memory limit)
            SELECT person_id, unnest(row)
            FROM (SELECT person_id,
                         arg_min(struct_pack(index_date, age_given, born{carried}),
                                 struct_pack(index_date, {source_order}, age_given, born)) AS row
                  FROM raw GROUP BY person_id)
        ), aged AS (
            SELECT *, coalesce(age_given, year(index_date) - year(born)
                   - CASE WHEN month(index_date) < month(born)
                               OR (month(index_date) = month(born) AND day(index_date) < day(born))
                          THEN 1 ELSE 0 END) AS age,
                   CAST(index_date + INTERVAL {fu} MONTH AS DATE) AS followup_end,
                   CAST(index_date + INTERVAL {fu + wait} MONTH AS DATE) AS proven_by
            FROM one
        ), kept AS (
            SELECT * FROM aged WHERE age BETWEEN {int(age_min)} AND {int(age_max)}
        ), proven AS (
            SELECT CAST(person_id AS VARCHAR) AS person_id, CAST(offence_date AS DATE) AS offence_date,
                   CAST(outcome_date AS DATE) AS outcome_date
            FROM {_source(offences)}
            WHERE outcome IN ({_quote(tuple(proven_outcomes))}) AND outcome_date IS NOT NULL
        ), hits AS (
            SELECT k.person_id, count(*) AS n
            FROM kept k JOIN proven o ON o.person_id = k.person_id
            WHERE o.offence_date > k.index_date AND o.offence_date <= k.followup_end
              AND o.outcome_date <= k.proven_by
            GROUP BY k.person_id
        )
        SELECT k.person_id, k.index_date, k.age{carried.replace(', ', ', k.')},
               k.proven_by <= DATE '{data_end}' AS followup_complete,
               CASE WHEN k.proven_by <= DATE '{data_end}' THEN CAST(coalesce(h.n, 0) > 0 AS DOUBLE) END
                   AS reoffended,
               CASE WHEN k.proven_by <= DATE '{data_end}' THEN CAST(coalesce(h.n, 0) AS DOUBLE) END AS n_offences
        FROM kept k LEFT JOIN hits h USING (person_id)
        ORDER BY k.person_id
        """
        con.execute(f"COPY ({sql}) TO {_quote((str(tmp),))} (FORMAT parquet)")
        rows_in = con.execute(f"SELECT count(*) FROM {_source(pool)}").fetchone()[0]
        people, complete = con.execute("SELECT count(*), count(reoffended) FROM read_parquet(?)",
                                       [str(tmp)]).fetchone()
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        from evalkit.io_safe import WriteError, write_problem

        if re.search(r"no space left|file too large|disk quota|read-only file system|permission denied", str(exc),
                     re.I):  # the disk's problem, not the files': one line naming the output
            raise WriteError(write_problem(out, exc)) from None
        raise SpecError(f"the comparison pool could not be prepared ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:300]}). Fix: check the files have the data contract's "
                        "columns (person_id, index_date, ...; offences: person_id, offence_date, outcome, "
                        "outcome_date).") from None
    finally:
        con.close()
    from evalkit.io_safe import guarded

    with guarded(out):
        tmp.replace(out)
    return PoolPreparation(str(out), int(rows_in), int(people), int(complete), time.perf_counter() - t0,
                           memory_limit)


__all__ = ["prepare_pool", "PoolPreparation", "CARRY"]
