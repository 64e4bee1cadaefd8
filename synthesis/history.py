"""``synthesis diff``: what changed in the reports' content since the last build or a commit.

The working tree's results are computed in-process with :func:`synthesis.changes.
question_results`, the function the question notebooks publish their results with, so
no notebook is executed. They are compared with

- the last build: ``reports/manifest.json`` (its inputs, results and labels per page);
- or a git revision (``--since REF``): the revision is checked out into a temporary
  ``git worktree`` (removed afterwards), its evidence validated and analysed with the
  toolkit as it is now, so the comparison shows what the evidence changed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from synthesis import changes, jobs
from synthesis.changes import Changes, content_inputs, sentences
from synthesis.errors import UserInputError
from synthesis.report import REPORTS_DIRNAME, VARIANTS_DIRNAME, notebook_title
from synthesis.validate import validate

__all__ = ["diff", "format_diff", "snapshot"]


def snapshot(root: Path, params: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Inputs, results and study labels of every page the build would make from ``root``.

    Parameters
    ----------
    root : pathlib.Path
        Project root; its evidence must be valid.
    params : dict, optional
        Build parameters (:func:`synthesis.jobs.parse_params`).

    Returns
    -------
    dict
        Page name (``q2_mindfulness_training.ipynb``) -> ``title``, ``inputs``,
        ``results`` (``None`` for pages about the whole evidence base) and ``labels``,
        in the shape of a manifest entry.
    """
    base, report = validate(root)
    if not report.ok:
        raise UserInputError(
            f"{root}: the evidence is not valid ({len(report.errors)} error(s)); "
            f"first: {report.sorted()[0]}"
        )
    out: dict[str, dict[str, Any]] = {}
    for spec in jobs.plan_notebooks(root, base, params):
        inputs = changes.content_inputs(jobs.notebook_inputs(root, base, spec))
        if spec.params:
            inputs["parameters"] = json.dumps(spec.params, sort_keys=True)
        labels = {
            sid: base.studies[sid].label or sid
            for sid in (k.removeprefix("record ") for k in inputs if k.startswith("record "))
            if sid in base.studies
        }
        results = (
            changes.question_results(base, spec.question, spec.params)
            if spec.question is not None
            else None
        )
        out[f"{spec.name}.ipynb"] = {
            "title": notebook_title(spec.notebook, spec.name),
            "inputs": inputs,
            "results": results,
            "labels": labels,
        }
    return out


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserInputError(f"git {' '.join(args)}: cannot run git ({exc})") from None


@contextlib.contextmanager
def _worktree(root: Path, ref: str) -> Iterator[Path]:
    """Check ``ref`` out into a temporary worktree; remove it afterwards."""
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise UserInputError(
            f"--since {ref!r}: not a git revision of {root} (a commit, branch or tag, "
            "e.g. HEAD~1 or main)"
        )
    commit = found.stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="synthesis-diff-"))
    where = tmp / "tree"
    added = _git(root, "worktree", "add", "--detach", "--quiet", str(where), commit)
    if added.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserInputError(f"git worktree add failed: {added.stderr.strip()}")
    try:
        # the project may sit below the top of the repository
        top = _git(root, "rev-parse", "--show-toplevel").stdout.strip()
        sub = Path(root).resolve().relative_to(Path(top).resolve()) if top else Path()
        yield where / sub
    finally:
        _git(root, "worktree", "remove", "--force", str(where))
        shutil.rmtree(tmp, ignore_errors=True)
        _git(root, "worktree", "prune")


def _last_build(reports: Path) -> dict[str, dict[str, Any]]:
    path = reports / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(
            f"{path}: no previous build to compare with; run `synthesis build`, or give "
            "--since REF to compare with a git revision"
        ) from None
    except (OSError, ValueError) as exc:
        raise UserInputError(f"{path}: cannot read the manifest ({exc})") from None
    pages = data.get("notebooks") if isinstance(data, dict) else None
    if not isinstance(pages, list):
        raise UserInputError(f"{path}: not a manifest of `synthesis build`")
    out = {}
    for e in pages:
        if isinstance(e, dict) and isinstance(e.get("inputs"), dict):
            out[e["name"]] = {
                "title": e.get("title", e["name"]),
                "inputs": content_inputs(e["inputs"]),
                "results": e.get("results"),
                "labels": e.get("labels") or {},
                "at": e.get("rendered_at"),
            }
    if not out:
        raise UserInputError(
            f"{path}: written by an older `synthesis build` without per-page inputs; "
            "build once more, or give --since REF"
        )
    return out


def diff(
    root: Path, since: str | None = None, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What changed in each page's records and results.

    Parameters
    ----------
    root : pathlib.Path
        Project root (the working tree).
    since : str, optional
        A git revision to compare with; default: the last build in ``reports/``.
    params : dict, optional
        Build parameters; the last build is then ``reports-variants/<variant>/``.

    Returns
    -------
    dict
        ``against`` (``"last build"`` or the revision and its commit) and ``pages``:
        page name -> ``title`` and ``changes`` (:meth:`synthesis.changes.Changes.to_json`;
        a page that is new or gone says so in ``status``).
    """
    root = Path(root).resolve()
    now = snapshot(root, params)
    if since is None:
        reports = (
            root / VARIANTS_DIRNAME / jobs.variant_name(params)
            if params
            else root / REPORTS_DIRNAME
        )
        before = _last_build(reports)
        against = "the last build"
    else:
        with _worktree(root, since) as old_root:
            before = snapshot(old_root, params)
        commit = _git(root, "rev-parse", "--short", since).stdout.strip()
        against = f"{since} ({commit})" if commit and commit != since else since
    pages: dict[str, Any] = {}
    for name in [*now, *(n for n in before if n not in now)]:
        old, new = before.get(name), now.get(name)
        if new is None:
            pages[name] = {"title": old["title"], "status": "removed", "changes": None}  # type: ignore[index]
            continue
        if old is None:
            pages[name] = {"title": new["title"], "status": "new", "changes": None}
            continue
        found = changes.compare(
            old["inputs"],
            new["inputs"],
            old["results"],
            new["results"],
            labels={**old["labels"], **new["labels"]},
            previous_at=old.get("at"),
        )
        pages[name] = {
            "title": new["title"],
            "status": "unchanged" if found.empty() else "changed",
            "changes": found.to_json(),
        }
    return {"against": against, "pages": pages}


def format_diff(result: Mapping[str, Any]) -> str:
    """The text ``synthesis diff`` prints: per page, the changes in plain words."""
    lines = [f"Changes in the working tree since {result['against']}:"]
    for name, page in result["pages"].items():
        lines.append(f"{page['title']} ({name.removesuffix('.ipynb')}):")
        if page["status"] in ("new", "removed"):
            lines.append(f"  {'a new page' if page['status'] == 'new' else 'page removed'}")
            continue
        found = Changes.from_json(page["changes"])
        said = sentences(found) + [f"{item}." for item in found.other_inputs]
        lines += [f"  {s}" for s in said] or ["  no change"]
    return "\n".join(lines) + "\n"
