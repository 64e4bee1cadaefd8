"""Benchmarks of the toolkit, with metafor's timings from the same run when R is available.

Usage::

    python benchmarks/run.py [--json] [--repeats N]

Every figure is the median over ``N`` repeats (default 5; the slowest items are
repeated fewer times, see the notes in the output); single fits with k <= 100 are
timed as the mean of 20 back-to-back fits per repeat, on both sides. Data are generated here with
``numpy.random.default_rng(SEED)``; the library never seeds anything. When
``Rscript`` with metafor is installed, ``benchmarks/metafor_bench.R`` times the same
fits on the same data and the ratios ``metafor / ours`` are printed.

Our single fits are full ``synthesis.stats.rma`` calls; like metafor's ``rma`` they do
not compute the Q-profile CI of τ² (the result computes it on first access).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240601
SINGLE_K = (10, 100, 1000, 10000)
BATCH_N, BATCH_K = 1000, 20
VALIDATE_RECORDS = 10_000
#: Fits per timing for k <= 100 (one fit is below R's 1 ms timer resolution); the
#: same number is used in metafor_bench.R.
INNER = 20


def _median_s(fn: Callable[[], Any], repeats: int, inner: int = 1) -> float:
    """Median over ``repeats`` of the mean time of ``inner`` back-to-back calls (s)."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def _data(rng: np.random.Generator, k: int, tau2: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.3, np.sqrt(vi + tau2))
    return yi, vi


def _cli(*args: str, cwd: Path | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "synthesis.cli", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _time_cli(args: tuple[str, ...], repeats: int, cwd: Path | None = None) -> float:
    def run() -> None:
        proc = _cli(*args, cwd=cwd)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"synthesis {' '.join(args)} failed:\n{proc.stderr[-2000:]}")

    return _median_s(run, repeats)


RECORD = "evidence/studies/fortney2013.yaml"
RECORD_VALUES = ("      mean_post: 28.9\n", "      mean_post: 24.9\n")


def _copy_repo(dest: Path) -> Path:
    for name in ("evidence", "notebooks"):
        shutil.copytree(ROOT / name, dest / name)
    shutil.copy(ROOT / "references.bib", dest / "references.bib")
    return dest


def _executed(root: Path) -> list[str]:
    manifest = json.loads((root / "reports" / "manifest.json").read_text(encoding="utf-8"))
    return [e["name"] for e in manifest["notebooks"] if e["status"] == "executed"]


def _timed(args: tuple[str, ...], cwd: Path, notes: list[str], what: str) -> float:
    t0 = time.perf_counter()
    proc = _cli(*args, cwd=cwd)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        notes.append(f"{what}: exit {proc.returncode}: {proc.stderr[-300:]!r}")
        return math.nan
    return seconds


def _build_times(repeats: int, notes: list[str]) -> dict[str, Any]:
    """Cold, unchanged and one-Q2-record-changed builds of a copy of the repository."""
    out: dict[str, Any] = {}
    n_cold = max(1, min(repeats, 3))
    with tempfile.TemporaryDirectory() as tmp:
        copy = _copy_repo(Path(tmp) / "repo")
        cold = [
            _timed(("build", "--force", "--no-pdf"), copy, notes, "build cold, no PDF")
            for _ in range(n_cold)
        ]
        out["build_cold_nopdf_s"] = statistics.median(cold)
        cold = [_timed(("build", "--force"), copy, notes, "build cold") for _ in range(n_cold)]
        out["build_cold_s"] = statistics.median(cold)
        warm = [_timed(("build",), copy, notes, "build unchanged") for _ in range(repeats)]
        out["build_warm_s"] = statistics.median(warm)
        record = copy / RECORD
        text = record.read_text(encoding="utf-8")
        if RECORD_VALUES[0] not in text:
            notes.append(f"one record: {RECORD} no longer holds {RECORD_VALUES[0].strip()!r}")
            return out
        times, executed = [], []
        for i in range(repeats):  # alternate the value: every build sees one record changed
            old, new = RECORD_VALUES[i % 2], RECORD_VALUES[(i + 1) % 2]
            text = text.replace(old, new)
            record.write_text(text, encoding="utf-8")
            times.append(_timed(("build",), copy, notes, "build one record"))
            executed.append(len(_executed(copy)))
        out["build_one_record_s"] = statistics.median(times)
        out["build_one_record_executed"] = max(executed)
    notes.append(
        f"build: cold is the median of {n_cold} `build --force`, unchanged and one Q2 record "
        f"changed ({RECORD}, mean_post alternated) medians of {repeats}; each includes "
        "validation and the PDFs (the README's `synthesis build`) except the cold "
        "`--no-pdf` figure."
    )
    return out


def _peak_rss_mb(proc: subprocess.Popen[bytes]) -> float:
    """Wait for ``proc``, sampling the summed RSS of it and its children (kernels)."""
    try:
        import psutil
    except ImportError:
        proc.wait()
        return math.nan
    top = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [top, *top.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    return peak / 2**20


def _generate(out: Path, questions: int, records: int) -> Path:
    """A synthetic project (benchmarks/synthetic.py, the one generator of test bases)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synthetic import generate

    return generate(out, questions=questions, records=records)


def _synthetic(notes: list[str]) -> dict[str, Any]:
    """Generate 20 questions x 2,000 records and build them cold (one run)."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = _generate(Path(tmp) / "programme", questions=20, records=2000)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "synthesis.cli", "build", "--root", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        out["synthetic_peak_mb"] = _peak_rss_mb(proc)
        out["synthetic_cold_s"] = time.perf_counter() - t0
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            notes.append(f"synthetic build: exit {proc.returncode}: {err[-300:]!r}")
        else:
            out["synthetic_executed"] = len(_executed(root))
    notes.append(
        "synthetic: benchmarks/synthetic.py, 20 questions and 2,000 records of every kind, "
        "one cold `synthesis build` (PDFs included); peak memory is the largest sum of the "
        "RSS of the build and its kernels, sampled every 0.1 s."
    )
    return out


def _cold_s(args: tuple[str, ...], cache: Path, repeats: int) -> float:
    """Median of ``repeats`` runs, each with the validation cache emptied first."""
    times = []
    for _ in range(repeats):
        shutil.rmtree(cache, ignore_errors=True)
        t0 = time.perf_counter()
        proc = _cli(*args)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"synthesis {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return statistics.median(times)


def _validate_times(tmp: Path, cache: Path, repeats: int, notes: list[str]) -> dict[str, Any]:
    """``synthesis validate --quiet`` of the repository and of 10,000 generated records,
    warm (the validation cache filled) and cold (emptied before each run)."""
    out: dict[str, Any] = {}
    repo = ("validate", str(ROOT), "--quiet")
    out["validate_repo_s"] = _time_cli(repo, repeats)
    out["validate_repo_cold_s"] = _cold_s(repo, cache, repeats)
    base = _generate(tmp / "base", questions=20, records=VALIDATE_RECORDS)
    n = max(1, min(repeats, 3))
    args = ("validate", str(base), "--quiet")
    out["validate_10k_cold_s"] = _cold_s(args, cache, n)
    out["validate_10k_s"] = _time_cli(args, n)
    check = _cli(*args)
    out["validate_10k_exit"] = check.returncode
    if check.returncode != 0:
        notes.append(f"validate 10k: exit {check.returncode}: {check.stdout[-300:]!r}")
    cold = _cli(*args, "--no-cache")
    if (cold.returncode, cold.stdout) != (check.returncode, check.stdout):
        notes.append("validate 10k: the output with the cache differs from --no-cache")
    notes.append(
        "validate: warm figures are medians with the validation cache filled (the run "
        "before fills it), cold ones medians of runs with it emptied first (each writes it)."
    )
    return out


def _rma_imports_pymare() -> bool:
    code = (
        "import sys, synthesis as s\n"
        "fit = getattr(s, 'rma', None)\n"
        "if fit is None:\n"
        "    from synthesis.stats import rma as fit\n"
        "fit([0.1, 0.3, 0.2], [0.01, 0.02, 0.03])\n"
        "print('pymare' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return proc.stdout.strip().endswith("True")


def _metafor_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    proc = subprocess.run(
        ["Rscript", "-e", "suppressPackageStartupMessages(library(metafor))"],
        capture_output=True,
        timeout=120,
    )
    return proc.returncode == 0


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


SECTIONS = ("build", "synthetic")


def run(repeats: int, sections: tuple[str, ...] = SECTIONS) -> tuple[dict[str, Any], list[str]]:
    """Run every benchmark (the build ones in ``sections``); return figures and notes."""
    from synthesis import stats

    rng = np.random.default_rng(SEED)
    notes: list[str] = []
    res: dict[str, Any] = {"repeats": repeats, "seed": SEED, **_machine()}
    single = {k: _data(rng, k) for k in SINGLE_K}
    for k, (yi, vi) in single.items():
        n = repeats if k <= 1000 else max(1, min(repeats, 3))
        for method in ("REML", "DL"):
            res[f"{method.lower()}_k{k}_ms"] = 1e3 * _median_s(
                lambda yi=yi, vi=vi, m=method: stats.rma(yi, vi, method=m),
                n,
                inner=INNER if k <= 100 else 1,
            )
        res[f"tau2_reml_k{k}"] = stats.rma(yi, vi).tau2

    # a batch of 1000 independent meta-analyses of k = 20 (true τ² varies, 0 for a quarter)
    bv = rng.uniform(0.01, 0.2, (BATCH_N, BATCH_K))
    true_tau2 = np.where(rng.random(BATCH_N) < 0.25, 0.0, rng.uniform(0, 0.2, BATCH_N))
    by = rng.normal(0.3, np.sqrt(bv + true_tau2[:, None]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is counted below, not hidden
        for method in ("REML", "DL"):
            res[f"batch1000_k20_{method.lower()}_ms"] = 1e3 * _median_s(
                lambda m=method: stats.fit_arrays(by, bv, method=m), repeats
            )
        breml = stats.fit_arrays(by, bv, method="REML")
    res["batch_reml_not_converged"] = int((~breml["converged"]).sum())

    res["cli_start_s"] = _time_cli(("--help",), repeats)
    with tempfile.TemporaryDirectory() as tmp:
        # the validation cache of these runs is their own: filled by the warm-up run
        # (warm figures), emptied before each cold one (its first run)
        cache = Path(tmp) / "validate-cache"
        old_cache = os.environ.get("SYNTHESIS_CACHE_DIR")
        os.environ["SYNTHESIS_CACHE_DIR"] = str(cache)
        try:
            res.update(_validate_times(Path(tmp), cache, repeats, notes))
        finally:
            if old_cache is None:
                os.environ.pop("SYNTHESIS_CACHE_DIR", None)
            else:
                os.environ["SYNTHESIS_CACHE_DIR"] = old_cache
    res["rma_imports_pymare"] = _rma_imports_pymare()
    if "build" in sections:
        res.update(_build_times(repeats, notes))
    if "synthetic" in sections:
        res.update(_synthetic(notes))

    if _metafor_available():
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            for k in (10, 100, 1000):
                yi, vi = single[k]
                np.savetxt(
                    d / f"single_k{k}.csv",
                    np.column_stack([yi, vi]),
                    delimiter=",",
                    header="yi,vi",
                    comments="",
                    fmt="%.17g",
                )
            grp = np.repeat(np.arange(BATCH_N), BATCH_K)
            np.savetxt(
                d / "batch.csv",
                np.column_stack([grp, by.ravel(), bv.ravel()]),
                delimiter=",",
                header="group,yi,vi",
                comments="",
                fmt=["%d", "%.17g", "%.17g"],
            )
            proc = subprocess.run(
                ["Rscript", str(ROOT / "benchmarks" / "metafor_bench.R"), str(d), str(repeats)],
                capture_output=True,
                text=True,
                timeout=3600,
            )
        if proc.returncode != 0:
            notes.append(f"metafor benchmark failed: {proc.stderr[-500:]}")
        else:
            mf = json.loads(proc.stdout.strip().splitlines()[-1])
            batch_tau2 = np.array(
                [math.nan if t is None else t for t in mf.pop("metafor_batch_tau2_reml")]
            )
            res.update(mf)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tight = stats.fit_arrays(by, bv, method="REML", control={"maxiter": 1000})
            ok = ~np.isnan(batch_tau2)
            res["batch_tau2_max_abs_diff"] = float(
                np.max(np.abs(tight["tau2"].to_numpy()[ok] - batch_tau2[ok]))
            )
            res["batch_tau2_metafor_failed_tight"] = int((~ok).sum())
            for k in (10, 100, 1000):
                res[f"tau2_reml_k{k}_abs_diff"] = abs(
                    res[f"tau2_reml_k{k}"] - mf[f"metafor_tau2_reml_k{k}"]
                )
                for m in ("reml", "dl"):
                    res[f"ratio_{m}_k{k}"] = mf[f"metafor_{m}_k{k}_ms"] / res[f"{m}_k{k}_ms"]
            for m in ("reml", "dl"):
                res[f"ratio_batch1000_k20_{m}"] = (
                    mf[f"metafor_batch1000_k20_{m}_ms"] / res[f"batch1000_k20_{m}_ms"]
                )
            notes.append(
                "metafor: k = 10000 not timed (minutes per fit); k = 1000 and batch "
                "loops repeated at most 3 times."
            )
    else:
        notes.append("metafor: Rscript with metafor not available; only our figures.")
    return res, notes


def _table(res: dict[str, Any], notes: list[str]) -> str:
    rows = [("single fit, rma (ms)", None, None, None)]
    for k in SINGLE_K:
        for m in ("reml", "dl"):
            rows.append(
                (
                    f"  {m.upper()} k = {k}",
                    res.get(f"{m}_k{k}_ms"),
                    res.get(f"metafor_{m}_k{k}_ms"),
                    res.get(f"ratio_{m}_k{k}"),
                )
            )
    rows.append(("batch 1000 × k = 20 (ms)", None, None, None))
    for m in ("reml", "dl"):
        rows.append(
            (
                f"  {m.upper()}",
                res.get(f"batch1000_k20_{m}_ms"),
                res.get(f"metafor_batch1000_k20_{m}_ms"),
                res.get(f"ratio_batch1000_k20_{m}"),
            )
        )
    rows.append(("CLI (s)", None, None, None))
    for key, label in (
        ("cli_start_s", "synthesis --help"),
        ("validate_repo_s", "validate repository"),
        ("validate_repo_cold_s", "  cold (no validation cache)"),
        ("validate_10k_s", f"validate {VALIDATE_RECORDS:,} records"),
        ("validate_10k_cold_s", "  cold (no validation cache)"),
        ("build_cold_s", "build --force (cold)"),
        ("build_cold_nopdf_s", "  the same with --no-pdf"),
        ("build_warm_s", "build (unchanged)"),
        ("build_one_record_s", "build, one Q2 record changed"),
        ("build_one_record_executed", "  notebooks executed"),
        ("synthetic_cold_s", "synthetic 20 q / 2,000 records cold"),
        ("synthetic_peak_mb", "  peak memory (MB)"),
        ("synthetic_executed", "  notebooks executed"),
    ):
        rows.append((f"  {label}", res.get(key), None, None))

    def fmt(x: Any) -> str:
        if x is None:
            return ""
        return "NaN" if isinstance(x, float) and math.isnan(x) else f"{x:,.3f}"

    lines = [f"{'':34}{'ours':>12}{'metafor':>12}{'ratio':>10}"]
    for label, ours, mf, ratio in rows:
        lines.append(f"{label:34}{fmt(ours):>12}{fmt(mf):>12}{fmt(ratio):>10}")
    lines.append("")
    lines.append(
        f"machine: {res['nproc']} CPUs, {res['cpu']}; Python {res['python']}, numpy {res['numpy']}"
    )
    for k in (10, 100, 1000):
        if f"tau2_reml_k{k}_abs_diff" in res:
            lines.append(f"|τ² − metafor τ²| REML k = {k}: {res[f'tau2_reml_k{k}_abs_diff']:.1e}")
    if "batch_tau2_max_abs_diff" in res:
        lines.append(f"batch REML max |τ² − metafor τ²|: {res['batch_tau2_max_abs_diff']:.1e}")
    lines.append(
        f"batch REML analyses not converged at maxiter=100: {res['batch_reml_not_converged']}"
    )
    if "rma_imports_pymare" in res:
        lines.append(f"PyMARE imported by a first rma fit: {res['rma_imports_pymare']}")
    lines.extend(f"note: {n}" for n in notes)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per figure (median)")
    parser.add_argument(
        "--skip",
        action="append",
        choices=SECTIONS,
        default=[],
        help="leave out the repository builds or the synthetic programme (minutes each)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    res, notes = run(args.repeats, tuple(s for s in SECTIONS if s not in args.skip))
    if args.json:
        out = {
            key: (None if isinstance(val, float) and math.isnan(val) else val)
            for key, val in res.items()
        }
        out["notes"] = notes
        print(json.dumps(out, indent=2))
    else:
        print(_table(res, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
