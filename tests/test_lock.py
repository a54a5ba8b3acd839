"""The committed locks agree with pyproject.toml, so `pip install -r` gives a tool we tested.

Regenerate with requirements/update.sh when this fails.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)")


def _pins(name: str) -> dict[str, list[Version]]:
    text = (ROOT / "requirements" / name).read_text()
    pins: dict[str, list[Version]] = {}
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            pins.setdefault(canonicalize_name(match[1]), []).append(Version(match[2]))
    return pins


def _declared(*, extras: bool) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    if extras:
        reqs += [Requirement(r) for r in project["optional-dependencies"]["test"]]
    return reqs


def test_every_declared_dependency_is_locked_within_its_range() -> None:
    for lock, extras in (("test.txt", True), ("run.txt", False)):
        pins = _pins(lock)
        for req in _declared(extras=extras):
            name = canonicalize_name(req.name)
            assert name in pins, f"{req.name} is not in requirements/{lock}; run update.sh"
            for version in pins[name]:
                assert req.specifier.contains(version, prereleases=True), (
                    f"requirements/{lock} pins {req.name}=={version}, outside {req.specifier}"
                )


def test_every_pin_carries_hashes() -> None:
    for lock in ("test.txt", "run.txt"):
        blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements" / lock).read_text())
        for block in blocks:
            if PIN.match(block):
                assert "--hash=sha256:" in block, f"{lock}: {block.splitlines()[0]} has no hash"


def test_the_demo_lock_uses_the_tested_versions() -> None:
    run, test = _pins("run.txt"), _pins("test.txt")
    for name, versions in run.items():
        assert versions == test.get(name), f"{name}: run.txt {versions}, test.txt {test.get(name)}"


def test_the_build_backend_is_locked() -> None:
    assert "hatchling" in _pins("run.txt")
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for req in map(Requirement, backend):
        for version in _pins("run.txt")[canonicalize_name(req.name)]:
            assert req.specifier.contains(version)
