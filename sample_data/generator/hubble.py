"""Cilium Hubble flows (``hubble observe -o json``) for in-cluster traffic in Q3."""

from __future__ import annotations

import bisect
import json
from datetime import date

from . import timeline
from .util import (
    Output,
    compact_json,
    day_start,
    days,
    rfc3339_ns,
    rng,
    sha256_hex,
    spread,
    stable_uuid,
)
from .vpc import _pods, _t
from .world import (
    ACQUIRER,
    CLUSTER,
    COREDNS_IPS,
    EGRESS_BAD,
    EKS_API_SVC,
    NODES,
    Q3,
    WORKLOAD_BY_NAME,
)

# --------------------------------------------------------------------------- Hubble

def _identity(ns: str, app: str) -> int:
    return 10000 + int(sha256_hex("identity", ns, app)[:6], 16) % 50000


def _endpoint(p: timeline.PodLife) -> dict:
    w = p.workload
    labels = [f"k8s:{k}={v}" for k, v in w.labels]
    labels += [f"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={w.namespace}"]
    if w.namespace in ("payments", "card-vault"):
        labels.append("k8s:io.cilium.k8s.namespace.labels.pci.northwind.example/zone=cde")
    labels += [f"k8s:io.cilium.k8s.policy.cluster={CLUSTER}",
               f"k8s:io.cilium.k8s.policy.serviceaccount={w.service_account}",
               f"k8s:io.kubernetes.pod.namespace={w.namespace}"]
    kind = "Deployment" if w.kind in ("Deployment", "Pod") else w.kind
    return {"ID": 100 + int(sha256_hex("ep", p.uid)[:4], 16) % 3900,
            "identity": _identity(w.namespace, w.name),
            "cluster_name": CLUSTER,
            "namespace": w.namespace,
            "labels": sorted(labels),
            "pod_name": p.name,
            "workloads": [{"name": w.name, "kind": kind}]}


WORLD = {"identity": 2, "labels": ["reserved:world"]}
APISERVER = {"identity": 7, "labels": ["reserved:kube-apiserver"]}
DNS_POD = {"ID": 1207, "identity": 31862, "cluster_name": CLUSTER, "namespace": "kube-system",
           "labels": ["k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=kube-system",
                      f"k8s:io.cilium.k8s.policy.cluster={CLUSTER}",
                      "k8s:io.cilium.k8s.policy.serviceaccount=coredns",
                      "k8s:io.kubernetes.pod.namespace=kube-system", "k8s:k8s-app=kube-dns"],
           "pod_name": "coredns-5b9dfbf96-h2xkq",
           "workloads": [{"name": "coredns", "kind": "Deployment"}]}


def _policy(ns: str, name: str, direction: str) -> dict:
    return {"name": name, "namespace": ns,
            "labels": ["k8s:io.cilium.k8s.policy.derived-from=NetworkPolicy",
                       f"k8s:io.cilium.k8s.policy.name={name}",
                       f"k8s:io.cilium.k8s.policy.namespace={ns}",
                       "k8s:io.cilium.k8s.policy.uid=" + stable_uuid("obj", "NetworkPolicy", ns,
                                                                     name)],
            "revision": 14, "kind": "NetworkPolicy"}


def hubble_flow(t_ns: int, src: dict, dst: dict, src_ip: str, dst_ip: str, sport: int,
                dport: int, proto: str, node: str, direction: str, verdict: str = "FORWARDED",
                reply: bool = False, allowed_by: dict | None = None, seed: object = 0) -> dict:
    flow: dict = {"time": rfc3339_ns(t_ns),
                  "uuid": stable_uuid("hubble", t_ns, src_ip, dst_ip, sport, seed),
                  "verdict": verdict}
    if verdict == "DROPPED":
        flow["drop_reason"] = 133
    flow["IP"] = {"source": src_ip, "destination": dst_ip, "ipVersion": "IPv4"}
    if proto == "TCP":
        flags = {"SYN": True} if not reply else {"SYN": True, "ACK": True}
        flow["l4"] = {"TCP": {"source_port": sport, "destination_port": dport, "flags": flags}}
    else:
        flow["l4"] = {"UDP": {"source_port": sport, "destination_port": dport}}
    flow["source"] = src
    flow["destination"] = dst
    flow["Type"] = "L3_L4"
    flow["node_name"] = f"{CLUSTER}/{node}"
    flow["event_type"] = {"type": 1, "sub_type": 133} if verdict == "DROPPED" else {"type": 4}
    flow["traffic_direction"] = direction
    if verdict != "DROPPED":
        flow["trace_observation_point"] = "TO_ENDPOINT" if direction == "INGRESS" else "TO_STACK"
        flow["trace_reason"] = "REPLY" if reply else "NEW"
    else:
        flow["drop_reason_desc"] = "POLICY_DENIED"
    flow["is_reply"] = reply
    if proto == "TCP":
        flow["Summary"] = "TCP Flags: SYN, ACK" if reply else "TCP Flags: SYN"
    else:
        flow["Summary"] = "UDP"
    if allowed_by and not reply:
        key = "ingress_allowed_by" if direction == "INGRESS" else "egress_allowed_by"
        flow[key] = [allowed_by]
    return flow


def _wrap(flow: dict) -> str:
    return compact_json({"flow": flow, "node_name": flow["node_name"], "time": flow["time"]})


class HubbleBackground:
    def __init__(self, seed: int):
        self.r = rng(seed, "hubble-bg")
        self.kinds = [
            (12, ("checkout-web", "checkout-web"), ("payments", "payments-api"), 8443, "TCP",
             ("payments", "allow-checkout-web-ingress", "INGRESS")),
            (6, ("payments", "payments-api"), ("card-vault", "card-vault"), 8200, "TCP",
             ("card-vault", "allow-from-payments", "INGRESS")),
            (5, ("payments", "payments-api"), ("card-vault", "card-vault-db"), 5432, "TCP",
             ("card-vault", "allow-postgres", "INGRESS")),
            (4, ("card-vault", "card-vault"), ("card-vault", "card-vault-db"), 5432, "TCP",
             ("card-vault", "allow-postgres", "INGRESS")),
            (6, ("payments", "payments-api"), ("payments", "payments-cache"), 6379, "TCP",
             ("payments", "allow-cache-from-api", "INGRESS")),
            (2, ("monitoring", "prometheus"), ("payments", "payments-api"), 9090, "TCP",
             ("payments", "allow-prometheus-scrape", "INGRESS")),
            (5, ("payments", "payments-api"), "dns", 53, "UDP",
             ("payments", "allow-egress-dns", "EGRESS")),
            (4, ("payments", "payments-api"), "acquirer", 443, "TCP",
             ("payments", "allow-egress-acquirer", "EGRESS")),
            (8, ("ingress-nginx", "ingress-nginx-controller"), ("checkout-web", "checkout-web"),
             8080, "TCP", None),
        ]
        self.cum = []
        total = 0
        for k in self.kinds:
            total += k[0]
            self.cum.append(total)
        self.total = total

    def flows(self, t_ns: int) -> list[str]:
        r = self.r
        k = self.kinds[bisect.bisect_right(self.cum, r.random() * self.total)]
        _, src_w, dst_w, port, proto, pol = k
        t_us = t_ns // 1000
        src = _pick(src_w, t_us, r)
        if src is None:
            return []
        if dst_w == "dns":
            dst_ep, dst_ip, node = DNS_POD, COREDNS_IPS[0], src.node.name
        elif dst_w == "acquirer":
            dst_ep, dst_ip, node = WORLD, ACQUIRER, src.node.name
        else:
            dst = _pick(dst_w, t_us, r)
            if dst is None:
                return []
            dst_ep, dst_ip, node = _endpoint(dst), dst.ip, dst.node.name
        direction = pol[2] if pol else "INGRESS"
        if direction == "EGRESS":
            node = src.node.name
        allowed = _policy(pol[0], pol[1], pol[2]) if pol else None
        sport = r.randrange(32768, 61000)
        fwd = hubble_flow(t_ns, _endpoint(src), dst_ep, src.ip, dst_ip, sport, port, proto, node,
                          direction, allowed_by=allowed)
        back = hubble_flow(t_ns + r.randrange(200_000, 3_000_000), dst_ep, _endpoint(src),
                           dst_ip, src.ip, port, sport, proto, node, direction, reply=True)
        return [_wrap(fwd), _wrap(back)]


def _pick(w: tuple[str, str], t_us: int, r) -> timeline.PodLife | None:
    workload = WORKLOAD_BY_NAME[w]
    n = len(NODES) if workload.kind == "DaemonSet" else max(workload.replicas, 1)
    return timeline.pod_at(w[0], w[1], t_us, index=r.randrange(n))


def hubble_scenarios(seed: int) -> list[tuple[int, str]]:
    r = rng(seed, "hubble-scenario")
    out = []
    # checkout-web -> card-vault-db:5432, forwarded thanks to allow-postgres (violation)
    web_ips = _pods("checkout-web", "checkout-web")
    for day in days(Q3[0], Q3[1]):
        for k in range(4):
            t_s = day_start(day) + k * 6 * 3600 + 900 + r.randrange(1800)
            t_us = t_s * 1_000_000
            src = timeline.pod_at("checkout-web", "checkout-web", t_us, index=k % len(web_ips))
            dst = timeline.pod_at("card-vault", "card-vault-db", t_us, index=0)
            if src is None or dst is None:
                continue
            f = hubble_flow(t_s * 10**9 + r.randrange(10**9), _endpoint(src), _endpoint(dst),
                            src.ip, dst.ip, r.randrange(32768, 61000), 5432, "TCP",
                            dst.node.name, "INGRESS",
                            allowed_by=_policy("card-vault", "allow-postgres", "INGRESS"))
            out.append((_ns_of(f), _wrap(f)))
    # card-vault -> 203.0.113.50:443, forwarded: card-vault has no egress policy (violation)
    for day in days(date(2026, 7, 2), Q3[1]):
        for k in range(4):
            t_s = day_start(day) + k * 6 * 3600 + 2400 + r.randrange(600)
            src = timeline.pod_at("card-vault", "card-vault", t_s * 1_000_000, index=k % 2)
            if src is None:
                continue
            f = hubble_flow(t_s * 10**9 + r.randrange(10**9), _endpoint(src), WORLD, src.ip,
                            EGRESS_BAD, r.randrange(32768, 61000), 443, "TCP", src.node.name,
                            "EGRESS")
            out.append((_ns_of(f), _wrap(f)))
    # dev-sandbox -> payments-api:8443, dropped by the payments default-deny policy
    for when in ("2026-07-22T10:14:05", "2026-07-22T10:14:41", "2026-07-23T15:02:17",
                 "2026-07-24T09:48:55", "2026-07-24T09:49:30", "2026-07-24T09:50:02"):
        t_us = _t(when) * 1_000_000
        src = timeline.pod_at("dev-sandbox", "sandbox-web", t_us, index=0)
        dst = timeline.pod_at("payments", "payments-api", t_us, index=0)
        f = hubble_flow(t_us * 1000 + 152_331, _endpoint(src), _endpoint(dst), src.ip, dst.ip,
                        r.randrange(32768, 61000), 8443, "TCP", dst.node.name, "INGRESS",
                        verdict="DROPPED")
        out.append((_ns_of(f), _wrap(f)))
    # the checkout-web incident reaches the API server
    t_us = _t("2026-09-19T02:18:39") * 1_000_000
    src = timeline.pod_at("checkout-web", "checkout-web", t_us, index=0)
    f = hubble_flow(t_us * 1000 + 884_301_112, _endpoint(src), APISERVER, src.ip, EKS_API_SVC,
                    48122, 443, "TCP", src.node.name, "EGRESS")
    out.append((_ns_of(f), _wrap(f)))
    return out


def _ns_of(flow: dict) -> int:
    s = flow["time"]
    return _t(s[:19]) * 10**9 + int(s[20:29])


def write_hubble(out: Output, seed: int, total: int) -> dict:
    scen = hubble_scenarios(seed)
    bg = HubbleBackground(seed)
    r = rng(seed, "hubble-times")
    lines = list(scen)
    n_days = (Q3[1] - Q3[0]).days + 1
    budget = max(total - len(scen), 0)
    for i, day in enumerate(days(Q3[0], Q3[1])):
        want = spread(budget, n_days, i)
        got = 0
        while got < want:
            t_ns = (day_start(day) + r.randrange(86400)) * 10**9 + r.randrange(10**9)
            recs = bg.flows(t_ns)[: want - got]
            for rec in recs:
                lines.append((t_ns, rec))
            got += len(recs)
    lines.sort(key=lambda x: (x[0], x[1]))
    counts = {}
    groups: dict[str, list[str]] = {}
    for t_ns, line in lines:
        groups.setdefault(rfc3339_ns(t_ns)[:7], []).append(line)
    for month in sorted(groups):
        rel = out.log_name(f"flows/hubble/2026-q3/hubble-flows-{month}.jsonl")
        w = out.open_log(rel)
        w.write_lines(groups[month])
        w.close()
        out.record(rel, "hubble-jsonl", len(groups[month]))
        counts[rel] = len(groups[month])
    # An analyst's capture with an older CLI: bare Flow objects, one per line.
    bare = [line for _, line in scen if '"allow-postgres"' in line and '"2026-08-27T' in line]
    bare_flows = [compact_json(_unwrap(x)) for x in bare]
    out.write_text("flows/hubble/captures/hubble-observe-card-vault-2026-08-27.json",
                   "\n".join(bare_flows) + "\n", "hubble-bare-flow", len(bare_flows),
                   note="hubble observe -n card-vault --port 5432 -o json (bare Flow lines)")
    return counts


def _unwrap(line: str) -> dict:

    return json.loads(line)["flow"]
