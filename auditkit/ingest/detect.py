"""Content sniffing: decide a file's shape and format from its bytes, never its name."""

from __future__ import annotations

import json

from auditkit.errors import InputError, UnsupportedFormatError
from auditkit.ingest.base import HEAD_BYTES, Format, Sniff, SourceFile, decode_utf8
from auditkit.safeload import load_yaml_documents, loads_json


def sniff(source: SourceFile) -> Sniff:
    """Read the head of the file and work out its shape (parsing whole documents once)."""
    head_bytes = source.read_head(HEAD_BYTES)
    if not head_bytes.strip():
        if source.compressed and source.size > 0 and not head_bytes:
            raise InputError("gzip file decompresses to nothing", path=source.display)
        what = "empty file" if not head_bytes else "empty file (only whitespace)"
        raise InputError(what, path=source.display)
    if b"\x00" in head_bytes:  # (the hash pass checks the whole file; it may still run)
        source.refuse_nul(head_bytes.index(b"\x00"))
    head = decode_utf8(head_bytes, source.display, partial=len(head_bytes) == HEAD_BYTES)
    stripped = head.lstrip()
    first_line = next((ln for ln in head.splitlines() if ln.strip()), "")
    if (
        stripped.startswith(("{", "["))
        or stripped.rstrip() == "null"
        or stripped.startswith("null")
    ):
        return _sniff_json(source, head, first_line)
    looks_yaml = first_line.startswith(("---", "#", "apiVersion:", "kind:")) or (
        "\napiVersion:" in head or "\nkind:" in head
    )
    if looks_yaml and not first_line.startswith("#separator"):
        documents = list(load_yaml_documents(source.read_text(), source=source.display))
        return Sniff(head=head, shape="yaml", document=documents, first_line=first_line)
    return Sniff(head=head, shape="text", first_line=first_line)


def _sniff_json(source: SourceFile, head: str, first_line: str) -> Sniff:
    head_lines = head.splitlines()
    lines = [ln for ln in head_lines if ln.strip()]
    first = lines[0].strip() if lines else ""
    single_line_value = False
    if first.startswith("{"):
        try:
            json.loads(first)
            single_line_value = True
        except (ValueError, RecursionError):
            single_line_value = False
    if single_line_value and len(lines) > 1:
        record = loads_json(first, source=source.display, line_offset=head_lines.index(lines[0]))
        return Sniff(head=head, shape="json-lines", first_record=record, first_line=first_line)
    text = source.read_text()
    try:
        document = loads_json(text, source=source.display)
    except InputError as exc:
        if "Extra data" not in exc.message:
            raise
        # Several JSON values: JSON lines whose first record did not fit the head.
        try:
            record, _ = json.JSONDecoder().raw_decode(text.lstrip())
        except RecursionError:
            raise InputError("JSON nested too deeply", path=source.display) from None
        return Sniff(head=head, shape="json-lines", first_record=record, first_line=first_line)
    return Sniff(head=head, shape="json-document", document=document, first_line=first_line)


def choose_format(source: SourceFile, info: Sniff, formats: list[Format]) -> Format:
    """The first registered format whose content test accepts the file."""
    for fmt in formats:
        if info.shape in fmt.shapes and fmt.matches(info):
            return fmt
    names = ", ".join(sorted(f.name for f in formats))
    raise UnsupportedFormatError(
        f"unrecognised content ({_describe(info)}); supported formats: {names}",
        path=source.display,
    )


def _describe(info: Sniff) -> str:
    """The file's shape, in our own words: nothing of an unrecognised file's content is
    repeated (it may be anything, a password file included), not even its keys."""
    if info.shape == "json-document":
        doc = info.document
        if isinstance(doc, dict):
            return f"a JSON object with {len(doc)} key(s)" if doc else "an empty JSON object"
        if isinstance(doc, list):
            return f"a JSON array of {len(doc)} item(s)"
        return "a JSON scalar"
    if info.shape == "json-lines":
        return "JSON lines"
    if info.shape == "yaml":
        return "YAML without Kubernetes objects"
    return "text in no supported layout"
