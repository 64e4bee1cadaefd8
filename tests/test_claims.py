"""The claims register: verdict logic, located validation errors, the CLI, and the
repository's claims (a)-(e) of the seed article with hand-worked verdicts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from synthesis.cli import main
from synthesis.validate import load_evidence, validate
from synthesis.verdicts import claim_results, combine, evaluate, verdict_from

from .conftest import MINI_BIB, ROOT

BIB = (
    MINI_BIB
    + """
@article{od2011,
  author = {Lapp, Anna}, title = {Open Dialogue outcomes}, journal = {Psychosis},
  year = {2011}, doi = {10.1000/od.1}}
@article{trial2022,
  author = {Trial, Tom}, title = {A trial protocol}, journal = {Trials},
  year = {2022}, doi = {10.1000/od.2}}
"""
)

OD = """\
id: od2011
citation: od2011
design: historical cohort comparison
status: published
population: {description: First-episode psychosis, n: 50, source: abstract}
sources:
  abstract: {doi: 10.1000/od.1, where: abstract}
outcomes:
  - question: q3_open_dialogue
    outcome: work_or_study
    name: Back at work or study
    timepoint: 2 years
    source: abstract
    data: {kind: proportion, percent: 84, n: 50}
  - question: q3_open_dialogue
    outcome: work_or_study
    name: Back at work or study, later
    timepoint: 5 years
    source: abstract
    pool: false
    exclude_reason: the 2-year figure is pooled
    data: {kind: proportion, events: 43, n: 50}
  - question: q3_open_dialogue
    outcome: neuroleptic_use
    name: Neuroleptics versus a register comparison
    source: abstract
    pool: false
    exclude_reason: narrative only
    data: {kind: narrative, direction: favours intervention, significant: true, missing: rates}
  - question: q3_open_dialogue
    outcome: hospitalisation
    name: Hospital days versus another centre
    source: abstract
    pool: false
    exclude_reason: narrative only
    data: {kind: narrative, direction: favours intervention, missing: days}
  - question: q3_open_dialogue
    outcome: relapse
    name: Relapse versus another centre
    source: abstract
    pool: false
    exclude_reason: narrative only
    data: {kind: narrative, direction: no difference, missing: rates}
"""

TRIAL = """\
id: trial2022
citation: trial2022
design: cluster randomised controlled
status: protocol
population: {description: Adults in crisis}
sources:
  abstract: {doi: 10.1000/od.2, where: abstract}
outcomes:
  - question: q3_open_dialogue
    outcome: relapse_time
    name: Time to relapse
    source: abstract
    pool: false
    exclude_reason: results awaited
    data: {kind: narrative, direction: unclear, missing: results}
"""

CLAIM = """\
id: c84
label: (c) 84% back at work
source: Seed article, section 2
says: Most people treated with Open Dialogue were back at work within two years.
question: q3_open_dialogue
cites: od2011
records: [od2011]
checks:
  - kind: reported_value
    says: 84% at 2 years
    at: {record: od2011, outcome: work_or_study, timepoint: 2 years}
    claimed: 84
  - kind: comparison
    says: less medication than usual care
    at:
      - {record: od2011, outcome: neuroleptic_use}
    expected: favours intervention
verdict: supported
reasons: [The cited cohort reports it.]
"""


@pytest.fixture
def od_project(project: Path) -> Path:
    (project / "references.bib").write_text(BIB, encoding="utf-8")
    studies = project / "evidence" / "studies"
    (studies / "od2011.yaml").write_text(OD, encoding="utf-8")
    (studies / "trial2022.yaml").write_text(TRIAL, encoding="utf-8")
    (project / "evidence" / "claims").mkdir()
    write_claim(project, CLAIM)
    return project


def write_claim(project: Path, text: str, name: str = "c84") -> Path:
    path = project / "evidence" / "claims" / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(project: Path) -> list[str]:
    _, report = validate(project)
    return [str(p) for p in report.errors]


def result(project: Path, text: str):  # type: ignore[no-untyped-def]
    write_claim(project, text)
    base, report = validate(project)
    claim = base.claims["c84"]
    return evaluate(base, claim, pooled=False), report


# ----------------------------------------------------------------------------- verdict rule


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        (["supports"], "supported"),
        (["supports", "supports", "supports"], "supported"),
        (["supports", "partly supports"], "partly supported"),
        (["supports", "no public data"], "partly supported"),
        (["supports", "contradicts"], "partly supported"),
        (["partly supports"], "partly supported"),
        (["partly supports", "contradicts"], "partly supported"),
        (["contradicts"], "not supported"),
        (["contradicts", "no public data"], "not supported"),
        (["no public data"], "cannot be checked from public data"),
        (["no public data", "no public data"], "cannot be checked from public data"),
    ],
)
def test_verdict_rule(statuses, verdict):
    assert verdict_from(statuses) == verdict


def test_verdict_rule_refuses_unknown_status_and_empty():
    with pytest.raises(ValueError, match="unknown check status 'maybe'"):
        verdict_from(["maybe"])
    with pytest.raises(ValueError, match="at least one evidence check"):
        verdict_from([])


def test_combine_outcomes_of_one_check():
    assert combine(["contradicts", "contradicts"]) == "contradicts"
    assert combine(["supports", "contradicts"]) == "partly supports"
    assert combine(["no public data"]) == "no public data"


# ----------------------------------------------------------------------------- checks


def test_valid_claim_supported(od_project):
    res, report = result(od_project, CLAIM)
    assert report.ok, report.to_text()
    assert [c.status for c in res.checks] == ["supports", "supports"]
    assert res.computed == "supported"
    assert "reports 84%" in res.checks[0].detail


def test_reported_value_from_events_and_tolerance(od_project):
    # 43/50 = 86%: 2 points from 84 -> contradicts; tolerance 2 accepts it
    text = CLAIM.replace("timepoint: 2 years", "timepoint: 5 years").replace(
        "verdict: supported", "verdict: partly supported"
    )
    res, report = result(od_project, text)
    assert report.ok, report.to_text()
    assert res.checks[0].status == "contradicts"
    assert "reports 86%, 2 points from the claimed 84%" in res.checks[0].detail
    res, _ = result(od_project, text.replace("claimed: 84", "claimed: 84\n    tolerance: 2"))
    assert res.checks[0].status == "supports"


def test_comparison_statuses(od_project):
    base = CLAIM.split("  - kind: comparison")[0]
    checks = {
        # significant and in the claimed direction
        "neuroleptic_use": ("favours intervention", "supports"),
        # direction right, significance not stated, claim says "significantly"
        "hospitalisation": ("favours intervention", "partly supports"),
        # "no difference" contradicts a claimed benefit
        "relapse": ("favours intervention", "contradicts"),
    }
    for outcome, (expected, status) in checks.items():
        text = base + (
            "  - kind: comparison\n    says: x compared\n    at:\n"
            f"      - {{record: od2011, outcome: {outcome}}}\n    expected: {expected}\n"
            "verdict: supported\nreasons: [r]\n"
        )
        write_claim(od_project, text)
        b, _ = validate(od_project)
        res = evaluate(b, b.claims["c84"], pooled=False)
        assert res.checks[1].status == status, outcome


def test_comparison_of_several_outcomes_is_partial_when_mixed(od_project):
    text = CLAIM.replace(
        "      - {record: od2011, outcome: neuroleptic_use}\n",
        "      - {record: od2011, outcome: neuroleptic_use}\n"
        "      - {record: od2011, outcome: relapse}\n",
    ).replace("verdict: supported", "verdict: partly supported")
    res, report = result(od_project, text)
    assert report.ok, report.to_text()
    assert res.checks[1].status == "partly supports"
    assert "[supports]" in res.checks[1].detail and "[contradicts]" in res.checks[1].detail


def test_not_in_record_is_no_public_data(od_project):
    text = CLAIM.replace(
        "verdict: supported",
        "  - kind: not_in_record\n    says: fewer disability allowances\n    record: od2011\n"
        "    outcome: disability_allowance\n    reason: the abstract does not mention it\n"
        "verdict: partly supported",
    )
    res, report = result(od_project, text)
    assert report.ok, report.to_text()
    assert res.checks[2].status == "no public data"


def test_results_published(od_project):
    text = (
        CLAIM.replace("records: [od2011]", "records: [trial2022, od2011]").split("checks:")[0]
        + "checks:\n  - kind: results_published\n    says: results by 2022\n"
        "    records: [trial2022]\n    by_year: 2022\nverdict: not supported\nreasons: [r]\n"
    )
    res, report = result(od_project, text)
    assert report.ok, report.to_text()
    assert res.checks[0].status == "contradicts"
    assert "no record has results; the latest record is dated 2022" in res.checks[0].detail
    # a record with results dated 2011 <= 2022 + 1 supports the claim
    text = text.replace("records: [trial2022]\n", "records: [trial2022, od2011]\n")
    res, _ = result(od_project, text.replace("not supported", "supported"))
    assert res.checks[0].status == "supports"
    # ... and dated after by_year + slack it only partly supports
    res, _ = result(od_project, text.replace("by_year: 2022", "by_year: 2005"))
    assert res.checks[0].status == "partly supports"
    assert "after 2005" in res.checks[0].detail


def test_context_checks_do_not_change_the_verdict(od_project):
    text = CLAIM.replace(
        "verdict: supported",
        "  - kind: reported_value\n    says: the 5-year figure\n    role: context\n"
        "    at: {record: od2011, outcome: work_or_study, timepoint: 5 years}\n"
        "    claimed: 84\n"
        "  - kind: pooled\n    says: pooled\n    outcome: work_or_study\n"
        "verdict: supported",
    )
    write_claim(od_project, text)
    base = load_evidence(od_project)
    res = evaluate(base, base.claims["c84"])
    assert res.computed == "supported"
    assert [c.status for c in res.checks][2:] == ["contradicts", "context"]
    assert "Returned to work or study" in res.checks[3].detail


# ----------------------------------------------------------------------------- validation


def _edit(old: str, new: str) -> str:
    assert old in CLAIM
    return CLAIM.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _edit("verdict: supported", "verdict: true"),
            r"c84.yaml:18: verdict: error: Input should be 'supported', 'partly supported', "
            r"'not supported' or 'cannot be checked from public data'",
        ),
        (
            _edit("verdict: supported", "verdict: not supported"),
            r"c84.yaml:18: verdict: error: verdict 'not supported' does not follow from the checks "
            r"\(84% at 2 years: supports; less medication than usual care: supports\), which give "
            r"'supported': change the verdict, or give override_reason",
        ),
        (
            _edit("records: [od2011]", "records: [od2011, od2012]"),
            r"c84.yaml:7: records\[1\]: error: record 'od2012' does not exist \(did you mean "
            r"'od2011'\?\)",
        ),
        (
            _edit("records: [od2011]", "records: [od2011, smith2020]"),
            r"c84.yaml:7: records\[1\]: error: record 'smith2020' has no outcome for the claim's "
            r"question 'q3_open_dialogue' \(it serves: q1_alliance\)",
        ),
        (
            _edit(
                "{record: od2011, outcome: neuroleptic_use}",
                "{record: trial2022, outcome: relapse}",
            ),
            r"c84.yaml:16: checks\[1\].at\[0\].record: error: record 'trial2022' is checked but not "
            r"listed in records \(od2011\)",
        ),
        (
            _edit("outcome: work_or_study, timepoint: 2 years", "outcome: work_or_study"),
            r"c84.yaml:11: checks\[0\].at: error: od2011 work_or_study: the selection matches 2 of "
            r"the record's outcomes \(outcomes\[0\] 'Back at work or study' \(timepoint '2 years'\); "
            r"outcomes\[1\] .*\); give timepoint or name_contains to pick exactly one",
        ),
        (
            _edit("outcome: neuroleptic_use}", "outcome: medication}"),
            r"checks\[1\].at\[0\].outcome: error: outcome 'medication' is not defined in question "
            r"'q3_open_dialogue' \(allowed: work_or_study, ",
        ),
        (
            _edit("question: q3_open_dialogue", "question: q9"),
            r"c84.yaml:5: question: error: question 'q9' does not exist \(allowed: q1_alliance, ",
        ),
        (
            _edit("cites: od2011", "cites: od2012"),
            r"c84.yaml:6: cites: error: citation key 'od2012' is not in references.bib "
            r"\(did you mean 'od2011'\?\)",
        ),
        (
            _edit("cites: od2011\n", ""),
            r"c84.yaml:1: cites: error: a claim without cites needs cites_note",
        ),
        (
            _edit("id: c84", "id: c85"),
            r"c84.yaml:1: id: error: id 'c85' must equal the file name stem 'c84'",
        ),
        (
            _edit("kind: comparison", "kind: vibes"),
            r"c84.yaml:13: checks\[1\]: error: Input tag 'vibes' found using 'kind' does not match "
            r"any of the expected tags: 'reported_value', 'comparison', 'not_in_record', "
            r"'results_published', 'pooled'",
        ),
        (
            _edit("claimed: 84", "claimed: 184"),
            r"checks\[0\].claimed: error: Input should be less than or equal to 100",
        ),
        (
            _edit("reasons: [The cited cohort reports it.]", "reasons: []"),
            r"c84.yaml:19: reasons: error: List should have at least 1 item",
        ),
        (
            _edit("    expected: favours intervention", "    expected: better"),
            r"checks\[1\].expected: error: Input should be 'favours intervention'",
        ),
    ],
)
def test_claim_errors_are_located(od_project, capsys, text, expected):
    write_claim(od_project, text)
    code = main(["validate", str(od_project), "--quiet"])
    out = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out.out + out.err
    import re

    assert re.search(expected, out.out), out.out


def test_stale_not_in_record_check_is_an_error(od_project):
    text = CLAIM.replace(
        "verdict: supported",
        "  - kind: not_in_record\n    says: relapse\n    record: od2011\n    outcome: relapse\n"
        "    reason: the abstract does not mention it\nverdict: supported",
    )
    write_claim(od_project, text)
    found = problems(od_project)
    assert any(
        "checks[2].outcome: error: od2011 now records outcome 'relapse': replace this "
        "not_in_record check" in p
        for p in found
    ), found


def test_override_reason_keeps_a_different_verdict(od_project):
    text = CLAIM.replace(
        "verdict: supported",
        "verdict: partly supported\noverride_reason: the cohort is a selected subgroup of the "
        "region",
    )
    res, report = result(od_project, text)
    assert report.ok, report.to_text()
    assert res.computed == "supported" and res.verdict == "partly supported" and res.agrees


def test_claim_cites_count_as_used_references(od_project):
    _, report = validate(od_project)
    unused = {p.field for p in report.warnings if p.code == "unused-reference"}
    assert "od2011" not in unused


# ----------------------------------------------------------------------------- CLI


def test_cli_claims_text_and_json(od_project, capsys):
    assert main(["claims", "--root", str(od_project)]) == 0
    out = capsys.readouterr().out
    assert "(c) 84% back at work  [q3_open_dialogue]" in out
    assert "verdict: SUPPORTED" in out
    assert main(["claims", "--root", str(od_project), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["verdict"] == data[0]["computed_verdict"] == "supported"
    assert data[0]["reference"].startswith("Lapp, A. (2011). Open Dialogue outcomes.")
    assert [c["status"] for c in data[0]["checks"]] == ["supports", "supports"]


def test_cli_claims_unknown_question_is_a_user_error(od_project, capsys):
    assert main(["claims", "--root", str(od_project), "--question", "q9"]) == 1
    assert "question 'q9' does not exist" in capsys.readouterr().err


def test_cli_claims_on_invalid_claim_exits_1(od_project, capsys):
    write_claim(od_project, CLAIM.replace("verdict: supported", "verdict: not supported"))
    assert main(["claims", "--root", str(od_project)]) == 1
    assert "verdict-mismatch" not in capsys.readouterr().err  # message, not the code


# ----------------------------------------------------------------------------- repository


#: Verdicts of the seed article's claims, worked by hand from the records:
#: (a) Razzaque 2015 reports all subscales positively and significantly correlated;
#: (b) burnout fell (significant) but self-compassion and compassion are not in the abstract;
#: (c) 84% is Seikkula 2011's figure; medication and hospitalisation are lower in the register
#:     (significant) and at another centre (significance not visible): partly;
#: (d) one RCT in favour, two small studies with no difference: partly;
#: (e) no ODDESSI results in any record (protocol 2022, feasibility preprint 2025).
SEED_VERDICTS = {
    "a_alliance_correlation": "supported",
    "b_retreat_burnout": "partly supported",
    "c_open_dialogue_84": "partly supported",
    "d_teaching_improves_outcome": "partly supported",
    "e_oddessi_2022": "not supported",
}


def test_repository_claims_have_hand_worked_verdicts():
    base = load_evidence(ROOT)
    results = {r.claim.id: r for r in claim_results(base, pooled=False)}
    assert {k: r.computed for k, r in results.items()} == SEED_VERDICTS
    assert {k: r.verdict for k, r in results.items()} == SEED_VERDICTS
    c = results["c_open_dialogue_84"]
    assert c.checks[0].status == "supports" and "reports 84%" in c.checks[0].detail
    assert "reports 86%" in c.checks[3].detail  # the 5-year figure, shown for context
    # commissioner-relevant claims come first
    assert [r.claim.commissioner for r in claim_results(base, pooled=False)] == [
        True, True, True, False, False
    ]  # fmt: skip


def _copy_repository(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "evidence", tmp_path / "evidence")
    shutil.copy(ROOT / "references.bib", tmp_path / "references.bib")
    return tmp_path


def test_repository_check_changes_when_the_84_changes(tmp_path):
    """A record saying 74% would contradict the claimed 84% (the verdict stays partly
    supported, because the comparisons with usual care are partial either way)."""
    root = _copy_repository(tmp_path)
    record = root / "evidence" / "studies" / "seikkula2011.yaml"
    text = record.read_text(encoding="utf-8")
    assert "      percent: 84\n" in text
    record.write_text(text.replace("      percent: 84\n", "      percent: 74\n"), encoding="utf-8")
    base = load_evidence(root)
    res = evaluate(base, base.claims["c_open_dialogue_84"], pooled=False)
    assert res.checks[0].status == "contradicts"
    assert "reports 74%, 10 points from the claimed 84%" in res.checks[0].detail


def test_repository_verdict_fails_validation_when_the_record_changes(tmp_path):
    """Claim (a) rests on a positive, significant association: a negative one makes its
    stated verdict 'supported' wrong, and validation says so."""
    root = _copy_repository(tmp_path)
    record = root / "evidence" / "studies" / "razzaque2015.yaml"
    text = record.read_text(encoding="utf-8")
    assert "estimate: {value: 0.569" in text
    record.write_text(text.replace("estimate: {value: 0.569", "estimate: {value: -0.569"),
                      encoding="utf-8")  # fmt: skip
    found = problems(root)
    assert any(
        "a_alliance_correlation.yaml" in p
        and "verdict 'supported' does not follow" in p
        and "which give 'not supported'" in p
        for p in found
    ), found


# ----------------------------------------------------------------------------- report helpers


def test_claims_checked_and_lead_html():
    from synthesis import notebook as nb

    base = load_evidence(ROOT)
    html = nb.claims_checked(base, "q3_open_dialogue").data
    assert html.count('<div class="claim">') == 2  # (c) and (e) concern Q3
    assert "(c) 84% of people treated with Open Dialogue" in html
    assert 'class="verdict verdict-partly">partly supported</strong>' in html
    assert "Seikkula, J., Alakare, B., &amp; Aaltonen, J. (2011)" in html  # cited reference
    assert "reports 86%" in html  # the 5-year context figure
    lead = nb.claims_lead(base, "q3_open_dialogue").data
    assert "Claims you may have read" in lead and "84%" in lead
    assert "ODDESSI" not in lead  # (e) is not flagged as likely to be quoted
    everything = nb.claims_checked(base).data
    assert everything.count('<div class="claim">') == 5
    assert nb.claims_lead(base, "q1_alliance").data.count("<li>") == 1  # (d)


def test_claims_html_escapes_record_text(od_project):
    from synthesis import notebook as nb

    write_claim(od_project, CLAIM.replace("reasons: [The cited cohort reports it.]",
                                          'reasons: ["<script>x</script>"]'))  # fmt: skip
    html = nb.claims_checked(load_evidence(od_project)).data
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_question_pages_depend_on_their_claims():
    """Editing a claim re-executes the page of its question (and not the others)."""
    from synthesis.jobs import NotebookSpec, notebook_inputs

    base = load_evidence(ROOT)
    q3 = notebook_inputs(ROOT, base, NotebookSpec("q3", "x", {}, "q3_open_dialogue"))
    assert {"claim c_open_dialogue_84", "claim e_oddessi_2022"} <= set(q3)
    assert "reference seikkula2011comprehensive" in q3
    q1 = notebook_inputs(ROOT, base, NotebookSpec("q1", "x", {}, "q1_alliance"))
    assert "claim c_open_dialogue_84" not in q1 and "claim a_alliance_correlation" in q1
    overview = notebook_inputs(ROOT, base, NotebookSpec("00", "x", {}, None))
    assert "claim b_retreat_burnout" in overview
