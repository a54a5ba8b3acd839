"""Evidence-browser benchmark: open a pack's index.html in headless Chromium and time it.

Usage::

    python bench/report.py --findings 1000000 --keep /tmp/bench-ws   # builds the pack
    python bench/browser.py /tmp/bench-ws/pack/index.html

Prints the page's size, the items it carries, the time until the first view is
drawn (parse of the embedded JSON included), the time to draw the items view,
to apply a status filter and a text search over every listed item, to open an
item, and Chromium's JS heap afterwards. Needs Chromium and chromedriver, as the
browser tests do (tests/report/chromium.py). This is a script, not a test.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.report.chromium import Browser  # noqa: E402


def _timed(browser: Browser, label: str, action: str, *args: object) -> None:
    before = browser.shown()
    start = time.perf_counter()
    browser.js(action, *args)
    if browser.shown() == before and "hash" in action:
        browser.wait_drawn(before)
    print(f"{label:<44} {time.perf_counter() - start:7.2f} s")


def main() -> None:
    page = Path(sys.argv[1]).resolve()
    print(f"page                                          {page.stat().st_size / 1e6:7.1f} MB")
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(Path(profile))
        try:
            start = time.perf_counter()
            browser.open(page)
            print(f"{'open and draw the summary':<44} {time.perf_counter() - start:7.2f} s")
            items = browser.js(
                "return JSON.parse(document.getElementById('item-data').textContent).length;"
            )
            print(f"{'items on the page':<44} {items:>9,}")
            _timed(browser, "draw the items view (page 1 of all)", "location.hash='/items';")
            _timed(
                browser,
                "filter: status = failing",
                "var s = document.getElementById('f-status'); s.value = arguments[0];"
                "s.dispatchEvent(new Event('change'));",
                "fail",
            )
            _timed(
                browser,
                "text search over every listed item",
                "var s = document.getElementById('f-text'); s.value = 'bulk-0000';"
                "document.getElementById('f-status').dispatchEvent(new Event('change'));",
            )
            _timed(browser, "open one item", "location.hash='/item/0';")
            heap = browser.js("return performance.memory ? performance.memory.usedJSHeapSize : 0;")
            print(f"{'JS heap used':<44} {heap / 1e6:7.1f} MB")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
