"""Which pod runs which image digest on which node, and when.

Built once from the rollouts in ``world.WORKLOADS`` plus scheduled restarts
(weekly for Deployments and StatefulSets, monthly for DaemonSets, in Q2 and Q3
only, so the archive stays thin). The audit log turns every start into a pod
create (carrying the image reference) and every end into a pod delete; Falco and
Hubble use it to name the pod behind an address at a given time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from .util import day_start, dt, stable_uuid, to_epoch
from .world import (
    ARCHIVE,
    DEBUG_POD,
    NODE_BY_IP,
    NODES,
    POD_IPS,
    Q2,
    Q3,
    SANDBOX_PRIV_POD,
    WORKLOADS,
    Node,
    Workload,
    pool_nodes,
)

US = 1_000_000
HISTORY_START = day_start(ARCHIVE[0])
HISTORY_END = day_start(Q3[1]) + 86400


@dataclass
class PodLife:
    workload: Workload
    index: int
    generation: int
    tag: str
    name: str
    node: Node
    ip: str
    start_us: int
    end_us: int | None
    cause: str  # initial | rollout | restart | job | manual
    security: str = ""
    created_by: str = ""  # identity key for manually created pods

    @cached_property
    def uid(self) -> str:
        return stable_uuid("pod", self.workload.namespace, self.name, self.generation,
                           self.start_us)

    def running_at(self, t_us: int) -> bool:
        return self.start_us <= t_us and (self.end_us is None or t_us < self.end_us)


def _transitions(w: Workload) -> list[tuple[int, str, str]]:
    """(epoch seconds, tag, cause) for every rollout and restart of ``w``."""
    out = []
    for when, tag in w.rollouts:
        t = to_epoch(dt(when))
        if HISTORY_START <= t < HISTORY_END:
            out.append((t, tag, "rollout"))
    rollout_times = [t for t, _, _ in out]
    offset = (sum(ord(c) for c in w.name) % 50) * 60
    for start, end in (Q2, Q3):
        cur = start
        while cur <= end:
            monday = cur.weekday() == 0
            first_monday = monday and cur.day <= 7
            if (w.kind in ("Deployment", "StatefulSet") and monday) or (
                w.kind == "DaemonSet" and first_monday
            ):
                t = day_start(cur) + 3 * 3600 + offset
                if all(abs(t - r) > 2 * 86400 for r in rollout_times):
                    out.append((t, w.tag_at(_iso(t)), "restart"))
            cur += timedelta(days=1)
    return sorted(out)


def _iso(t: int) -> str:
    from .util import from_epoch

    return from_epoch(t).strftime("%Y-%m-%dT%H:%M")


def _node_for(w: Workload, i: int) -> Node:
    return POD_IPS[(w.namespace, w.name, i)][1]


def build() -> list[PodLife]:
    lives: list[PodLife] = []
    for w in WORKLOADS:
        if w.kind == "Job":
            lives.extend(_job_pods(w))
            continue
        count = len(NODES) if w.kind == "DaemonSet" else w.replicas
        gen = 0
        tag = w.tag_at(_iso(HISTORY_START))
        current: list[PodLife] = []
        for i in range(count):
            node = _node_for(w, i)
            current.append(PodLife(w, i, gen, tag, w.pod_name(tag, i, gen), node,
                                   POD_IPS[(w.namespace, w.name, i)][0],
                                   (HISTORY_START - 86400 * 20) * US, None, "initial",
                                   w.security))
        for t, new_tag, cause in _transitions(w):
            gen += 1
            nxt = []
            order = range(count - 1, -1, -1) if w.kind == "StatefulSet" else range(count)
            for k, i in enumerate(order):
                old = current[i]
                if w.kind == "Deployment":
                    start = (t + 2 + k * 20) * US
                    end = start + 15 * US
                else:  # StatefulSet and DaemonSet replace in place
                    end = (t + k * 40) * US
                    start = end + 4 * US
                old.end_us = end
                nxt.append((i, PodLife(w, i, gen, new_tag, w.pod_name(new_tag, i, gen), old.node,
                                       old.ip, start, None, cause, w.security)))
            lives.extend(current)
            current = [p for _, p in sorted(nxt, key=lambda x: x[0])]
        lives.extend(current)
    lives.extend(_manual_pods())
    lives.sort(key=lambda p: (p.start_us, p.workload.namespace, p.name))
    return lives


def _job_pods(w: Workload) -> list[PodLife]:
    """The tools CronJob runs weekly (Sundays 01:00) for three minutes."""
    out = []
    node = pool_nodes(w.pool)[0]
    for start, end in (ARCHIVE, Q2, Q3):
        cur = start
        while cur <= end:
            if cur.weekday() == 6:
                t = day_start(cur) + 3600
                gen = t // 60
                tag = w.tag_at(_iso(t))
                out.append(PodLife(w, 0, gen, tag, w.pod_name(tag, 0, gen), node,
                                   POD_IPS[(w.namespace, w.name, 0)][0], t * US,
                                   (t + 180) * US, "job", w.security))
            cur += timedelta(days=1)
    return out


def _manual_pods() -> list[PodLife]:
    out = []
    for spec, security in ((DEBUG_POD, "debug"), (SANDBOX_PRIV_POD, "sandbox")):
        w = Workload(spec["namespace"], "Pod", spec["name"], spec["image"], 1,
                     NODE_BY_IP[spec["node"]].pool, None, "default",
                     (("app.kubernetes.io/name", spec["name"]),), security,
                     (("2025-01-01T00:00", spec["tag"]),), spec["by"])
        end = spec.get("deleted")
        out.append(PodLife(w, 0, 0, spec["tag"], spec["name"], NODE_BY_IP[spec["node"]],
                           spec["ip"], to_epoch(dt(spec["created"])) * US,
                           to_epoch(dt(end)) * US if end else None, "manual", security,
                           spec["by"]))
    return out


_CACHE: list[PodLife] | None = None


def lives() -> list[PodLife]:
    global _CACHE
    if _CACHE is None:
        _CACHE = build()
    return _CACHE


def pod_at(namespace: str, name: str, t_us: int, index: int | None = None,
           node: Node | None = None) -> PodLife | None:
    """The pod of workload ``namespace/name`` running at ``t_us`` (by replica or node)."""
    for p in lives():
        if p.workload.namespace != namespace or p.workload.name != name:
            continue
        if index is not None and p.index != index:
            continue
        if node is not None and p.node.ip != node.ip:
            continue
        if p.running_at(t_us):
            return p
    return None
