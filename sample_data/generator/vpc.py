"""AWS VPC Flow Logs: the default v2 layout without a header, and one custom v5 layout.

Background traffic only ever follows an approved flow (or is REJECTed, or is an
idle-interface NODATA record); every violation is a scenario record with a fixed
time, so the ground truth holds at any ``--flows`` count. Records are generated
hour by hour and streamed to disk, so memory stays flat at millions of records.
"""

from __future__ import annotations

import bisect
from datetime import date

from .util import (
    Output,
    day_start,
    days,
    dt,
    rng,
    sha256_hex,
    spread,
    to_epoch,
)
from .world import (
    ACCOUNT_ID,
    ACQUIRER,
    ARCHIVE,
    COREDNS_IPS,
    DEV_NODE_IP,
    EGRESS_BAD,
    EKS_API_ENI,
    LB_ENIS,
    LB_PRIVATE,
    LB_V6,
    LOGS_ENDPOINT,
    NAT_ENI,
    NAT_PRIVATE_IP,
    NODE_BY_IP,
    NODES,
    NTP_ENIS,
    NTP_SERVERS,
    NTP_UPSTREAM,
    PEOPLE,
    POD_IPS,
    ROGUE_NTP,
    SUBNETS,
    TOOLS_ENI,
    TOOLS_HOST,
    VPC_ID,
    ip_of,
)

V2_FIELDS = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets "
             "bytes start end action log-status")
TCP, UDP = 6, 17
IDLE_ENI = "eni-0" + sha256_hex("eni", "spare-cde-endpoint")[:16]
API_ENIS = {ip: "eni-0" + sha256_hex("eni", ip)[:16] for ip in EKS_API_ENI}
LOGS_ENI = "eni-0" + sha256_hex("eni", LOGS_ENDPOINT)[:16]


def eni_of(ip: str) -> str:
    """The network interface that carries ``ip`` (pods share their node's interface)."""
    if ip in NODE_BY_IP:
        return NODE_BY_IP[ip].eni
    if ip in LB_PRIVATE:
        return LB_ENIS[LB_PRIVATE.index(ip)]
    if ip in NTP_SERVERS:
        return NTP_ENIS[NTP_SERVERS.index(ip)]
    if ip in API_ENIS:
        return API_ENIS[ip]
    if ip == LOGS_ENDPOINT:
        return LOGS_ENI
    if ip == TOOLS_HOST:
        return TOOLS_ENI
    for pip, node in POD_IPS.values():
        if pip == ip:
            return node.eni
    if ip in COREDNS_IPS:
        return NODES[3 + COREDNS_IPS.index(ip) * 2].eni
    if ip.startswith("10.99."):
        return NODE_BY_IP[DEV_NODE_IP].eni
    raise KeyError(ip)


def _pods(ns: str, name: str) -> list[str]:
    return [ip for (n, w, _), (ip, _) in sorted(POD_IPS.items()) if n == ns and w == name]


def internet_clients() -> list[str]:
    reserved = {"203.0.113.10", "203.0.113.50", "203.0.113.77", "203.0.113.99",
                "198.51.100.10", "192.0.2.123", "192.0.2.200", "192.0.2.66"}
    out = []
    for prefix in ("203.0.113.", "198.51.100.", "192.0.2."):
        for host in range(2, 255):
            ip = prefix + str(host)
            if ip not in reserved:
                out.append(ip)
    return out


def record(eni: str, src: str, dst: str, sport, dport, proto, packets, nbytes, start: int,
           action: str = "ACCEPT", status: str = "OK") -> str:
    return (f"2 {ACCOUNT_ID} {eni} {src} {dst} {sport} {dport} {proto} {packets} {nbytes} "
            f"{start} {start + 60} {action} {status}")


def nodata(eni: str, start: int, status: str = "NODATA") -> str:
    return f"2 {ACCOUNT_ID} {eni} - - - - - - - {start} {start + 60} - {status}"


# --------------------------------------------------------------------------- background


class VpcBackground:
    """Approved conversations, each as a forward record plus (usually) its reply."""

    def __init__(self, seed: int, label: str):
        self.r = rng(seed, "vpc-bg-" + label)
        clients = internet_clients()
        ingress = _pods("ingress-nginx", "ingress-nginx-controller")
        web = _pods("checkout-web", "checkout-web")
        static = _pods("checkout-web", "checkout-static")
        api = _pods("payments", "payments-api")
        cache = _pods("payments", "payments-cache")
        vault = _pods("card-vault", "card-vault")
        db = _pods("card-vault", "card-vault-db")
        prom = _pods("monitoring", "prometheus")
        node_ips = [n.ip for n in NODES]
        all_pods = sorted({ip for (ip, _) in POD_IPS.values()} - set(node_ips))
        # VPN sessions are drawn over the whole history, so people who joined during it (olivia,
        # 2026-08-24) are left out rather than put on the VPN before their first day.
        vpn = sorted({p.vpn_ip for p in PEOPLE if p.created < ARCHIVE[0].isoformat()})
        dev = _pods("dev-sandbox", "sandbox-web")
        # (weight, sources, destinations, port, proto, eni side, reply, packets, bytes)
        self.templates = [
            (20, clients, LB_PRIVATE, 443, TCP, "dst", True, (4, 40), (600, 48000)),
            (10, LB_PRIVATE, ingress, 443, TCP, "dst", True, (4, 40), (600, 48000)),
            (10, ingress, web, 8080, TCP, "dst", True, (4, 30), (500, 36000)),
            (4, ingress, static, 8080, TCP, "dst", True, (3, 20), (400, 90000)),
            (12, web, api, 8443, TCP, "dst", True, (4, 24), (700, 9000)),
            (6, api, vault, 8200, TCP, "dst", True, (3, 16), (400, 4000)),
            (5, api, db, 5432, TCP, "dst", True, (4, 30), (500, 12000)),
            (4, vault, db, 5432, TCP, "dst", True, (4, 30), (500, 12000)),
            (6, api, cache, 6379, TCP, "dst", True, (2, 12), (200, 3000)),
            (4, api, [ACQUIRER], 443, TCP, "src", True, (5, 30), (900, 12000)),
            (3, node_ips, NTP_SERVERS, 123, UDP, "src", True, (1, 1), (76, 76)),
            (0.5, NTP_SERVERS, [NTP_UPSTREAM], 123, UDP, "src", True, (1, 1), (76, 76)),
            (4, prom, node_ips, 9100, TCP, "dst", True, (4, 12), (400, 60000)),
            (1.5, prom, api, 9090, TCP, "dst", True, (4, 12), (400, 30000)),
            (1, prom, vault, 9090, TCP, "dst", True, (4, 12), (400, 30000)),
            (8, all_pods, COREDNS_IPS, 53, UDP, "src", True, (1, 2), (60, 140)),
            (4, node_ips, EKS_API_ENI, 443, TCP, "src", True, (6, 60), (900, 40000)),
            (2, EKS_API_ENI, node_ips, 10250, TCP, "dst", True, (4, 20), (600, 20000)),
            (3, node_ips, [LOGS_ENDPOINT], 443, TCP, "src", True, (6, 60), (2000, 300000)),
            (2, clients, LB_PRIVATE, None, TCP, "dst", False, (1, 2), (40, 80)),
            (1.5, dev, clients, 443, TCP, "src", True, (4, 40), (500, 40000)),
            (1.5, vpn, EKS_API_ENI, 443, TCP, "dst", True, (6, 40), (900, 30000)),
            (0.5, None, None, None, None, None, False, None, None),  # NODATA on an idle ENI
            (0.3, None, None, 443, TCP, "v6", True, (4, 30), (600, 40000)),
        ]
        self.cum = []
        total = 0.0
        for t in self.templates:
            total += t[0]
            self.cum.append(total)
        self.total = total
        self.eni_cache: dict[str, str] = {}
        self.scan_ports = [22, 23, 445, 3389, 8080, 5900, 6379, 9200]

    def eni(self, ip: str) -> str:
        e = self.eni_cache.get(ip)
        if e is None:
            e = self.eni_cache[ip] = eni_of(ip)
        return e

    def hour(self, hour_start: int, quota: int) -> list[tuple[int, str]]:
        """Exactly ``quota`` background lines starting within this hour."""
        r = self.r
        rand, randrange = r.random, r.randrange
        templates, cum, total = self.templates, self.cum, self.total
        out: list[tuple[int, str]] = []
        append = out.append
        acct = ACCOUNT_ID
        n = 0
        while n < quota:
            t = templates[bisect.bisect_right(cum, rand() * total)]
            start = hour_start + randrange(3600)
            _, srcs, dsts, port, proto, side, reply, pk, by = t
            if srcs is None and side is None:
                append((start, f"2 {acct} {IDLE_ENI} - - - - - - - {start} {start + 60} - NODATA"))
                n += 1
                continue
            if side == "v6":
                src = f"2001:db8:feed:{randrange(1, 4096):x}::{randrange(1, 65535):x}"
                dst, eni = LB_V6, LB_ENIS[0]
            else:
                src = srcs[randrange(len(srcs))]
                dst = dsts[randrange(len(dsts))]
                eni = self.eni(dst if side == "dst" else src)
            sport = randrange(32768, 61000)
            dport = port if port is not None else self.scan_ports[randrange(8)]
            packets = randrange(pk[0], pk[1] + 1) if pk else 1
            nbytes = randrange(by[0], by[1] + 1) if by else 40
            end = start + 60
            if not reply:
                append((start, f"2 {acct} {eni} {src} {dst} {sport} {dport} {proto} {packets} "
                               f"{nbytes} {start} {end} REJECT OK"))
                n += 1
                continue
            append((start, f"2 {acct} {eni} {src} {dst} {sport} {dport} {proto} {packets} "
                           f"{nbytes} {start} {end} ACCEPT OK"))
            n += 1
            if n < quota:
                rp = max(1, packets - randrange(0, 2))
                rb = nbytes * (2 + randrange(6)) // 3
                append((start, f"2 {acct} {eni} {dst} {src} {dport} {sport} {proto} {rp} {rb} "
                               f"{start} {end} ACCEPT OK"))
                n += 1
        return out


# --------------------------------------------------------------------------- scenarios


def _t(iso: str) -> int:
    return to_epoch(dt(iso))


def _session(out: list, start: int, src: str, dst: str, sport: int, dport: int, proto: int,
             packets: int, nbytes: int, reply: bool = True, action: str = "ACCEPT",
             side: str = "dst") -> None:
    eni = eni_of(dst if side == "dst" else src)
    out.append((start, record(eni, src, dst, sport, dport, proto, packets, nbytes, start,
                              action)))
    if reply and action == "ACCEPT":
        out.append((start, record(eni, dst, src, dport, sport, proto, max(1, packets - 1),
                                  nbytes * 3, start)))


def scenario_records(start: date, end: date, seed: int) -> list[tuple[int, str]]:
    """Story-driven VPC records inside [start, end]."""
    r = rng(seed, f"vpc-scenario-{start}")
    lo, hi = day_start(start), day_start(end) + 86400
    out: list[tuple[int, str]] = []
    web = _pods("checkout-web", "checkout-web")
    db = ip_of("card-vault", "card-vault-db")
    vault = _pods("card-vault", "card-vault")
    # S1: checkout-web talks straight to the card data store (allowed by allow-postgres).
    for day in days(start, end):
        if day < date(2026, 6, 12):
            continue
        for k in range(4):
            t = day_start(day) + k * 6 * 3600 + 900 + r.randrange(1800)
            _session(out, t, web[k % len(web)], db, r.randrange(32768, 61000), 5432, TCP,
                     r.randrange(6, 20), r.randrange(900, 6000))
    # S3: card-vault phones home to an unapproved internet host (egress is not restricted).
    for day in days(start, end):
        if day < date(2026, 7, 2):
            continue
        for k in range(4):
            t = day_start(day) + k * 6 * 3600 + 2400 + r.randrange(600)
            _session(out, t, vault[k % 2], EGRESS_BAD, r.randrange(32768, 61000), 443, TCP,
                     r.randrange(8, 14), r.randrange(2200, 4800), side="src")
    # S4: one CDE node syncs time from an external, non-designated server.
    for day in days(start, end):
        if day < date(2026, 8, 25):
            continue
        for k in range(12):
            t = day_start(day) + k * 7200 + 300 + r.randrange(120)
            _session(out, t, "10.20.1.11", ROGUE_NTP, r.randrange(32768, 61000), 123, UDP, 1, 76,
                     side="src")
    # S2a: dev-sandbox web pod reaches payments-api (SG allows it; Hubble shows the drop).
    sandbox_web = ip_of("dev-sandbox", "sandbox-web")
    for when in ("2026-07-22T10:14:05", "2026-07-22T10:14:41", "2026-07-23T15:02:17",
                 "2026-07-24T09:48:55", "2026-07-24T09:49:30", "2026-07-24T09:50:02"):
        _session(out, _t(when), sandbox_web, ip_of("payments", "payments-api"),
                 r.randrange(32768, 61000), 8443, TCP, 2, 120, reply=False)
    # S2b: the privileged sandbox pod (host network) scans a CDE node after installing nmap.
    for k, (port, action) in enumerate(((22, "REJECT"), (443, "REJECT"), (2379, "REJECT"),
                                        (10250, "ACCEPT"), (10255, "REJECT"))):
        _session(out, _t("2026-07-21T14:10:12") + k * 2, DEV_NODE_IP, "10.20.1.10",
                 r.randrange(32768, 61000), port, TCP, 1 if action == "REJECT" else 8,
                 44 if action == "REJECT" else 2900, action=action)
    # S6: clear-text admin protocols from the tools jump host into a CDE node.
    for when, port, pk, by in (("2026-08-27T13:05:40", 23, 48, 3900),
                               ("2026-08-27T13:21:02", 21, 22, 1800),
                               ("2026-08-27T13:21:30", 20, 90, 118000),
                               ("2026-09-03T16:44:10", 23, 31, 2600)):
        _session(out, _t(when), TOOLS_HOST, "10.20.1.10", r.randrange(32768, 61000), port, TCP,
                 pk, by)
    _session(out, _t("2026-08-27T13:02:11"), TOOLS_HOST, "10.20.1.10", 51022, 3389, TCP, 2, 104,
             action="REJECT")
    # S8: a capture gap on a CDE node interface (SKIPDATA), plus idle-interface NODATA.
    for k in range(3):
        out.append((_t("2026-08-22T10:00:00") + k * 600,
                    nodata(NODE_BY_IP["10.20.2.10"].eni, _t("2026-08-22T10:00:00") + k * 600,
                           "SKIPDATA")))
    return [rec for rec in out if lo <= rec[0] < hi]


def write_vpc_period(out: Output, seed: int, label: str, start: date, end: date,
                     total: int, strict: bool = False) -> dict:
    scen = scenario_records(start, end, seed)
    scen.sort()
    if total < len(scen) and not strict:
        total = len(scen)
    if total < len(scen):
        raise ValueError(f"{label}: at least {len(scen)} flow records are needed for the story "
                         f"(asked for {total})")
    background = total - len(scen)
    hours = ((end - start).days + 1) * 24
    bg = VpcBackground(seed, label)
    counts: dict[str, int] = {}
    writer = None
    current = None
    current_rel = ""
    si = 0
    h = 0
    t0 = day_start(start)
    for day in days(start, end):
        month = day.isoformat()[:7]
        if month != current:
            if writer:
                writer.close()
                out.record(current_rel, "vpc-flow-v2-noheader", counts[current_rel])
            current = month
            current_rel = out.log_name(f"flows/vpc/{label}/vpc-flow-logs-{month}.log")
            writer = out.open_log(current_rel)
            counts[current_rel] = 0
        for _ in range(24):
            hs = t0 + h * 3600
            quota = spread(background, hours, h)
            recs = bg.hour(hs, quota)
            while si < len(scen) and scen[si][0] < hs + 3600:
                recs.append(scen[si])
                si += 1
            recs.sort(key=_first)
            writer.write_lines([x[1] for x in recs])
            counts[current_rel] += len(recs)
            h += 1
    writer.close()
    out.record(current_rel, "vpc-flow-v2-noheader", counts[current_rel])
    return counts


def _first(x):
    return x[0]


# --------------------------------------------------------------------------- custom v5 format

V5_FIELDS = ["version", "account-id", "interface-id", "flow-direction", "srcaddr", "dstaddr",
             "pkt-srcaddr", "pkt-dstaddr", "srcport", "dstport", "protocol", "packets", "bytes",
             "start", "end", "action", "log-status", "vpc-id", "subnet-id", "instance-id",
             "tcp-flags", "type", "traffic-path", "pkt-src-aws-service", "pkt-dst-aws-service",
             "az-id"]


def write_vpc_custom(out: Output, seed: int) -> None:
    """NAT gateway interface, custom v5 layout with header (Aug 2026, S3 delivery)."""
    r = rng(seed, "vpc-custom")
    lines = [" ".join(V5_FIELDS)]
    vault = _pods("card-vault", "card-vault")
    api = _pods("payments", "payments-api")
    recs = []
    for day in days(date(2026, 8, 1), date(2026, 8, 14)):
        for k in range(24):
            t = day_start(day) + k * 3600 + r.randrange(3600)
            pod = api[r.randrange(3)]
            port = r.randrange(1024, 65000)
            # payments-api -> acquirer through the NAT gateway (approved); the client's side
            # carries SYN (2) + FIN (1) OR-ed over the aggregation window, as AWS writes it
            recs.append((t, ["5", ACCOUNT_ID, NAT_ENI, "egress", NAT_PRIVATE_IP, ACQUIRER, pod,
                             ACQUIRER, str(port), "443", "6", str(r.randrange(6, 30)),
                             str(r.randrange(900, 9000)), str(t), str(t + 60), "ACCEPT", "OK",
                             VPC_ID, SUBNETS["shared"], "-", "3", "IPv4", "8", "-", "-",
                             "euw1-az1"]))
            # the acquirer's answers: tcp-flags OR-ed over the window, SYN-ACK (18) + FIN (1)
            recs.append((t, ["5", ACCOUNT_ID, NAT_ENI, "ingress", ACQUIRER, NAT_PRIVATE_IP,
                             ACQUIRER, pod, "443", str(port), "6", str(r.randrange(5, 28)),
                             str(r.randrange(2000, 20000)), str(t), str(t + 60), "ACCEPT", "OK",
                             VPC_ID, SUBNETS["shared"], "-", "19", "IPv4", "8", "-", "-",
                             "euw1-az1"]))
        for k in range(4):
            t = day_start(day) + k * 6 * 3600 + 2400 + r.randrange(600)
            port = r.randrange(1024, 65000)
            recs.append((t, ["5", ACCOUNT_ID, NAT_ENI, "egress", NAT_PRIVATE_IP, EGRESS_BAD,
                             vault[k % 2], EGRESS_BAD, str(port), "443", "6",
                             str(r.randrange(8, 14)), str(r.randrange(2200, 4800)), str(t),
                             str(t + 60), "ACCEPT", "OK", VPC_ID, SUBNETS["shared"], "-", "3",
                             "IPv4", "8", "-", "-", "euw1-az1"]))
        t = day_start(day) + 4 * 3600
        recs.append((t, ["5", ACCOUNT_ID, NAT_ENI, "-", "-", "-", "-", "-", "-", "-", "-", "-",
                         "-", str(t), str(t + 60), "-", "NODATA", VPC_ID, SUBNETS["shared"], "-",
                         "-", "-", "-", "-", "-", "euw1-az1"]))
    recs.sort(key=lambda x: (x[0], x[1]))
    lines += [" ".join(x[1]) for x in recs]
    rel = out.log_name("flows/vpc/2026-q3/nat-gateway-custom-v5-2026-08-01_14.log")
    w = out.open_log(rel)
    w.write_lines(lines)
    w.close()
    out.record(rel, "vpc-flow-custom-header", len(recs), note="first line is the header")
