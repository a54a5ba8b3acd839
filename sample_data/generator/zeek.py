"""A Zeek conn.log (TSV) from the CDE boundary sensor."""

from __future__ import annotations

from datetime import date

from .util import (
    Output,
    day_start,
    rng,
    sha256_hex,
)
from .vpc import _pods, _t
from .world import (
    ACQUIRER,
    EGRESS_BAD,
    NODES,
    NTP_SERVERS,
    ROGUE_NTP,
    TOOLS_HOST,
    ip_of,
)

# --------------------------------------------------------------------------- Zeek

ZEEK_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
               "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
               "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
               "resp_pkts", "resp_ip_bytes", "tunnel_parents", "ip_proto"]
ZEEK_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
              "count", "count", "string", "bool", "bool", "count", "string", "count", "count",
              "count", "count", "set[string]", "count"]
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def zeek_uid(*parts: object) -> str:
    v = int(sha256_hex("zeek", *parts), 16)
    out = ["C"]
    for _ in range(17):
        v, i = divmod(v, 62)
        out.append(_B62[i])
    return "".join(out)


def write_zeek(out: Output, seed: int) -> None:
    """The CDE boundary sensor's conn.log for 2026-08-27 (TSV, one rotated file)."""
    r = rng(seed, "zeek")
    day = date(2026, 8, 27)
    base = day_start(day)
    rows = []

    def conn(t: float, oh, op, rh, rp, proto, service, dur, ob, rb, state, hist, opk, rpk,
             local_resp=True):
        ip_proto = 6 if proto == "tcp" else 17
        rows.append((t, [
            f"{t:.6f}", zeek_uid(t, oh, op, rh, rp), oh, str(op), rh, str(rp), proto,
            service or "-", f"{dur:.6f}" if dur is not None else "-",
            str(ob) if ob is not None else "-", str(rb) if rb is not None else "-", state,
            "T" if oh.startswith("10.") else "F", "T" if local_resp else "F", "0", hist,
            str(opk), str(opk * 52 + (ob or 0)), str(rpk), str(rpk * 52 + (rb or 0)), "(empty)",
            str(ip_proto)]))

    web = _pods("checkout-web", "checkout-web")
    api = _pods("payments", "payments-api")
    vault = _pods("card-vault", "card-vault")
    db = ip_of("card-vault", "card-vault-db")
    for _ in range(120):
        t = base + r.randrange(86400) + r.random()
        conn(t, web[r.randrange(3)], r.randrange(32768, 61000), api[r.randrange(3)], 8443, "tcp",
             "ssl", r.uniform(0.02, 2.5), r.randrange(600, 4000), r.randrange(900, 9000), "SF",
             "ShADadFf", r.randrange(6, 20), r.randrange(6, 20))
    for _ in range(40):
        t = base + r.randrange(86400) + r.random()
        conn(t, api[r.randrange(3)], r.randrange(32768, 61000), ACQUIRER, 443, "tcp", "ssl",
             r.uniform(0.1, 1.2), r.randrange(900, 3000), r.randrange(2000, 9000), "SF",
             "ShADadFf", r.randrange(8, 16), r.randrange(8, 16), local_resp=False)
    for node in [n for n in NODES if n.pool == "cde"]:
        for k in range(24):
            t = base + k * 3600 + r.randrange(3600) + r.random()
            conn(t, node.ip, r.randrange(32768, 61000), NTP_SERVERS[k % 2], 123, "udp", "ntp",
                 0.000412, 48, 48, "SF", "Dd", 1, 1)
    for k in range(4):
        t = base + k * 6 * 3600 + 900 + r.randrange(1800) + r.random()
        conn(t, web[k % 3], r.randrange(32768, 61000), db, 5432, "tcp", "postgresql",
             r.uniform(0.5, 3.0), r.randrange(400, 2000), r.randrange(900, 6000), "SF",
             "ShADadFf", r.randrange(6, 20), r.randrange(6, 20))
        t = base + k * 6 * 3600 + 2400 + r.randrange(600) + r.random()
        conn(t, vault[k % 2], r.randrange(32768, 61000), EGRESS_BAD, 443, "tcp", "ssl",
             r.uniform(0.2, 0.9), r.randrange(800, 2000), r.randrange(1500, 3500), "SF",
             "ShADadFf", r.randrange(8, 14), r.randrange(8, 14), local_resp=False)
    for k in range(12):
        t = base + k * 7200 + 300 + r.randrange(120) + r.random()
        conn(t, "10.20.1.11", r.randrange(32768, 61000), ROGUE_NTP, 123, "udp", "ntp", 0.031877,
             48, 48, "SF", "Dd", 1, 1, local_resp=False)
    conn(_t("2026-08-27T13:02:11") + 0.118, TOOLS_HOST, 51022, "10.20.1.10", 3389, "tcp", None,
         0.000311, 0, 0, "REJ", "Sr", 1, 1)
    conn(_t("2026-08-27T13:05:40") + 0.402, TOOLS_HOST, 49811, "10.20.1.10", 23, "tcp", None,
         402.113021, 1288, 2611, "SF", "ShAdDaFf", 48, 41)
    conn(_t("2026-08-27T13:21:02") + 0.877, TOOLS_HOST, 50233, "10.20.1.10", 21, "tcp", "ftp",
         61.040211, 212, 1590, "SF", "ShAdDaFf", 22, 19)
    conn(_t("2026-08-27T13:21:30") + 0.091, "10.20.1.10", 20, TOOLS_HOST, 50240, "tcp",
         "ftp-data", 1.922301, 117411, 0, "SF", "ShADadFf", 90, 44)
    rows.sort(key=lambda x: x[0])
    header = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
              "#unset_field\t-", "#path\tconn", "#open\t2026-08-27-00-00-00",
              "#fields\t" + "\t".join(ZEEK_FIELDS), "#types\t" + "\t".join(ZEEK_TYPES)]
    body = ["\t".join(cols) for _, cols in rows]
    text = "\n".join(header + body + ["#close\t2026-08-28-00-00-00"]) + "\n"
    out.write_text("flows/zeek/cde-boundary-conn.2026-08-27.log", text, "zeek-conn-tsv",
                   len(body), note="Zeek 7 conn.log from the CDE boundary sensor")
