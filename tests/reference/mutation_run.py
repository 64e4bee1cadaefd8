"""Hand-rolled mutation run (mutmut-style) on records->effect sizes and numbers->words.

Usage: ``python tests/reference/mutation_run.py COPY_OF_REPO``. Each mutant is applied to
the copy (never to the working tree), the targeted tests run, and the file is restored.
Results and kept survivors are in tests/README.md.
"""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(sys.argv[1])
PY = sys.executable
TESTS = [
    "tests/test_extract.py",
    "tests/test_plain.py",
    "tests/test_golden_evidence.py",
    "tests/test_counts.py",
    "tests/test_robustness.py",
    "tests/test_integrity_effect_p.py",
]

M = [
    (
        "extract.py",
        '"m1i": _v(data.mean_post),\n        "m2i": _v(data.mean_pre),',
        '"m1i": _v(data.mean_pre),\n        "m2i": _v(data.mean_post),',
        "DONE-WHEN swapped pre/post means",
    ),
    (
        "extract.py",
        'r, assumed, r_note = _v(data.r_prepost), False, " reported"',
        'r, assumed, r_note = prepost_r, False, " reported"',
        "DONE-WHEN ignored reported pre-post r",
    ),
    (
        "plain.py",
        '    elif b_lo >= small:\n        category = "benefit"',
        '    elif b_lo < small:\n        category = "benefit"',
        "DONE-WHEN inverted interval test (benefit)",
    ),
    (
        "plain.py",
        "    elif b_lo > -small and b_hi < small:",
        "    elif not (b_lo > -small and b_hi < small):",
        "inverted 'within no important difference' test",
    ),
    (
        "extract.py",
        "r = (sd_pre**2 + sd_post**2 - sdc**2)",
        "r = (sd_pre**2 + sd_post**2 + sdc**2)",
        "implied r formula sign",
    ),
    (
        "extract.py",
        "t = float(stats.t.isf(p / 2, n - 1))",
        "t = float(stats.t.isf(p, n - 1))",
        "one-sided p to t",
    ),
    (
        "extract.py",
        "elif implied is not None and use_implied_r:",
        "elif False:",
        "study-implied r ignored",
    ),
    (
        "extract.py",
        "        yi = j * est\n",
        "        yi = est\n",
        "no small-sample correction d->g",
    ),
    ("extract.py", "n1 = n2 = _v(data.n) / 2", "n1 = n2 = _v(data.n)", "equal split wrong"),
    (
        "extract.py",
        "m = n if n_ci is None else _v(n_ci)",
        "m = n",
        "CI of a mean ignores its own n",
    ),
    ("extract.py", "half = sd / math.sqrt(2)", "half = sd / 2", "change-score SD split"),
    (
        "plain.py",
        'sign = -1.0 if outcome.direction == "lower is better" else 1.0',
        "sign = 1.0",
        "direction ignored",
    ),
    (
        "plain.py",
        "if large is not None and b_lo <= -large and b_hi >= large:",
        "if large is not None and (b_lo <= -large or b_hi >= large):",
        "uninformative too eager",
    ),
    (
        "plain.py",
        '"moderate": ("probably ", "third"),',
        '"moderate": ("", "third"),',
        "moderate hedge dropped",
    ),
    ("plain.py", "hi - lo >= 0.9 - 1e-9", "hi - lo >= 0.5", "proportion uninformative width"),
    (
        "plain.py",
        "    if distance < moderate:\n",
        "    if distance <= moderate:\n",
        "moderate boundary (<= vs <)",
    ),
    (
        "plain.py",
        'return self.category not in ("uninformative", "no thresholds")',
        "return True",
        "uninformative headlines a number",
    ),
    (
        "plain.py",
        '"low": ("may ", "base"),',
        '"low": ("probably ", "third"),',
        "low hedge as moderate",
    ),
    (
        "counts.py",
        'if measure in SINGLE_GROUP_MEASURES and row.n_basis == "study" and row.comparative:',
        "if False:",
        "arm counted with its comparison group",
    ),
    (
        "counts.py",
        "groups.setdefault(r.cohort or r.study, []).append(r)",
        "groups.setdefault(r.study, []).append(r)",
        "cohorts summed",
    ),
    (
        "counts.py",
        "row = max(known, key=lambda r: (counted_n(r, measure), r.label))",
        "row = min(known, key=lambda r: (counted_n(r, measure), r.label))",
        "smallest report counted",
    ),
]
results = []
for f, old, new, label in M:
    path = ROOT / "synthesis" / f
    text = path.read_text()
    assert text.count(old) == 1, (label, text.count(old))
    path.write_text(text.replace(old, new))
    try:
        r = subprocess.run(
            [PY, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *TESTS],
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        killed = r.returncode != 0
        first = next((x for x in r.stdout.splitlines() if x.startswith("FAILED")), "")
    finally:
        path.write_text(text)
    results.append({"file": f, "mutant": label, "killed": killed, "by": first[:150]})
    print(("KILLED  " if killed else "SURVIVED"), label, first[:120], flush=True)
print(json.dumps(results, indent=1))
print(f"kill rate {sum(r['killed'] for r in results)}/{len(results)}")
