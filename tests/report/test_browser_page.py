"""index.html without a browser: what the file holds, its CSP, its data, its bounds, its script.

The page is checked in a real browser in test_browser_chromium.py; here the file
itself: one self-contained document whose only script and style are ours (by
hash), whose embedded data is exactly the run's (hostile strings byte-exact, no
``<`` anywhere in it), signed by the manifest, and bounded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from auditkit.evaluate.catalog import load_catalog
from auditkit.pack.verify import verify_pack
from auditkit.report.browser import (
    BROWSER_FILE,
    content_security_policy,
    script_safe_json,
    vocabulary,
    write_browser,
)
from auditkit.report.data import RESULTS, load_run
from auditkit.report.limits import PackLimits, WorkbookPlan
from auditkit.resources import reports_dir
from auditkit.store import open_store
from auditkit.workspace import Workspace
from tests.report.conftest import EXTRA_CHECK, EXTRA_FAILS, HOSTILE_CHECK, LONG_TEXT, Built

BROWSER_DIR = reports_dir() / "browser"


class _Page(HTMLParser):
    """Every start tag with its attributes, and the text of each script and style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.blocks: list[tuple[str, dict[str, str], str]] = []
        self._open: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag in ("script", "style"):
            self._open = (tag, attributes)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.blocks.append((*self._open, data))

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def embedded(page: _Page) -> tuple[dict[str, Any], list[list[Any]]]:
    blocks = {a.get("id"): text for tag, a, text in page.blocks if tag == "script"}
    return json.loads(blocks["run-data"]), json.loads(blocks["item-data"])


def test_the_pack_holds_the_page_and_the_manifest_signs_it(built: Built) -> None:
    page = built.out / BROWSER_FILE
    assert page.is_file()
    envelope = json.loads((built.out / "manifest.dsse.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert subjects[BROWSER_FILE] == hashlib.sha256(page.read_bytes()).hexdigest()


def test_a_changed_page_fails_verification(built: Built, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "pack"
    shutil.copytree(built.out, copy)
    assert verify_pack(copy).ok
    page = copy / BROWSER_FILE
    page.write_text(page.read_text().replace("<main", "<main data-x=1"), encoding="utf-8")
    report = verify_pack(copy)
    assert not report.ok


def test_the_only_script_and_style_are_ours_and_the_csp_allows_only_them(built: Built) -> None:
    page = parse(built.out / BROWSER_FILE)
    script = (BROWSER_DIR / "browser.js").read_text(encoding="utf-8")
    style = (BROWSER_DIR / "browser.css").read_text(encoding="utf-8")
    metas = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert [m["http-equiv"] for m in metas] == ["Content-Security-Policy"]
    csp = metas[0]["content"]
    assert csp == content_security_policy(script, style)
    assert csp.startswith("default-src 'none'; ")
    for directive in ("connect-src 'none'", "img-src 'none'", "font-src 'none'", "base-uri"):
        assert directive in csp
    assert "unsafe" not in csp and "http" not in csp and "data:" not in csp
    executable = [
        (a, text) for tag, a, text in page.blocks if tag == "script" and not a.get("type")
    ]
    assert [text for _, text in executable] == [script]
    assert sorted(a["type"] for t, a in page.tags if t == "script" and a.get("type")) == [
        "application/json",
        "application/json",
    ]
    assert [text for tag, _, text in page.blocks if tag == "style"] == [style]
    # Nothing that loads: no src, no link, no image, no frame, no external href.
    for tag, attrs in page.tags:
        assert tag not in ("img", "link", "iframe", "object", "embed", "base", "form"), tag
        assert "src" not in attrs and not any(k.startswith("on") for k in attrs), (tag, attrs)
        if "href" in attrs:
            assert attrs["href"].startswith("#/"), attrs
    for text in (script, style):
        assert not re.search(r"url\(|@import|https?:|//[a-z]", text, re.I)


def test_embedded_data_is_the_runs_data_byte_exact(built: Built) -> None:
    raw = (built.out / BROWSER_FILE).read_text(encoding="utf-8")
    blocks = re.findall(r'<script type="application/json" id="[a-z-]+">(.*?)</script>', raw, re.S)
    assert len(blocks) == 2
    for block in blocks:
        # No markup can start inside the data: every < is escaped (so are > and &).
        assert not set(block) & {"<", ">", "&"}
    data, items = embedded(parse(built.out / BROWSER_FILE))
    fields = {name: i for i, name in enumerate(data["item_fields"])}
    checks = [c["id"] for c in data["checks"]]
    hostile = [i for i in items if checks[i[fields["check"]]] == HOSTILE_CHECK]
    resources = {i[fields["resource"]] for i in hostile}
    reasons = {i[fields["reason"]] for i in hostile}
    for n, text in enumerate(built.hostile):
        assert f"{text} #{n}" in resources
        assert text in reasons
    evidence = [i[fields["evidence"]] for i in hostile if isinstance(i[fields["evidence"]], dict)]
    assert {e.get("value") for e in evidence} >= set(built.hostile)
    long = [i[fields["reason"]] for i in hostile if i[fields["resource"]] == "long text"]
    assert long[0].startswith(LONG_TEXT[:2000]) and "38,000" not in long[0]
    assert "38000 more characters; full text in the evidence files" in long[0]


def test_every_item_the_workbook_lists_as_a_finding_is_on_the_page(built: Built) -> None:
    data, items = embedded(parse(built.out / BROWSER_FILE))
    fields = {name: i for i, name in enumerate(data["item_fields"])}
    by_check = {c["id"]: c for c in data["checks"]}
    extra = by_check[EXTRA_CHECK]
    assert extra["listed"]["findings"] == extra["listed"]["findings_total"] >= EXTRA_FAILS
    index = [c["id"] for c in data["checks"]].index(EXTRA_CHECK)
    failing = [i for i in items if i[fields["check"]] == index and i[fields["status"]] == "fail"]
    assert len(failing) == extra["failed"]
    # The summary is the run's: the signed predicate's counts.
    envelope = json.loads((built.out / "manifest.dsse.json").read_text())
    predicate = json.loads(base64.b64decode(envelope["payload"]))["predicate"]
    assert data["summary"]["counts"] == predicate["results"]
    assert dict(data["summary"]["item_statuses"]) == {
        "fail": predicate["items"]["failing"],
        "excepted": predicate["items"]["excepted"],
    }


def test_a_big_run_is_capped_and_the_page_says_so(built: Built, tmp_path: Path) -> None:
    limits = PackLimits(findings_sheet_rows=20, browser_other_per_check=2)
    workspace = Workspace(built.ws)
    catalog = load_catalog(workspace.config.controls_dirs)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 2, catalog)
        plan = WorkbookPlan.for_run(report, limits)
        write_browser(
            con, report, catalog, plan, limits, tmp_path, claimed_iso="x", key_fingerprint="k"
        )
    data, items = embedded(parse(tmp_path / BROWSER_FILE))
    fields = {name: i for i, name in enumerate(data["item_fields"])}
    assert data["capped"] is True
    assert len([i for i in items if i[fields["status"]] in ("fail", "excepted")]) == 20
    for n, check in enumerate(data["checks"]):
        listed = check["listed"]
        assert listed["findings"] == plan.findings.listed.get(check["id"], 0)
        assert listed["others"] == min(2, listed["others_total"])
        on_page = [i for i in items if i[fields["check"]] == n]
        assert len(on_page) == listed["findings"] + listed["others"]
    extra = next(c for c in data["checks"] if c["id"] == EXTRA_CHECK)["listed"]
    assert extra["findings"] < extra["findings_total"]
    assert any(
        "20 of" in s and "evidence/<check>/exceptions_noted.csv" in s for s in data["statements"]
    )
    assert any("at most 2 per check" in s for s in data["statements"])


def test_states_and_labels_come_from_one_mapping_in_python(built: Built) -> None:
    data, _ = embedded(parse(built.out / BROWSER_FILE))
    results = data["vocabulary"]["results"]
    assert [r["value"] for r in results][: len(RESULTS)] == list(RESULTS)
    tones = {r["value"]: r["tone"] for r in results}
    assert tones["In Place"] == "ok" and tones["Not in Place"] == "bad"
    script = (BROWSER_DIR / "browser.js").read_text(encoding="utf-8")
    for state in [*RESULTS, "pass", "fail", "excepted", "not_applicable", "evaluated"]:
        assert f'"{state}"' not in script, f"the script names the state {state!r}"


def test_a_result_the_page_does_not_know_is_shown_by_name_never_as_in_place(
    built: Built,
) -> None:
    workspace = Workspace(built.ws)
    with open_store(workspace, write=False) as con:
        report = load_run(con, 2, None)
    report.requirements[0].result = "no exceptions noted; 1 of 3 procedures covered"
    results = vocabulary(report)["results"]
    entry = next(r for r in results if r["value"] == report.requirements[0].result)
    assert entry["label"] == report.requirements[0].result
    assert entry["tone"] == "neutral"


def test_script_safe_json_keeps_values_and_removes_markup() -> None:
    values = ["</script><script>alert(1)</script>", "<!-- x", "a & b > c", "\u2028\u2029"]
    text = script_safe_json(json.dumps(values, ensure_ascii=False))
    assert json.loads(text) == values
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}


# Everything that turns text into markup or code, or fetches: the page's script uses none.
FORBIDDEN = (
    "innerHTML",
    "outerHTML",
    "insertAdjacentHTML",
    "document.write",
    "createContextualFragment",
    "DOMParser",
    "eval(",
    "Function(",
    "srcdoc",
    "fetch(",
    "XMLHttpRequest",
    "WebSocket",
    "EventSource",
    "sendBeacon",
    "import(",
    "Worker(",
    ".src",
    'setAttribute("on',
    "window.open",
)


@pytest.mark.parametrize("word", FORBIDDEN)
def test_the_script_never_builds_markup_or_fetches(word: str) -> None:
    script = (BROWSER_DIR / "browser.js").read_text(encoding="utf-8")
    assert word not in script


def test_timers_take_functions_not_strings() -> None:
    script = (BROWSER_DIR / "browser.js").read_text(encoding="utf-8")
    for call in re.findall(r"setTimeout\(([^,]*)", script):
        assert call.strip().startswith(("function", "changed")), call
