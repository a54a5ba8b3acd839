"""The story's API activity, period by period (the ground truth of the audit log)."""

from __future__ import annotations

from . import rbac, timeline
from .audit_events import (
    ADMIN_USER,
    ANON_USER,
    US,
    WORKLOAD_RESOURCE,
    Scenario,
    _binding_create,
    _us,
    event,
    forbidden,
    named,
    rbac_object,
    request,
    sa_user,
    workload_replace,
)
from .world import (
    ARGOCD_MGMT,
    ARGOCD_UA,
    CI_RUNNERS,
    DEBUG_POD,
    HELM_UA,
    KUBECTL_UA,
    KUBECTL_UA_MAC,
    WORKLOADS,
)


def q3_story(sc: Scenario) -> None:
    s = sc
    # --- RBAC changes (10.2.1.5)
    _binding_create(s, "bob", "2026-07-09T10:15:44.118204", rbac.BINDING[("payments",
                    "payments-exec-erin")], ("bob-cluster-admin", ""))
    _binding_create(s, "henry", "2026-08-12T15:32:18.402117",
                    rbac.BINDING[("", "secret-reader-dave")], ("rbac-manager-henry", ""))
    s.person("bob", "2026-09-22T09:05:12.733019", "delete", "rolebindings", "dev-sandbox",
             "temp-debug-kate", group="rbac.authorization.k8s.io",
             binding=("bob-cluster-admin", ""))
    _binding_create(s, "bob", "2026-07-20T08:12:00.214431",
                    rbac.BINDING[("dev-sandbox", "temp-debug-kate")], ("bob-cluster-admin", ""))
    # --- exec into CDE pods (10.2.1.1 / 7.2.6 / 2.2.4)
    for when, minutes in (("2026-07-17T14:22:07.551203", 9), ("2026-09-02T10:05:33.004811", 4)):
        pod = timeline.pod_at("payments", "payments-api", _us(when), index=0)
        s.exec_session("erin", when, "payments", pod.name, "payments-api", ["bash"],
                       ("payments-exec-erin", "payments"), minutes)
    pod = timeline.pod_at("payments", "payments-api", _us("2026-08-11T10:32:40"), index=0)
    s.exec_session("bob", "2026-08-11T10:32:40.918273", "payments", pod.name, "payments-api",
                   ["sh"], ("bob-cluster-admin", ""), 6)
    s.exec_session("bob", "2026-08-11T10:43:05.120944", "payments", DEBUG_POD["name"],
                   DEBUG_POD["name"], ["bash"], ("bob-cluster-admin", ""), 41)
    s.exec_session("frank", "2026-08-27T09:12:51.660017", "card-vault", "card-vault-db-0",
                   "card-vault-db", ["psql", "-U", "vault_admin"], ("card-vault-dba", "card-vault"),
                   23)
    s.exec_session("grace", "2026-08-28T15:40:02.391876", "card-vault", "card-vault-db-0",
                   "card-vault-db", ["bash"], None, 0, denied=True)
    # --- secrets (3.6.1 / 7.2.1)
    s.person("dave", "2026-08-20T11:05:12.009113", "list", "secrets", "card-vault",
             binding=("secret-reader-dave", ""), query="?limit=500")
    s.person("dave", "2026-08-20T11:06:40.771220", "get", "secrets", "card-vault", "kek-wrapping",
             binding=("secret-reader-dave", ""))
    s.person("dave", "2026-09-15T16:21:09.301554", "get", "secrets", "payments",
             "payments-db-credentials", binding=("secret-reader-dave", ""))
    s.person("bob", "2026-08-11T11:02:27.645531", "get", "secrets", "card-vault", "card-vault-db",
             binding=("bob-cluster-admin", ""))
    s.person("erin", "2026-09-02T10:20:45.118003", "get", "secrets", "payments",
             "payments-db-credentials", code=403)
    s.person("henry", "2026-07-30T17:48:02.550981", "list", "secrets", "payments", code=403,
             query="?limit=500")
    s.person("henry", "2026-07-30T17:49:31.007742", "list", "secrets", "payments",
             binding=("bob-cluster-admin", ""), imp="bob", query="?limit=500")
    s.person("henry", "2026-09-24T11:30:18.664120", "list", "pods", "dev-sandbox",
             binding=("developers-edit", "dev-sandbox"), imp="grace", query="?limit=500")
    s.person("henry", "2026-09-24T11:31:02.093345", "list", "pods", "payments", code=403,
             imp="grace", query="?limit=500")
    # --- a ServiceAccount token used from kubectl on a workstation (8.6.1)
    t0 = _us("2026-09-16T20:41:07.228190")
    tok_pod = timeline.pod_at("payments", "payments-api", t0, index=1)
    u = sa_user("payments-api", tok_pod, jti_seed="leaked")
    ip, ua = ["10.8.14.37"], KUBECTL_UA_MAC
    subj = rbac.sa("payments-api")
    steps = [
        (0, "get", "secrets", "payments-db-credentials", 403),
        (41, "get", "secrets", "payments-api-tls", 200),
        (95, "list", "pods", None, 403),
        (130, "get", "configmaps", "payments-api-config", 200),
    ]
    for dt_s, verb, res, name, code in steps:
        uri, ref = request(verb, res, "payments", name,
                           query="" if name else "?limit=500")
        if code == 403:
            ev = event(s.ids.next(), t0 + dt_s * US, u, verb, uri, ip, ua, ref, 403, "", "forbid",
                       status=forbidden(u["username"], verb, ref))
        else:
            ev = event(s.ids.next(), t0 + dt_s * US, u, verb, uri, ip, ua, ref, 200,
                       rbac.reason("payments-api", subj, "payments"))
        s.add(ev)
    # --- anonymous and unauthenticated requests (8.3.1 / 7.3)
    for when, ips, uagent in (("2026-07-08T03:14:22.114506", ["203.0.113.99"],
                               "python-requests/2.32.3"),
                              ("2026-08-30T22:51:40.660178", ["192.0.2.66", "203.0.113.99"],
                               "Go-http-client/1.1")):
        t = _us(when)
        uri, ref = request("list", "secrets", "payments")
        s.add(event(s.ids.next(), t, ANON_USER, "list", uri, ips, uagent, ref, 403, "", "forbid",
                    status=forbidden("system:anonymous", "list", ref)))
        s.add(event(s.ids.next(), t + 2 * US, ANON_USER, "get", "/apis", ips, uagent, None, 403,
                    "", "forbid", status={"metadata": {}, "status": "Failure",
                                          "message": 'forbidden: User "system:anonymous" cannot '
                                                     'get path "/apis"',
                                          "reason": "Forbidden", "details": {}, "code": 403}))
        uri, ref = request("create", "namespaces")
        s.add(event(s.ids.next(), t + 5 * US, ANON_USER, "create", uri, ips, uagent, ref, 403,
                    "", "forbid", status=forbidden("system:anonymous", "create", ref)))
    s.add(event(s.ids.next(), _us("2026-07-08T03:14:25.870114"), ANON_USER, "get", "/version",
                ["203.0.113.99"], "python-requests/2.32.3", None, 200, rbac.PUBLIC_INFO_REASON))
    # The checkout-web incident: a dropped binary probes the API server from the pod.
    t = _us("2026-09-19T02:18:40.512330")
    pod = timeline.pod_at("checkout-web", "checkout-web", t, index=0)
    for k, (uri_ref, verb) in enumerate(((request("list", "secrets", "payments"), "list"),
                                         (request("list", "pods"), "list"))):
        uri, ref = uri_ref
        s.add(event(s.ids.next(), t + k * 2_300_000, ANON_USER, verb, uri, [pod.ip], "curl/8.9.1",
                    ref, 403, "", "forbid", status=forbidden("system:anonymous", verb, ref)))
    for k in range(3):
        t = _us("2026-09-05T08:02:11.300000") + k * 4_100_000
        uri, ref = request("list", "pods", "dev-sandbox", query="?limit=500")
        s.add(event(s.ids.next(), t, {}, "list", uri, ["10.8.14.91"], KUBECTL_UA_MAC, ref,
                    401, None, stage="ResponseStarted",
                    status={"metadata": {}, "message": "Authentication failed, attempted: bearer",
                            "code": 401}))
    # --- the shared bootstrap identity (8.2.1 / 8.2.2 / 2.2.2)
    t = _us("2026-07-28T21:13:05.441092")
    for k, (verb, res, ns, name, code, level) in enumerate((
            ("list", "nodes", None, None, 200, "Metadata"),
            ("get", "configmaps", "kube-system", "aws-auth", 200, "Metadata"),
            ("patch", "configmaps", "kube-system", "aws-auth", 200, "Request"))):
        uri, ref = request(verb, res, ns, name)
        req = {"data": {"mapRoles": "<role mappings updated: eks-node-dev-pool added>"}} \
            if verb == "patch" else None
        s.add(event(s.ids.next(), t + k * 37 * US, ADMIN_USER, verb, uri, ["10.8.3.21"],
                    KUBECTL_UA, ref, code, rbac.MASTERS_REASON, level=level, req=req))
    t = _us("2026-09-12T21:40:12.002871")
    tmp = rbac.Binding("ClusterRoleBinding", "tmp-admin-henry", "", "ClusterRole", "cluster-admin",
                       (rbac.user("henry"),), "2026-09-12T21:40:12Z")
    uri, ref = request("create", "clusterrolebindings", group="rbac.authorization.k8s.io")
    s.add(event(s.ids.next(), t, ADMIN_USER, "create", uri + "?fieldManager=kubectl-create",
                ["10.8.3.21"], KUBECTL_UA, named(ref, "tmp-admin-henry"), 201,
                rbac.MASTERS_REASON, level="RequestResponse", req=rbac_object(tmp),
                resp=rbac_object(tmp)))
    uri, ref = request("delete", "clusterrolebindings", name="tmp-admin-henry",
                       group="rbac.authorization.k8s.io")
    s.add(event(s.ids.next(), t + 15 * 60 * US, ADMIN_USER, "delete", uri, ["10.8.3.21"],
                KUBECTL_UA, ref, 200, rbac.MASTERS_REASON))
    # --- namespaces and CRDs (10.2.1.7)
    ns_obj = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "perf-test"},
              "spec": {}, "status": {}}
    s.person("bob", "2026-08-03T10:00:41.552301", "create", "namespaces", None,
             binding=("bob-cluster-admin", ""), code=201, level="RequestResponse", req=ns_obj,
             resp=ns_obj, ref_name="perf-test")
    crd = {"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1",
           "metadata": {"name": "loadtests.perf.northwind.example"},
           "spec": {"group": "perf.northwind.example", "scope": "Namespaced",
                    "names": {"plural": "loadtests", "singular": "loadtest", "kind": "LoadTest"},
                    "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    s.person("bob", "2026-08-03T10:02:15.009812", "create", "customresourcedefinitions", None,
             group="apiextensions.k8s.io", binding=("bob-cluster-admin", ""), code=201,
             level="RequestResponse", req=crd, resp=crd,
             ref_name="loadtests.perf.northwind.example")
    s.person("bob", "2026-08-07T16:30:02.337410", "delete", "customresourcedefinitions", None,
             "loadtests.perf.northwind.example", group="apiextensions.k8s.io",
             binding=("bob-cluster-admin", ""))
    s.person("bob", "2026-08-07T16:30:44.902215", "delete", "namespaces", None, "perf-test",
             binding=("bob-cluster-admin", ""))
    t = _us("2026-09-09T11:20:03.118734")
    uri, ref = request("create", "customresourcedefinitions", group="apiextensions.k8s.io")
    crd2 = {"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1",
            "metadata": {"name": "externalsecrets.external-secrets.io"},
            "spec": {"group": "external-secrets.io", "scope": "Namespaced",
                     "names": {"plural": "externalsecrets", "kind": "ExternalSecret"}}}
    s.add(event(s.ids.next(), t, sa_user("ci-deployer", jti_seed="crd"), "create", uri,
                [CI_RUNNERS[0]], HELM_UA, named(ref, "externalsecrets.external-secrets.io"),
                201, rbac.reason("ci-deployer-cluster-admin", rbac.sa("ci-deployer")),
                level="RequestResponse", req=crd2, resp=crd2))
    # --- a leaver keeps working (8.2.5)
    s.person("judy", "2026-08-25T19:02:33.118222", "list", "pods", "payments",
             binding=("payments-oncall", "payments"), query="?limit=500")
    pod = timeline.pod_at("payments", "payments-api", _us("2026-09-08T19:44:10"), index=2)
    s.person("judy", "2026-09-08T19:44:10.561902", "get", "pods", "payments", pod.name, "log",
             binding=("payments-oncall", "payments"), query="?container=payments-api&tailLines=200")
    s.person("judy", "2026-09-08T19:45:02.004531", "get", "pods", "card-vault", "card-vault-0",
             binding=("judy-card-vault-view", "card-vault"))
    # --- follow-ups of the Q2 internal review (written last so the other events keep their IDs)
    # Every authenticated identity loses cluster-wide view (10.2.1.5; resolved 7.2.2 finding).
    s.person("bob", "2026-07-06T09:41:27.305118", "delete", "clusterrolebindings", None,
             "authenticated-view", group="rbac.authorization.k8s.io",
             binding=("bob-cluster-admin", ""))
    # Argo CD applies a default deny for monitoring ingress (resolved 1.3.x finding).
    from .access import network_policies

    pol = next(p for p in network_policies() if p["metadata"]["namespace"] == "monitoring")
    t = _us("2026-07-08T14:20:03.004118")
    uri, ref = request("patch", "networkpolicies", "monitoring", "default-deny-ingress",
                       group="networking.k8s.io",
                       query="?fieldManager=argocd-controller&force=true")
    body = {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "default-deny-ingress", "namespace": "monitoring"},
            "spec": pol["spec"]}
    s.add(event(s.ids.next(), t, sa_user("argocd-manager"), "patch", uri, [ARGOCD_MGMT],
                ARGOCD_UA, ref, 201,
                rbac.reason("argocd-manager-role-binding", rbac.sa("argocd-manager")),
                level="RequestResponse", req=body, resp=dict(body, metadata=dict(
                    body["metadata"], creationTimestamp="2026-07-08T14:20:03Z")),
                latency_us=17_000))


def q2_story(sc: Scenario) -> None:
    s = sc
    s.exec_session("leo", "2026-04-22T14:03:11.224410", "card-vault", "card-vault-db-0",
                   "card-vault-db", ["psql", "-U", "vault_admin"], ("card-vault-dba", "card-vault"),
                   12)
    s.exec_session("leo", "2026-05-02T15:27:40.770023", "card-vault", "card-vault-db-0",
                   "card-vault-db", ["psql", "-U", "vault_admin"], ("card-vault-dba", "card-vault"),
                   31)
    # The retired report exporter's last use of its token.
    t = _us("2026-04-18T01:00:12.448120")
    uri, ref = request("get", "secrets", "payments", "payments-db-credentials")
    s.add(event(s.ids.next(), t, sa_user("report-exporter", jti_seed="2026-04-18"), "get", uri,
                ["10.20.1.77"], "report-exporter/1.4.2 (linux/amd64) kubernetes/$Format", ref,
                200, rbac.reason("report-exporter", rbac.sa("report-exporter"), "payments")))
    # A policy change that weakens segmentation: the narrow allow-db-from-payments policy is
    # replaced by allow-postgres, which accepts 5432 from any namespace.
    from .access import network_policies

    pol = next(p for p in network_policies() if p["metadata"]["name"] == "allow-postgres")
    t = _us("2026-06-08T16:12:38.902114")
    uri, ref = request("delete", "networkpolicies", "card-vault", "allow-db-from-payments",
                       group="networking.k8s.io")
    s.add(event(s.ids.next(), t, sa_user("ci-deployer", jti_seed="netpol"), "delete", uri,
                [CI_RUNNERS[1]], HELM_UA, ref, 200,
                rbac.reason("ci-deployer-cluster-admin", rbac.sa("ci-deployer"))))
    t = _us("2026-06-08T16:12:40.118305")
    uri, ref = request("create", "networkpolicies", "card-vault", group="networking.k8s.io")
    body = {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": "allow-postgres", "namespace": "card-vault"},
            "spec": pol["spec"]}
    s.add(event(s.ids.next(), t, sa_user("ci-deployer", jti_seed="netpol"), "create", uri,
                [CI_RUNNERS[1]], HELM_UA, named(ref, "allow-postgres"), 201,
                rbac.reason("ci-deployer-cluster-admin", rbac.sa("ci-deployer")),
                level="RequestResponse", req=body, resp=body))
    for when in ("2026-05-19T04:41:09.330118", "2026-06-23T23:12:50.010942"):
        t = _us(when)
        uri, ref = request("list", "secrets", "payments")
        s.add(event(s.ids.next(), t, ANON_USER, "list", uri, ["203.0.113.140"], "curl/8.5.0",
                    ref, 403, "", "forbid", status=forbidden("system:anonymous", "list", ref)))
        s.add(event(s.ids.next(), t + US, ANON_USER, "get", "/version", ["203.0.113.140"],
                    "curl/8.5.0", None, 200, rbac.PUBLIC_INFO_REASON))


def archive_story(sc: Scenario) -> None:
    s = sc
    _binding_create(s, "bob", "2025-11-03T09:30:12.002214",
                    rbac.BINDING[("card-vault", "judy-card-vault-view")], ("bob-cluster-admin", ""))
    _binding_create(s, "bob", "2025-12-02T11:47:30.551907",
                    rbac.BINDING[("", "rbac-manager-henry")], ("bob-cluster-admin", ""))
    _binding_create(s, "bob", "2026-01-15T14:22:05.300129",
                    rbac.BINDING[("", "breakglass-carol")], ("bob-cluster-admin", ""))
    s.exec_session("leo", "2025-12-09T10:11:40.023456", "card-vault", "card-vault-db-0",
                   "card-vault-db", ["psql", "-U", "vault_admin"], ("card-vault-dba", "card-vault"),
                   18)
    # After the platform charts moved repositories, every release was re-synced once by
    # replacing its objects: Helm upgrade --force for the CI-deployed workloads, an Argo CD sync
    # with Replace=true for the rest. These full-object updates (the workloads themselves date
    # from 2025-03) are the controllers' own specs on record in the 12-month look-back.
    ci = [w for w in WORKLOADS if w.kind in WORKLOAD_RESOURCE and w.deployer == "ci-deployer"]
    argo = [w for w in WORKLOADS if w.kind in WORKLOAD_RESOURCE and w.deployer != "ci-deployer"]
    for k, w in enumerate(ci):
        workload_replace(s, w, f"2025-10-21T10:04:{10 + 7 * k:02d}.{313207 + 1009 * k}")
    for k, w in enumerate(argo):
        workload_replace(s, w, f"2025-10-21T10:31:{5 + 6 * k:02d}.{120431 + 2003 * k}")
