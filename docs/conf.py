"""Sphinx configuration of the synthesis documentation.

Build (offline, warnings as errors), from the project root::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import synthesis  # noqa: E402

project = "synthesis"
author = "The synthesis contributors"
copyright = "the synthesis contributors (MIT licence)"
release = version = synthesis.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinxcontrib.bibtex",
]

# Offline by design: no intersphinx (it would fetch inventories) and no MathJax (it
# loads from a CDN); the docstrings write their formulas in Unicode.

exclude_patterns = ["_build"]
templates_path = ["_templates"]
root_doc = "index"

autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc "Parameters" sections already give the types
autodoc_member_order = "bysource"

# numpydoc: the class pages list members through autosummary tables of their own; the
# docstrings' own sections are the reference, so no second, generated member list.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Method citations in the docstrings (:cite:`key`) come from the project's bibliography.
bibtex_bibfiles = [str(ROOT / "references.bib")]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

html_theme = "alabaster"
html_static_path: list[str] = []
html_title = f"synthesis {release}"
