"""Other scanner shapes: Trivy SARIF, Grype JSON and Trivy CycloneDX (one file each).

The Trivy image reports themselves are written by ``trivy.py``.
"""

from __future__ import annotations

from .images import IMAGES, trivy_version
from .trivy import vulns_in_scan, write_trivy_fs, write_trivy_images, write_trivy_k8s
from .util import Output, go_json, sha256_hex, stable_uuid

# --------------------------------------------------------------------------- trivy SARIF

LEVEL = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note"}
SARIF_SCHEMA = ("https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/"
                "sarif-schema-2.1.0.json")


def write_trivy_sarif(out: Output) -> None:
    image_key, tag, day = "payments-api", "2.15.0", "2026-09-28"
    version = IMAGES[image_key].version(tag)
    found = vulns_in_scan(version, image_key, day)
    rules, results, index = [], [], {}
    artifact = f"{version.repo}:{tag}"
    for v in found:
        fixed = v.fixed if v.fix_seen and v.fix_seen <= day else ""
        kind = ("OsPackageVulnerability" if v.pkg_class == "os-pkgs"
                else "LanguageSpecificPackageVulnerability")
        if v.cve not in index:
            index[v.cve] = len(rules)
            link = f"https://avd.aquasec.com/nvd/{v.cve.lower()}"
            rules.append({
                "id": v.cve,
                "name": kind,
                "shortDescription": {"text": v.title},
                "fullDescription": {"text": v.title + "."},
                "defaultConfiguration": {"level": LEVEL[v.severity]},
                "helpUri": link,
                "help": {
                    "text": f"Vulnerability {v.cve}\nSeverity: {v.severity}\nPackage: {v.pkg}\n"
                            f"Fixed Version: {fixed}\nLink: [{v.cve}]({link})\n{v.title}.",
                    "markdown": f"**Vulnerability {v.cve}**\n| Severity | Package | Fixed Version |"
                                " Link |\n| --- | --- | --- | --- |\n"
                                f"|{v.severity}|{v.pkg}|{fixed}|[{v.cve}]({link})|\n\n{v.title}.",
                },
                "properties": {
                    "precision": "very-high",
                    "security-severity": f"{v.cvss:.1f}",
                    "tags": ["vulnerability", "security", v.severity],
                },
            })
        results.append({
            "ruleId": v.cve,
            "ruleIndex": index[v.cve],
            "level": LEVEL[v.severity],
            "message": {"text": f"Package: {v.pkg}\nInstalled Version: {v.installed}\n"
                                f"Vulnerability {v.cve}\nSeverity: {v.severity}\n"
                                f"Fixed Version: {fixed}\n"
                                f"Link: [{v.cve}](https://avd.aquasec.com/nvd/{v.cve.lower()})"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact, "uriBaseId": "ROOTPATH"},
                    "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                },
                "message": {"text": f"{artifact}: {v.pkg}@{v.installed}"},
            }],
        })
    doc = {
        "version": "2.1.0",
        "$schema": SARIF_SCHEMA,
        "runs": [{
            "tool": {"driver": {"fullName": "Trivy Vulnerability Scanner",
                                "informationUri": "https://github.com/aquasecurity/trivy",
                                "name": "Trivy", "rules": rules,
                                "version": trivy_version(day)}},
            "results": results,
            "columnKind": "utf16CodeUnits",
            "originalUriBaseIds": {"ROOTPATH": {"uri": "file:///"}},
            "properties": {"imageID": version.image_id, "imageName": artifact,
                           "repoDigests": [version.repo_digest], "repoTags": [artifact]},
        }],
    }
    out.write_text(f"scans/sarif/{day}_payments-api_{tag}.sarif", go_json(doc, indent=2) + "\n",
                   "sarif", len(results), note="trivy image -f sarif (same scan as the JSON)")


# --------------------------------------------------------------------------- grype


def write_grype(out: Output) -> None:
    image_key, tag, day = "postgres", "16.8", "2026-08-12"
    version = IMAGES[image_key].version(tag)
    layers = version.layers()
    matches = []
    for v in vulns_in_scan(version, image_key, day):
        fixed = bool(v.fixed and v.fix_seen and v.fix_seen <= day)
        sev = v.severity.title()
        matches.append({
            "vulnerability": {
                "id": v.cve,
                "dataSource": f"https://security-tracker.debian.org/tracker/{v.cve}",
                "namespace": "debian:distro:debian:12",
                "severity": sev,
                "urls": [f"https://security-tracker.debian.org/tracker/{v.cve}"],
                "cvss": [],
                "fix": {"versions": [v.fixed] if fixed else [],
                        "state": "fixed" if fixed else "not-fixed"},
                "advisories": [],
            },
            "relatedVulnerabilities": [{
                "id": v.cve,
                "dataSource": f"https://nvd.nist.gov/vuln/detail/{v.cve}",
                "namespace": "nvd:cpe",
                "severity": sev,
                "urls": [f"https://nvd.nist.gov/vuln/detail/{v.cve}"],
                "description": v.title.split(": ", 1)[1].capitalize() + ".",
                "cvss": [{
                    "source": "nvd@nist.gov",
                    "type": "Primary",
                    "version": "3.1",
                    "vector": v.vector,
                    "metrics": {"baseScore": v.cvss, "exploitabilityScore": 3.9,
                                "impactScore": 5.9},
                    "vendorMetadata": {},
                }],
            }],
            "matchDetails": [{
                "type": "exact-indirect-match",
                "matcher": "dpkg-matcher",
                "searchedBy": {"distro": {"type": "debian", "version": "12"},
                               "namespace": "debian:distro:debian:12",
                               "package": {"name": v.pkg.split("-")[0], "version": v.installed}},
                "found": {"vulnerabilityID": v.cve, "versionConstraint": "none (deb)"},
            }],
            "artifact": {
                "id": sha256_hex("grype-art", v.pkg, v.installed)[:16],
                "name": v.pkg,
                "version": v.installed,
                "type": "deb",
                "locations": [{"path": "/var/lib/dpkg/status", "layerID": layers[0][1]}],
                "language": "",
                "licenses": ["MIT"],
                "cpes": [f"cpe:2.3:a:{v.pkg}:{v.pkg}:{v.installed}:*:*:*:*:*:*:*"],
                "purl": f"pkg:deb/debian/{v.pkg}@{v.installed}?arch=amd64&distro=debian-12",
                "upstreams": [{"name": v.pkg.split("-")[0]}],
            },
        })
    doc = {
        "matches": matches,
        "source": {
            "type": "image",
            "target": {
                "userInput": f"{version.repo}:{tag}",
                "imageID": version.image_id,
                "manifestDigest": version.manifest_digest,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "tags": [f"{version.repo}:{tag}"],
                "imageSize": 158_112_431,
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": diff, "size": 1_000_000 + i * 7_777}
                           for i, (_, diff) in enumerate(layers)],
                "repoDigests": [version.repo_digest],
                "architecture": "amd64",
                "os": "linux",
            },
        },
        "distro": {"name": "debian", "version": "12", "idLike": []},
        "descriptor": {
            "name": "grype",
            "version": "0.92.2",
            "db": {"status": {
                "schemaVersion": "v6.0.2",
                "from": "https://grype.anchore.io/databases/v6/vulnerability-db_v6.0.2_"
                        "2026-08-11T01:32:08Z_1754876433.tar.zst",
                "built": "2026-08-11T01:32:08Z",
                "path": "/root/.cache/grype/db/6/vulnerability.db",
                "valid": True}},
            "timestamp": "2026-08-12T03:41:27.118462091Z",
        },
    }
    out.write_text(f"scans/grype/{day}_postgres_{tag}.json",
                   go_json(doc, indent=1).replace("\\u0026", "&") + "\n", "grype-json",
                   len(matches), note="grype -o json, second opinion on the card data store image")


# --------------------------------------------------------------------------- CycloneDX


def write_cyclonedx(out: Output) -> None:
    image_key, tag, day = "checkout-web", "4.6.0", "2026-09-14"
    version = IMAGES[image_key].version(tag)
    found = vulns_in_scan(version, image_key, day)
    root_ref = stable_uuid("cdx-root", version.repo, tag)
    os_ref = stable_uuid("cdx-os", version.repo, tag)
    components = [{
        "bom-ref": os_ref,
        "type": "operating-system",
        "name": "alpine",
        "version": version.os_name,
        "properties": [{"name": "aquasecurity:trivy:Class", "value": "os-pkgs"},
                       {"name": "aquasecurity:trivy:Type", "value": "alpine"}],
    }]
    packages = [("busybox", "1.37.0-r8", "os"), ("musl", "1.2.5-r9", "os"),
                ("cookie", "0.6.0", "npm"), ("express", "4.21.2", "npm"),
                ("fast-xml-parser", "4.5.3", "npm")]
    deps_os, deps_root = [], [os_ref]
    for name, ver, kind in packages:
        if kind == "os":
            purl = f"pkg:apk/alpine/{name}@{ver}?arch=x86_64&distro={version.os_name}"
            deps_os.append(purl)
        else:
            purl = f"pkg:npm/{name}@{ver}"
            deps_root.append(purl)
        comp = {"bom-ref": purl, "type": "library", "name": name, "version": ver, "purl": purl,
                "properties": [{"name": "aquasecurity:trivy:LayerDiffID",
                                "value": version.layers()[0 if kind == "os" else -1][1]}]}
        if kind == "npm":
            comp["properties"].insert(0, {"name": "aquasecurity:trivy:FilePath",
                                          "value": f"app/node_modules/{name}/package.json"})
        components.append(comp)
    vulns = []
    for v in found:
        purl = (f"pkg:apk/alpine/{v.pkg}@{v.installed}?arch=x86_64&distro={version.os_name}"
                if v.pkg_class == "os-pkgs" else f"pkg:npm/{v.pkg}@{v.installed}")
        fixed = bool(v.fixed and v.fix_seen and v.fix_seen <= day)
        entry = {
            "id": v.cve,
            "source": {"name": "nvd", "url": f"https://nvd.nist.gov/vuln/detail/{v.cve}"},
            "ratings": [
                {"source": {"name": "nvd"}, "score": v.cvss, "severity": v.severity.lower(),
                 "method": "CVSSv31", "vector": v.vector},
                {"source": {"name": "ghsa" if v.pkg_class == "lang-pkgs" else "alpine"},
                 "severity": v.severity.lower()},
            ],
            "cwes": [int(v.cwe.split("-")[1])],
            "description": v.title + ".",
            "advisories": [{"url": f"https://avd.aquasec.com/nvd/{v.cve.lower()}"}],
            "published": f"{v.published}T15:15:00+00:00",
            "updated": f"{max(v.published, v.fix_seen or v.published)}T09:30:00+00:00",
            "affects": [{"ref": purl, "versions": [{"version": v.installed,
                                                    "status": "affected"}]}],
        }
        if fixed:
            entry["recommendation"] = f"Upgrade {v.pkg} to version {v.fixed}"
        vulns.append(entry)
    doc = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:" + stable_uuid("cdx-serial", version.repo, tag, day),
        "version": 1,
        "metadata": {
            "timestamp": f"{day}T04:18:52+00:00",
            "tools": {"components": [{"type": "application",
                                      "manufacturer": {"name": "Aqua Security Software Ltd."},
                                      "group": "aquasecurity", "name": "trivy",
                                      "version": trivy_version(day)}]},
            "component": {
                "bom-ref": root_ref,
                "type": "container",
                "name": f"{version.repo}:{tag}",
                "purl": f"pkg:oci/checkout-web@{version.manifest_digest.replace(':', '%3A')}"
                        f"?repository_url={version.repo.replace('/', '%2F')}",
                "properties": [
                    {"name": "aquasecurity:trivy:ImageID", "value": version.image_id},
                    {"name": "aquasecurity:trivy:RepoDigest", "value": version.repo_digest},
                    {"name": "aquasecurity:trivy:RepoTag", "value": f"{version.repo}:{tag}"},
                    {"name": "aquasecurity:trivy:SchemaVersion", "value": "2"},
                ],
            },
        },
        "components": components,
        "dependencies": [{"ref": os_ref, "dependsOn": deps_os},
                         {"ref": root_ref, "dependsOn": deps_root}],
        "vulnerabilities": vulns,
    }
    out.write_text(f"scans/cyclonedx/{day}_checkout-web_{tag}.cdx.json",
                   go_json(doc, indent=2) + "\n", "cyclonedx-json", len(vulns),
                   note="trivy image -f cyclonedx --scanners vuln")


def write_all(out: Output) -> list[dict]:
    index = write_trivy_images(out)
    write_trivy_k8s(out)
    write_trivy_fs(out)
    write_trivy_sarif(out)
    write_grype(out)
    write_cyclonedx(out)
    return index
