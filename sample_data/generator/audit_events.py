"""Building blocks of Kubernetes audit events.

Identities (people, service accounts, nodes, controllers), request URIs and
objectRefs, the Event itself in Go field order, and the ``Scenario`` collector
that turns the pod timeline and the story into events.
"""

from __future__ import annotations

from datetime import date

from . import rbac, specs, timeline
from .images import IMAGES
from .util import (
    day_start,
    dt,
    rfc3339_us,
    rng,
    stable_uuid,
    to_epoch,
    uuid4_from_int,
)
from .world import (
    ACCOUNT_ID,
    ARGOCD_MGMT,
    ARGOCD_UA,
    AUDIT_GAP,
    CI_RUNNERS,
    CONTROLLER_SA,
    HELM_UA,
    K9S_UA,
    KUBECTL_UA,
    KUBECTL_UA_MAC,
    PERSON,
    SA,
    SHARED_ADMIN,
    Person,
)

US = 1_000_000
CONTROL_PLANE_IP = "172.16.52.91"
KCM_UA = "kube-controller-manager/v1.30.11 (linux/amd64) kubernetes/6a07d1a"
SCHED_UA = "kube-scheduler/v1.30.11 (linux/amd64) kubernetes/6a07d1a/scheduler"
GAP = (to_epoch(dt(AUDIT_GAP[0])) * US, to_epoch(dt(AUDIT_GAP[1])) * US)
AGENTS = {"kubectl": KUBECTL_UA, "kubectl-mac": KUBECTL_UA_MAC, "k9s": K9S_UA}
PSA = {"pod-security.kubernetes.io/enforce-policy": "privileged:latest"}


# --------------------------------------------------------------------------- identities


def person_user(p: Person) -> dict:
    return {"username": p.username, "groups": list(p.groups) + ["system:authenticated"]}


def sa_user(key: str, pod: timeline.PodLife | None = None, jti_seed: object = 0) -> dict:
    s = SA[key]
    out: dict = {"username": s.username, "uid": s.uid, "groups": s.groups}
    extra = {"authentication.kubernetes.io/credential-id": [
        "JTI=" + stable_uuid("jti", key, jti_seed)]}
    if pod is not None:
        extra["authentication.kubernetes.io/node-name"] = [pod.node.name]
        extra["authentication.kubernetes.io/node-uid"] = [stable_uuid("node", pod.node.name)]
        extra["authentication.kubernetes.io/pod-name"] = [pod.name]
        extra["authentication.kubernetes.io/pod-uid"] = [pod.uid]
    if key != "argocd-manager":  # argocd-manager still uses a legacy long-lived token Secret
        out["extra"] = dict(sorted(extra.items()))
    return out


def node_user(node) -> dict:
    role = {"cde": "eks-node-cde-pool", "general": "eks-node-general-pool",
            "dev": "eks-node-dev-pool"}[node.pool]
    arn = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role}/{node.instance}"
    role_id = stable_uuid("role", role)[:17].upper().replace("-", "")
    return {
        "username": f"system:node:{node.name}",
        "uid": f"aws-iam-authenticator:{ACCOUNT_ID}:AROA{role_id}",
        "groups": ["system:bootstrappers", "system:nodes", "system:authenticated"],
        "extra": {"arn": [arn], "canonicalArn": [f"arn:aws:iam::{ACCOUNT_ID}:role/{role}"],
                  "sessionName": [node.instance]},
    }


def controller_user(key: str) -> dict:
    name = CONTROLLER_SA[key]
    return {"username": name, "uid": stable_uuid("ctrl", name),
            "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system",
                       "system:authenticated"]}


def controller_reason(key: str) -> str:
    return (f'RBAC: allowed by ClusterRoleBinding "system:controller:{key}" of ClusterRole '
            f'"system:controller:{key}" to ServiceAccount "{key}/kube-system"')


ADMIN_USER = {
    "username": SHARED_ADMIN["username"],
    "uid": f"aws-iam-authenticator:{ACCOUNT_ID}:AIDA6NORTHWINDADMIN1",
    "groups": SHARED_ADMIN["groups"],
    "extra": {"arn": [f"arn:aws:iam::{ACCOUNT_ID}:user/northwind-admin"],
              "canonicalArn": [f"arn:aws:iam::{ACCOUNT_ID}:user/northwind-admin"],
              "sessionName": [""]},
}
ANON_USER = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
SCHED_USER = {"username": "system:kube-scheduler", "groups": ["system:authenticated"]}
SCHED_REASON = ('RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of ClusterRole '
                '"system:kube-scheduler" to User "system:kube-scheduler"')

# --------------------------------------------------------------------------- requests

GROUP_VERSION = {"": "v1", "apps": "v1", "batch": "v1", "networking.k8s.io": "v1",
                 "rbac.authorization.k8s.io": "v1", "apiextensions.k8s.io": "v1"}


def request(verb: str, resource: str, namespace: str | None = None, name: str | None = None,
            sub: str | None = None, group: str = "", query: str = "") -> tuple[str, dict]:
    """(requestURI, objectRef) for a resource request."""
    version = GROUP_VERSION[group]
    uri = "/api/v1" if group == "" else f"/apis/{group}/{version}"
    if namespace:
        uri += f"/namespaces/{namespace}"
    uri += f"/{resource}"
    if name:
        uri += f"/{name}"
    if sub:
        uri += f"/{sub}"
    uri += query
    ref: dict = {"resource": resource}
    if namespace:
        ref["namespace"] = namespace
    if name:
        ref["name"] = name
    if group:
        ref["apiGroup"] = group
    ref["apiVersion"] = version
    if sub:
        ref["subresource"] = sub
    return uri, ref


def named(ref: dict, name: str) -> dict:
    """``ref`` with ``name`` set, keeping the Go field order."""
    out = {"resource": ref["resource"]}
    if "namespace" in ref:
        out["namespace"] = ref["namespace"]
    out["name"] = name
    for key in ("apiGroup", "apiVersion", "subresource"):
        if key in ref:
            out[key] = ref[key]
    return out


def forbidden(user: str, verb: str, ref: dict) -> dict:
    res = ref["resource"] + ("/" + ref["subresource"] if ref.get("subresource") else "")
    scope = (f'in the namespace "{ref["namespace"]}"' if ref.get("namespace")
             else "at the cluster scope")
    who = f'{ref["resource"]} "{ref["name"]}"' if ref.get("name") else ref["resource"]
    details: dict = {}
    if ref.get("name"):
        details["name"] = ref["name"]
    if ref.get("apiGroup"):
        details["group"] = ref["apiGroup"]
    details["kind"] = ref["resource"]
    return {
        "metadata": {},
        "status": "Failure",
        "message": (f'{who} is forbidden: User "{user}" cannot {verb} resource "{res}" in API '
                    f'group "{ref.get("apiGroup", "")}" {scope}'),
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


class Ids:
    """Audit IDs from a dedicated random stream."""

    def __init__(self, seed: int, label: str):
        self.r = rng(seed, label)

    def next(self) -> str:
        return uuid4_from_int(self.r.getrandbits(128))


def event(aid: str, t_us: int, user: dict, verb: str, uri: str, ips: list[str], ua: str | None,
          ref: dict | None = None, code: int = 200, reason: str | None = "",
          decision: str = "allow", level: str = "Metadata", stage: str = "ResponseComplete",
          req: dict | None = None, resp: dict | None = None, imp: dict | None = None,
          latency_us: int = 4000, status: dict | None = None, extra_ann: dict | None = None
          ) -> dict:
    ev: dict = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": level,
                "auditID": aid, "stage": stage, "requestURI": uri, "verb": verb, "user": user}
    if imp:
        ev["impersonatedUser"] = imp
    ev["sourceIPs"] = ips
    if ua:
        ev["userAgent"] = ua
    if ref is not None:
        ev["objectRef"] = ref
    if stage != "RequestReceived":
        ev["responseStatus"] = status or {"metadata": {}, "code": code}
    if req is not None and level in ("Request", "RequestResponse"):
        ev["requestObject"] = req
    if resp is not None and level == "RequestResponse" and stage == "ResponseComplete":
        ev["responseObject"] = resp
    ev["requestReceivedTimestamp"] = rfc3339_us(t_us)
    ev["stageTimestamp"] = rfc3339_us(t_us if stage == "RequestReceived" else t_us + latency_us)
    if reason is not None:
        ann = {"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": reason}
        if extra_ann:
            ann.update(extra_ann)
        ev["annotations"] = dict(sorted(ann.items()))
    return ev


def stage_ts(ev: dict) -> str:
    return ev["stageTimestamp"]


# --------------------------------------------------------------------------- scenario events


class Scenario:
    """Collects the fixed, story-driven events of one period."""

    def __init__(self, seed: int, label: str, start: date, end: date):
        self.ids = Ids(seed, "audit-scenario-" + label)
        self.r = rng(seed, "audit-scenario-rng-" + label)
        self.lo = day_start(start) * US
        self.hi = (day_start(end) + 86400) * US
        self.events: list[dict] = []

    def inside(self, t_us: int) -> bool:
        return self.lo <= t_us < self.hi and not (GAP[0] <= t_us < GAP[1])

    def add(self, ev: dict, received: bool = False) -> None:
        t = _parse_us(ev["stageTimestamp"])
        if not self.inside(t):
            return
        if received:
            rr = dict(ev)
            for key in ("responseStatus", "requestObject", "responseObject", "annotations"):
                rr.pop(key, None)
            rr["stage"] = "RequestReceived"
            rr["stageTimestamp"] = rr["requestReceivedTimestamp"]
            self.events.append(rr)
        self.events.append(ev)

    # -- people and other callers

    def person(self, key: str, when: str, verb: str, resource: str, ns: str | None = None,
               name: str | None = None, sub: str | None = None, group: str = "",
               binding: tuple[str, str] | None = None, code: int = 200, level: str = "Metadata",
               req: dict | None = None, resp: dict | None = None, query: str = "",
               imp: str | None = None, received: bool = False, latency_ms: int = 6,
               ref_name: str | None = None) -> str:
        p = PERSON[key]
        t = _us(when)
        uri, ref = request(verb, resource, ns, name, sub, group, query)
        if ref_name:
            ref = named(ref, ref_name)
        aid = self.ids.next()
        ua = AGENTS[p.agents[0]]
        imp_user = person_user(PERSON[imp]) if imp else None
        if code == 403:
            who = PERSON[imp].username if imp else p.username
            ev = event(aid, t, person_user(p), verb, uri, [p.vpn_ip], ua, ref, 403, "",
                       "forbid", level, imp=imp_user, status=forbidden(who, verb, ref),
                       latency_us=latency_ms * 1000)
        else:
            bname, bns = binding
            reason = rbac.reason(bname, _subject_for(imp or key, bname), bns)
            ev = event(aid, t, person_user(p), verb, uri, [p.vpn_ip], ua, ref, code, reason,
                       level=level, req=req, resp=resp, imp=imp_user,
                       latency_us=latency_ms * 1000)
        self.add(ev, received)
        return aid

    def exec_session(self, key: str, when: str, ns: str, pod: str, container: str,
                     command: list[str], binding: tuple[str, str] | None, minutes: int,
                     denied: bool = False, user: dict | None = None, ip: str | None = None,
                     ua: str | None = None) -> None:
        t = _us(when)
        query = "?" + "&".join([f"command={c}" for c in command] +
                               [f"container={container}", "stdin=true", "stdout=true",
                                "tty=true"])
        uri, ref = request("create", "pods", ns, pod, "exec", query=query)
        aid = self.ids.next()
        p = PERSON.get(key)
        u = user or person_user(p)
        ips = [ip or p.vpn_ip]
        agent = ua or AGENTS[p.agents[0]]
        if denied:
            self.add(event(aid, t, u, "create", uri, ips, agent, ref, 403, "", "forbid",
                           status=forbidden(u["username"], "create", ref)), received=True)
            return
        reason = rbac.reason(binding[0], _subject_for(key, binding[0]), binding[1])
        self.add(event(aid, t, u, "create", uri, ips, agent, ref, 101, reason,
                       stage="ResponseStarted", latency_us=38_000), received=True)
        self.add(event(aid, t, u, "create", uri, ips, agent, ref, 101, reason,
                       latency_us=minutes * 60 * US + 412_000))


def _group_subject(binding: str) -> rbac.Subject:
    b = rbac.BINDING[next(k for k in rbac.BINDING if k[1] == binding)]
    return b.subjects[0]


def _subject_for(key: str, binding: str) -> rbac.Subject:
    if binding in ("card-vault-dba", "payments-oncall", "card-vault-oncall", "platform-read",
                   "developers-edit", "developers-view", "security-view"):
        return _group_subject(binding)
    return rbac.user(key)


def _us(when: str) -> int:
    base = to_epoch(dt(when[:19])) * US
    if len(when) > 20 and when[19] == ".":
        frac = when[20:].rstrip("Z")
        base += int((frac + "000000")[:6])
    return base


def _parse_us(stamp: str) -> int:
    return _us(stamp)


# --------------------------------------------------------------------------- pod lifecycle


def pod_object(p: timeline.PodLife, with_status: bool) -> dict:
    w = p.workload
    image_ref = IMAGES[w.image].version(p.tag).ref
    if w.kind == "Pod":
        command = ["sleep", "infinity"]
        spec = specs.pod_spec(w, p.tag, image_ref, security=p.security, command=command)
    else:
        node = p.node.name if w.kind == "DaemonSet" else None
        spec = specs.pod_spec(w, p.tag, image_ref, node_name=node)
    labels = dict(w.labels)
    name = None
    generate = None
    if w.kind == "Deployment":
        labels["pod-template-hash"] = w.rs_hash(p.tag, p.generation)
        generate = f"{w.name}-{w.rs_hash(p.tag, p.generation)}-"
    elif w.kind == "DaemonSet":
        labels["controller-revision-hash"] = w.rs_hash(p.tag, p.generation)[:9]
        labels["pod-template-generation"] = str(p.generation + 1)
        generate = f"{w.name}-"
    elif w.kind == "StatefulSet":
        labels["controller-revision-hash"] = f"{w.name}-{w.rs_hash(p.tag, p.generation)[:10]}"
        labels["statefulset.kubernetes.io/pod-name"] = p.name
        name = p.name
    elif w.kind == "Job":
        labels["batch.kubernetes.io/job-name"] = p.name.rsplit("-", 1)[0]
        generate = p.name.rsplit("-", 1)[0] + "-"
    else:
        name = p.name
    meta: dict = {}
    if name or with_status:
        meta["name"] = p.name
    if generate:
        meta["generateName"] = generate
    meta["namespace"] = w.namespace
    if with_status:
        meta["uid"] = p.uid
        meta["resourceVersion"] = str(40_000_000 + (p.start_us // US) % 9_000_000)
        meta["creationTimestamp"] = rfc3339_us(p.start_us)[:19] + "Z"
    meta["labels"] = dict(sorted(labels.items()))
    if w.kind == "Deployment" and p.cause == "restart":
        meta["annotations"] = {
            "kubectl.kubernetes.io/restartedAt": rfc3339_us(p.start_us - 2 * US)[:19] + "Z"}
    owner = _owner(p)
    if owner:
        meta["ownerReferences"] = [owner]
    obj = {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec}
    obj["status"] = {"phase": "Pending", "qosClass": "Burstable"} if with_status else {}
    return obj


def _owner(p: timeline.PodLife) -> dict | None:
    w = p.workload
    kind, api = specs.owner_kind(w)
    if w.kind == "Pod":
        return None
    if w.kind == "Deployment":
        name = f"{w.name}-{w.rs_hash(p.tag, p.generation)}"
    elif w.kind == "Job":
        name = p.name.rsplit("-", 1)[0]
    else:
        name = w.name
    return {"apiVersion": api, "kind": kind, "name": name,
            "uid": stable_uuid("owner", w.namespace, name), "controller": True,
            "blockOwnerDeletion": True}


CONTROLLER_OF = {"Deployment": "replicaset-controller", "StatefulSet": "statefulset-controller",
                 "DaemonSet": "daemon-set-controller", "Job": "job-controller"}


def pod_events(sc: Scenario, lives: list[timeline.PodLife]) -> None:
    """Create/bind/delete events for every pod start and end inside the period."""
    rollout_marks: set[tuple[str, str, int]] = set()
    for p in lives:
        w = p.workload
        if sc.lo <= p.start_us < sc.hi and p.cause != "initial":
            key = (w.namespace, w.name, p.generation)
            if key not in rollout_marks and p.cause in ("rollout", "restart"):
                rollout_marks.add(key)
                _workload_change(sc, p)
            _pod_create(sc, p)
        if p.end_us is not None and sc.lo <= p.end_us < sc.hi:
            _pod_delete(sc, p)


WORKLOAD_RESOURCE = {"Deployment": "deployments", "StatefulSet": "statefulsets",
                     "DaemonSet": "daemonsets"}


def workload_object(p: timeline.PodLife, restarted_at: str | None, stored: bool) -> dict:
    """The Deployment/StatefulSet/DaemonSet as applied (``stored``: as the API returns it)."""
    w = p.workload
    selector = {"app.kubernetes.io/name": dict(w.labels)["app.kubernetes.io/name"]}
    template_meta: dict = {"labels": dict(w.labels)}
    if restarted_at:
        template_meta["annotations"] = {"kubectl.kubernetes.io/restartedAt": restarted_at}
    spec: dict = {}
    if w.kind != "DaemonSet":
        spec["replicas"] = w.replicas
    spec["selector"] = {"matchLabels": selector}
    if w.kind == "StatefulSet":
        spec["serviceName"] = w.name
    spec["template"] = {"metadata": template_meta,
                        "spec": specs.pod_spec(w, p.tag, IMAGES[w.image].version(p.tag).ref)}
    meta: dict = {"name": w.name, "namespace": w.namespace}
    if stored:
        meta["uid"] = stable_uuid("owner", w.namespace, w.name)
        meta["resourceVersion"] = str(40_000_000 + (p.start_us // US) % 9_000_000)
        meta["generation"] = p.generation + 2
        meta["creationTimestamp"] = "2025-03-12T09:20:00Z"
    meta["labels"] = dict(w.labels)
    obj = {"kind": w.kind, "apiVersion": "apps/v1", "metadata": meta, "spec": spec}
    if stored:
        obj["status"] = {"observedGeneration": p.generation + 1}
    return obj


def _workload_change(sc: Scenario, p: timeline.PodLife) -> None:
    """The deployer's change that triggered a rollout or restart.

    Argo CD uses server-side apply (the request body is the whole manifest); Helm sends a
    strategic-merge patch, and so does the weekly restart. Either way the response object, logged
    at RequestResponse level, is the whole workload with its pod template.
    """
    w = p.workload
    t = p.start_us - 2 * US - (40 * US if w.kind != "Deployment" else 0)
    deployer = w.deployer
    restarted = rfc3339_us(t)[:19] + "Z" if p.cause == "restart" else None
    if p.cause == "restart":
        query = "?fieldManager=kubectl-rollout"
        body: dict = {"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": restarted}}}}}
    elif deployer == "ci-deployer":
        query = "?fieldManager=helm"
        body = {"spec": {"template": {"spec": {"containers": [
            {"image": IMAGES[w.image].version(p.tag).ref, "name": w.name}]}}}}
    else:
        query = "?fieldManager=argocd-controller&force=true"
        body = workload_object(p, None, stored=False)
    uri, ref = request("patch", WORKLOAD_RESOURCE[w.kind], w.namespace, w.name, group="apps",
                       query=query)
    ip = CI_RUNNERS[p.generation % 2] if deployer == "ci-deployer" else ARGOCD_MGMT
    ua = HELM_UA if deployer == "ci-deployer" else ARGOCD_UA
    binding = "ci-deployer-cluster-admin" if deployer == "ci-deployer" else \
        "argocd-manager-role-binding"
    sc.add(event(sc.ids.next(), t, sa_user(deployer, jti_seed=t // (86400 * US)), "patch", uri,
                 [ip], ua, ref, 200, rbac.reason(binding, rbac.sa(deployer)),
                 level="RequestResponse", req=body,
                 resp=workload_object(p, restarted, stored=True), latency_us=21_000))
    if w.kind == "Deployment":
        uri, ref = request("create", "replicasets", w.namespace, group="apps")
        ref = named(ref, f"{w.name}-{w.rs_hash(p.tag, p.generation)}")
        sc.add(event(sc.ids.next(), t + 600_000, controller_user("deployment-controller"),
                     "create", uri, [CONTROL_PLANE_IP],
                     KCM_UA + "/system:serviceaccount:kube-system:deployment-controller", ref,
                     201, controller_reason("deployment-controller"), latency_us=9_000))


def workload_replace(sc: Scenario, w, when: str) -> None:
    """A full-object update (PUT) of a workload whose pod template does not change.

    Helm ``upgrade --force`` (the CI deployer's releases) and an Argo CD sync with
    ``Replace=true`` replace the object instead of patching it, so the request body is the whole
    manifest. The template is unchanged, so no rollout follows.
    """
    t = _us(when)
    p = timeline.pod_at(w.namespace, w.name, t, index=0)
    deployer = w.deployer
    req = workload_object(p, None, stored=False)
    req["metadata"] = dict(req["metadata"], resourceVersion=str(
        40_000_000 + (p.start_us // US) % 9_000_000))
    resp = workload_object(p, None, stored=True)
    resp["metadata"]["resourceVersion"] = str(40_000_000 + (t // US) % 9_000_000)
    if deployer == "ci-deployer":
        query, ip, ua, binding = ("?fieldManager=helm", CI_RUNNERS[0], HELM_UA,
                                  "ci-deployer-cluster-admin")
    else:
        query, ip, ua, binding = ("?fieldManager=argocd-controller", ARGOCD_MGMT, ARGOCD_UA,
                                  "argocd-manager-role-binding")
    uri, ref = request("update", WORKLOAD_RESOURCE[w.kind], w.namespace, w.name, group="apps",
                       query=query)
    sc.add(event(sc.ids.next(), t, sa_user(deployer, jti_seed=t // (86400 * US)), "update", uri,
                 [ip], ua, ref, 200, rbac.reason(binding, rbac.sa(deployer)),
                 level="RequestResponse", req=req, resp=resp, latency_us=24_000))


def _pod_create(sc: Scenario, p: timeline.PodLife) -> None:
    w = p.workload
    uri, ref = request("create", "pods", w.namespace)
    ref = named(ref, p.name)
    req = pod_object(p, with_status=False)
    resp = pod_object(p, with_status=True)
    if w.kind == "Pod":
        person = PERSON[p.created_by]
        binding = {"bob": ("bob-cluster-admin", ""), "kate": ("developers-edit", "dev-sandbox")}[
            p.created_by]
        reason = rbac.reason(binding[0], _subject_for(p.created_by, binding[0]), binding[1])
        sc.add(event(sc.ids.next(), p.start_us, person_user(person), "create",
                     uri + "?fieldManager=kubectl-run", [person.vpn_ip],
                     AGENTS[person.agents[0]], ref, 201, reason, level="RequestResponse",
                     req=req, resp=resp, latency_us=14_000, extra_ann=PSA))
    else:
        ctrl = CONTROLLER_OF[w.kind]
        sc.add(event(sc.ids.next(), p.start_us, controller_user(ctrl), "create", uri,
                     [CONTROL_PLANE_IP],
                     f"{KCM_UA}/system:serviceaccount:kube-system:{ctrl}", ref, 201,
                     controller_reason(ctrl), level="RequestResponse", req=req, resp=resp,
                     latency_us=11_000, extra_ann=PSA))
    buri, bref = request("create", "pods", w.namespace, p.name, "binding")
    sc.add(event(sc.ids.next(), p.start_us + 30_000, SCHED_USER, "create", buri,
                 [CONTROL_PLANE_IP], SCHED_UA, bref, 201, SCHED_REASON, latency_us=3_000))


def _pod_delete(sc: Scenario, p: timeline.PodLife) -> None:
    w = p.workload
    if w.kind == "Job":
        return
    uri, ref = request("delete", "pods", w.namespace, p.name)
    if w.kind == "Pod":
        person = PERSON[p.created_by]
        binding = {"bob": ("bob-cluster-admin", ""), "kate": ("developers-edit", "dev-sandbox")}[
            p.created_by]
        reason = rbac.reason(binding[0], _subject_for(p.created_by, binding[0]), binding[1])
        sc.add(event(sc.ids.next(), p.end_us, person_user(person), "delete", uri,
                     [person.vpn_ip], AGENTS[person.agents[0]], ref, 200, reason,
                     latency_us=18_000))
        return
    ctrl = CONTROLLER_OF[w.kind]
    sc.add(event(sc.ids.next(), p.end_us, controller_user(ctrl), "delete", uri,
                 [CONTROL_PLANE_IP], f"{KCM_UA}/system:serviceaccount:kube-system:{ctrl}", ref,
                 200, controller_reason(ctrl), latency_us=9_000))


# --------------------------------------------------------------------------- story events


def rbac_object(b: rbac.Binding) -> dict:
    meta: dict = {"name": b.name}
    if b.namespace:
        meta["namespace"] = b.namespace
    return {"kind": b.kind, "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": meta,
            "subjects": [s.as_dict() for s in b.subjects],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": b.role_kind,
                        "name": b.role}}


def _binding_create(sc: Scenario, who: str, when: str, b: rbac.Binding,
                    via: tuple[str, str]) -> None:
    resource = "clusterrolebindings" if b.kind == "ClusterRoleBinding" else "rolebindings"
    obj = rbac_object(b)
    resp = dict(obj, metadata=dict(obj["metadata"], uid=stable_uuid("binding", b.name),
                                   resourceVersion="5127730",
                                   creationTimestamp=when[:19] + "Z"))
    sc.person(who, when, "create", resource, b.namespace or None, group="rbac.authorization.k8s.io",
              binding=via, code=201, level="RequestResponse", req=obj, resp=resp,
              query="?fieldManager=kubectl-create", ref_name=b.name)
