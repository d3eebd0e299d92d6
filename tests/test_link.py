"""Record linkage (evalkit link, Splink) on the synthetic identified layer (evalkit synth --identified).

One module-level run links the seed-2021 provider returns to the police and
health extracts through the command line; the tests then measure precision
and recall against the true links, check that no identifier reaches the
outputs, the store, the report or the logs, and check the quality summary.
"""

from __future__ import annotations

import importlib
import logging
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("splink")
pytest.importorskip("faker")

from evalkit.cli import cli  # noqa: E402
from evalkit.data.privacy import pseudonym  # noqa: E402
from evalkit.link.quality import group_rates, wilson_interval  # noqa: E402
from evalkit.synth.identified import LOCALES_BY_GROUP, PROVIDER_ERRORS  # noqa: E402

KEY = "linkage-test-key-0123456789abcdef"
REF = Path(__file__).parent / "reference" / "linkage"
LOCALES = sorted({loc for table in LOCALES_BY_GROUP.values() for loc in table})
SYNTHETIC = Path(__file__).resolve().parent.parent / "synthetic_data"


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    """Synthetic identified files, the linkage outputs, a store built from them, and everything printed or logged."""
    root = tmp_path_factory.mktemp("link")
    env = {"EVALKIT_PSEUDONYM_KEY": KEY}
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        synth = CliRunner().invoke(cli, ["synth", "--identified", "--seed", "2021", "--out", str(root / "id")], env=env)
        assert synth.exit_code == 0, synth.output
        res = CliRunner().invoke(cli, ["link", str(root / "id" / "identified_participants.csv"),
                                       "--police", str(root / "id" / "identified_police.csv"),
                                       "--health", str(root / "id" / "identified_health.csv"),
                                       "--out", str(root / "linked")], env=env)
        assert res.exit_code == 0, res.output
        pseud = CliRunner().invoke(cli, ["pseudonymise", str(root / "id" / "identified_police_offences.csv"),
                                         "--out", str(root / "offences.csv")], env=env)
        assert pseud.exit_code == 0, pseud.output
        shutil.copy(SYNTHETIC / "interventions.csv.gz", root / "interventions.csv.gz")
        ingest = CliRunner().invoke(cli, ["ingest", str(root / "interventions.csv.gz"),
                                          str(root / "linked" / "participants.csv"), str(root / "offences.csv"),
                                          "--db", str(root / "store.duckdb")], env=env)
        assert ingest.exit_code == 0, ingest.output
    finally:
        logging.getLogger().removeHandler(handler)
    logs = "\n".join(r.getMessage() for r in records)
    return {"root": root, "output": synth.output + res.output + pseud.output + ingest.output, "logs": logs,
            "link_output": res.output}


def _truth(linked) -> pd.DataFrame:
    return pd.read_csv(linked["root"] / "id" / "identified_truth.csv", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("target", ["police", "health"])
def test_precision_and_recall_at_the_default_threshold(linked, target):
    """Both at least 0.98, and F1 within 0.01 of plain Splink's (docs/linkage.md has the measured values)."""
    key = KEY.encode()
    truth = _truth(linked)
    links = pd.read_csv(linked["root"] / "linked" / "links.csv", dtype=str, keep_default_na=False)
    assert (links["participant"] == [pseudonym(r, key) for r in truth["record_id"]]).all()  # same order
    true = truth[f"{target}_id"].map(lambda v: pseudonym(v, key) if v else "")
    predicted = links[target]
    tp = int(((predicted != "") & (predicted == true)).sum())
    precision, recall = tp / int((predicted != "").sum()), tp / int((true != "").sum())
    assert precision >= 0.98 and recall >= 0.98, (precision, recall)
    # the true links are a real test: many records carry recording errors
    assert (truth.loc[true != "", "errors"] != "").mean() > 0.25
    # and at least as good as a hand-configured plain Splink on the four fields (F1 within 0.01), same files
    from evalkit.link.baseline import plain_splink_pairs, scores

    read = {f: pd.read_csv(linked["root"] / "id" / f"identified_{f}.csv", dtype=str, keep_default_na=False)
            for f in ("participants", target)}
    plain = plain_splink_pairs(read["participants"], read[target])
    true_pairs = {(a, b) for a, b in zip(truth["record_id"], truth[f"{target}_id"], strict=True) if b}
    _, _, f1_plain = scores(set(zip(plain["unique_id_l"], plain["unique_id_r"], strict=True)), true_pairs)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= f1_plain - 0.01, (f1, f1_plain)


def test_estimated_precision_and_recall_are_close_to_the_truth(linked):
    from evalkit.link.quality import LinkageRun

    run = LinkageRun.read(linked["root"] / "linked" / "linkage_summary.json")
    police = run.get("police")
    assert police is not None and police.threshold >= 0.0 and "estimated precision" in police.threshold_rule
    assert police.estimated_precision is not None and police.estimated_recall is not None
    assert police.estimated_precision >= 0.995 and police.estimated_recall >= 0.97
    assert "police: linked" in linked["link_output"] and "estimated precision" in linked["link_output"]


def test_no_identifier_reaches_outputs_store_report_or_logs(linked):
    root = linked["root"]
    people = pd.concat([pd.read_csv(root / "id" / f, dtype=str, keep_default_na=False)
                        for f in ("identified_participants.csv", "identified_police.csv", "identified_health.csv")])
    postcodes = {p for p in people["postcode"] if p}
    dobs = {d for d in people["date_of_birth"] if d}
    dobs |= {f"{d[8:10]}/{d[5:7]}/{d[:4]}" for d in dobs}
    full_names = {f"{a} {b}".lower() for a, b in zip(people["first_name"], people["surname"])}
    # surnames as Faker lists them (a keying error can turn one into an English word: 'Pearson' -> 'Person')
    listed = set()
    for locale in LOCALES:
        listed |= {s.lower() for s in importlib.import_module(f"faker.providers.person.{locale}").Provider.last_names}
    surnames = {s.lower() for s in people["surname"] if len(s) >= 6} & listed
    record_ids = set(people["record_id"])

    texts = {p.name: p.read_text(encoding="utf-8") for p in (root / "linked").iterdir()}
    con = duckdb.connect(str(root / "store.duckdb"), read_only=True)
    for (table,) in con.execute("select table_name from information_schema.tables").fetchall():
        texts[f"store:{table}"] = con.execute(f'select * from "{table}"').df().to_csv(index=False)
    con.close()
    texts["printed"] = linked["output"]
    texts["logged"] = linked["logs"]
    assert set(texts) >= {"participants.csv", "links.csv", "linkage_summary.json", "linkage_report.html",
                          "store:participants", "store:offences"}
    for name, text in texts.items():  # tokens, then set look-ups (substring searches would take minutes)
        low = text.lower()
        words = re.findall(r"[a-z]+", low)
        assert not postcodes & set(re.findall(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}", text)), name
        assert not dobs & set(re.findall(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}", text)), name
        assert not full_names & {f"{a} {b}" for a, b in zip(words, words[1:])}, name
        assert not surnames & set(words), (name, sorted(surnames & set(words))[:5])
        assert not record_ids & set(re.findall(r"[A-Za-z0-9-]+", text)), name
    # the one file meant for people with access to identifiers is outside the output folder and says so
    review = root / "linked_clerical_review_IDENTIFIED.csv"
    sample = pd.read_csv(review, dtype=str, keep_default_na=False)
    assert 50 <= len(sample) <= 400 and {"first_name_provider", "first_name_extract", "reviewer_decision"} <= set(sample)
    assert "HOLDS IDENTIFIERS" in linked["link_output"]


def test_store_joins_linked_participants_to_police_offences(linked):
    """person_id is the keyed pseudonym of the police id, so offences pseudonymised with the same key join."""
    truth = _truth(linked)
    offenders = set(pd.read_csv(linked["root"] / "id" / "identified_police_offences.csv", dtype=str)["person_id"])
    con = duckdb.connect(str(linked["root"] / "store.duckdb"), read_only=True)
    joined = con.execute("select count(distinct p.person_id) from participants p join offences o "
                         "using (person_id)").fetchone()[0]
    con.close()
    expected = truth["police_id"].isin(offenders).sum()
    assert joined <= expected and joined >= 0.98 * expected


def test_linked_participants_table_keeps_age_not_birth_date(linked):
    part = pd.read_csv(linked["root"] / "linked" / "participants.csv")
    assert "date_of_birth" not in part and part["age_at_start"].notna().all()
    assert part["person_id"].str.fullmatch(r"P[0-9a-f]{16}").all()


def test_linkage_report_shows_rates_by_ethnic_group_with_intervals(linked):
    page = (linked["root"] / "linked" / "linkage_report.html").read_text(encoding="utf-8")
    section = page[page.index("By ethnic group"):]
    section = section[: section.index("</table>")]
    assert re.search(r"\d+\.\d% to \d+\.\d%", section)
    for heading in ("By provider", "By district", "By age band", "By sex", "By intervention", "m / u", "precision"):
        assert heading in page, heading


def test_recording_errors_occur_at_their_stated_rates(linked):
    """Each error's share of provider records is within 4 binomial standard errors of its rate (where possible)."""
    truth = _truth(linked)
    part = pd.read_csv(linked["root"] / "id" / "identified_participants.csv", dtype=str, keep_default_na=False)
    made = truth["errors"].str.split(";")
    n = len(truth)
    for error in ("moved_postcode", "missing_postcode"):
        share = made.map(lambda e, err=error: err in e).mean()
        rate = PROVIDER_ERRORS[error] * (1 - PROVIDER_ERRORS["missing_postcode"] if error == "moved_postcode" else 1)
        assert abs(share - rate) < 4 * np.sqrt(rate * (1 - rate) / n), (error, share, rate)
    assert (part.loc[made.map(lambda e: "missing_postcode" in e), "postcode"] == "").all()


def test_identified_files_are_never_read_as_contract_tables(linked):
    from evalkit.data.readers import is_table_file

    for path in (linked["root"] / "id").iterdir():
        assert not is_table_file(path), path.name
    assert not list(SYNTHETIC.glob("identified_*"))  # never part of the shipped demo data


def test_wilson_interval_matches_newcombe_1998():
    """Published Wilson intervals (Newcombe 1998, Table II), to the 4 decimals printed."""
    ref = pd.read_csv(REF / "wilson_newcombe1998.csv", comment="#")
    for row in ref.itertuples():
        low, high = wilson_interval(row.k, row.n)
        assert abs(low - row.low) < 5e-5 and abs(high - row.high) < 5e-5


def test_group_rates_hide_small_groups_and_what_would_reveal_them():
    groups = pd.Series(["a"] * 50 + ["b"] * 40 + ["c"] * 4)
    linked = pd.Series([True] * 40 + [False] * 10 + [True] * 30 + [False] * 10 + [True] * 3 + [False])
    rates = {r.group: r for r in group_rates("g", groups, linked)}
    assert rates["c"].rate is None and rates["c"].records is None
    hidden = [g for g, r in rates.items() if r.rate is None]
    assert len(hidden) >= 2  # the small group alone would follow from the totals
    shown = [r for r in rates.values() if r.rate is not None]
    for r in shown:
        assert r.low < r.rate < r.high


def test_link_errors_name_file_row_and_column_without_values(tmp_path):
    bad = tmp_path / "returns.csv"
    bad.write_text("record_id,first_name,surname,date_of_birth\nA1,Zebedee,Quartermaine,31/02/2007\n",
                   encoding="utf-8")
    police = tmp_path / "police.csv"
    police.write_text("record_id,first_name,surname,date_of_birth\nN1,Zebedee,Quartermaine,2007-02-03\n",
                      encoding="utf-8")
    res = CliRunner().invoke(cli, ["link", str(bad), "--police", str(police), "--out", str(tmp_path / "o"),
                                   "--strict"], env={"EVALKIT_PSEUDONYM_KEY": KEY})
    assert res.exit_code == 2, res.output
    assert "returns.csv, row 2, column 'date_of_birth'" in res.output
    assert "31/02/2007" not in res.output and "Quartermaine" not in res.output
    settings = tmp_path / "link.yaml"
    settings.write_text("threshold: 7\nblockin: []\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["link", str(bad), "--police", str(police), "--out", str(tmp_path / "o"),
                                   "--settings", str(settings)], env={"EVALKIT_PSEUDONYM_KEY": KEY})
    assert res.exit_code == 2 and "unknown linkage setting 'blockin'" in res.output
    assert not (tmp_path / "o").exists()


def test_national_settings_choose_the_threshold_from_the_model_and_keep_overrides():
    """National extracts use tighter candidate rules; the threshold comes from the fitted model unless told."""
    from evalkit.link.model import NATIONAL_BLOCKING, LinkSettings

    national = LinkSettings.national()
    assert national.threshold is None and LinkSettings().threshold is None
    assert national.blocking == NATIONAL_BLOCKING
    assert LinkSettings.national(threshold=6.0).threshold == 6.0
