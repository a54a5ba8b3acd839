r"""Text that is safe in a SIEM record: one JSON line that no value can split or forge.

A SIEM shows a decoded field to an analyst and often re-serialises it into a
plain log line (Splunk's ``_raw``, a syslog forward, a CSV export). A newline
in a resource name would then forge a second record there, an ESC sequence
would drive the analyst's terminal, a bidi override would reorder what they
read. So every character :func:`terminal_text` escapes, this escapes too, as
the six visible characters ``\u001b`` (JSON's own escape syntax, so a value
that is itself JSON text, like a result's evidence, stays valid JSON).

The same rule exists twice, once per engine, and a test keeps them equal:

* :func:`siem_text` for the few values Python writes (titles, names);
* :data:`SIEM_TEXT_MACRO`, a DuckDB macro, for the millions of values the
  export writes set-based. Rows without an unsafe character (nearly all) cost
  one RE2 match; only the others are split into characters.
"""

from __future__ import annotations

import re

# C0 and DEL, C1, ALM, LRM/RLM, LS/PS, bidi embeddings/overrides and isolates, and the
# private-use character U+E000 (the export's template placeholders are built around it).
_UNSAFE_CLASS = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ue000"
_UNSAFE_RE = re.compile(f"[{_UNSAFE_CLASS}\ud800-\udfff]")
# The same class in RE2 syntax (no surrogates: DuckDB strings are valid UTF-8).
_RE2_CLASS = (
    r"[\x00-\x1f\x7f-\x{9f}\x{61c}\x{200e}\x{200f}\x{2028}\x{2029}"
    r"\x{202a}-\x{202e}\x{2066}-\x{2069}\x{e000}]"
)

SIEM_TEXT_MACRO = (
    "CREATE OR REPLACE TEMP MACRO siem_text(s) AS CASE "
    f"WHEN s IS NULL OR NOT regexp_matches(s, '{_RE2_CLASS}') THEN s "
    "ELSE array_to_string(list_transform(regexp_extract_all(s, '(?s).'), "
    f"lambda c: CASE WHEN regexp_matches(c, '{_RE2_CLASS}') "
    "THEN printf('\\u%04x', unicode(c)) ELSE c END), '') END"
)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def siem_text(value: object) -> str:
    r"""``value`` with every control, bidi, separator character as a visible ``\uXXXX``.

    ``None`` becomes ``""``; other objects go through ``str()`` first.
    Printable text, non-ASCII letters included, is unchanged.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _UNSAFE_RE.search(text) is None:
        return text
    return _UNSAFE_RE.sub(_escape, text)
