"""Open built reports in headless Chromium: they load offline without script errors.

Skipped when Chromium is not installed, unless ``SYNTHESIS_REQUIRE_BROWSER=1`` (set by
CI after installing it), in which case a missing browser fails the test.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from synthesis.report import build_reports

from .chromium import FLAGS, require_chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Pooled correlation\n\nThe pooled estimate is shown below."),
            new_code_cell("print('pooled r =', 0.4242)"),
            new_code_cell(
                "from IPython.display import HTML\nimport html\n"
                "HTML(html.escape('<script>alert(1)</script>'))"
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "01_pooled.ipynb")
    return build_reports(root).reports_dir


def dump_dom(chromium: str, page: Path, profile: Path) -> tuple[str, str]:
    """Load ``page`` offline in headless Chromium; return (DOM, browser log)."""
    command = [
        chromium,
        *FLAGS,  # headless, and offline: every host name fails to resolve
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if "Uncaught" in line]


@pytest.mark.parametrize(
    "page",
    ["index.html", "commissioner/01_pooled.html", "academic/01_pooled.html"],
)
def test_page_loads_offline_without_script_errors(
    chromium: str, reports: Path, tmp_path: Path, page: str
) -> None:
    dom, log = dump_dom(chromium, reports / page, tmp_path / "profile")
    assert console_errors(log) == []
    assert "<footer" in dom  # the page was parsed to its end
    if page == "index.html":
        assert "Pooled correlation" in dom
        assert 'href="commissioner/01_pooled.pdf"' in dom
    else:
        assert "pooled r = 0.4242" in dom
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom  # shown as text, not run
    if page.startswith("commissioner"):
        assert "<script" not in dom


def test_console_errors_are_detected(chromium: str, tmp_path: Path) -> None:
    """The check above would see a failing script (guards against a silent log format change)."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    _, log = dump_dom(chromium, page, tmp_path / "profile")
    assert console_errors(log), log[-2000:]
