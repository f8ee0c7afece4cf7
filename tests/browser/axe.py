"""The accessibility scan of a console page: axe-core (from the npm registry, ``make
install``) run in the page against WCAG 2 A and AA; a serious or critical violation fails
the test, naming the rule, what it asks and the elements that break it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")

_RUN = """() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})
    .then(r => r.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
    })))"""


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every WCAG 2 A/AA violation axe finds in the page as it is now."""
    if not AXE_SCRIPT.is_file():
        pytest.fail(f"axe-core is missing ({AXE_SCRIPT}): run `make install` (npm ci)")
    # Injected when missing (a navigation drops it). Not with page.add_script_tag: that adds
    # an inline <script>, which the console's CSP (no 'unsafe-inline') refuses. Playwright
    # evaluates through the DevTools protocol, which the page's CSP does not govern.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    violations: list[dict[str, Any]] = page.evaluate(_RUN)
    return violations


def axe_check(page: Page) -> None:
    """Fail on every serious or critical WCAG 2 A/AA violation of the page as it is now."""
    failing = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    if failing:
        lines = [f"{len(failing)} accessibility violation(s) on {page.url}:"]
        for violation in failing:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.extend(
                f"    {node['target']}: {node['summary']}".replace("\n", " ")
                for node in violation["nodes"]
            )
        pytest.fail("\n".join(lines), pytrace=False)
