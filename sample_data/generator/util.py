"""Deterministic building blocks: random streams, ids, time formats, and writers.

Nothing here reads the wall clock, and nothing depends on dict or set iteration
order of data we did not build ourselves. Every random stream is derived from the
run seed plus a fixed label, so adding a stream never shifts another one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import re
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- random


def rng(seed: int, label: str) -> random.Random:
    """A random stream that depends only on the run seed and ``label``."""
    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def sha256_hex(*parts: object) -> str:
    """Hex sha256 of the parts joined by '|' (used for stable fake digests)."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def digest(*parts: object) -> str:
    """A stable ``sha256:...`` digest string derived from the parts."""
    return "sha256:" + sha256_hex(*parts)


def uuid4_from_int(value: int) -> str:
    """Format 128 random bits as a version-4 UUID string."""
    value &= (1 << 128) - 1
    value = (value & ~(0xF << 76)) | (0x4 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    h = f"{value:032x}"
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def stable_uuid(*parts: object) -> str:
    """A version-4-shaped UUID derived from the parts."""
    return uuid4_from_int(int(sha256_hex(*parts)[:32], 16))


def uuid7(ms: int, *parts: object) -> str:
    """A version-7 UUID for the given epoch milliseconds (Trivy ReportIDs use v7)."""
    rand = int(sha256_hex("uuid7", ms, *parts)[:20], 16)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0x2 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


_K8S_ALNUM = "bcdfghjklmnpqrstvwxz2456789"


def k8s_suffix(n: int, *parts: object) -> str:
    """The random-looking suffix Kubernetes appends to generated names."""
    value = int(sha256_hex("k8s", *parts), 16)
    out = []
    for _ in range(n):
        value, idx = divmod(value, len(_K8S_ALNUM))
        out.append(_K8S_ALNUM[idx])
    return "".join(out)


def spread(total: int, slots: int, i: int) -> int:
    """The i-th of ``slots`` near-equal integer shares of ``total`` (they sum to total)."""
    return total * (i + 1) // slots - total * i // slots


# --------------------------------------------------------------------------- time


def dt(s: str) -> datetime:
    """Parse ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` as UTC."""
    if "T" not in s:
        return datetime.fromisoformat(s).replace(tzinfo=UTC)
    return datetime.fromisoformat(s.rstrip("Z")).replace(tzinfo=UTC)


def d(s: str) -> date:
    return date.fromisoformat(s)


def to_epoch(t: datetime) -> int:
    return int((t - EPOCH).total_seconds())


def from_epoch(sec: float) -> datetime:
    return EPOCH + timedelta(seconds=sec)


def days(start: date, end: date):
    """Every date from start to end inclusive."""
    cur = start
    while cur <= end:
        yield cur
        cur += timedelta(days=1)


def day_start(day: date) -> int:
    """Epoch seconds of 00:00 UTC on ``day``."""
    return to_epoch(datetime(day.year, day.month, day.day, tzinfo=UTC))


def rfc3339_us(epoch_us: int) -> str:
    """``2026-07-01T10:00:00.123456Z`` (Kubernetes audit timestamps)."""
    sec, us = divmod(epoch_us, 1_000_000)
    return from_epoch(sec).strftime("%Y-%m-%dT%H:%M:%S") + f".{us:06d}Z"


def rfc3339_ns(epoch_ns: int) -> str:
    """``2026-07-01T10:00:00.123456789Z`` (Falco, Hubble, Trivy)."""
    sec, ns = divmod(epoch_ns, 1_000_000_000)
    return from_epoch(sec).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns:09d}Z"


def rfc3339_s(epoch_s: int) -> str:
    return from_epoch(epoch_s).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- JSON


def go_json(obj: object, indent: int | None = None) -> str:
    """JSON the way Go's encoding/json writes it (HTML characters escaped)."""
    if indent is None:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=indent)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def compact_json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- YAML

_PLAIN_UNSAFE_START = set("-?:,[]{}#&*!|>'\"%@`")
_RESOLVES = re.compile(
    r"""^(?:
        ~|null|Null|NULL|
        y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|
        [-+]?(?:0|[1-9][0-9_]*)|
        0[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+|
        [-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|
        [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+|
        [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|
        [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?|
        [-+]?[0-9]+(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
    )$""",
    re.X,
)


def yaml_scalar(value: object) -> str:
    """One scalar the way sigs.k8s.io/yaml (go-yaml v2) writes it."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    s = str(value)
    if s == "":
        return '""'
    if _RESOLVES.match(s):
        return '"' + s + '"'
    needs_quote = (
        s[0] in _PLAIN_UNSAFE_START
        or s[0] == " "
        or s[-1] == " "
        or ": " in s
        or " #" in s
        or s.endswith(":")
        or "\t" in s
    )
    if needs_quote:
        return "'" + s.replace("'", "''") + "'"
    return s


def _yaml_lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            k = yaml_scalar(key)
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{k}:")
                lines.extend(_yaml_lines(item, indent + 2))
            elif isinstance(item, list) and item:
                lines.append(f"{pad}{k}:")
                lines.extend(_yaml_lines(item, indent))
            elif isinstance(item, str) and "\n" in item:
                lines.append(f"{pad}{k}: |")
                for part in item.rstrip("\n").split("\n"):
                    lines.append(f"{pad}  {part}" if part else "")
            else:
                lines.append(f"{pad}{k}: {_yaml_inline(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                sub = _yaml_lines(item, indent + 2)
                sub[0] = f"{pad}- " + sub[0][indent + 2 :]
                lines.extend(sub)
            elif isinstance(item, list) and item:
                sub = _yaml_lines(item, indent + 2)
                sub[0] = f"{pad}- " + sub[0][indent + 2 :]
                lines.extend(sub)
            else:
                lines.append(f"{pad}- {_yaml_inline(item)}")
    else:
        lines.append(pad + _yaml_inline(value))
    return lines


def _yaml_inline(value: object) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return yaml_scalar(value)


def k8s_yaml(obj: object) -> str:
    """Block YAML with sorted keys, as ``kubectl get -o yaml`` prints it."""
    return "\n".join(_yaml_lines(obj, 0)) + "\n"


# --------------------------------------------------------------------------- files


class Output:
    """Writes files under one root and records what was written.

    ``manifest`` maps each relative path to its format label and record count,
    in the order the files were written.
    """

    def __init__(self, root: str, gzip_logs: bool = True):
        self.root = root
        self.gzip_logs = gzip_logs
        self.manifest: list[dict] = []

    def path(self, rel: str) -> str:
        full = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        return full

    def record(self, rel: str, fmt: str, records: int, note: str = "") -> None:
        entry = {"path": rel, "format": fmt, "records": records}
        if note:
            entry["note"] = note
        self.manifest.append(entry)

    def write_text(self, rel: str, text: str, fmt: str, records: int, note: str = "") -> str:
        with open(self.path(rel), "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        self.record(rel, fmt, records, note)
        return rel

    def log_name(self, rel: str) -> str:
        """``rel`` with ``.gz`` appended when large logs are gzipped."""
        return rel + ".gz" if self.gzip_logs else rel

    def open_log(self, rel: str) -> LogWriter:
        """A buffered line writer; gzipped (mtime 0, no name) when enabled."""
        return LogWriter(self.path(rel), gz=rel.endswith(".gz"))


class LogWriter:
    """Streams text to disk in large chunks, optionally through gzip."""

    def __init__(self, full_path: str, gz: bool):
        self._raw = open(full_path, "wb")
        if gz:
            # filename="" and mtime=0 keep the gzip header free of names and clocks.
            self._fh = gzip.GzipFile(
                filename="", mode="wb", fileobj=self._raw, compresslevel=9, mtime=0
            )
        else:
            self._fh = self._raw
        self._buf: list[str] = []
        self._size = 0
        self.lines = 0

    def write_line(self, line: str) -> None:
        self._buf.append(line)
        self._buf.append("\n")
        self._size += len(line)
        self.lines += 1
        if self._size > 1 << 20:
            self.flush()

    def write_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        self._buf.append("\n".join(lines))
        self._buf.append("\n")
        self._size += sum(len(x) for x in lines)
        self.lines += len(lines)
        if self._size > 1 << 20:
            self.flush()

    def write_raw(self, text: str) -> None:
        """Text that is not counted as records (banners, headers)."""
        self._buf.append(text)
        self._size += len(text)

    def flush(self) -> None:
        if self._buf:
            self._fh.write("".join(self._buf).encode("utf-8"))
            self._buf = []
            self._size = 0

    def close(self) -> None:
        self.flush()
        if self._fh is not self._raw:
            self._fh.close()
        self._raw.close()


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip of an in-memory payload."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as fh:
        fh.write(data)
    return buf.getvalue()
