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
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2

from auditkit.errors import InternalError
from auditkit.report.child import ChildJob
from auditkit.resources import reports_dir
from auditkit.safe_output import terminal_text

RENDER_TIMEOUT_S = 300
RENDER_MEMORY_BYTES = 3 * 1024**3
MEMORY_ENV = "AUDITKIT_RENDER_MEMORY_BYTES"


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
    env.filters["clip"] = clip
    env.filters["minute"] = minute
    return env


def minute(value: Any) -> str:
    """A timestamp to the minute (``2026-07-01 08:00``); other values as text."""
    if value is None:
        return ""
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return str(value.strftime("%Y-%m-%d %H:%M"))
    return str(value)


def clip(value: Any, limit: int = 500) -> str:
    """At most ``limit`` characters of ``value``, saying how much was left out.

    Keeps the PDF's size bounded whatever the input: the full text is in the
    workbook and the evidence files.
    """
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters; full text in evidence/]"


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


class RenderJob:
    """A report render running in a child process; :meth:`wait` collects it.

    The child (:mod:`auditkit.report.render_worker`) sets its own address-space
    limit before importing WeasyPrint and gets a wall-clock timeout.
    """

    def __init__(
        self,
        html: str,
        pdf_path: Path,
        *,
        timeout: int = RENDER_TIMEOUT_S,
        source_date_epoch: int | None = None,
        workdir: Path | None = None,
    ) -> None:
        # ``workdir`` (the pack's .partial folder) holds the HTML and every temp file of
        # the renderer, so a killed build leaves nothing in the system's temp folder.
        if workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="auditkit-render-"))
        else:
            workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._workdir = workdir
        html_path = self._workdir / "report.html"
        html_path.write_text(html, encoding="utf-8")
        env = {MEMORY_ENV: str(RENDER_MEMORY_BYTES), "TMPDIR": str(self._workdir)}
        if source_date_epoch is not None:
            # fontTools stamps font subsets with the time unless this is set.
            env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
        self._job = ChildJob(
            "auditkit.report.render_worker",
            [str(html_path), str(pdf_path)],
            what="report rendering",
            timeout=timeout,
            env=env,
        )

    def wait(self) -> None:
        """Wait for the child; raise InternalError if it failed or ran out of time."""
        try:
            self._job.wait()
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def cancel(self) -> None:
        """Stop the child if it still runs (used when the build fails elsewhere)."""
        self._job.cancel()
        shutil.rmtree(self._workdir, ignore_errors=True)


def render_pdf(
    html: str,
    pdf_path: Path,
    *,
    timeout: int = RENDER_TIMEOUT_S,
    source_date_epoch: int | None = None,
) -> None:
    """Render ``html`` to ``pdf_path`` in a child process with time and memory limits."""
    job = RenderJob(html, pdf_path, timeout=timeout, source_date_epoch=source_date_epoch)
    try:
        job.wait()
    except BaseException:
        job.cancel()
        raise
