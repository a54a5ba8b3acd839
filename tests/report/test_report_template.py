"""Templates keep data out of anything that loads; the fetcher refuses everything else."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

from auditkit.errors import InternalError
from auditkit.report.pdf import render_pdf, template_environment, visible
from auditkit.resources import reports_dir
from tests.report.conftest import Listener
from tests.report.test_report_pdf import pdf_objects

TEMPLATES = sorted((reports_dir() / "templates").glob("*.j2"))
# Attributes that make a renderer load something, or carry CSS that can.
LOADING = {
    "src",
    "href",
    "style",
    "srcset",
    "data",
    "poster",
    "background",
    "action",
    "formaction",
    "xlink:href",
    "codebase",
    "cite",
    "longdesc",
    "manifest",
    "ping",
}
# The only expressions allowed inside such an attribute: integers auditkit computes.
ALLOWED_EXPRESSIONS = {"loop.index", "check_home[c.id][0]"}
EXPRESSION = re.compile(r"{{(.*?)}}|{%(.*?)%}", re.S)


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[tuple[str, str, str]] = []
        self.style_blocks: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            self.found.append((tag, name.lower(), value or ""))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style_blocks.append(data)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_data_value_in_an_attribute_that_loads(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    source = re.sub(r"{#.*?#}", "", source, flags=re.S)  # comments are not output
    parser = _Attributes()
    parser.feed(source)
    checked = 0
    for tag, name, value in parser.found:
        if name not in LOADING and not name.startswith("on"):
            continue
        checked += 1
        assert not name.startswith("on"), f"<{tag} {name}=...>: event handler"
        for expr, stmt in EXPRESSION.findall(value):
            assert not stmt.strip(), f"<{tag} {name}>: template logic inside the attribute"
            assert expr.strip() in ALLOWED_EXPRESSIONS, f"<{tag} {name}={value!r}>"
        assert "url(" not in value.lower(), f"<{tag} {name}={value!r}>"
    assert checked, "the parser found no loading attribute at all"
    assert not parser.style_blocks, "inline <style> blocks are not allowed; use report.css"
    # No url() and no @import built from template expressions anywhere.
    for match in re.finditer(r"url\(|@import", source, re.I):
        assert "{{" not in source[match.start() : match.start() + 200].split(")")[0]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_safe_only_for_charts(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    for expr in re.findall(r"{{(.*?)}}", source, re.S):
        if "|safe" in expr.replace(" ", ""):
            assert re.fullmatch(r"\s*(period_)?charts\.\w+\s*\|\s*safe\s*", expr), expr


def test_environment_autoescapes_and_is_strict() -> None:
    env = template_environment()
    assert env.undefined is jinja2.StrictUndefined
    rendered = env.from_string("{{ x }}").render(x="<img src=x>")
    assert rendered == "&lt;img src=x&gt;"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    assert visible("a\x1bb\u202ec") == "a\\x1bb\\u202ec"


def test_static_css_loads_only_packaged_fonts() -> None:
    css = (reports_dir() / "static" / "report.css").read_text()
    urls = re.findall(r"url\(([^)]*)\)", css)
    assert urls and all(u.startswith("fonts/") and u.endswith(".ttf") for u in urls)
    assert "@import" not in css


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/hostname">',
        '<img src="{url}img">',
        '<link rel="stylesheet" href="{url}css">',
        '<p style="background: url({url}bg)">x</p>',
        '<style>@import url("{url}import");</style>',
        '<style>p {{ background: url("{url}style") }}</style>',
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<object data="{url}object"></object>',
        '<link rel="stylesheet" href="report.css?x=1">',
        '<img src="file:///proc/self/environ">',
        '<img src="fonts/../../templates/report.html.j2">',
    ],
)
def test_the_fetcher_refuses_and_the_render_fails(
    markup: str, listener: Listener, tmp_path: Path
) -> None:
    # Defence in depth: even if markup reached WeasyPrint, nothing would be fetched.
    before = list(listener.hits)
    html = f"<html><body><p>before</p>{markup.format(url=listener.url(''))}</body></html>"
    pdf = tmp_path / "out.pdf"
    with pytest.raises(InternalError, match="refused|failed"):
        render_pdf(html, pdf, timeout=120)
    assert not pdf.exists()
    assert listener.hits == before


def test_packaged_assets_are_served(tmp_path: Path) -> None:
    html = '<html><head><link rel="stylesheet" href="report.css"></head><body>ok</body></html>'
    pdf = tmp_path / "ok.pdf"
    render_pdf(html, pdf, timeout=120)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"AK-Sans" in pdf_objects(data)  # the bundled font (report.css), not a system one
