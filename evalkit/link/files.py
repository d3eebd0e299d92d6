"""``evalkit link``: link an identified participant list to identified police (and health) extracts.

Inputs hold names, dates of birth and postcodes; outputs hold **keyed
pseudonymous ids only** (HMAC-SHA256, :mod:`evalkit.data.privacy`, the same
key as ``evalkit pseudonymise``), so the linked participants table joins the
offences table pseudonymised from the police extract's ids:

- ``participants.csv``: the participants table of the data contract, with
  ``person_id`` the pseudonym of the linked police record (of the provider's
  record id when unlinked), ``age_at_start`` in place of the date of birth, and
  no name or postcode;
- ``links.csv``: each provider record's pseudonym, and for each extract the
  linked record's pseudonym (blank: no link), match weight and probability;
- ``linkage_summary.json`` and ``linkage_report.html``: the linkage quality
  summary and its one-page report (aggregates, disclosure-controlled).

The clerical-review sample is the one output that must show identifiers (a
reviewer compares the two records by eye): it goes to its own file, named
``..._IDENTIFIED.csv``, outside the output folder unless asked otherwise, for
the secure environment only.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.data.privacy import _atomic_write, load_key, pseudonym
from evalkit.errors import DataError, Problem, SpecError
from evalkit.link.model import FittedLink, LinkSettings, assign, dedupe, fit_and_link
from evalkit.link.prepare import Prepared, prepare, read_identified
from evalkit.link.quality import DEFAULT_MARGIN, LinkageRun, age_bands, fmt_share, summarise

#: Rows listed (by number) per file whose date of birth was unusable; the count is always given in full.
LISTED_ROWS = 50

#: Identifier fields never written to the output folder.
IDENTIFIERS = ("first_name", "surname", "date_of_birth", "postcode", "record_id")
OUTPUTS = ("participants.csv", "links.csv", "linkage_summary.json", "linkage_report.html")


def _participants_table(raw: pd.DataFrame, dob: pd.Series, person_id: pd.Series) -> pd.DataFrame:
    """The data contract's participants table: pseudonymous person_id, age instead of date of birth."""
    from evalkit.data.contract import TABLES

    columns = list(TABLES["participants"].columns)
    out = pd.DataFrame({"person_id": person_id.to_numpy()})
    for col in columns[1:]:
        if col in raw and col not in IDENTIFIERS:
            out[col] = raw[col].to_numpy()
    if "start_date" in raw:
        out["age_at_start"] = _age(dob, raw["start_date"]).astype("Int64").to_numpy()
    return out[[c for c in columns if c in out]]


def _age(dob: pd.Series, when: pd.Series) -> pd.Series:
    b = pd.to_datetime(dob, errors="coerce", format="%Y-%m-%d")  # standardised: ISO
    w = pd.to_datetime(when, errors="coerce", format="mixed", dayfirst=True)
    before = (w.dt.month < b.dt.month) | ((w.dt.month == b.dt.month) & (w.dt.day < b.dt.day))
    return (w.dt.year - b.dt.year - before.astype(int)).where(b.notna() & w.notna())


def _groups(raw: pd.DataFrame, dob: pd.Series, linked: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"linked": linked})
    for col in ("provider", "intervention_id", "locality", "sex", "ethnicity_group"):
        if col in raw:
            frame[col] = raw[col].to_numpy()
    if "start_date" in raw:
        frame["age_band"] = age_bands(_age(dob, raw["start_date"])).to_numpy()
    return frame


def _unusable(file: str, prepared: Prepared) -> tuple[str, int, tuple[int, ...]]:
    rows = prepared.unusable_dob_rows
    return (file, len(rows), tuple(rows[:LISTED_ROWS]))


def _review_sample(fit: FittedLink, left: pd.DataFrame, right: pd.DataFrame, target: str,
                   s: LinkSettings) -> pd.DataFrame:
    """Best pairs near the threshold, drawn at random (seeded), with both records for a reviewer."""
    best = fit.best
    near = best[(best["match_weight"] - fit.threshold).abs() <= s.review_band]
    rng = np.random.default_rng(s.seed)
    take = near.iloc[np.sort(rng.choice(len(near), size=min(s.review_sample, len(near)), replace=False))]
    fields = ["first_name", "surname", "date_of_birth", "sex", "postcode"]
    a = left.set_index("unique_id").loc[take["unique_id_l"], fields].add_suffix("_provider").reset_index(drop=True)
    b = right.set_index("unique_id").loc[take["unique_id_r"], fields].add_suffix("_extract").reset_index(drop=True)
    head = pd.DataFrame({"extract": target, "provider_record_id": take["unique_id_l"].to_numpy(),
                         "extract_record_id": take["unique_id_r"].to_numpy(),
                         "match_weight": take["match_weight"].round(2).to_numpy(),
                         "match_probability": take["match_probability"].round(4).to_numpy(),
                         "linked_at_threshold": (take["match_weight"] >= fit.threshold).to_numpy()})
    out = pd.concat([head, a, b], axis=1)
    out["reviewer_decision"] = ""  # same person / different people / cannot tell
    return out.sort_values("match_weight", kind="mergesort")


def link_files(participants: str | Path, extracts: dict[str, str | Path], out: str | Path, *,
               key_file: str | Path | None = None, settings: LinkSettings | None = None,
               review: str | Path | None = None, margin: float = DEFAULT_MARGIN,
               disclosure_threshold: int = 10, strict: bool = False) -> LinkageRun:
    """Link ``participants`` to each extract (name -> file; the first names ``person_id``) and write ``out``.

    Parameters
    ----------
    participants
        Provider returns with identifiers (``record_id``, names, date of birth, sex, postcode) and the
        participants table's other columns.
    extracts
        ``{"police": path, "health": path}``: identified extracts (``record_id`` = the holder's id).
    out
        Output folder (module docstring); the clerical-review sample goes to ``review``
        (default: ``<out>_clerical_review_IDENTIFIED.csv`` beside the folder).
    key_file
        Pseudonymisation key file (default: ``EVALKIT_PSEUDONYM_KEY``).
    strict
        Refuse a file with an impossible date of birth (default: treat it as missing, count and list the rows).

    Returns
    -------
    LinkageRun
        The quality summary of each linkage (aggregates only).
    """
    from evalkit.link.report import linkage_report_html

    t0 = time.perf_counter()
    if not extracts:
        raise SpecError("give at least one extract to link to (e.g. --police police.csv).")
    settings = settings or LinkSettings()
    key = load_key(key_file)  # no key, no work
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out} is a file; give a folder for the linked outputs.")
    review = Path(review) if review is not None else out.parent / f"{out.name}_clerical_review_IDENTIFIED.csv"
    p_path = Path(participants)
    raw = read_identified(p_path)
    prepared = prepare(raw, p_path.name, strict=strict)
    left = prepared.frame
    summaries = []
    links = pd.DataFrame({"participant": [pseudonym(v, key) for v in left["unique_id"]]})
    person_id = None
    reviews = []
    for target, path in extracts.items():
        path = Path(path)
        prepared_r = prepare(read_identified(path), path.name, strict=strict)
        right = prepared_r.frame
        if len(left) == 0 or len(right) == 0:
            raise DataError(Problem(path.name if len(right) == 0 else p_path.name, "the file has no records.",
                                    "give the file with its records."))
        fit = fit_and_link(left, right, settings, right_name=target)
        best = fit.best.set_index("unique_id_l").reindex(left["unique_id"])
        # one person appears once per intervention: two records of one intervention never share a link
        groups = (pd.Series(raw["intervention_id"].to_numpy(), index=left["unique_id"].to_numpy())
                  if "intervention_id" in raw else None)
        matched = assign(fit, groups).reindex(left["unique_id"])
        ok = matched.notna().to_numpy(dtype=bool)
        matched = matched.where(ok)
        links[target] = [pseudonym(v, key) if isinstance(v, str) else "" for v in matched]
        # the linked pair's scores (the best pair's, for records left unlinked)
        weights, probs = best["match_weight"].to_numpy(dtype=float), best["match_probability"].to_numpy(dtype=float)
        if fit.links is not None and not fit.links.empty:
            pair = pd.DataFrame({"unique_id_l": left["unique_id"].to_numpy(), "unique_id_r": matched.to_numpy()})
            got = pair.merge(fit.links, how="left", on=["unique_id_l", "unique_id_r"])
            weights = np.where(got["match_weight"].notna(), got["match_weight"].to_numpy(dtype=float), weights)
            probs = np.where(got["match_probability"].notna(), got["match_probability"].to_numpy(dtype=float), probs)
        links[f"{target}_match_weight"] = np.round(weights, 3)
        links[f"{target}_match_probability"] = np.round(probs, 5)
        if person_id is None:
            person_id = pd.Series([pseudonym(m if isinstance(m, str) else r, key)
                                   for m, r in zip(matched, left["unique_id"], strict=True)])
        summaries.append(summarise(
            target, _groups(raw, left["date_of_birth"], ok), fit.best, fit.parameters, threshold=fit.threshold,
            prior=fit.prior, candidate_pairs=fit.candidate_pairs, margin=margin,
            disclosure_threshold=disclosure_threshold, threshold_rule=fit.threshold_rule,
            blocking_coverage=fit.blocking_coverage, coverage_sample=fit.coverage_sample, review_file=review.name,
            unusable_dob=(_unusable(p_path.name, prepared), _unusable(path.name, prepared_r))))
        reviews.append(_review_sample(fit, left, right, target, settings))
    assert person_id is not None
    run = LinkageRun(tuple(summaries), settings={
        "threshold": settings.threshold, "target_precision": settings.target_precision,
        "one_to_one": settings.one_to_one, "blocking": list(settings.blocking), "margin": margin,
        "name_jaro_winkler": settings.name_jaro_winkler, "postcode_levels": list(settings.postcode_levels),
        "seconds": round(time.perf_counter() - t0, 1)})
    out.mkdir(parents=True, exist_ok=True)
    table = _participants_table(raw, left["date_of_birth"], person_id)
    from evalkit.io_safe import neutralise_frame  # text a spreadsheet would run as a formula gets a leading '

    _atomic_write(out / "participants.csv",
                  lambda tmp: neutralise_frame(table).to_csv(tmp, index=False, lineterminator="\n"))
    _atomic_write(out / "links.csv", lambda tmp: neutralise_frame(links).to_csv(tmp, index=False, lineterminator="\n"))
    _atomic_write(out / "linkage_report.html",
                  lambda tmp: tmp.write_text(linkage_report_html(run), encoding="utf-8"))
    _atomic_write(out / "linkage_summary.json", lambda tmp: tmp.write_text(run.to_json(), encoding="utf-8"))
    sample = pd.concat(reviews, ignore_index=True)
    _atomic_write(review, lambda tmp: neutralise_frame(sample).to_csv(tmp, index=False, lineterminator="\n"))
    return run


def dedupe_file(path: str | Path, out: str | Path, *, key_file: str | Path | None = None,
                settings: LinkSettings | None = None, strict: bool = False) -> dict[str, object]:
    """Find the records of one identified file that are the same person; write ``clusters.csv`` in ``out``.

    ``clusters.csv`` holds each record's pseudonym and its cluster's (the pseudonym of the cluster's lowest
    record id): no identifier. Returns counts for printing (records, clusters, records in clusters of two
    or more, the threshold and how it was chosen, impossible dates of birth).
    """
    settings = settings or LinkSettings()
    key = load_key(key_file)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out} is a file; give a folder for the deduplicated output.")
    path = Path(path)
    prepared = prepare(read_identified(path), path.name, strict=strict)
    frame = prepared.frame
    if len(frame) < 2:
        raise DataError(Problem(path.name, "the file has fewer than two records.", "give the file with its records."))
    clusters, fit = dedupe(frame, settings)
    table = pd.DataFrame({"record": [pseudonym(v, key) for v in clusters["unique_id"]],
                          "cluster": [pseudonym(v, key) for v in clusters["cluster_id"]]})
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / "clusters.csv", lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))
    sizes = clusters["cluster_id"].value_counts()
    return {"records": len(frame), "clusters": int(len(sizes)), "in_shared": int(sizes[sizes > 1].sum()),
            "threshold": fit.threshold, "threshold_rule": fit.threshold_rule,
            "unusable_dob": len(prepared.unusable_dob_rows), "file": str(out / "clusters.csv")}


def link_text(run: LinkageRun, out: str | Path, review: str | Path) -> str:
    """What ``evalkit link`` prints: rates and estimates only (no identifier, no small count)."""
    lines = []
    for s in run.summaries:
        rate = "hidden (small counts)" if s.rate is None else f"{s.rate:.1%} ({s.linked:,} of {s.records:,})"
        lines.append(f"{s.target}: linked {rate} at match weight >= {s.threshold:.2f}; estimated precision "
                     f"{fmt_share(s.estimated_precision)}, recall {fmt_share(s.estimated_recall)}; "
                     f"{len(s.warnings)} warning(s)")
        for file, n, _rows in s.unusable_dob:
            if n:
                lines.append(f"{file}: {n:,} impossible date(s) of birth treated as missing (rows listed in the "
                             "linkage report)")
    lines.append(f"wrote {Path(out) / 'participants.csv'}, links.csv, linkage_summary.json and "
                 f"linkage_report.html (pseudonymous ids only)")
    lines.append(f"clerical-review sample (HOLDS IDENTIFIERS: keep it in the secure environment): {review}")
    return "\n".join(lines)


__all__ = ["link_files", "link_text", "dedupe_file", "OUTPUTS"]
