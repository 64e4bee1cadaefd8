"""The built commissioner pages in a real browser, as a commissioner meets them (issue #12).

Every commissioner page of this repository is opened in headless Chromium at 1280 and
420 CSS pixels wide (800 high, scale 1) and screenshotted; the page as laid out must
show the key messages within the first 800 pixels, never scroll sideways, give every
image and SVG a real text alternative, and never skip a heading level.

The viewport screenshots go to a temporary folder, or to ``$SYNTHESIS_SCREENSHOTS``
when that is set (then with a full-length screenshot of each page as well), for a
person to look at.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .chromium import DevTools, png_size, require_chromium
from .test_commissioner_pages import ALL_PAGES, DEFAULT_ALT, QUESTION_PAGES

pytestmark = pytest.mark.browser

WIDTHS = (1280, 420)
#: The first screen: what a commissioner sees before scrolling.
FIRST_SCREEN = 800

#: Measured in the page: viewport, page width, where the key messages end, the heading
#: levels in document order, figures without a real text alternative, and the elements
#: that stick out to the right (to say what overflows when something does).
MEASURE = """(() => {
  const doc = document.documentElement;
  const below = (el) => el.getBoundingClientRect().bottom + window.scrollY;
  const list = document.querySelector("ul.key-messages");
  const heading = document.getElementById("key-messages");
  const name = (el) => {
    if (el.tagName.toLowerCase() === "img") return el.getAttribute("alt") || "";
    const label = el.getAttribute("aria-label");
    if (label) return label;
    const by = el.getAttribute("aria-labelledby");
    if (by) return by.split(/\\s+/).map((id) => {
      const t = document.getElementById(id); return t ? t.textContent : "";
    }).join(" ");
    const title = Array.from(el.children).find((c) => c.tagName.toLowerCase() === "title");
    return title ? title.textContent : "";
  };
  const figures = Array.from(document.querySelectorAll("img, svg"))
    .filter((el) => !el.parentElement.closest("svg"));
  const unnamed = figures
    .map((el) => [el.tagName.toLowerCase(), name(el).trim()])
    .filter(([, text]) => !text || text === DEFAULT_ALT);
  const wide = Array.from(document.body.querySelectorAll("*"))
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .filter((el) => !el.parentElement.closest("svg"))
    .slice(0, 5)
    .map((el) => el.tagName.toLowerCase()
      + (typeof el.className === "string" && el.className ? "." + el.className : "")
      + " " + Math.round(el.getBoundingClientRect().right));
  return {
    innerWidth: window.innerWidth,
    innerHeight: window.innerHeight,
    scrollWidth: doc.scrollWidth,
    keyMessagesTop: heading ? heading.getBoundingClientRect().top + window.scrollY : null,
    keyMessagesBottom: list ? below(list) : null,
    headings: Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6"))
      .map((h) => Number(h.tagName[1])),
    figures: figures.length,
    unnamed: unnamed,
    wide: wide,
  };
})()""".replace("DEFAULT_ALT", repr(DEFAULT_ALT))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    chromium = require_chromium()
    devtools = DevTools(chromium, tmp_path_factory.mktemp("chromium-profile"))
    yield devtools
    devtools.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("SYNTHESIS_SCREENSHOTS")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return Path(chosen)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def measured(
    browser: DevTools, repo_reports: Path, shots: Path
) -> dict[tuple[str, int], dict[str, Any]]:
    """Every commissioner page at every width: the measurements and its screenshot."""
    full = bool(os.environ.get("SYNTHESIS_SCREENSHOTS"))
    found: dict[tuple[str, int], dict[str, Any]] = {}
    for name in ALL_PAGES:
        for width in WIDTHS:
            browser.open(repo_reports / "commissioner" / f"{name}.html", width, FIRST_SCREEN)
            result = browser.evaluate(MEASURE)
            result["screenshot"] = browser.screenshot(shots / f"{name}-{width}.png")
            if full:
                browser.screenshot(shots / f"{name}-{width}-full.png", full_page=True)
            found[name, width] = result
    return found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ALL_PAGES)
def test_page_in_the_browser(measured, name, width):
    m = measured[name, width]
    assert (m["innerWidth"], m["innerHeight"]) == (width, FIRST_SCREEN)  # the viewport asked
    assert png_size(m["screenshot"]) == (width, FIRST_SCREEN)
    # no sideways scrolling (at 420 px a phone; at 1280 px a laptop)
    assert m["scrollWidth"] <= m["innerWidth"], m["wide"]
    # every image and SVG has a real text alternative
    assert m["figures"] > 0 and m["unnamed"] == []
    # headings start at h1 and never skip a level
    levels = m["headings"]
    assert levels and levels[0] == 1
    skips = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
    assert skips == []


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", QUESTION_PAGES)
def test_key_messages_are_on_the_first_screen(measured, name, width):
    m = measured[name, width]
    assert m["keyMessagesTop"] is not None and m["keyMessagesBottom"] is not None
    assert m["keyMessagesBottom"] <= FIRST_SCREEN, m["keyMessagesBottom"]


def test_the_checks_see_what_they_check(browser, tmp_path):
    """A page that breaks every rule fails every check (the checks cannot pass vacuously)."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><h1>T</h1><h3>skipped</h3>"
        f'<img src="data:," alt="{DEFAULT_ALT}"><svg width="10" height="10"></svg>'
        '<div style="width: 900px">wide</div>'
        '<div style="height: 900px"></div><h2 id="key-messages">Key messages</h2>'
        '<ul class="key-messages"><li>late</li></ul></body></html>',
        encoding="utf-8",
    )
    browser.open(page, 420, FIRST_SCREEN)
    m = browser.evaluate(MEASURE)
    assert m["scrollWidth"] > m["innerWidth"] and m["wide"]
    assert [tag for tag, _ in m["unnamed"]] == ["img", "svg"]
    assert m["headings"] == [1, 3, 2]
    assert m["keyMessagesBottom"] > FIRST_SCREEN
