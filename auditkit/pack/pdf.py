"""Render the report PDF: Jinja2 (autoescape, StrictUndefined) -> HTML -> WeasyPrint.

Hostile data stays data:

- every value is HTML-escaped, and passed through ``visible`` which shows
  control and bidi characters as escapes instead of letting them act;
- no data value is ever placed in an attribute that loads something (a
  template lint test enforces it);
- WeasyPrint gets :class:`PackagedAssetFetcher`, which serves only files under
  the packaged ``reports/static`` folder and *fails the render* on any other
  URL (file, http, data, ...), so nothing is fetched and nothing embedded;
- rendering runs in a child process with a wall-clock timeout and an
  address-space limit, so a pathological document cannot hang or exhaust
  the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2

from auditkit.errors import InternalError
from auditkit.resources import reports_dir
from auditkit.safe_output import terminal_text

RENDER_TIMEOUT_S = 300
RENDER_MEMORY_BYTES = 3 * 1024**3


def template_environment() -> jinja2.Environment:
    """The Jinja2 environment for report templates."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir() / "templates")),
        autoescape=jinja2.select_autoescape(default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["visible"] = visible
    env.filters["thousands"] = lambda n: f"{int(n):,}" if n is not None else ""
    env.filters["short"] = lambda s, n=12: (s or "")[:n]
    return env


def visible(value: Any) -> str:
    """Show control and bidi characters as escapes (then autoescape handles HTML)."""
    if value is None:
        return ""
    return terminal_text(value)


def render_html(template: str, context: dict[str, Any]) -> str:
    """Render a template to HTML text."""
    return template_environment().get_template(template).render(**context)


def _fetcher_class() -> Any:
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class RefusedFetch(FatalURLFetchingError):  # type: ignore[misc]
        """A URL outside the packaged assets: the render stops."""

    class PackagedAssetFetcher(URLFetcher):  # type: ignore[misc]
        """Serve files below the static folder; refuse everything else."""

        def __init__(self, static_dir: str) -> None:
            super().__init__(
                allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True
            )
            self._root = os.path.realpath(static_dir)

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query:
                raise RefusedFetch(f"refused to fetch {url[:200]!r}: not a packaged asset")
            path = os.path.realpath(unquote(parts.path))
            if not path.startswith(self._root + os.sep) or not os.path.isfile(path):
                raise RefusedFetch(f"refused to fetch {url[:200]!r}: not a packaged asset")
            with open(path, "rb") as fh:
                body = fh.read()
            kind = {
                ".css": "text/css",
                ".ttf": "font/ttf",
                ".svg": "image/svg+xml",
                ".png": "image/png",
            }.get(os.path.splitext(path)[1], "application/octet-stream")
            return URLFetcherResponse(url, body, {"Content-Type": kind})

    return PackagedAssetFetcher, RefusedFetch


def render_pdf_in_process(html_path: Path, pdf_path: Path) -> None:
    """Render in this process (used by the child worker)."""
    from weasyprint import HTML

    fetcher_cls, refused = _fetcher_class()
    static = reports_dir() / "static"
    try:
        HTML(
            filename=str(html_path),
            base_url=static.as_uri() + "/",
            url_fetcher=fetcher_cls(str(static)),
        ).write_pdf(str(pdf_path), presentational_hints=False, uncompressed_pdf=False)
    except refused as exc:  # BaseException subclass: must be caught explicitly
        raise InternalError(f"report render refused an external resource: {exc}") from None


def _limits() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (RENDER_MEMORY_BYTES, RENDER_MEMORY_BYTES))


def render_pdf(html: str, pdf_path: Path, *, timeout: int = RENDER_TIMEOUT_S) -> None:
    """Render ``html`` to ``pdf_path`` in a child process with time and memory limits."""
    with tempfile.TemporaryDirectory(prefix="auditkit-render-") as tmp:
        html_path = Path(tmp) / "report.html"
        html_path.write_text(html, encoding="utf-8")
        env = dict(os.environ)
        try:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "auditkit.pack.render_worker",
                    str(html_path),
                    str(pdf_path),
                ],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                preexec_fn=_limits,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InternalError(f"report rendering exceeded {timeout} s and was stopped") from None
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise InternalError(f"report rendering failed: {detail}")
