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
from collections.abc import Callable, Sequence
from pathlib import Path

from synthesis import __version__
from synthesis.errors import UserInputError, ValidationFailed

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

    root = Path(args.path)
    if not (root / "evidence").is_dir():
        raise UserInputError(
            f"{root}: no evidence/ folder here; run from the project root or give its path"
        )
    base, report = validate(root)
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

    path = write_study_template(_root(args), args.id, args.citation, force=args.force)
    print(f"wrote {path}: fill in the fields, then run `synthesis validate`")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synthesis",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"synthesis {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check every record and references.bib; list problems")
    p.add_argument("path", nargs="?", default=".", help="project root (default: .)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--quiet", action="store_true", help="problems and summary only")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("list", help="questions and studies as a table")
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("new-study", help="write a commented template record to fill in")
    p.add_argument("id", help="study id = file name stem, e.g. smith2024 (a-z, 0-9, - and _)")
    p.add_argument("--citation", required=True, help="its key in references.bib")
    p.add_argument("--root", default=".", help="project root (default: .)")
    p.add_argument("--force", action="store_true", help="overwrite an existing record")
    p.set_defaults(func=cmd_new_study)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


#: Further sub-commands register here (see the end of this module).
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 user error, 2 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    try:
        return int(args.func(args))
    except ValidationFailed as exc:
        print(exc.report.to_text(), file=sys.stderr)  # type: ignore[attr-defined]
        return EXIT_USER
    except UserInputError as exc:
        print(f"synthesis {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_USER
    except Exception:  # noqa: BLE001 - the boundary: a bug, shown in full
        traceback.print_exc()
        print(
            f"synthesis {args.command}: internal error (a bug in synthesis {__version__}); "
            "please report it with the traceback above",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
