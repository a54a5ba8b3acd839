"""Print which installed distributions differ from a lock file (one line each)."""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)")


def main(lock: str) -> None:
    pinned: dict[str, set[str]] = {}
    for line in Path(lock).read_text().splitlines():
        if match := PIN.match(line):
            pinned.setdefault(canonicalize_name(match[1]), set()).add(match[2])
    moved = []
    for dist in distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in pinned and dist.version not in pinned[name]:
            moved.append(f"{name} {'/'.join(sorted(pinned[name]))} -> {dist.version}")
    print("newer than the lock: " + (", ".join(sorted(moved)) if moved else "nothing"))


if __name__ == "__main__":
    main(sys.argv[1])
