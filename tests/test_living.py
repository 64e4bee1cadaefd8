"""A living review on a copy of this repository: one record changes, only what reads it runs.

One cold build (HTML only) of the copy, then edits: a Q2 record's number, then Q3's
question wording. The expected estimates are computed here with ``synthesis.analysis``
on the evidence before and after the edit, and compared with what the "what changed"
box and ``synthesis diff`` say.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from synthesis.analysis import analyse
from synthesis.cli import main
from synthesis.plain import fmt_interval, fmt_value
from synthesis.report import build_reports
from synthesis.validate import load_evidence

from .conftest import ROOT, lift_pooling_rules

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

RECORD = "evidence/studies/fortney2013.yaml"
BEFORE, AFTER = "      mean_post: 28.9\n", "      mean_post: 24.9\n"
OUTCOME = "emotional_exhaustion"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("living")
    for name in ("evidence", "notebooks"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "references.bib", root / "references.bib")
    for path in (root / "evidence" / "questions").glob("*.yaml"):  # a pooled EE to move
        path.write_text(lift_pooling_rules(read(path)), encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "evidence as in the repository")
    first = build_reports(root, pdf=False)
    assert len(first.executed) == 1 + len(load_evidence(root).questions)
    # the kernels were given the validated evidence instead of validating it again
    assert len(list((root / ".synthesis-cache" / "evidence").glob("*.pickle"))) == 1
    return root


def shown(root: Path) -> str:
    a = analyse(load_evidence(root), "q2_mindfulness_training", OUTCOME)
    nat = a.natural()
    assert nat is not None
    ci = fmt_interval(nat.ci_lb, nat.ci_ub, a.measure)
    return f"{fmt_value(nat.estimate, a.measure)} ({a.settings.level:g}% CI {ci})"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_one_record_changes_two_notebooks_run_and_the_box_says_what_moved(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = project / "reports"
    assert "This is the first version of this report." in read(
        reports / "commissioner" / "q2_mindfulness_training.html"
    )
    q1_page = read(reports / "commissioner" / "q1_alliance.html")
    before = shown(project)
    record = project / RECORD
    text = read(record)
    assert text.count(BEFORE) == 1
    record.write_text(text.replace(BEFORE, AFTER), encoding="utf-8")
    after = shown(project)
    assert before != after

    result = build_reports(project, pdf=False)
    assert result.executed == ("00_evidence_base.ipynb", "q2_mindfulness_training.ipynb")
    manifest = json.loads(read(reports / "manifest.json"))
    reasons = {e["name"]: e["reasons"] for e in manifest["notebooks"]}
    assert reasons["q2_mindfulness_training.ipynb"] == ["record fortney2013 changed"]
    assert reasons["00_evidence_base.ipynb"] == ["record fortney2013 changed"]
    assert reasons["q1_alliance.ipynb"] == ["reused: none of its inputs changed"]
    assert read(reports / "commissioner" / "q1_alliance.html") == q1_page

    name = load_evidence(project).questions["q2_mindfulness_training"].outcomes[0].name
    page = read(reports / "commissioner" / "q2_mindfulness_training.html")
    assert "Updated on " in page and ": what changed</strong>" in page
    assert "<li>1 study record changed: Fortney 2013.</li>" in page
    assert f"<li>{name}: the pooled estimate moved from {before} to {after}" in page
    changes = manifest["changes"]["q2_mindfulness_training.ipynb"]
    assert changes["records_changed"] == ["Fortney 2013"]
    assert [e["outcome"] for e in changes["estimates"]] == [OUTCOME]
    assert set(manifest["changes"]) == {"00_evidence_base.ipynb", "q2_mindfulness_training.ipynb"}

    # the working tree against the commit: the same change, computed without a build
    assert main(["diff", "--root", str(project), "--since", "HEAD", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["against"].startswith("HEAD (")
    pages = out["pages"]
    assert pages["q2_mindfulness_training.ipynb"]["status"] == "changed"
    assert pages["q2_mindfulness_training.ipynb"]["changes"] == {
        **changes,
        "previous_at": None,
    }
    assert pages["q1_alliance.ipynb"]["status"] == "unchanged"
    assert main(["diff", "--root", str(project), "--since", "HEAD"]) == 0
    text_out = capsys.readouterr().out
    assert f"{name}: the pooled estimate moved from {before} to {after}" in text_out
    # (git prints the common dir relative to the project)
    assert not list((project / git(project, "rev-parse", "--git-common-dir").strip()).glob(
        "worktrees/*"))  # fmt: skip
    # against the last build nothing changed
    assert main(["diff", "--root", str(project)]) == 0
    said = capsys.readouterr().out
    assert "since the last build" in said and "changed" not in said.split(":", 1)[1]


def test_a_question_file_wording_change_reexecutes_that_question_only(project: Path) -> None:
    path = project / "evidence" / "questions" / "q3_open_dialogue.yaml"
    text = read(path)
    assert "plain_question: >-\n" in text
    path.write_text(
        text.replace("plain_question: >-\n", "plain_question: >-\n  In plain words,\n"),
        encoding="utf-8",
    )
    result = build_reports(project, pdf=False)
    assert result.executed == ("q3_open_dialogue.ipynb",)
    manifest = json.loads(read(project / "reports" / "manifest.json"))
    q3 = next(e for e in manifest["notebooks"] if e["name"] == "q3_open_dialogue.ipynb")
    assert q3["reasons"] == ["question q3_open_dialogue changed"]
    assert q3["changes"]["other_inputs"] == ["question q3_open_dialogue changed"]


def test_diff_against_an_unknown_revision_is_a_user_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", "--root", str(project), "--since", "no-such-ref"]) == 1
    assert "--since 'no-such-ref': not a git revision" in capsys.readouterr().err
