"""Text that is safe to print to a terminal."""

from __future__ import annotations

import re

# Everything that can move the cursor, change colours, ring the bell, or
# reorder what the reader sees:
#   C0 controls and DEL (ESC, BEL, CR, backspace, NUL, tab, newline, ...),
#   C1 controls (U+0080-U+009F; U+009B is a one-byte CSI on some terminals),
#   lone surrogates (they cannot even be encoded for output),
#   line/paragraph separators (U+2028/U+2029),
#   bidi controls: ALM U+061C, LRM/RLM U+200E/U+200F, embeddings and
#   overrides U+202A-U+202E, isolates U+2066-U+2069.
_TERMINAL_UNSAFE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _visible_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(value: object) -> str:
    r"""Return ``value`` as one line of text that cannot drive the terminal.

    Every control character (C0 including tab and newline, DEL, C1), every
    bidi control, U+2028/U+2029 and every lone surrogate becomes a visible
    Python-style escape: ESC -> ``\x1b``, U+202E -> ``\u202e``. Printable text,
    non-ASCII letters included, is returned unchanged. ``None`` becomes ``""``;
    other objects go through ``str()`` first.

    A backslash in the input is kept as is, so the text ``\x1b`` typed by a
    user and an escaped ESC look the same: the output is for reading, not for
    parsing back.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if _TERMINAL_UNSAFE_RE.search(text) is None:
        return text
    return _TERMINAL_UNSAFE_RE.sub(_visible_escape, text)
