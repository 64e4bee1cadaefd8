"""The documentation's promises: every public function and class has an example, every
example runs and prints what it says, and the API reference lists the whole public API.

The Sphinx build itself (``docs/``, warnings as errors) runs in ``.ci/run``, not here:
it needs the ``docs`` extra and about a minute.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from typing import Any

import pytest

import synthesis
import synthesis.stats

from .conftest import ROOT

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _public() -> dict[str, Any]:
    """Public functions and classes: ``synthesis.__all__`` and ``synthesis.stats.__all__``."""
    names = {f"synthesis.{n}": getattr(synthesis, n) for n in synthesis.__all__}
    names |= {f"synthesis.stats.{n}": getattr(synthesis.stats, n) for n in synthesis.stats.__all__}
    return {n: o for n, o in names.items() if inspect.isfunction(o) or inspect.isclass(o)}


PUBLIC = _public()
STATS_MODULES = sorted(
    f"synthesis.stats.{m.name}" for m in pkgutil.iter_modules(synthesis.stats.__path__)
)


def _examples(doc: str | None) -> str:
    parts = re.split(r"^Examples\n-{8}\n", inspect.cleandoc(doc or ""), flags=re.M)
    return parts[1] if len(parts) == 2 else ""


def test_the_public_api_is_what_the_counts_below_assume():
    # a guard for the two tests below: they must see the whole public API
    assert len(PUBLIC) >= 45
    assert {"synthesis.rma", "synthesis.forest", "synthesis.stats.MetaResult"} <= set(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_function_and_class_has_an_example(name):
    examples = _examples(PUBLIC[name].__doc__)
    assert ">>> " in examples, f"{name}: the docstring needs an Examples section with doctests"


@pytest.mark.parametrize("module", [*STATS_MODULES, "synthesis.plots"])
def test_the_examples_run(module):
    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder()
    tests = finder.find(mod, module)
    if module == "synthesis.plots":  # only the public plots; the rest is report code
        tests = [t for t in tests if t.name.rsplit(".", 1)[-1] in ("forest", "funnel")]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) in {module} print something else"


def test_every_public_example_is_run_by_the_test_above():
    covered = {*STATS_MODULES, "synthesis.plots"}
    for name, obj in PUBLIC.items():
        assert obj.__module__ in covered, f"{name} is defined in {obj.__module__}"


def test_the_api_reference_lists_the_whole_public_api():
    text = (ROOT / "docs" / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   (\w+)$", text, flags=re.M))
    public = set(synthesis.__all__) - {"__version__"}
    stats = set(synthesis.stats.__all__)
    missing = sorted((public | stats) - listed)
    assert not missing, f"docs/api.rst does not list {missing}"
    assert not sorted(listed - public - stats), "docs/api.rst lists names that are not public"


def test_the_docs_build_offline():
    conf = (ROOT / "docs" / "conf.py").read_text(encoding="utf-8")
    assert "sphinx.ext.intersphinx" not in conf  # it would fetch other projects' inventories
    assert "references.bib" in conf  # citations come from the project's bibliography
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "sphinx-build -W --keep-going" in ci
