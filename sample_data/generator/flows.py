"""Network flows: AWS VPC Flow Logs, Cilium Hubble and a Zeek conn.log."""

from __future__ import annotations

from .hubble import write_hubble
from .util import Output
from .vpc import write_vpc_custom, write_vpc_period
from .world import Q2, Q3
from .zeek import write_zeek


def write_all(out: Output, seed: int, q3_flows: int, q2_flows: int, hubble_lines: int,
              strict: bool = False) -> dict:
    stats = {}
    stats["vpc_q3"] = write_vpc_period(out, seed, "2026-q3", Q3[0], Q3[1], q3_flows, strict)
    stats["vpc_q2"] = write_vpc_period(out, seed, "2026-q2", Q2[0], Q2[1], q2_flows)
    write_vpc_custom(out, seed)
    stats["hubble"] = write_hubble(out, seed, hubble_lines)
    write_zeek(out, seed)
    return stats
