"""axe-core (the npm devDependency) injected into a Playwright page: the serious and critical
accessibility violations of what the page shows, as readable lines."""

from __future__ import annotations

from playwright.async_api import Page

from tests.support.processes import REPO

AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"

# Violations of these impacts fail a scan; "minor" and "moderate" ones are advice.
FAILING_IMPACTS = ("serious", "critical")

# Each axe rule has one impact (``impact`` of the rules in axe._audit, axe-core 4.x): those that
# could only report a minor or moderate violation are not run at all, which saves a good part
# of every scan without missing anything that fails it.
RUN = """async ([impacts, within]) => {
  const advice = axe._audit.rules.filter((r) => r.impact && !impacts.includes(r.impact));
  const rules = Object.fromEntries(advice.map((r) => [r.id, {enabled: false}]));
  const result = await axe.run(within ? {include: [within]} : document,
    {resultTypes: ['violations'], rules});
  return result.violations
    .filter((v) => impacts.includes(v.impact))
    .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(' >>> ')}: `
      + (n.failureSummary || v.help).replace(/\\s+/g, ' ')));
}"""


async def violations(page: Page, within: str | None = None) -> list[str]:
    """The serious and critical violations axe finds on ``page`` as it is now (open shadow
    roots, such as the widget's, included), or only in the element ``within`` selects."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the driver, not a <script> tag: the console's CSP allows only its own.
        await page.evaluate(AXE_JS.read_text() + "\n;undefined")
    found: list[str] = await page.evaluate(RUN, [list(FAILING_IMPACTS), within])
    return found
