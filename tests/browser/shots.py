"""Screenshots of the console for the documentation: full-page PNGs at the width of a
laptop screen, written to ``docs/screenshots/<name>.png`` by the browser tests."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTH = 1280
HEIGHT = 800  # the viewport; the shot takes the whole page, however long


def screenshot(page: Page, name: str) -> Path:
    """The page as it is now, whole, 1280 pixels wide, into docs/screenshots/<name>.png."""
    viewport = page.viewport_size
    if viewport is None or viewport["width"] != WIDTH:
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # No caret and no running animation, so that a shot changes only when the page does.
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    return path
