"""Kubernetes API audit log (audit.k8s.io/v1 Event, one JSON object per line).

Three streams are written: the assessed quarter (monthly files, exactly
``audit_events`` lines in total), the previous quarter, and a thin archive back
to 2025-10-01. Each stream is the merge of scenario events (fixed, the ground
truth) and background traffic (controllers, kubelets, workloads and people doing
ordinary, permitted work). Background never creates a finding on its own.

Field order follows the Go struct; map keys (annotations, user.extra) are sorted
as encoding/json sorts them.
"""

from __future__ import annotations

import bisect
from datetime import date

from . import rbac, spec_patch, timeline
from .audit_events import (
    AGENTS,
    GAP,
    US,
    Ids,
    Scenario,
    _subject_for,
    _us,
    event,
    forbidden,
    node_user,
    person_user,
    pod_events,
    request,
    sa_user,
    stage_ts,
)
from .audit_story import archive_story, q2_story, q3_story
from .util import (
    Output,
    compact_json,
    day_start,
    days,
    go_json,
    rng,
    sha256_hex,
    spread,
)
from .world import (
    ACCESS_SNAPSHOTS,
    ARCHIVE,
    ARGOCD_MGMT,
    ARGOCD_UA,
    CI_RUNNERS,
    HELM_UA,
    KUBELET_UA,
    NODES,
    PEOPLE,
    Q2,
    Q3,
    Person,
)

# --------------------------------------------------------------------------- background


class Background:
    """Ordinary permitted traffic; every template's authorization matches the RBAC export."""

    def __init__(self, seed: int, label: str):
        self.r = rng(seed, "audit-bg-" + label)
        self.ids = Ids(seed, "audit-bg-ids-" + label)
        self.index = _pod_index()

    def pod(self, ns: str, name: str, index: int, t_us: int) -> timeline.PodLife | None:
        seq = self.index.get((ns, name, index))
        if not seq:
            return None
        i = bisect.bisect_right(seq[0], t_us) - 1
        if i < 0:
            return None
        p = seq[1][i]
        return p if p.running_at(t_us) else None

    # Each maker returns (user, ips, ua, verb, uri, ref, code, reason, decision, status)
    def machine(self, t_us: int) -> dict:
        r = self.r
        x = r.random()
        if x < 0.30:
            node = NODES[r.randrange(len(NODES))]
            y = r.random()
            if y < 0.5:
                uri, ref = request("patch", "nodes", None, node.name, "status",
                                   query="?timeout=10s")
                return event(self.ids.next(), t_us, node_user(node), "patch", uri, [node.ip],
                             KUBELET_UA, ref, 200, "", latency_us=r.randrange(2000, 9000))
            ns, sa_name = _node_sas(node)[r.randrange(len(_node_sas(node)))]
            uri, ref = request("create", "serviceaccounts", ns, sa_name, "token")
            return event(self.ids.next(), t_us, node_user(node), "create", uri, [node.ip],
                         KUBELET_UA, ref, 201, "", latency_us=r.randrange(2000, 7000))
        if x < 0.45:
            res = ("pods", "endpoints", "services")[r.randrange(3)]
            uri, ref = request("list", res, query="?limit=500&resourceVersion=0")
            ver = "3.4.1" if t_us >= _us("2026-06-10T10:00:00") else "2.55.1"
            return event(self.ids.next(), t_us, sa_user("prometheus", self.pod(
                "monitoring", "prometheus", 0, t_us), jti_seed=t_us // (3600 * US)), "list",
                uri, ["10.30.1.46"], f"prometheus/{ver}", ref, 200,
                rbac.reason("prometheus", rbac.sa("prometheus")),
                latency_us=r.randrange(8000, 40000))
        if x < 0.55:
            i = r.randrange(len(NODES))
            pod = self.pod("falco", "falco", i, t_us)
            node = NODES[i]
            uri, ref = request("list", "pods", query=f"?fieldSelector=spec.nodeName%3D{node.name}"
                                                     "&limit=500")
            ver = "0.41.3" if t_us >= _us("2026-07-15T09:00:00") else "0.40.0"
            return event(self.ids.next(), t_us, sa_user("falco", pod, t_us // (3600 * US)),
                         "list", uri, [pod.ip if pod else node.ip], f"falco/{ver}", ref, 200,
                         rbac.reason("falco", rbac.sa("falco")),
                         latency_us=r.randrange(5000, 20000))
        if x < 0.65:
            i = r.randrange(len(NODES))
            pod = self.pod("logging", "fluent-bit", i, t_us)
            ns = ("payments", "card-vault", "checkout-web", "monitoring", "ingress-nginx")[
                r.randrange(5)]
            uri, ref = request("list", "pods", ns, query="?limit=500")
            ver = "4.0.3" if t_us >= _us("2026-05-20T10:00:00") else "3.2.4"
            return event(self.ids.next(), t_us, sa_user("fluent-bit", pod, t_us // (3600 * US)),
                         "list", uri, [pod.ip if pod else NODES[i].ip], f"fluent-bit/{ver}", ref,
                         200, rbac.reason("fluent-bit-read", rbac.sa("fluent-bit")),
                         latency_us=r.randrange(3000, 15000))
        if x < 0.80:
            i = r.randrange(3)
            pod = self.pod("payments", "payments-api", i, t_us)
            if r.random() < 0.5:
                uri, ref = request("get", "configmaps", "payments", "payments-api-config")
            else:
                uri, ref = request("get", "secrets", "payments", "payments-api-tls")
            return event(self.ids.next(), t_us, sa_user("payments-api", pod, t_us // (3600 * US)),
                         "get", uri, [pod.ip if pod else "10.20.1.40"],
                         "fabric8-kubernetes-client/6.13.1", ref, 200,
                         rbac.reason("payments-api", rbac.sa("payments-api"), "payments"),
                         latency_us=r.randrange(2000, 6000))
        if x < 0.88:
            i = r.randrange(2)
            pod = self.pod("card-vault", "card-vault", i, t_us)
            name = ("dek-primary", "kek-wrapping")[r.randrange(2)]
            uri, ref = request("get", "secrets", "card-vault", name)
            tag = pod.tag if pod else "1.8.3"
            return event(self.ids.next(), t_us, sa_user("card-vault", pod, t_us // (3600 * US)),
                         "get", uri, [pod.ip if pod else "10.20.1.44"],
                         f"card-vault/v{tag} (linux/amd64) kubernetes/$Format", ref, 200,
                         rbac.reason("card-vault-keys", rbac.sa("card-vault"), "card-vault"),
                         latency_us=r.randrange(2000, 6000))
        ns = ("checkout-web", "monitoring", "logging", "falco", "ingress-nginx")[r.randrange(5)]
        res, grp = (("deployments", "apps"), ("services", ""), ("configmaps", ""),
                    ("daemonsets", "apps"))[r.randrange(4)]
        verb = "list" if r.random() < 0.7 else "watch"
        uri, ref = request(verb, res, ns, group=grp,
                           query="?limit=500" if verb == "list" else "?allowWatchBookmarks=true"
                                                                     "&watch=true")
        return event(self.ids.next(), t_us, sa_user("argocd-manager"), verb, uri, [ARGOCD_MGMT],
                     ARGOCD_UA, ref, 200,
                     rbac.reason("argocd-manager-role-binding", rbac.sa("argocd-manager")),
                     latency_us=r.randrange(5000, 30000))

    def human(self, p: Person, t_us: int) -> dict:
        r = self.r
        choices = HUMAN_ACTIONS[p.key]
        verb, res, ns, grp, binding, code = choices[r.randrange(len(choices))]
        if res == "pods/log":
            pod = self.pod(ns, _LOG_TARGET[ns], 0, t_us)
            if pod is None:
                verb, res = "list", "pods"
            else:
                uri, ref = request("get", "pods", ns, pod.name, "log",
                                   query="?tailLines=100")
        if res != "pods/log":
            query = "?limit=500" if verb == "list" else ""
            uri, ref = request(verb, res, ns, group=grp, query=query)
        agent = AGENTS[p.agents[r.randrange(len(p.agents))]]
        user = person_user(p)
        if code == 403:
            return event(self.ids.next(), t_us, user, verb if res != "pods/log" else "get", uri,
                         [p.vpn_ip], agent, ref, 403, "", "forbid",
                         status=forbidden(p.username, verb, ref), latency_us=3000)
        bname, bns = binding
        return event(self.ids.next(), t_us, user, verb if res != "pods/log" else "get", uri,
                     [p.vpn_ip], agent, ref, 200,
                     rbac.reason(bname, _subject_for(p.key, bname), bns),
                     latency_us=r.randrange(3000, 60000))

    def ci(self, t_us: int) -> dict:
        r = self.r
        ns = ("payments", "card-vault")[r.randrange(2)]
        if r.random() < 0.6:
            uri, ref = request("list", "secrets", ns, query="?labelSelector=owner%3Dhelm")
            verb = "list"
        else:
            uri, ref = request("get", "deployments" if ns == "payments" else "statefulsets", ns,
                               "payments-api" if ns == "payments" else "card-vault", group="apps")
            verb = "get"
        return event(self.ids.next(), t_us, sa_user("ci-deployer", jti_seed=t_us // (86400 * US)),
                     verb, uri, [CI_RUNNERS[r.randrange(2)]], HELM_UA, ref, 200,
                     rbac.reason("ci-deployer-cluster-admin", rbac.sa("ci-deployer")),
                     latency_us=r.randrange(5000, 25000))


_LOG_TARGET = {"payments": "payments-api", "card-vault": "card-vault-db",
               "checkout-web": "checkout-web", "dev-sandbox": "sandbox-web",
               "monitoring": "prometheus"}


def _node_sas(node) -> list[tuple[str, str]]:
    out = [("falco", "falco"), ("logging", "fluent-bit"), ("monitoring", "node-exporter")]
    if node.pool == "cde":
        out += [("payments", "payments-api"), ("card-vault", "card-vault"),
                ("card-vault", "card-vault-db")]
    elif node.pool == "general":
        out += [("checkout-web", "checkout-web"), ("ingress-nginx", "ingress-nginx")]
    return out


def _pod_index():
    idx: dict = {}
    for p in timeline.lives():
        key = (p.workload.namespace, p.workload.name, p.index)
        idx.setdefault(key, []).append(p)
    out = {}
    for key, seq in idx.items():
        seq.sort(key=lambda p: p.start_us)
        out[key] = ([p.start_us for p in seq], seq)
    return out


def _h(verb, res, ns, grp, binding, code=200):
    return (verb, res, ns, grp, binding, code)


PLAT = ("platform-read", "")
HUMAN_ACTIONS = {
    "alice": [_h("list", "pods", ns, "", PLAT) for ns in
              ("checkout-web", "monitoring", "logging", "ingress-nginx", "falco", "kube-system")]
    + [_h("list", "deployments", "checkout-web", "apps", PLAT),
       _h("list", "events", "monitoring", "", PLAT), _h("list", "nodes", None, "", PLAT)],
    "bob": [_h("list", "pods", ns, "", ("bob-cluster-admin", "")) for ns in
            ("payments", "card-vault", "checkout-web", "kube-system")]
    + [_h("list", "nodes", None, "", ("bob-cluster-admin", "")),
       _h("get", "deployments", "payments", "apps", ("bob-cluster-admin", ""))],
    "carol": [_h("list", "pods", ns, "", PLAT) for ns in
              ("payments", "card-vault", "monitoring", "logging", "kube-system")]
    + [_h("list", "networkpolicies", "payments", "networking.k8s.io", PLAT)],
    "dave": [_h("list", "pods", ns, "", ("security-view", "")) for ns in
             ("payments", "card-vault", "falco", "checkout-web")]
    + [_h("list", "events", "falco", "", ("security-view", ""))],
    "erin": [_h("list", "pods", "payments", "", ("payments-exec-erin", "payments")),
             _h("get", "pods/log", "payments", "", ("payments-exec-erin", "payments")),
             _h("list", "pods", "dev-sandbox", "", ("developers-edit", "dev-sandbox")),
             _h("list", "deployments", "checkout-web", "apps", ("developers-view", "checkout-web")),
             _h("list", "nodes", None, "", None, 403)],
    "frank": [_h("list", "pods", "card-vault", "", ("card-vault-dba", "card-vault")),
              _h("get", "pods/log", "card-vault", "", ("card-vault-dba", "card-vault"))],
    "grace": [_h("list", "pods", "dev-sandbox", "", ("developers-edit", "dev-sandbox")),
              _h("list", "deployments", "dev-sandbox", "apps", ("developers-edit", "dev-sandbox")),
              _h("list", "pods", "checkout-web", "", ("developers-view", "checkout-web")),
              _h("get", "pods/log", "checkout-web", "", ("developers-view", "checkout-web")),
              _h("list", "pods", "payments", "", None, 403)],
    "henry": [_h("list", "pods", ns, "", PLAT) for ns in ("payments", "monitoring", "kube-system")]
    + [_h("list", "rolebindings", "payments", "rbac.authorization.k8s.io", PLAT),
       _h("list", "clusterrolebindings", None, "rbac.authorization.k8s.io", PLAT)],
    "ivan": [_h("list", "pods", "payments", "", ("payments-oncall", "payments")),
             _h("get", "pods/log", "payments", "", ("payments-oncall", "payments")),
             _h("list", "deployments", "payments", "apps", ("payments-oncall", "payments")),
             _h("list", "pods", "card-vault", "", ("card-vault-oncall", "card-vault"))],
    "judy": [_h("list", "pods", "payments", "", ("payments-oncall", "payments")),
             _h("list", "events", "payments", "", ("payments-oncall", "payments")),
             _h("list", "pods", "card-vault", "", ("card-vault-oncall", "card-vault"))],
    "kate": [_h("list", "pods", "dev-sandbox", "", ("developers-edit", "dev-sandbox")),
             _h("get", "pods/log", "dev-sandbox", "", ("developers-edit", "dev-sandbox")),
             _h("list", "pods", "payments", "", None, 403)],
    "leo": [_h("list", "pods", "card-vault", "", ("card-vault-dba", "card-vault")),
            _h("get", "pods/log", "card-vault", "", ("card-vault-dba", "card-vault"))],
    "mike": [_h("list", "pods", "dev-sandbox", "", ("developers-edit", "dev-sandbox")),
             _h("list", "pods", "checkout-web", "", ("developers-view", "checkout-web"))],
    "nina": [_h("list", "pods", ns, "", ("security-view", "")) for ns in ("falco", "payments")],
    "olivia": [_h("list", "pods", "payments", "", ("payments-oncall", "payments")),
               _h("get", "pods/log", "payments", "", ("payments-oncall", "payments")),
               _h("list", "events", "payments", "", ("payments-oncall", "payments")),
               _h("list", "pods", "card-vault", "", ("card-vault-oncall", "card-vault"))],
}


def humans_on(day: date) -> list[Person]:
    """People who do routine API work on ``day`` (weekdays, within their active dates)."""
    iso = day.isoformat()
    out = []
    for p in PEOPLE:
        if iso > p.last_active or iso < p.created:
            continue
        if day.weekday() >= 5 and p.key not in ("ivan", "bob"):
            continue
        out.append(p)
    return out


def _open_windows(day_us: int) -> list[tuple[int, int]]:
    """The parts of the day outside the planted audit gap, as [start, end) in µs."""
    lo, hi = day_us, day_us + 86400 * US
    if GAP[1] <= lo or GAP[0] >= hi:
        return [(lo, hi)]
    return [(a, b) for a, b in ((lo, max(lo, GAP[0])), (min(hi, GAP[1]), hi)) if b > a]


def _stratified(r, windows: list[tuple[int, int]], n: int) -> list[int]:
    """``n`` times spread evenly over the windows with random jitter (no long silences)."""
    total = sum(b - a for a, b in windows)
    out = []
    for i in range(n):
        x = (i * total + int((0.25 + 0.5 * r.random()) * total)) // n
        for a, b in windows:
            if x < b - a:
                out.append(a + x)
                break
            x -= b - a
    return out


def _human_time(r, base: int, p: Person, day: date) -> int:
    if p.key == "ivan" and day.weekday() >= 5:
        return base + r.randrange(20 * 3600 * US, 23 * 3600 * US)
    return base + r.randrange(7 * 3600 * US, 19 * 3600 * US)


def background_day(bg: Background, day: date, quota: int, thin: bool = False) -> list[dict]:
    """Exactly ``quota`` event lines of ordinary traffic for ``day``.

    Machine traffic (kubelets, controllers, workloads) is spread evenly over the day, as on a
    real API server, so the only long silence in the log is the planted gap; people and CI
    work office hours. About 3 % of requests also get a RequestReceived line.
    """
    r = bg.r
    base = day_start(day) * US
    people = humans_on(day)
    dups = 0 if thin else quota * 3 // 100
    n = quota - dups
    n_human = round(n * (0.5 if thin else 0.22)) if people else 0
    n_ci = round(n * 0.05) if day.weekday() < 5 and not thin else 0
    n_machine = n - n_human - n_ci
    events: list[dict] = []
    for t in _stratified(r, _open_windows(base), n_machine):
        events.append(bg.machine(t))
    for _ in range(n_human):
        p = people[r.randrange(len(people))]
        t = _human_time(r, base, p, day)
        while GAP[0] <= t < GAP[1]:
            t = _human_time(r, base, p, day)
        events.append(bg.human(p, t))
    for _ in range(n_ci):
        t = base + r.randrange(8 * 3600 * US, 18 * 3600 * US)
        while GAP[0] <= t < GAP[1]:
            t = base + r.randrange(8 * 3600 * US, 18 * 3600 * US)
        events.append(bg.ci(t))
    out: list[dict] = list(events)
    for i in sorted(r.sample(range(len(events)), min(dups, len(events)))):
        rr = dict(events[i])
        rr.pop("responseStatus", None)
        rr.pop("annotations", None)
        rr["stage"] = "RequestReceived"
        rr["stageTimestamp"] = rr["requestReceivedTimestamp"]
        out.append(rr)
    while len(out) < quota:  # a day without events to duplicate (tiny quotas)
        out.append(bg.machine(_stratified(r, _open_windows(base), 1)[0]))
    return out


# --------------------------------------------------------------------------- writing


def write_period(out: Output, seed: int, label: str, start: date, end: date, total: int,
                 story, files: str, last_seen: dict[str, dict[str, str]], thin: bool = False,
                 strict: bool = False, added: list[dict] | None = None) -> dict:
    """Write one period; ``files`` is 'monthly' or a single relative path stem.

    ``last_seen`` maps each access snapshot date to username -> last event time on or before
    that day; it is updated with this period's events. ``added``: scenario events written after
    the first release, each taking the place of one RequestReceived duplicate line of its day's
    background, so the rest of the log (and the background's random stream) is unchanged.
    """
    sc = Scenario(seed, label, start, end)
    pod_events(sc, timeline.lives())
    story(sc)
    by_day: dict[str, list[dict]] = {}
    for ev in sc.events:
        by_day.setdefault(ev["stageTimestamp"][:10], []).append(ev)
    displaced: dict[str, int] = {}
    for ev in added or []:
        by_day.setdefault(ev["stageTimestamp"][:10], []).append(ev)
        displaced[ev["stageTimestamp"][:10]] = displaced.get(ev["stageTimestamp"][:10], 0) + 1
    n_days = (end - start).days + 1
    if total < len(sc.events) and not strict:
        total = len(sc.events)
    if total < len(sc.events):
        raise ValueError(f"{label}: at least {len(sc.events)} audit events are needed for the "
                         f"story (asked for {total})")
    background = total - len(sc.events)
    bg = Background(seed, label)
    writers: dict[str, object] = {}
    counts: dict[str, int] = {}
    for i, day in enumerate(days(start, end)):
        quota = spread(background, n_days, i)
        bg_lines = background_day(bg, day, quota, thin)
        for _ in range(displaced.get(day.isoformat(), 0)):
            # a duplicate line first (its request keeps its ResponseComplete line); at tiny
            # volumes, any background line of the day
            dups = [k for k, ev in enumerate(bg_lines) if ev["stage"] == "RequestReceived"]
            if dups or bg_lines:
                del bg_lines[dups[-1] if dups else -1]
            elif strict:
                raise ValueError(f"{label}: too few audit events on {day} for the story")
        evs = by_day.get(day.isoformat(), []) + bg_lines
        evs.sort(key=stage_ts)
        key = day.isoformat()[:7] if files == "monthly" else "all"
        if key not in writers:
            rel = (f"runtime/k8s-audit/{label}/prod-eu1-audit-{key}.jsonl" if files == "monthly"
                   else files)
            rel = out.log_name(rel)
            writers[key] = (rel, out.open_log(rel))
        rel, w = writers[key]
        w.write_lines([go_json(ev) for ev in evs])
        for ev in evs:
            name = ev["user"].get("username")
            stamp = ev["stageTimestamp"]
            if not name:
                continue
            for snapshot, seen in last_seen.items():
                if stamp[:10] <= snapshot and stamp > seen.get(name, ""):
                    seen[name] = stamp
        counts[rel] = counts.get(rel, 0) + len(evs)
    for rel, w in writers.values():
        w.close()
        out.record(rel, "k8s-audit-jsonl", counts[rel])
    return {"scenario_lines": len(sc.events) + len(added or []), "lines": sum(counts.values()),
            "files": counts,
            "_events": sc.events}


def write_all(out: Output, seed: int, q3_events: int, q2_events: int,
              archive_per_day: int, strict: bool = False
              ) -> tuple[dict, dict[str, dict[str, str]]]:
    """Write the three periods; returns stats and, per access snapshot date, each
    username's last event time on or before that day."""
    stats: dict = {}
    seen: dict[str, dict[str, str]] = {snapshot: {} for snapshot in ACCESS_SNAPSHOTS}
    n_days = (ARCHIVE[1] - ARCHIVE[0]).days + 1
    stats["archive"] = write_period(
        out, seed, "archive", ARCHIVE[0], ARCHIVE[1], archive_per_day * n_days, archive_story,
        "runtime/k8s-audit/archive/prod-eu1-audit-2025-10_2026-03.jsonl", seen, thin=True)
    stats["q2"] = write_period(out, seed, "2026-q2", Q2[0], Q2[1], q2_events, q2_story,
                               "monthly", seen)
    stats["q3"] = write_period(out, seed, "2026-q3", Q3[0], Q3[1], q3_events, q3_story,
                               "monthly", seen, strict=strict,
                               added=spec_patch.q3_events(seed))
    q3_story_events = stats["q3"].pop("_events")
    write_other_shapes(out, q3_story_events)
    from .audit_relay import write as write_admin_relay  # imports this module: load it late

    write_admin_relay(out, q3_story_events)
    stats["q2"].pop("_events")
    stats["archive"].pop("_events")
    last = {snapshot: {name: stamp[:19] + "Z" for name, stamp in names.items()}
            for snapshot, names in seen.items()}
    return stats, last


AKS_RESOURCE = ("/SUBSCRIPTIONS/5F3C2B1A-0D4E-4C8B-9A71-2E6D0B9C4F13/RESOURCEGROUPS/NORTHWIND-SOC/"
                "PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PROD-EU1-AUDIT-RELAY")


def write_other_shapes(out: Output, q3_events: list[dict]) -> None:
    """The same events as delivered through other channels (duplicates by auditID)."""
    leaked = [ev for ev in q3_events if ev["sourceIPs"] == ["10.8.14.37"]]
    doc = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {},
           "items": leaked}
    out.write_text("runtime/k8s-audit/webhook/siem-webhook-batch-2026-09-16.json",
                   go_json(doc) + "\n", "k8s-audit-eventlist", len(leaked),
                   note="webhook backend batch; same auditIDs as in the 2026-09 log")
    anon = [ev for ev in q3_events if ev["user"].get("username") == "system:anonymous"
            and ev["requestReceivedTimestamp"].startswith("2026-07-08")]
    lines = []
    for ev in anon:
        stamp = ev["stageTimestamp"]
        lines.append(compact_json({
            "category": "kube-audit",
            "operationName": "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
            "properties": {"log": go_json(ev),
                           "containerID": sha256_hex("relay-container", "prod-eu1"),
                           "stream": "stdout", "pod": "kube-apiserver-6c9f7d5b84-q2wzr"},
            "resourceId": AKS_RESOURCE,
            "serviceBuild": "na",
            "time": stamp[:-1] + "314Z",
        }))
    out.write_text("runtime/k8s-audit/relay/soc-relay-kube-audit-2026-07-08.jsonl",
                   "\n".join(lines) + "\n", "aks-diagnostic-kube-audit", len(lines),
                   note="AKS diagnostic-log shape (properties.log is a JSON string)")
