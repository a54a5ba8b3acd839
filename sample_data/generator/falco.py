"""Falco JSON alerts (json_output: true), one object per line.

Every node's sensor emits a "Falco internal: metrics snapshot" at a fixed
interval (24 h in the archive and Q2, 12 h in Q3), which is the heartbeat a
coverage check can rely on, plus the story's alerts. The sensor on
``world.FALCO_SILENT_NODE`` emits nothing during ``world.FALCO_SILENCE``.

Lines are written the way Falco writes them: sorted top-level keys with
``output_fields`` appended last after ", " (see the corpus sample).
"""

from __future__ import annotations

from datetime import date

from . import timeline
from .images import IMAGES
from .util import (
    Output,
    compact_json,
    day_start,
    days,
    dt,
    rfc3339_ns,
    rng,
    sha256_hex,
    to_epoch,
)
from .world import (
    ARCHIVE,
    DEBUG_POD,
    FALCO_RULES_SHA,
    FALCO_SILENCE,
    FALCO_SILENT_NODE,
    NODES,
    Q2,
    Q3,
    SANDBOX_PRIV_POD,
)

NS = 1_000_000_000
SILENCE = (to_epoch(dt(FALCO_SILENCE[0])) * NS, to_epoch(dt(FALCO_SILENCE[1])) * NS)
K8SAUDIT_HOST = "ip-10-30-2-21.eu-west-1.compute.internal"

TAGS = {
    "Terminal shell in container": ["T1059", "container", "maturity_stable", "mitre_execution",
                                    "shell"],
    "Read sensitive file untrusted": ["T1555", "container", "filesystem", "host",
                                      "maturity_stable", "mitre_credential_access"],
    "Write below etc": ["NIST_800-53_SI-7", "T1098", "container", "filesystem", "host",
                        "maturity_incubating", "mitre_persistence"],
    "Drop and execute new binary in container": ["PCI_DSS_11.5.1", "TA0003", "container",
                                                 "maturity_stable", "mitre_persistence",
                                                 "process"],
    "Contact K8S API Server From Container": ["T1565", "container", "k8s", "maturity_stable",
                                              "mitre_discovery", "network"],
    "Launch Package Management Process in Container": ["NIST_800-53_CM-7", "T1505", "container",
                                                       "maturity_incubating",
                                                       "mitre_persistence", "process",
                                                       "software_mgmt"],
    "Launch Privileged Container": ["CIS", "PCI_DSS_10.2.5", "T1610", "container",
                                    "maturity_incubating", "mitre_execution"],
    "Attach/Exec Pod": ["NIST_800-53_AC-6", "T1609", "k8s", "maturity_stable",
                        "mitre_execution"],
    "Create Privileged Pod": ["T1610", "k8s", "maturity_stable", "mitre_execution"],
    "Create HostNetwork Pod": ["T1610", "k8s", "maturity_stable", "mitre_execution"],
    "Create Sensitive Mount Pod": ["T1610", "k8s", "maturity_stable", "mitre_execution"],
    "Attach to cluster-admin Role": ["NIST_800-53_AC-6", "T1098", "k8s", "maturity_stable",
                                     "mitre_persistence"],
    "Anonymous Request Allowed": ["NIST_800-53_AC-6", "T1078", "k8s", "maturity_stable",
                                  "mitre_privilege_escalation"],
}
MESSAGES = {
    "Terminal shell in container": "A shell was spawned in a container with an attached terminal",
    "Read sensitive file untrusted": "Sensitive file opened for reading by non-trusted program",
    "Write below etc": "File below /etc opened for writing",
    "Drop and execute new binary in container": "Executing binary not part of base image",
    "Contact K8S API Server From Container": "Unexpected connection to K8s API Server from "
                                             "container",
    "Launch Package Management Process in Container": "Package management process launched in "
                                                      "container",
    "Launch Privileged Container": "Privileged container started",
}


def _line(hostname: str, output: str, priority: str, rule: str, source: str, tags: list,
          t_ns: int, fields: dict) -> str:
    head = compact_json({"hostname": hostname, "output": output, "priority": priority,
                         "rule": rule, "source": source, "tags": tags,
                         "time": rfc3339_ns(t_ns)})
    return head[:-1] + ', "output_fields": ' + compact_json(dict(sorted(fields.items()))) + "}"


def _prefix(t_ns: int, priority: str) -> str:
    return rfc3339_ns(t_ns)[:-1] + "+0000: " + priority


def container_id(pod: timeline.PodLife) -> str:
    return sha256_hex("container", pod.uid)[:12]


def syscall_alert(rule: str, priority: str, t_ns: int, pod: timeline.PodLife, proc: str,
                  cmdline: str, user: str, uid: int, parent: str, evt_type: str,
                  fd_name: str | None = None, exepath: str | None = None, tty: int = 34816) -> str:
    image = IMAGES[pod.workload.image].version(pod.tag)
    cid = container_id(pod)
    fields = {
        "container.id": cid,
        "container.image.repository": image.repo,
        "container.image.tag": pod.tag,
        "container.name": pod.workload.name if pod.workload.kind != "Pod" else pod.name,
        "evt.time": t_ns,
        "evt.type": evt_type,
        "k8s.ns.name": pod.workload.namespace,
        "k8s.pod.name": pod.name,
        "proc.cmdline": cmdline,
        "proc.exepath": exepath or f"/usr/bin/{proc}",
        "proc.name": proc,
        "proc.pname": parent,
        "proc.tty": tty,
        "user.loginuid": -1,
        "user.name": user,
        "user.uid": uid,
    }
    if fd_name is not None:
        fields["fd.name"] = fd_name
    detail = (f"evt_type={evt_type} user={user} user_uid={uid} user_loginuid=-1 process={proc} "
              f"proc_exepath={fields['proc.exepath']} parent={parent} command={cmdline} "
              f"terminal={tty}")
    if fd_name:
        detail = f"file={fd_name} " + detail
    detail += (f" container_id={cid} container_name={fields['container.name']} "
               f"container_image_repository={image.repo} container_image_tag={pod.tag} "
               f"k8s_pod_name={pod.name} k8s_ns_name={pod.workload.namespace}")
    output = f"{_prefix(t_ns, priority)} {MESSAGES[rule]} ({detail})"
    return _line(pod.node.name, output, priority, rule, "syscall", TAGS[rule], t_ns, fields)


def k8s_alert(rule: str, priority: str, t_ns: int, text: str, fields: dict) -> str:
    fields = dict(fields, **{"evt.time": t_ns})
    output = f"{_prefix(t_ns, priority)} {text}"
    return _line(K8SAUDIT_HOST, output, priority, rule, "k8s_audit", TAGS[rule], t_ns, fields)


def metrics_snapshot(node, t_ns: int, version: str, kernel: str, start_ns: int) -> str:
    rate = 4200 if node.pool == "cde" else 2600 if node.pool == "general" else 900
    dur = max(1, (t_ns - start_ns) // NS)
    fields = {
        "evt.hostname": node.name,
        "evt.source": "syscall",
        "evt.time": t_ns,
        "falco.duration_sec": dur,
        "falco.host_boot_ts": (to_epoch(dt("2026-03-02T06:12:40")) * NS
                               + int(sha256_hex("boot", node.ip)[:6], 16)),
        "falco.kernel_release": kernel,
        "falco.num_evts": dur * rate,
        "falco.outputs_queue_num_drops": 0,
        "falco.sha256_rules_file.falco_rules_yaml": FALCO_RULES_SHA,
        "falco.start_ts": start_ns,
        "falco.version": version,
        "scap.engine_name": "modern_bpf",
        "scap.n_drops": 0,
        "scap.n_drops_perc": 0.0,
        "scap.n_evts": dur * rate + dur // 7,
    }
    head = compact_json({"hostname": node.name, "output": "Falco metrics snapshot",
                         "priority": "Informational", "rule": "Falco internal: metrics snapshot",
                         "source": "internal", "tags": [], "time": rfc3339_ns(t_ns)})
    return head[:-1] + ', "output_fields": ' + compact_json(fields) + "}"


def _falco_pod(node, t_ns: int) -> timeline.PodLife | None:
    i = [n.ip for n in NODES].index(node.ip)
    return timeline.pod_at("falco", "falco", t_ns // 1000, index=i)


def heartbeats(start: date, end: date, interval_h: int, seed: int) -> list[tuple[int, str]]:
    r = rng(seed, f"falco-metrics-{start}")
    out = []
    for node in NODES:
        offset = int(sha256_hex("falco-offset", node.ip)[:4], 16) % (interval_h * 3600)
        t = day_start(start) + offset
        stop = day_start(end) + 86400
        while t < stop:
            t_ns = t * NS + r.randrange(NS)
            silent = node.name == FALCO_SILENT_NODE and SILENCE[0] <= t_ns < SILENCE[1]
            pod = _falco_pod(node, t_ns)
            if pod is not None and not silent:
                version = pod.tag
                kernel = ("6.1.141-155.222.amzn2023.x86_64" if t >= day_start(Q3[0])
                          else "6.1.134-150.224.amzn2023.x86_64")
                out.append((t_ns, metrics_snapshot(node, t_ns, version, kernel,
                                                   pod.start_us * 1000)))
            t += interval_h * 3600
    return out


def _ns(when: str, frac: int = 0) -> int:
    return to_epoch(dt(when)) * NS + frac


def q3_alerts() -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []

    def add(t_ns: int, line: str) -> None:
        out.append((t_ns, line))

    def pod(ns, name, when, index=None):
        return timeline.pod_at(ns, name, _ns(when) // 1000, index=index)

    # Interactive shells in CDE pods (matching the audit exec sessions).
    for when, who_pod, cmd in (("2026-07-17T14:22:08", 0, "bash"),
                               ("2026-09-02T10:05:34", 0, "bash"),
                               ("2026-08-11T10:32:41", 0, "sh")):
        p = pod("payments", "payments-api", when, who_pod)
        t = _ns(when, 402_118_331)
        add(t, syscall_alert("Terminal shell in container", "Notice", t, p, cmd, cmd, "app",
                             10001, "runc", "execve"))
    dbg = pod(DEBUG_POD["namespace"], DEBUG_POD["name"], "2026-08-11T10:43:06")
    t = _ns("2026-08-11T10:41:14", 770_512_004)
    add(t, syscall_alert("Launch Privileged Container", "Notice", t, dbg, "sleep",
                         "sleep infinity", "root", 0, "containerd-shim", "execve", tty=0))
    t = _ns("2026-08-11T10:43:06", 118_904_227)
    add(t, syscall_alert("Terminal shell in container", "Notice", t, dbg, "bash", "bash", "root",
                         0, "runc", "execve"))
    t = _ns("2026-08-11T10:47:19", 5_310_882)
    add(t, syscall_alert("Read sensitive file untrusted", "Warning", t, dbg, "cat",
                         "cat /etc/shadow", "root", 0, "bash", "openat", fd_name="/etc/shadow"))
    t = _ns("2026-08-11T10:55:02", 640_223_105)
    add(t, syscall_alert("Write below etc", "Error", t, dbg, "bash", "bash", "root", 0, "bash",
                         "openat", fd_name="/etc/hosts"))
    # The checkout-web incident: a dropped binary runs and probes the API server.
    cw = pod("checkout-web", "checkout-web", "2026-09-19T02:17:55", 0)
    t = _ns("2026-09-19T02:17:55", 301_442_980)
    add(t, syscall_alert("Drop and execute new binary in container", "Critical", t, cw, "kworker",
                         "kworker -c 203.0.113.77:4444", "root", 0, "node", "execve",
                         exepath="/tmp/.x/kworker", tty=0))
    t = _ns("2026-09-19T02:18:39", 884_120_551)
    add(t, syscall_alert("Contact K8S API Server From Container", "Notice", t, cw, "curl",
                         "curl -sk https://172.20.0.1/api/v1/namespaces/payments/secrets", "root",
                         0, "kworker", "connect", fd_name=f"{cw.ip}:48122->172.20.0.1:443",
                         exepath="/usr/bin/curl", tty=0))
    # Out-of-scope sandbox noise.
    sb = pod(SANDBOX_PRIV_POD["namespace"], SANDBOX_PRIV_POD["name"], "2026-07-21T14:05:00")
    t = _ns("2026-07-21T14:05:41", 22_918_003)
    add(t, syscall_alert("Terminal shell in container", "Notice", t, sb, "bash", "bash", "root", 0,
                         "runc", "execve"))
    t = _ns("2026-07-21T14:06:30", 450_118_770)
    add(t, syscall_alert("Launch Package Management Process in Container", "Error", t, sb,
                         "apt-get", "apt-get install -y nmap", "root", 0, "bash", "execve"))
    # Kubernetes audit rules (k8saudit-eks plugin).
    for when, who, ns, pname, sub in (
            ("2026-07-17T14:22:07", "erin@northwind.example", "payments", None, "exec"),
            ("2026-08-11T10:32:40", "bob@northwind.example", "payments", None, "exec"),
            ("2026-08-11T10:43:05", "bob@northwind.example", "payments", "payments-debug", "exec"),
            ("2026-08-27T09:12:51", "frank@northwind.example", "card-vault", "card-vault-db-0",
             "exec"),
            ("2026-08-28T15:40:02", "grace@northwind.example", "card-vault", "card-vault-db-0",
             "exec"),
            ("2026-09-02T10:05:33", "erin@northwind.example", "payments", None, "exec")):
        target = pname or pod("payments", "payments-api", when, 0).name
        t = _ns(when, 910_000_000)
        add(t, k8s_alert("Attach/Exec Pod", "Notice", t,
                         f"Attach/Exec to pod (user={who} pod={target} resource=pods ns={ns} "
                         f"action={sub} command=bash)",
                         {"ka.target.name": target, "ka.target.namespace": ns,
                          "ka.target.resource": "pods", "ka.target.subresource": sub,
                          "ka.user.name": who, "ka.verb": "create"}))
    for when, ns, pname, who, img, rule, prio in (
            ("2026-08-11T10:41:12", "payments", "payments-debug", "bob@northwind.example",
             "docker.io/bitnami/kubectl", "Create Privileged Pod", "Warning"),
            ("2026-07-21T14:02:09", "dev-sandbox", "sandbox-shell", "kate@northwind.example",
             "docker.io/bitnami/kubectl", "Create Privileged Pod", "Warning"),
            ("2026-07-21T14:02:09", "dev-sandbox", "sandbox-shell", "kate@northwind.example",
             "docker.io/bitnami/kubectl", "Create HostNetwork Pod", "Notice"),
            ("2026-07-21T14:02:09", "dev-sandbox", "sandbox-shell", "kate@northwind.example",
             "docker.io/bitnami/kubectl", "Create Sensitive Mount Pod", "Warning")):
        t = _ns(when, 950_000_000)
        add(t, k8s_alert(rule, prio, t,
                         f"{rule.replace('Create ', '').replace(' Pod', '')} pod created "
                         f"(user={who} pod={pname} ns={ns} images={img}:1.30.2)",
                         {"ka.req.pod.containers.image": [f"{img}:1.30.2"],
                          "ka.target.name": pname, "ka.target.namespace": ns,
                          "ka.user.name": who, "ka.verb": "create"}))
    t = _ns("2026-09-12T21:40:12", 960_000_000)
    add(t, k8s_alert("Attach to cluster-admin Role", "Notice", t,
                     "Cluster Role Binding to cluster-admin role (user=kubernetes-admin "
                     "subject=henry@northwind.example)",
                     {"ka.req.binding.role": "cluster-admin",
                      "ka.req.binding.subjects": ["henry@northwind.example"],
                      "ka.target.name": "tmp-admin-henry", "ka.user.name": "kubernetes-admin",
                      "ka.verb": "create"}))
    t = _ns("2026-07-08T03:14:25", 880_000_000)
    add(t, k8s_alert("Anonymous Request Allowed", "Error", t,
                     "Request by anonymous user allowed (user=system:anonymous verb=get "
                     "uri=/version reason=RBAC: allowed by ClusterRoleBinding "
                     "\"system:public-info-viewer\")",
                     {"ka.auth.decision": "allow", "ka.uri": "/version",
                      "ka.user.name": "system:anonymous", "ka.verb": "get"}))
    return out


def q2_alerts() -> list[tuple[int, str]]:
    out = []
    for when in ("2026-04-22T14:03:11", "2026-05-02T15:27:40"):
        t = _ns(when, 910_000_000)
        out.append((t, k8s_alert(
            "Attach/Exec Pod", "Notice", t,
            "Attach/Exec to pod (user=leo@northwind.example pod=card-vault-db-0 resource=pods "
            "ns=card-vault action=exec command=psql)",
            {"ka.target.name": "card-vault-db-0", "ka.target.namespace": "card-vault",
             "ka.target.resource": "pods", "ka.target.subresource": "exec",
             "ka.user.name": "leo@northwind.example", "ka.verb": "create"})))
    return out


def dev_noise(start: date, end: date, seed: int) -> list[tuple[int, str]]:
    """Weekly package installs in the sandbox web pod (out of scope)."""
    r = rng(seed, f"falco-noise-{start}")
    out = []
    for day in days(start, end):
        if day.weekday() != 2:
            continue
        t = (day_start(day) + 10 * 3600 + r.randrange(6 * 3600)) * NS + r.randrange(NS)
        p = timeline.pod_at("dev-sandbox", "sandbox-web", t // 1000, index=0)
        if p is None:
            continue
        out.append((t, syscall_alert("Launch Package Management Process in Container", "Error",
                                     t, p, "apt-get", "apt-get update", "root", 0, "sh",
                                     "execve")))
    return out


BANNER = """{d}: Falco version: 0.41.3 (x86_64)
{d}: Falco initialized with configuration files:
{d}:    /etc/falco/falco.yaml | schema validation: ok
{d}: System info: Linux version 6.1.141-155.222.amzn2023.x86_64 (mockbuild@ip-10-0-42-7) (gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-5), GNU ld version 2.41-50.amzn2023.0.3) #1 SMP PREEMPT_DYNAMIC Tue Jun 24 02:11:05 UTC 2026
{d}: Loading rules from:
{d}:    /etc/falco/falco_rules.yaml | schema validation: ok
{d}: Hostname value has been overridden via environment variable to: {host}
{d}: The chosen syscall buffer dimension is: 8388608 bytes (8 MBs)
{d}: Starting health webserver with threadiness 2, listening on 0.0.0.0:8765
{d}: Loaded event sources: syscall
{d}: Enabled event sources: syscall
{d}: Opening 'syscall' source with modern BPF probe.
"""


def write_all(out: Output, seed: int) -> dict:
    stats = {}
    periods = [
        ("archive", ARCHIVE, 24, [], "runtime/falco/archive/falco-2025-10_2026-03.jsonl"),
        ("2026-q2", Q2, 24, q2_alerts(), "monthly"),
        ("2026-q3", Q3, 12, q3_alerts(), "monthly"),
    ]
    for label, (start, end), interval, alerts, files in periods:
        records = heartbeats(start, end, interval, seed) + alerts + dev_noise(start, end, seed)
        records = [rec for rec in records if not _silenced(rec)]
        records.sort(key=lambda x: (x[0], x[1]))
        groups: dict[str, list[str]] = {}
        for t_ns, line in records:
            key = rfc3339_ns(t_ns)[:7] if files == "monthly" else "all"
            groups.setdefault(key, []).append(line)
        for key in sorted(groups):
            rel = (f"runtime/falco/{label}/falco-{key}.jsonl" if files == "monthly" else files)
            rel = out.log_name(rel)
            w = out.open_log(rel)
            w.write_lines(groups[key])
            w.close()
            out.record(rel, "falco-json", len(groups[key]))
            stats[rel] = len(groups[key])
    # A capture of the upgraded sensor's stdout on one CDE node (banner lines + JSON lines);
    # its JSON lines duplicate records in falco-2026-07.
    node = NODES[0]
    start_ns = _ns("2026-07-15T09:00:04")
    d = "Wed Jul 15 09:00:04 2026"
    lines = [line for t_ns, line in heartbeats(Q3[0], Q3[1], 12, seed)
             if line.startswith('{"hostname":"' + node.name) and start_ns <= t_ns < start_ns
             + 86400 * NS]
    text = BANNER.format(d=d, host=node.name) + "\n".join(lines) + "\n"
    pod = _falco_pod(node, start_ns + NS)
    rel = f"runtime/falco/captures/kubectl-logs-{pod.name}-2026-07-15.log"
    out.write_text(rel, text, "falco-json+banner", len(lines),
                   note="12 non-JSON banner lines before the JSON records")
    return stats


def _silenced(rec: tuple[int, str]) -> bool:
    t_ns, line = rec
    return SILENCE[0] <= t_ns < SILENCE[1] and line.startswith(
        '{"hostname":"' + FALCO_SILENT_NODE + '"')
