"""Trivy JSON: ``trivy image``, ``trivy k8s`` (misconfigurations), ``trivy fs`` (secrets).

One Trivy image report per image per scan date (``images.SCAN_DATES``). A report
lists the catalogue vulnerabilities (``images.VULNS``) whose package is in the
scanned version and that were published by the scan date; the fix appears from
``fix_seen`` on (Status ``fixed`` with a FixedVersion), before that the finding
is ``affected``.
"""

from __future__ import annotations

from datetime import date

from . import specs
from .images import IMAGES, SCAN_DATES, VULNS, ImageVersion, Vuln, trivy_version, version_for_scan
from .util import Output, go_json, sha256_hex, uuid7
from .world import (
    CLUSTER,
    WORKLOADS,
)

LANG_TARGET = {
    "payments-api": ("Java", "jar"),
    "card-vault": ("usr/local/bin/card-vault", "gobinary"),
    "checkout-web": ("Node.js", "node-pkg"),
    "node-exporter": ("bin/node_exporter", "gobinary"),
    "prometheus": ("bin/prometheus", "gobinary"),
    "kubectl": ("opt/bitnami/kubectl/bin/kubectl", "gobinary"),
    "ingress-nginx": ("nginx-ingress-controller", "gobinary"),
}

DATA_SOURCES = {
    "debian": {"ID": "debian", "Name": "Debian Security Tracker",
               "URL": "https://salsa.debian.org/security-tracker-team/security-tracker"},
    "alpine": {"ID": "alpine", "Name": "Alpine Secdb", "URL": "https://secdb.alpinelinux.org/"},
    "jar": {"ID": "ghsa", "Name": "GitHub Security Advisory Maven",
            "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Amaven"},
    "node-pkg": {"ID": "ghsa", "Name": "GitHub Security Advisory npm",
                 "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Anpm"},
    "gobinary": {"ID": "govulndb", "Name": "The Go Vulnerability Database",
                 "URL": "https://pkg.go.dev/vuln/"},
}
SEV_NUM = {"CRITICAL": 4, "HIGH": 3, "MEDIUM": 2, "LOW": 1, "UNKNOWN": 0}


def scan_time_ns(image_key: str, day: str) -> int:
    """A stable time of day for a scan (the nightly CI scan job, 02:00-05:59 UTC)."""
    h = int(sha256_hex("scan-time", image_key, day), 16)
    base = (date.fromisoformat(day) - date(1970, 1, 1)).days * 86400
    seconds = base + 2 * 3600 + h % (4 * 3600)
    return seconds * 1_000_000_000 + (h >> 20) % 1_000_000_000


def _fmt_ns(ns: int) -> str:
    from .util import rfc3339_ns

    return rfc3339_ns(ns)


def vulns_in_scan(version: ImageVersion, image_key: str, day: str) -> list[Vuln]:
    return [
        v
        for v in VULNS
        if v.image == image_key and version.tag in v.tags and v.published <= day
    ]


def _purl(image_key: str, version: ImageVersion, v: Vuln, lang: str) -> str:
    if v.pkg_class == "os-pkgs":
        if version.os_family == "alpine":
            return f"pkg:apk/alpine/{v.pkg}@{v.installed}?arch=x86_64&distro={version.os_name}"
        return f"pkg:deb/debian/{v.pkg}@{v.installed}?arch=amd64&distro=debian-{version.os_name}"
    if lang == "jar":
        group, art = v.pkg.split(":")
        return f"pkg:maven/{group}/{art}@{v.installed}"
    if lang == "node-pkg":
        return f"pkg:npm/{v.pkg}@{v.installed}"
    return f"pkg:golang/{v.pkg}@{v.installed}"


def trivy_vuln(image_key: str, version: ImageVersion, v: Vuln, day: str, lang: str) -> dict:
    fixed = bool(v.fixed) and bool(v.fix_seen) and v.fix_seen <= day
    layers = version.layers()
    layer = layers[0] if v.pkg_class == "os-pkgs" else layers[-1]
    pkg_id = f"{v.pkg}@{v.installed}" if lang != "jar" or v.pkg_class == "os-pkgs" else (
        f"{v.pkg}:{v.installed}"
    )
    out: dict = {"VulnerabilityID": v.cve, "PkgID": pkg_id, "PkgName": v.pkg}
    if v.pkg_class == "lang-pkgs":
        if lang == "jar":
            art = v.pkg.split(":")[1]
            out["PkgPath"] = f"app/{version.name}.jar/BOOT-INF/lib/{art}-{v.installed}.jar"
        elif lang == "node-pkg":
            out["PkgPath"] = f"app/node_modules/{v.pkg}/package.json"
    out["PkgIdentifier"] = {
        "PURL": _purl(image_key, version, v, lang),
        "UID": sha256_hex("uid", version.repo, v.pkg, v.installed)[:16],
    }
    out["InstalledVersion"] = v.installed
    if fixed:
        out["FixedVersion"] = v.fixed
        out["Status"] = "fixed"
    else:
        out["Status"] = v.status_unfixed
    out["Layer"] = {"Digest": layer[0], "DiffID": layer[1]}
    source = "nvd" if v.pkg_class == "os-pkgs" else "ghsa"
    out["SeveritySource"] = source
    out["PrimaryURL"] = f"https://avd.aquasec.com/nvd/{v.cve.lower()}"
    ds_key = version.os_family if v.pkg_class == "os-pkgs" else lang
    out["DataSource"] = DATA_SOURCES[ds_key]
    out["Fingerprint"] = "sha256:" + sha256_hex("fp", version.repo_digest, v.cve, v.pkg)
    out["Title"] = v.title
    out["Description"] = (
        f"{v.title.split(': ', 1)[1].capitalize()}. A remote or local attacker able to reach the "
        f"affected code path in {v.pkg} could exploit this issue; see the vendor advisory for "
        "the affected version ranges."
    )
    out["Severity"] = v.severity
    out["CweIDs"] = [v.cwe]
    vendor = {"nvd": SEV_NUM[v.severity]}
    vendor["ghsa" if v.pkg_class == "lang-pkgs" else version.os_family] = max(
        1, SEV_NUM[v.severity] - (1 if v.severity in ("HIGH", "MEDIUM") else 0)
    )
    out["VendorSeverity"] = dict(sorted(vendor.items()))
    out["CVSS"] = {"nvd": {"V3Vector": v.vector, "V3Score": v.cvss}}
    out["References"] = [
        f"https://nvd.nist.gov/vuln/detail/{v.cve}",
        f"https://www.cve.org/CVERecord?id={v.cve}",
    ]
    out["PublishedDate"] = f"{v.published}T15:15:00.000Z"
    out["LastModifiedDate"] = f"{max(v.published, v.fix_seen or v.published)}T09:30:00.000Z"
    return out


def trivy_image_report(image_key: str, tag: str, day: str) -> dict:
    image = IMAGES[image_key]
    version = image.version(tag)
    tver = trivy_version(day)
    ns = scan_time_ns(image_key, day)
    lang = image.lang
    layers = version.layers()
    report: dict = {"SchemaVersion": 2, "Trivy": {"Version": tver}}
    report["ReportID"] = uuid7(ns // 1_000_000, image_key, day)
    report["CreatedAt"] = _fmt_ns(ns)
    if tver >= "0.68":
        report["ArtifactID"] = version.image_id
    report["ArtifactName"] = f"{version.repo}:{tag}"
    report["ArtifactType"] = "container_image"
    meta: dict = {"Size": 40_000_000 + int(sha256_hex("size", version.repo, tag)[:6], 16) * 8}
    if version.os_family != "none":
        meta["OS"] = {"Family": version.os_family, "Name": version.os_name}
    meta["ImageID"] = version.image_id
    meta["DiffIDs"] = [diff for _, diff in layers]
    meta["RepoTags"] = [f"{version.repo}:{tag}"]
    meta["RepoDigests"] = [version.repo_digest]
    meta["Reference"] = f"{version.repo}:{tag}"
    meta["ImageConfig"] = {
        "architecture": "amd64",
        "created": f"{version.built}T11:02:17.33812Z",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in layers]},
        "config": {
            "Entrypoint": [f"/usr/local/bin/{version.name}"],
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": {
                "org.opencontainers.image.source": f"https://git.northwind.example/{version.name}"
                if image.bespoke
                else f"https://{version.repo.split('/')[0]}/{version.name}",
                "org.opencontainers.image.version": tag,
            },
        },
    }
    meta["Layers"] = [
        {"Size": 1_000_000 + int(sha256_hex("lsize", lyr)[:5], 16) * 20, "Digest": lyr,
         "DiffID": diff}
        for lyr, diff in layers
    ]
    report["Metadata"] = meta
    found = vulns_in_scan(version, image_key, day)
    results = []
    if version.os_family != "none":
        os_vulns = [trivy_vuln(image_key, version, v, day, lang) for v in found
                    if v.pkg_class == "os-pkgs"]
        res: dict = {
            "Target": f"{version.repo}:{tag} ({version.os_family} {version.os_name})",
            "Class": "os-pkgs",
            "Type": version.os_family,
        }
        if os_vulns:
            res["Vulnerabilities"] = os_vulns
        results.append(res)
    if image_key in LANG_TARGET:
        target, typ = LANG_TARGET[image_key]
        lang_vulns = [trivy_vuln(image_key, version, v, day, lang) for v in found
                      if v.pkg_class == "lang-pkgs"]
        res = {"Target": target, "Class": "lang-pkgs", "Type": typ}
        if lang_vulns:
            res["Vulnerabilities"] = lang_vulns
        results.append(res)
    if results:
        report["Results"] = results
    return report


def write_trivy_images(out: Output) -> list[dict]:
    """One JSON report per image per scan date; returns the scan index rows."""
    index = []
    for image_key in sorted(SCAN_DATES):
        for day in SCAN_DATES[image_key]:
            tag = version_for_scan(image_key, day)
            report = trivy_image_report(image_key, tag, day)
            name = IMAGES[image_key].version(tag).name
            rel = f"scans/trivy/images/{day}_{name}_{tag}.json"
            n = sum(len(r.get("Vulnerabilities", [])) for r in report.get("Results", []))
            out.write_text(rel, go_json(report, indent=2) + "\n", "trivy-json", n,
                           note=f"{IMAGES[image_key].repo}:{tag}")
            index.append({"image": image_key, "tag": tag, "day": day, "path": rel})
    return index


# --------------------------------------------------------------------------- trivy k8s

KSV = {
    "KSV001": ("Process can elevate its own privileges", "MEDIUM",
               "should set 'securityContext.allowPrivilegeEscalation' to false",
               "Set 'set containers[].securityContext.allowPrivilegeEscalation' to 'false'."),
    "KSV009": ("Access to host network", "HIGH", "should not set 'spec.template.spec.hostNetwork' "
               "to true", "Do not set 'spec.template.spec.hostNetwork' to true."),
    "KSV010": ("Access to host PID", "HIGH", "should not set 'spec.template.spec.hostPID' to true",
               "Do not set 'spec.template.spec.hostPID' to true."),
    "KSV012": ("Runs as root user", "MEDIUM", "should set 'securityContext.runAsNonRoot' to true",
               "Set 'containers[].securityContext.runAsNonRoot' to true."),
    "KSV014": ("Root file system is not read-only", "HIGH",
               "should set 'securityContext.readOnlyRootFilesystem' to true",
               "Change 'containers[].securityContext.readOnlyRootFilesystem' to 'true'."),
    "KSV017": ("Privileged container", "HIGH", "should set 'securityContext.privileged' to false",
               "Change 'containers[].securityContext.privileged' to 'false'."),
    "KSV023": ("hostPath volumes mounted", "MEDIUM",
               "should not set 'spec.template.volumes.hostPath'",
               "Do not set 'spec.volumes[*].hostPath'."),
    "KSV044": ("No wildcard verb and resource roles", "CRITICAL",
               "Role permits wildcard verb on wildcard resource",
               "Create a role which does not permit wildcard verb on wildcard resource"),
    "KSV041": ("Do not allow management of secrets", "CRITICAL",
               "ClusterRole permits management of secret(s)",
               "Remove write permission verbs for resource 'secrets'"),
}


def _ksv_checks(security: str) -> dict[str, bool]:
    """KSV id -> failed? for the workload checks Trivy runs on a pod template."""
    p = specs.POD_SECURITY[security]
    pod, ctr, host = p.get("pod", {}), p.get("container", {}), p.get("host", {})
    non_root = pod.get("runAsNonRoot") or ctr.get("runAsNonRoot")
    return {
        "KSV001": ctr.get("allowPrivilegeEscalation") is not False,
        "KSV009": bool(host.get("hostNetwork")),
        "KSV010": bool(host.get("hostPID")),
        "KSV012": not non_root or pod.get("runAsUser") == 0,
        "KSV014": not ctr.get("readOnlyRootFilesystem"),
        "KSV017": bool(ctr.get("privileged")),
        "KSV023": bool(p.get("hostPaths")),
    }


def _misconf(ksv: str, kind: str, name: str, container: str, failed: bool, line: int) -> dict:
    title, sev, msg, resolution = KSV[ksv]
    num = ksv[3:]
    if ksv in ("KSV044", "KSV041"):
        message = f"{kind} '{name}' {msg[0].lower() + msg[1:]}"
    else:
        message = f"Container '{container}' of {kind} '{name}' {msg}"
    entry = {
        "Type": "Kubernetes Security Check",
        "ID": ksv,
        "AVDID": f"AVD-KSV-{int(num):04d}",
        "Title": title,
        "Description": f"{title}: see the Kubernetes Pod Security Standards for the rationale.",
        "Message": message if failed else "No issues found",
        "Namespace": f"builtin.kubernetes.{ksv}",
        "Query": f"data.builtin.kubernetes.{ksv}.deny",
        "Resolution": resolution,
        "Severity": sev,
        "PrimaryURL": f"https://avd.aquasec.com/misconfig/{ksv.lower()}",
        "References": [f"https://avd.aquasec.com/misconfig/{ksv.lower()}"],
        "Status": "FAIL" if failed else "PASS",
        "Layer": {},
        "CauseMetadata": {"Provider": "Kubernetes", "Service": "general", "Code": {"Lines": None},
                          "RenderedCause": {}},
    }
    if failed:
        entry["CauseMetadata"] = {
            "Resource": f"{kind}/{name}",
            "Provider": "Kubernetes",
            "Service": "general",
            "StartLine": line,
            "EndLine": line + 6,
            "Code": {"Lines": None},
            "RenderedCause": {},
        }
    return entry


def trivy_k8s_report(day: str) -> dict:
    """``trivy k8s --report all --include-non-failures -f json`` of prod-eu1 on ``day``."""
    resources = []
    for w in sorted(WORKLOADS, key=lambda w: (w.namespace, w.kind, w.name)):
        if w.kind == "Job":
            continue
        tag = w.tag_at(day + "T12:00")
        version = IMAGES[w.image].version(tag)
        checks = _ksv_checks(w.security)
        misconfs = [
            _misconf(ksv, w.kind, w.name, w.name, failed, 120 + 3 * i)
            for i, (ksv, failed) in enumerate(sorted(checks.items()))
        ]
        fails = sum(1 for m in misconfs if m["Status"] == "FAIL")
        resources.append({
            "Namespace": w.namespace,
            "Kind": w.kind,
            "Name": w.name,
            "Metadata": {"ImageID": version.image_id, "RepoTags": [f"{version.repo}:{tag}"],
                         "RepoDigests": [version.repo_digest]},
            "Results": [{
                "Target": f"{w.kind}/{w.name}",
                "Class": "config",
                "Type": "kubernetes",
                "MisconfSummary": {"Successes": len(misconfs) - fails, "Failures": fails},
                "Misconfigurations": misconfs,
            }],
        })
    # RBAC assessment of the over-broad cluster roles.
    for name, checks in (("northwind-breakglass", {"KSV044": True, "KSV041": True}),
                         ("secret-reader", {"KSV044": False, "KSV041": False}),
                         ("argocd-manager-role", {"KSV044": True, "KSV041": True})):
        misconfs = [_misconf(k, "ClusterRole", name, "", f, 5) for k, f in sorted(checks.items())]
        fails = sum(1 for m in misconfs if m["Status"] == "FAIL")
        resources.append({
            "Kind": "ClusterRole",
            "Name": name,
            "Results": [{
                "Target": f"ClusterRole/{name}",
                "Class": "config",
                "Type": "kubernetes",
                "MisconfSummary": {"Successes": len(misconfs) - fails, "Failures": fails},
                "Misconfigurations": misconfs,
            }],
        })
    return {"SchemaVersion": 2, "ClusterName": CLUSTER, "Resources": resources}


def write_trivy_k8s(out: Output) -> None:
    for day in ("2026-06-26", "2026-09-28"):
        report = trivy_k8s_report(day)
        n = sum(len(r["Results"][0]["Misconfigurations"]) for r in report["Resources"])
        # trivy k8s reports carry no scan time: the folder names the day (--observed-at).
        out.write_text(f"scans/trivy/k8s/{day}/{CLUSTER}_misconfig.json",
                       go_json(report, indent=2) + "\n", "trivy-k8s-json", n)


# --------------------------------------------------------------------------- trivy fs (secrets)


def write_trivy_fs(out: Output) -> None:
    ns = scan_time_ns("payments-repo", "2026-09-21")
    code_line = {
        "Number": 14,
        "Content": "    access_key_id: ********************",
        "IsCause": True,
        "Annotation": "",
        "Truncated": False,
        "Highlighted": "    access_key_id: ********************",
        "FirstCause": True,
        "LastCause": True,
    }
    report = {
        "SchemaVersion": 2,
        "Trivy": {"Version": trivy_version("2026-09-21")},
        "ReportID": uuid7(ns // 1_000_000, "payments-repo"),
        "CreatedAt": _fmt_ns(ns),
        "ArtifactName": ".",
        "ArtifactType": "filesystem",
        "Metadata": {"ImageConfig": {"architecture": "", "created": "0001-01-01T00:00:00Z",
                                     "os": "", "rootfs": {"type": "", "diff_ids": None},
                                     "config": {}}},
        "Results": [
            {
                "Target": "deploy/config/application-staging.yaml",
                "Class": "secret",
                "Secrets": [{
                    "RuleID": "aws-access-key-id",
                    "Category": "AWS",
                    "Severity": "CRITICAL",
                    "Title": "AWS Access Key ID",
                    "StartLine": 14,
                    "EndLine": 14,
                    "Code": {"Lines": [code_line]},
                    "Match": "    access_key_id: ********************",
                    "Layer": {},
                }],
            },
            {
                "Target": "src/test/resources/tls/acquirer-client.key",
                "Class": "secret",
                "Secrets": [{
                    "RuleID": "private-key",
                    "Category": "AsymmetricPrivateKey",
                    "Severity": "HIGH",
                    "Title": "Asymmetric Private Key",
                    "StartLine": 1,
                    "EndLine": 1,
                    "Code": {"Lines": [{
                        "Number": 1,
                        "Content": "-----BEGIN RSA PRIVATE KEY-----" + "*" * 40
                        + "-----END RSA PRIVATE KEY",
                        "IsCause": True,
                        "Annotation": "",
                        "Truncated": False,
                        "FirstCause": True,
                        "LastCause": True,
                    }]},
                    "Match": "-----BEGIN RSA PRIVATE KEY-----" + "*" * 40
                    + "-----END RSA PRIVATE KEY",
                    "Layer": {},
                }],
            },
        ],
    }
    out.write_text("scans/trivy/fs/2026-09-21_payments-api-repo.json",
                   go_json(report, indent=2) + "\n", "trivy-json", 2,
                   note="trivy fs --scanners secret of the payments-api repository")
