"""The ``synthesis`` command line.

Exit codes: 0 success (warnings allowed), 1 a user error (bad input: the message says
what and where), 2 an internal error (a bug: please report it with the traceback).
Heavy libraries (pandas, PyMARE, matplotlib, nbconvert) are imported only by the
commands that need them, so ``synthesis --help`` and ``synthesis validate`` start fast.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from synthesis import __version__, vocabulary
from synthesis.errors import UserInputError, ValidationFailed
from synthesis.warnings import SynthesisWarning

EXIT_OK, EXIT_USER, EXIT_INTERNAL = 0, 1, 2

DESCRIPTION = """\
Reproducible evidence synthesis: study records in evidence/, effect sizes, meta-analysis
that agrees with R's metafor, and reports built from executed notebooks.

Typical workflow for adding a study:
  synthesis new-study smith2024 --citation smith2024mindful   # writes a template record
  (fill in evidence/studies/smith2024.yaml, add the BibTeX entry to references.bib)
  synthesis validate                                           # every problem, with file:line
  synthesis build                                              # reports/ with the new study
"""


def _root(args: argparse.Namespace) -> Path:
    return Path(getattr(args, "root", None) or ".")


def cmd_validate(args: argparse.Namespace) -> int:
    from synthesis.validate import validate

    if args.path is not None and args.root is not None and Path(args.path) != Path(args.root):
        raise UserInputError(
            f"give the project root once: --root {args.root} or the path {args.path}, not both"
        )
    root = Path(args.root or args.path or ".")
    if not (root / "evidence").is_dir():
        raise UserInputError(
            f"{root}: no evidence/ folder here; run from the project root or give its path"
        )
    import gc

    gc.disable()  # validate() pauses the collector; this command ends after printing
    base, report = validate(root, cache=not args.no_cache)
    if args.format == "json":
        print(report.to_json())
    else:
        for problem in report.sorted():
            print(problem)
        if report.ok and not args.quiet:
            print(f"Studies ({len(base.studies)}):")
            for sid, study in sorted(base.studies.items()):
                n_out = len(study.outcomes)
                print(f"  {sid:<32} {study.design:<30} {study.status:<10} {n_out} outcome(s)")
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_USER


def cmd_list(args: argparse.Namespace) -> int:
    from synthesis.validate import validate

    base, report = validate(_root(args))
    print(f"Questions ({len(base.questions)}):")
    for qid, q in sorted(base.questions.items()):
        print(f"  {qid:<28} {q.short_title}  [{', '.join(o.id for o in q.outcomes)}]")
    print(f"Studies ({len(base.studies)}):")
    for sid, study in sorted(base.studies.items()):
        qs = sorted({o.question for o in study.outcomes})
        print(f"  {sid:<32} {study.design:<30} {study.status:<10} {', '.join(qs)}")
    if not report.ok:
        print(f"(the evidence base has {len(report.errors)} error(s): run `synthesis validate`)")
    return EXIT_OK


def cmd_new_study(args: argparse.Namespace) -> int:
    from synthesis.template import write_study_template

    path = write_study_template(
        _root(args), args.id, args.citation, kind=args.kind, force=args.force
    )
    print(f"wrote {path}: fill in the fields, then run `synthesis validate`")
    return EXIT_OK


def cmd_map(args: argparse.Namespace) -> int:
    from synthesis.validate import load_evidence

    base = load_evidence(_root(args))
    if args.format == "csv":
        from synthesis.evidence_map import map_rows

        print(map_rows(base).to_csv(index=False), end="")
    else:
        from synthesis.evidence_map import format_map

        print(format_map(base), end="")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from synthesis.integrity import check_evidence
    from synthesis.validate import load_evidence

    report = check_evidence(load_evidence(_root(args)))
    print(report.to_json() if args.format == "json" else report.to_text())
    return EXIT_OK if report.ok else EXIT_USER


def cmd_pool(args: argparse.Namespace) -> int:
    from synthesis.pool import format_text, pool_csv, to_json

    result = pool_csv(
        Path(args.file),
        measure=args.measure,
        method=args.method,
        test=args.test,
        level=args.level,
    )
    print(to_json(result) if args.json else format_text(result))
    return EXIT_OK


def cmd_combine(args: argparse.Namespace) -> int:
    from synthesis.combine_csv import combine_csv, format_text, to_json

    result = combine_csv(Path(args.file))
    print(to_json(result) if args.json else format_text(result))
    return EXIT_OK


def cmd_sof(args: argparse.Namespace) -> int:
    import pandas as pd

    from synthesis.analysis import analyse_question
    from synthesis.grade import summary_of_findings
    from synthesis.validate import load_evidence

    base = load_evidence(_root(args))
    if args.question and args.question not in base.questions:
        raise UserInputError(
            f"question {args.question!r} does not exist (allowed: {', '.join(base.questions)})"
        )
    qids = [args.question] if args.question else sorted(base.questions)
    frames = []
    for qid in qids:
        table = summary_of_findings(base, analyse_question(base, qid))
        table.insert(0, "question", qid)
        frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    if args.format == "docx":
        from synthesis.grade import LEVEL_DEFINITIONS
        from synthesis.wordbrief import frame_to_docx

        if not args.output:
            raise UserInputError("--format docx writes a file: give it with --output FILE.docx")
        frame_to_docx(
            table,
            Path(args.output),
            title="Summary of findings",
            notes=[
                f"{level.capitalize()} certainty: {text}"
                for level, text in LEVEL_DEFINITIONS.items()
            ],
            group_by="question",
        )
        print(f"wrote {args.output}")
    elif args.format == "csv":
        print(table.to_csv(index=False), end="")
    else:
        for row in table.to_dict("records"):
            print(f"{row['question']} / {row['outcome']}")
            for key, value in list(row.items())[2:]:
                print(f"    {key}: {value}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from synthesis.export import export_package
    from synthesis.validate import load_evidence

    for path in export_package(
        load_evidence(_root(args)), Path(args.output), questions=args.question
    ):
        print(f"wrote {path}")
    return EXIT_OK


def cmd_claims(args: argparse.Namespace) -> int:
    import json

    from synthesis.validate import load_evidence
    from synthesis.verdicts import claim_results

    base = load_evidence(_root(args))
    if args.question and args.question not in base.questions:
        raise UserInputError(
            f"question {args.question!r} does not exist (allowed: {', '.join(base.questions)})"
        )
    results = claim_results(base, args.question)
    if args.format == "json":
        print(json.dumps([r.to_dict(base) for r in results], indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(r.to_text() for r in results) if results else "no claims recorded")
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from synthesis import uptodate

    root = _root(args)
    if not (root / "evidence").is_dir():
        raise UserInputError(f"{root}: no evidence/ folder here; run from the project root")
    params: dict[str, object] = {}
    reports = root / "reports"
    if args.param:
        from synthesis.jobs import parse_params, variant_name

        params = parse_params(args.param)
        reports = root / "reports-variants" / variant_name(params)
    # nothing changed since the last build: say so without validating or planning
    stamp = uptodate.stamp(root, pdf=not args.no_pdf, params=params)
    manifest = None if args.force or args.question else uptodate.unchanged(reports, stamp)
    if manifest is not None:
        for line in manifest["stamp"]["warnings"]:
            print(line)
        built = manifest.get("provenance", {}).get("built_at", "?")
        print(f"nothing changed since the build of {built}: {reports} is up to date")
        print(f"open {reports / 'index.html'}")
        return EXIT_OK

    from synthesis.report import build_reports
    from synthesis.validate import validate

    print("validating evidence/ and references.bib ...", flush=True)
    base, report = validate(root)
    if not report.ok:
        raise ValidationFailed(report, report.to_text())
    for problem in report.warnings:
        print(problem)

    def progress(line: str) -> None:
        print(line, flush=True)

    result = build_reports(
        root,
        force=args.force,
        progress=progress,
        timeout=args.timeout,
        base=base,
        pdf=not args.no_pdf,
        question=args.question,
        params=params,
        jobs=args.jobs,
        scheduler=args.scheduler,
        stamp={"digest": stamp, "warnings": [str(p) for p in report.warnings]},
    )
    for note in result.notes:
        print(f"synthesis build: warning: {note}", file=sys.stderr)
    print(f"open {result.reports_dir / 'index.html'}")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    import json

    from synthesis.history import diff, format_diff
    from synthesis.jobs import parse_params

    root = _root(args)
    if not (root / "evidence").is_dir():
        raise UserInputError(f"{root}: no evidence/ folder here; run from the project root")
    result = diff(root, since=args.since, params=parse_params(args.param))
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(format_diff(result), end="")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from synthesis.records import write_schemas

    for path in write_schemas(_root(args) / "evidence" / "schema"):
        print(f"wrote {path}")
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake exits 1 (a user error), not argparse's 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USER)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="synthesis",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"synthesis {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check every record and references.bib; list problems")
    p.add_argument("--root", help="project root (default: .), as for every command")
    p.add_argument("path", nargs="?", help="project root (the older spelling of --root)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--quiet", action="store_true", help="problems and summary only")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="read every file anew and leave the validation cache alone (results are the "
        "same with it: it keeps each unchanged file's parse; see synthesis.parsecache)",
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("list", help="questions and studies as a table")
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("new-study", help="write a commented template record to fill in")
    p.add_argument("id", help="study id = file name stem, e.g. smith2024 (a-z, 0-9, - and _)")
    p.add_argument("--citation", required=True, help="its key in references.bib")
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.add_argument("--force", action="store_true", help="overwrite an existing record")
    p.add_argument(
        "--kind",
        default="correlation",
        help="data kind of the outcome, i.e. which numbers the study reports: correlation "
        "(default), two_group_binary, proportion, two_group_continuous, pre_post, "
        "reported_effect, narrative, ... (a wrong name lists them all)",
    )
    p.set_defaults(func=cmd_new_study)

    p = sub.add_parser("schema", help="regenerate evidence/schema/*.json from the record models")
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser(
        "map", help="evidence map: studies by question and outcome, poolable or not, and why"
    )
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.add_argument("--format", choices=("text", "csv"), default="text")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser(
        "check",
        help="integrity checks: recompute p values, CIs, percentages, GRIM; flag contradictions",
    )
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "build",
        help="validate, execute the notebooks (cached) and write reports/",
        description="Validate the evidence, execute every notebook in notebooks/ (except names "
        "starting with _) and render reports/academic/*.html (with code), "
        "reports/commissioner/*.html and *.pdf (no code), reports/index.html and "
        "reports/manifest.json. Each question's notebook is generated from "
        "notebooks/_template_question.ipynb. A notebook is re-executed only when what it "
        "reads changed (its question file, the records serving the question, the "
        "references they cite, its parameters, the notebook or the package); the manifest "
        "says why each ran. The previous reports stay in place unless every notebook "
        "succeeds.",
    )
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.add_argument("--force", action="store_true", help="re-execute every notebook")
    p.add_argument("--no-pdf", action="store_true", help="write the HTML pages only")
    p.add_argument("--question", metavar="ID", help="build only this question (and the index)")
    p.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="notebook parameter: method (EE, DL, HE, SJ, PM, ML, REML, EB), test (z, knha), "
        "level (e.g. 90) or prepost_r; repeatable; the build then writes "
        "reports-variants/<variant>/, e.g. reports-variants/DL/",
    )
    p.add_argument(
        "--jobs", type=int, help="notebooks executed at once (default: the CPUs, at most 4)"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="execute the notebooks on a Dask distributed cluster, e.g. tcp://127.0.0.1:8786 "
        "(needs pip install 'synthesis[dask]'; workers must see the project at the same path)",
    )
    p.add_argument("--timeout", type=int, default=120, help="seconds allowed per cell (120)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "diff",
        help="what changed in records and results since the last build (or --since REF)",
        description="Compare the working tree's records and results (pooled estimates with "
        "their intervals, verdicts, certainty, counts) with the last build in reports/, or "
        "with a git revision (--since REF, analysed in a temporary git worktree with the "
        "toolkit as it is now). Nothing is executed or written.",
    )
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.add_argument("--since", metavar="REF", help="a git revision, e.g. HEAD~1 or main")
    p.add_argument(
        "--param", action="append", metavar="KEY=VALUE", help="as for build (its variant)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("sof", help="GRADE summary-of-findings table (text or CSV)")
    p.add_argument("--question", help="one question id (default: all)")
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.add_argument("--format", choices=("text", "csv", "docx"), default="text")
    p.add_argument("--output", help="file to write (required with --format docx)")
    p.set_defaults(func=cmd_sof)

    p = sub.add_parser(
        "export",
        help="write effect sizes, pooled results and vote counts as a Frictionless Data Package",
    )
    p.add_argument("--question", action="append", help="question id (repeatable; default: all)")
    p.add_argument("--output", required=True, help="folder to write the CSVs and datapackage.json")
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "claims", help="the claims register: each claim, its checks against the records, verdict"
    )
    p.add_argument("--question", help="one question id (default: all)")
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser(
        "pool",
        help="pool a CSV of effect-size inputs (metafor escalc column names)",
        description=POOL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="CSV file; an optional study/slab column labels the rows")
    p.add_argument(
        "--measure",
        help=f"{', '.join(vocabulary.QUESTION_MEASURES)} (omit when the CSV has yi,vi)",
    )
    p.add_argument(
        "--method",
        default="REML",
        help="tau^2 estimator: "
        + ", ".join(m + " (default)" if m == "REML" else m for m in vocabulary.METHODS),
    )
    p.add_argument(
        "--test",
        default="z",
        choices=vocabulary.TESTS,
        help="z (default, as metafor) or knha (Knapp-Hartung)",
    )
    p.add_argument("--level", type=float, default=95.0, help="confidence level in %% (95)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_pool)

    p = sub.add_parser(
        "combine",
        help="vote count, sign test and combined p values (Stouffer, Fisher) from a CSV",
        description=COMBINE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="CSV with columns p, direction and optionally n, label")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_combine)

    return parser


COMBINE_HELP = """\
Synthesis without meta-analysis for results that cannot be pooled: a vote count on the
direction of effect (proportion favourable with a 95% Wilson interval, two-sided sign
test) and one-sided p values in the favourable direction combined by Stouffer's method
(unweighted and weighted by sqrt(n)) and Fisher's method (through PyMARE).

Columns:
  p          two-sided p value, 0 < p <= 1
  direction  +1 favours the intervention, -1 the comparator, 0 no difference
  n          sample size (optional; needed for the weighted Stouffer test)
  label      study label (optional)

A combined p says that some study probably has an effect in the favourable direction;
it does not say how large the effect is.

Example:
  synthesis combine results.csv --json
"""


POOL_HELP = """\
Pool the studies of a CSV file with a random-effects model (REML by default, as metafor).

Columns are metafor's escalc argument names:
  ZCOR, COR        ri, ni
  SMD, MD          m1i, sd1i, n1i, m2i, sd2i, n2i
  SMCC             m1i (post), m2i (pre), sd1i, sd2i, ni, ri
  OR, RR, RD       ai, bi, ci, di   or   ai, n1i, ci, n2i
  PLO, PR, PFT     xi, ni
  (any)            yi, vi           (then --measure may be omitted)
Rows with a missing value are left out with a warning and counted in k_excluded.

Example:
  synthesis pool studies.csv --measure ZCOR --method REML --test knha --json
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 user error, 2 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    import warnings

    with warnings.catch_warnings():
        # at the boundary our own warnings are shown, one readable line each
        warnings.simplefilter("always", SynthesisWarning)
        default_show = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if issubclass(category, SynthesisWarning):
                print(f"synthesis {args.command}: warning: {message}", file=sys.stderr)
            else:
                default_show(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        return _run(args)


def _tolerant_streams() -> None:
    """Let output reach a console that cannot show every character (cp1252 on Windows).

    A character the stream's encoding lacks is written as a ``\\N{...}``-style escape
    (``\\u2295``) rather than ending the command with UnicodeEncodeError.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") != "utf8":
            import contextlib

            with contextlib.suppress(ValueError, OSError):  # a detached or closed stream
                reconfigure(errors="backslashreplace")


def _run(args: argparse.Namespace) -> int:
    _tolerant_streams()
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        # the reader stopped reading (`synthesis list | head -1`): not an error. Point
        # stdout at devnull so the interpreter's final flush does not fail again.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except ValidationFailed as exc:
        print(exc.report.to_text(), file=sys.stderr)  # type: ignore[attr-defined]
        return EXIT_USER
    except UserInputError as exc:
        print(f"synthesis {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_USER
    except Exception:
        traceback.print_exc()
        print(
            f"synthesis {args.command}: internal error (a bug in synthesis {__version__}); "
            "please report it with the traceback above",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
