"""index.html in a real browser: headless Chromium opens the pack's page from file://.

The demo pack: click from the summary to a requirement, a check, an item and its
supporting record; filter; page; copy a reference; follow the changes; print.
The hostile pack (tests/report/conftest.py): every hostile string shows as text,
no dialog opens, the browser reports no CSP violation and makes no request, and
the loopback listener those strings point at receives nothing. Screenshots of
the main views go to test-output/browser/ (AUDITKIT_TEST_OUTPUT overrides).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditkit.evaluate.catalog import load_catalog
from auditkit.report.browser import BROWSER_FILE, write_browser
from auditkit.report.data import load_run
from auditkit.report.limits import PackLimits, WorkbookPlan
from auditkit.safe_output import terminal_text
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.report.chromium import Browser, browser_session
from tests.report.conftest import HOSTILE_CHECK, Built
from tests.report.test_browser_page import embedded, parse

DemoPack = tuple[Path, Path, dict[str, object]]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    yield from browser_session(tmp_path_factory)


def _run_data(page: Path) -> dict[str, Any]:
    return embedded(parse(page))[0]


def _click(browser: Browser, css: str, text: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    elements = browser.driver.find_elements(By.CSS_SELECTOR, css)
    if text is not None:
        elements = [e for e in elements if e.text.strip() == text]
    assert elements, f"nothing to click at {css} {text!r}"
    navigates = (elements[0].get_attribute("href") or "").split("#")[-1].startswith("/")
    before = browser.shown()
    elements[0].click()
    if navigates:
        browser.wait_drawn(before)


def _choose(browser: Browser, select_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.driver.find_element(By.ID, select_id)).select_by_value(value)


def _clean(browser: Browser, page: Path) -> None:
    """Nothing was fetched but the page itself, no CSP report, no dialog, no script error."""
    requests = [u for u in browser.network_requests() if not u.startswith("chrome://")]
    assert {u.split("#")[0] for u in requests} <= {page.resolve().as_uri()}, requests
    audit = browser.audit()
    assert audit["violations"] == [] and audit["dialogs"] == [], audit
    console = [m for m in browser.console() if "SEVERE" in m or "Refused" in m]
    assert console == []


def test_demo_click_through_requirement_check_item_record(
    browser: Browser, demo_pack: DemoPack
) -> None:
    out, _, _ = demo_pack
    page = out / BROWSER_FILE
    data = _run_data(page)
    browser.open(page)
    assert browser.text("main h1") == "Summary: Northwind Payments Ltd"
    cards = browser.texts("ul[aria-label='Requirements per result'] li")
    for result, n in data["summary"]["counts"].items():
        assert f"{n:,}{result}" in cards
    browser.screenshot("01-summary")

    _click(browser, "nav a", "Requirements")
    _choose(browser, "f-result", "Not in Place")
    expected = sum(1 for r in data["requirements"] if r["result"] == "Not in Place")
    rows = browser.texts("main table tbody tr")
    assert len(rows) == expected and all("Not in Place" in r for r in rows)
    assert "result=Not+in+Place" in browser.js("return location.hash;")
    browser.screenshot("02-requirements-not-in-place")

    _click(browser, "main table tbody a", "7.2.2")
    assert browser.text("main h1").startswith("7.2.2 ")
    # The keyboard user lands on the new view's heading.
    assert browser.js("return document.activeElement.tagName;") == "H1"
    requirement = next(r for r in data["requirements"] if r["id"] == "7.2.2")
    links = browser.texts("main table tbody td:first-child a")
    assert links == requirement["checks"]
    browser.screenshot("03-requirement-7.2.2")

    check_id = "rbac_cluster_admin_bindings"
    check = next(c for c in data["checks"] if c["id"] == check_id)
    _click(browser, "main table tbody a", check_id)
    assert browser.text("main h1").startswith(check_id + ": ")
    assert check["sql"] and browser.text("main details pre") == check["sql"]
    _choose(browser, "f-status", "fail")
    count = browser.text("#item-count")
    assert count.startswith(f"{check['failed']} of {check['population']} listed items match")
    browser.screenshot("04-check-failing-items")

    first = browser.texts("main table tbody tr td:nth-child(3) a")[0]
    _click(browser, "main table tbody tr td:nth-child(3) a", first)
    assert browser.text("main h1") == first
    fingerprint = browser.text("dl.facts dd code")
    with (out / "evidence" / check_id / "population.csv").open(encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["fingerprint"] == fingerprint)
    record = browser.texts("main table:has(caption) tbody tr td")[:3]
    assert record == [row["source_file"], row["source_sha256"], row["locator"]]
    assert row["status"] == "fail" and row["resource"] == first
    reference = browser.js("return document.querySelector('.ref input').value;")
    assert reference == f"{check['ref']} item {fingerprint}"
    _click(browser, ".ref button")
    browser.driver.implicitly_wait(0)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser.driver, 10).until(lambda d: "Copied" in browser.text("#live"))
    assert reference in browser.text("#live")
    browser.screenshot("05-item-record")

    # Back goes to the check with its filter still applied.
    before = browser.shown()
    browser.driver.back()
    browser.wait_drawn(before)
    assert browser.text("main h1").startswith(check_id)
    assert browser.js("return document.getElementById('f-status').value;") == "fail"
    _clean(browser, page)


def test_demo_keyboard_only(browser: Browser, demo_pack: DemoPack) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    out, _, _ = demo_pack
    page = out / BROWSER_FILE
    browser.open(page)
    keys = ActionChains(browser.driver)
    keys.send_keys(Keys.TAB).perform()
    assert browser.js("return document.activeElement.textContent;") == "Skip to content"
    keys.send_keys(Keys.ENTER).perform()
    assert browser.js("return document.activeElement.tagName;") == "H1"
    browser.js("document.getElementById('skip').focus();")  # back to the top of the page
    for _ in range(12):
        keys.send_keys(Keys.TAB).perform()
        if browser.js("return document.activeElement.textContent;") == "Items":
            break
    assert browser.js("return document.activeElement.textContent;") == "Items"
    before = browser.shown()
    keys.send_keys(Keys.ENTER).perform()
    browser.wait_drawn(before)
    assert browser.js("return document.activeElement.tagName;") == "H1"
    assert browser.text("main h1") == "Items of every check"
    # Every control has a label a screen reader announces; results are announced.
    unlabelled = browser.js(
        "return Array.from(document.querySelectorAll('main select, main input'))"
        ".filter(function (e) { return !e.labels || !e.labels.length; }).length;"
    )
    assert unlabelled == 0
    assert browser.js("return document.getElementById('item-count').getAttribute('aria-live');")
    assert browser.js("return document.querySelector('nav a[aria-current=page]').textContent;") == (
        "Items"
    )
    _clean(browser, page)


def test_demo_items_filter_search_and_pages(browser: Browser, demo_pack: DemoPack) -> None:
    out, _, _ = demo_pack
    page = out / BROWSER_FILE
    browser.open(page, "/items")
    listed = len(json.loads(browser.js("return document.getElementById('item-data').textContent;")))
    assert f"{listed:,} of {listed:,} listed items match" in browser.text("#item-count")
    assert browser.text(".pager span").startswith("Page 1 of ")
    _click(browser, ".pager button", "Next page")
    assert browser.text(".pager span").startswith("Page 2 of ")
    assert "showing 51–100" in browser.text("#item-count")

    items = json.loads(browser.js("return document.getElementById('item-data').textContent;"))
    fields = {name: i for i, name in enumerate(_run_data(page)["item_fields"])}

    def expect(status: str, key: str, value: str) -> int:
        return sum(1 for i in items if i[fields["status"]] == status and value in i[fields[key]])

    _choose(browser, "f-status", "fail")
    _choose(browser, "f-namespace", "payments")
    n = expect("fail", "namespaces", "payments")
    assert browser.text("#item-count").startswith(f"{n:,} of {listed:,} listed items match")
    rows = browser.texts("main table tbody tr")
    assert n and rows and all("failing" in r and "payments" in r for r in rows)
    _choose(browser, "f-namespace", "")
    _choose(browser, "f-zone", "cde")
    n = expect("fail", "zones", "cde")
    assert n and browser.text("#item-count").startswith(f"{n:,} of {listed:,}")
    _choose(browser, "f-severity", "critical")
    rows = browser.texts("main table tbody tr")
    assert all("critical" in r and "cde" in r for r in rows)
    _choose(browser, "f-zone", "")
    _choose(browser, "f-severity", "")
    _choose(browser, "f-status", "")
    search = browser.driver.find_element("id", "f-text")
    search.send_keys("judy@northwind")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser.driver, 10).until(
        lambda d: "judy@northwind" in browser.text("main table tbody")
    )
    rows = browser.texts("main table tbody tr")
    assert 0 < len(rows) < listed
    browser.screenshot("06-items-search")
    _clean(browser, page)


def test_demo_changes_sources_and_print(browser: Browser, demo_pack: DemoPack) -> None:
    out, _, _ = demo_pack
    page = out / BROWSER_FILE
    data = _run_data(page)
    browser.open(page)
    _click(browser, "nav a", "Changes")
    changes = data["changes"]
    assert browser.text("main h1") == f"Changes since run 1 (as of {changes['as_of_a']})"
    assert any("resolved" in r for r in browser.texts("main table tbody tr"))
    _choose(browser, "f-change", "resolved")
    listed = sum(1 for f in changes["findings"] if f[0] == "resolved")
    assert listed and browser.text("main p[aria-live]").startswith(f"{listed} changed items")
    rows = browser.texts("main div > table tbody tr")
    assert len(rows) == listed and all(r.startswith("resolved") for r in rows)
    browser.screenshot("07-changes")
    _click(browser, "nav a", "Sources and exceptions")
    assert len(browser.texts("main table:first-of-type tbody tr")) == len(data["sources"])
    browser.screenshot("08-sources")

    # Printed: no navigation, filters or buttons; the content and the SQL are there.
    browser.go("/check/rbac_cluster_admin_bindings")
    browser.js("window.dispatchEvent(new Event('beforeprint'));")
    browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        hidden = browser.js(
            "return ['nav', '.filters', '.pager button', '.ref button'].map(function (s) {"
            "  var e = document.querySelector(s); return e && getComputedStyle(e).display; });"
        )
        assert hidden == ["none", "none", "none", "none"]
        assert browser.js("return document.querySelector('main details').open;") is True
        assert browser.js("return getComputedStyle(document.querySelector('main table')).display")
    finally:
        browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = browser.driver.print_page()
    assert len(pdf) > 1000
    _clean(browser, page)


def _all_text_of_check(browser: Browser, check: str) -> tuple[list[str], list[int]]:
    browser.go(f"/check/{check}")
    cells: list[str] = []
    while True:
        cells += browser.texts("main section table tbody td")
        if not browser.js(
            "var b = document.querySelectorAll('.pager button')[1]; return b && !b.disabled;"
        ):
            break
        _click(browser, ".pager button", "Next page")
    items = browser.js(
        "return Array.from(document.querySelectorAll('main section table tbody a'))"
        ".map(function (a) { return a.getAttribute('href'); });"
    )
    return cells, [int(h.rsplit("/", 1)[1]) for h in items]


def _no_foreign_markup(browser: Browser) -> None:
    found = browser.js(
        "return {"
        " tags: Array.from(document.querySelectorAll('img,object,embed,iframe,link,style,script,"
        'svg,math,a[href^="file"],a[href^="http"],base,form\')).map(function (e) {'
        "   return e.tagName + (e.getAttribute('type') || ''); }),"
        " handlers: Array.from(document.querySelectorAll('*')).filter(function (e) {"
        "   return Array.from(e.attributes).some(function (a) { return /^on/i.test(a.name); });"
        " }).length };"
    )
    assert sorted(found["tags"]) == [
        "SCRIPT",
        "SCRIPTapplication/json",
        "SCRIPTapplication/json",
        "STYLE",
    ], found
    assert found["handlers"] == 0


def test_hostile_pack_shows_text_runs_nothing_fetches_nothing(
    browser: Browser, built: Built
) -> None:
    page = built.out / BROWSER_FILE
    before = len(built.listener.hits)
    browser.open(page)
    cells, _ = _all_text_of_check(browser, HOSTILE_CHECK)
    for n, text in enumerate(built.hostile):
        assert terminal_text(f"{text} #{n}") in cells, text
        assert terminal_text(text) in cells, text
    browser.js("document.querySelector('main section').scrollIntoView();")
    browser.screenshot("09-hostile-check-items")
    _no_foreign_markup(browser)
    # Every hostile item's own view, and every other view with data in it.
    data = _run_data(page)
    fields = {name: i for i, name in enumerate(data["item_fields"])}
    index = [c["id"] for c in data["checks"]].index(HOSTILE_CHECK)
    items = json.loads(browser.js("return document.getElementById('item-data').textContent;"))
    hostile = [n for n, i in enumerate(items) if i[fields["check"]] == index]
    for n in hostile:
        browser.go(f"/item/{n}")
        assert browser.text("main h1") == terminal_text(items[n][fields["resource"]])
        _no_foreign_markup(browser)
    browser.screenshot("10-hostile-item")
    for route in ("/summary", "/requirements", "/checks", "/items", "/changes", "/sources"):
        browser.go(route)
        _no_foreign_markup(browser)
    justification = next(e for e in data["exceptions"] if e["id"] == "EXC-CC-1")
    assert terminal_text(justification["justification"]) in browser.texts("main td")
    # The bidi override is shown as an escape, not obeyed.
    assert any("\\u202eevil\\u202c" in c for c in cells)
    _clean(browser, page)
    assert len(built.listener.hits) == before == 0


def test_hostile_names_and_the_fields_of_later_runs(
    browser: Browser, built: Built, tmp_path: Path
) -> None:
    """A hostile file name and organisation; and testing procedures and EV references,
    which runs will carry once they are stored (issue 12), shown from the data alone."""
    evil = '"><img src=x onerror="alert(document.domain)"><script>alert(2)</script>\u202e.json'
    workspace = Workspace(built.ws)
    catalog = load_catalog(workspace.config.controls_dirs)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 2, catalog)
        report.organisation = evil
        for source in report.sources:
            source["path"] = f"{evil} {source['path']}"
        requirement = next(r for r in report.requirements if r.checks)
        check = requirement.checks[0]
        check.evidence_ref = "EV-0007"  # type: ignore[attr-defined]
        requirement.procedures = [  # type: ignore[attr-defined]
            {
                "procedure": f"{requirement.id}.a",
                "text": f"examine <b>{evil}</b>",
                "methods": ["configuration"],
                "status": "partly covered",
                "checks": [check.id],
                "evidence_refs": ["EV-0007"],
                "to_do": "interview the administrators",
            }
        ]
        report.evidence = [  # type: ignore[attr-defined]
            {"kind": "source file", "key": s["source_sha256"], "ref": f"EV-{n + 100:04d}"}
            for n, s in enumerate(report.sources)
        ]
        limits = PackLimits()
        write_browser(
            con,
            report,
            catalog,
            WorkbookPlan.for_run(report, limits),
            limits,
            tmp_path,
            claimed_iso="2026-10-01T12:00:00Z",
            key_fingerprint="k",
        )
    page = tmp_path / BROWSER_FILE
    browser.open(page)
    assert browser.driver.title.endswith(f"{evil}, run 2")
    assert browser.text("main h1") == "Summary: " + terminal_text(evil)
    _no_foreign_markup(browser)
    browser.go("/sources")
    assert any(c.startswith(terminal_text(evil)) for c in browser.texts("main td"))
    _no_foreign_markup(browser)
    data, items = embedded(parse(page))
    file_field = data["item_fields"].index("file")
    with_file = next(n for n, i in enumerate(items) if i[file_field] is not None)
    browser.go(f"/item/{with_file}")
    record = browser.texts("main table:has(caption) tbody td")
    assert record[0].startswith(terminal_text(evil))
    assert record[3].startswith("EV-01")
    _no_foreign_markup(browser)

    browser.go(f"/req/{requirement.id}")
    row = browser.texts("main table:first-of-type tbody td")
    assert row[:4] == [
        f"{requirement.id}.a",
        f"examine <b>{terminal_text(evil)}</b>",
        "configuration",
        "partly covered",
    ]
    assert row[4:] == [check.id, "EV-0007"]
    assert "interview the administrators" in browser.texts("main ul li")
    browser.screenshot("11-requirement-procedures")
    _no_foreign_markup(browser)
    browser.go(f"/check/{check.id}")
    assert browser.js("return document.querySelector('.ref input').value;") == "EV-0007"
    _clean(browser, page)


def test_a_filter_with_hundreds_of_values_becomes_a_box(
    browser: Browser, built: Built, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(built.ws, ws)
    workspace = Workspace(ws)
    with open_store(workspace, write=True) as con:
        con.execute(
            """
            INSERT INTO run_results
            SELECT 2, 'users_inactive_accounts', 'user:ns-' || i, 'fail', 'many namespaces',
                   'high', sha256('ns' || i), NULL, 'line:' || i,
                   to_json({'namespace': 'team-' || lpad(CAST(i AS VARCHAR), 3, '0')}), NULL, NULL
            FROM range(400) t(i)
            """
        )
    catalog = load_catalog(workspace.config.controls_dirs)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 2, catalog)
        limits = PackLimits()
        write_browser(
            con,
            report,
            catalog,
            WorkbookPlan.for_run(report, limits),
            limits,
            tmp_path,
            claimed_iso="2026-10-01T12:00:00Z",
            key_fingerprint="k",
        )
    page = tmp_path / BROWSER_FILE
    browser.open(page, "/items")
    box = browser.driver.find_element("id", "f-namespace")
    assert box.tag_name == "input"
    label = browser.js("return document.getElementById('f-namespace').labels[0].textContent;")
    assert "exact; 4" in label
    box.send_keys("team-123")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser.driver, 10).until(
        lambda d: browser.text("#item-count").startswith("1 of ")
    )
    assert "user:ns-123" in browser.text("main table tbody")
    _clean(browser, page)
