"""SARIF 2.1.0 logs from any tool (Trivy, Grype, Dockle, checkov, KICS, gitleaks...).

A record is one ``runs[].results[]`` entry. Each result goes to the table its
kind of finding belongs in:

- ``secret_findings``: secret scanners (gitleaks, trufflehog...), Trivy's
  ``Secret`` rules, or a rule tagged ``secret``;
- ``vulnerabilities``: Grype, Trivy's ``*PackageVulnerability`` rules, a rule
  tagged ``vulnerability``, or a ruleId that is a CVE/GHSA id;
- ``config_findings``: everything else (misconfigurations, linters, licences).

Each run is one ``scans`` row (the tool run over one target), even with no results.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from auditkit.ingest.base import (
    Format,
    LoadContext,
    LoadStats,
    ScanRows,
    as_dict,
    as_float,
    as_list,
    parse_time,
    severity_from_score,
    text_or_none,
)
from auditkit.ingest.trivy import split_image_ref
from auditkit.safeload import pointer

PARSER_VERSION = "1"

VULN_ID_RE = re.compile(r"^(CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3})", re.IGNORECASE)
SECRET_TOOLS = {"gitleaks", "trufflehog", "detect-secrets", "ggshield", "secretlint", "talisman"}
_LEVEL_SEVERITY = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
_KIND_STATUS = {
    "pass": "pass",
    "notapplicable": "pass",
    "informational": "info",
    "review": "warn",
    "open": "warn",
    "fail": "fail",
}
_TABLE_CLASS = {"vulnerabilities": "vuln", "secret_findings": "secret", "config_findings": "config"}
# Tools that run one kind of scan only: a run without results is a clean scan of that kind.
_TOOL_CLASS = {"grype": "vuln", **{name: "secret" for name in SECRET_TOOLS}}
_FIELD_RE = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,30}):[ \t]*(.*?)\s*$", re.MULTILINE)


def _is_sarif(doc: Any) -> bool:
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        return False
    schema = doc.get("$schema")
    return doc.get("version") == "2.1.0" or (isinstance(schema, str) and "sarif" in schema.lower())


def _text(message: Any) -> str | None:
    message = as_dict(message)
    return text_or_none(message.get("text")) or text_or_none(message.get("markdown"))


def _fields(text: str | None) -> dict[str, str]:
    """``Key: value`` lines of a Trivy/Grype message or help text, keys lower-cased."""
    found: dict[str, str] = {}
    for key, value in _FIELD_RE.findall(text or ""):
        found.setdefault(key.strip().lower(), value)
    return found


class _Rules:
    """Every rule of a run (driver and extensions), by id and by (component, index)."""

    def __init__(self, run: dict[str, Any]) -> None:
        tool = as_dict(run.get("tool"))
        components = [as_dict(tool.get("driver"))] + [
            as_dict(e) for e in as_list(tool.get("extensions"))
        ]
        self.by_index: dict[tuple[int, int], dict[str, Any]] = {}
        self.by_id: dict[str, dict[str, Any]] = {}
        for c_index, component in enumerate(components):
            for r_index, rule in enumerate(as_list(component.get("rules"))):
                rule = as_dict(rule)
                self.by_index[(c_index, r_index)] = rule
                rule_id = text_or_none(rule.get("id"))
                if rule_id is not None:
                    self.by_id.setdefault(rule_id, rule)

    def find(self, result: dict[str, Any]) -> dict[str, Any]:
        """The result's rule: by ``rule.index``/``ruleIndex`` first, then by id."""
        ref = as_dict(result.get("rule"))
        component = as_dict(ref.get("toolComponent")).get("index")
        c_index = component + 1 if isinstance(component, int) else 0
        r_index = ref.get("index", result.get("ruleIndex"))
        if isinstance(r_index, int) and (c_index, r_index) in self.by_index:
            return self.by_index[(c_index, r_index)]
        rule_id = result.get("ruleId") or ref.get("id")
        return self.by_id.get(rule_id, {}) if isinstance(rule_id, str) else {}


def _classify(tool: str, rule: dict[str, Any], rule_id: str) -> str:
    tags = {str(t).lower() for t in as_list(as_dict(rule.get("properties")).get("tags"))}
    name = str(rule.get("name") or "")
    if tool in SECRET_TOOLS or name == "Secret" or "secret" in tags:
        return "secret_findings"
    if (
        tool == "grype"
        or name.endswith("PackageVulnerability")
        or "vulnerability" in tags
        or VULN_ID_RE.match(rule_id)
    ):
        return "vulnerabilities"
    return "config_findings"


def _severity(result: dict[str, Any], rule: dict[str, Any]) -> tuple[str, str | None, str]:
    """(severity, raw value, source): ``security-severity`` first, then the SARIF level."""
    for props in (as_dict(result.get("properties")), as_dict(rule.get("properties"))):
        raw = props.get("security-severity")
        score = as_float(raw)
        if score is not None:
            return severity_from_score(score), str(raw), "security-severity"
    level = result.get("level") or as_dict(rule.get("defaultConfiguration")).get("level")
    level = level if isinstance(level, str) else "warning"  # SARIF §3.27.10: absent = warning
    return _LEVEL_SEVERITY.get(level, "unknown"), level, "level"


def _suppression(result: dict[str, Any]) -> str | None:
    """Why the result is suppressed, or None. A suppression still under review or
    rejected (``status``) does not suppress (SARIF §3.27.23)."""
    entries = [as_dict(s) for s in as_list(result.get("suppressions"))]
    if not entries or any(s.get("status") in ("underReview", "rejected") for s in entries):
        return None
    parts = [
        " ".join(str(p) for p in (s.get("kind") or "suppressed", s.get("justification")) if p)
        for s in entries
    ]
    return "; ".join(parts)


def _location(run: dict[str, Any], result: dict[str, Any]) -> tuple[str | None, int | None]:
    """(target, start line) from the first location; a result may have none."""
    first = as_dict(next(iter(as_list(result.get("locations"))), None))
    physical = as_dict(first.get("physicalLocation"))
    artifact = as_dict(physical.get("artifactLocation"))
    uri = text_or_none(artifact.get("uri"))
    base_id = artifact.get("uriBaseId")
    bases = as_dict(run.get("originalUriBaseIds"))
    if uri and isinstance(base_id, str) and base_id in bases:
        base = text_or_none(as_dict(bases[base_id]).get("uri"))
        uri = urljoin(base, uri) if base else uri
    if uri is None:
        logical = as_dict(next(iter(as_list(first.get("logicalLocations"))), None))
        uri = text_or_none(logical.get("fullyQualifiedName")) or text_or_none(logical.get("name"))
    line = as_dict(physical.get("region")).get("startLine")
    return uri, line if isinstance(line, int) and not isinstance(line, bool) else None


def _vuln(tool: str, rule_id: str, rule: dict[str, Any], message: str | None) -> dict[str, Any]:
    # Trivy's message names the package; Grype's rule is per (vulnerability, package),
    # so its help text is the fallback. A Trivy rule's help names only the first package.
    fields = _fields(message)
    if "package" not in fields:
        fields = _fields(_text(rule.get("help")))
    pkg = text_or_none(fields.get("package"))
    match = VULN_ID_RE.match(rule_id)
    vuln_id = match.group(1) if match else rule_id
    if not match and tool == "grype" and pkg and rule_id.endswith("-" + pkg):
        vuln_id = rule_id[: -len(pkg) - 1]  # grype's rule id is "<vulnerability>-<package>"
    props = as_dict(rule.get("properties"))
    fixed = text_or_none(fields.get("fixed version") or fields.get("fix version"))
    purls = [p for p in as_list(props.get("purls")) if isinstance(p, str)]
    score = as_float(props.get("cvssv3_baseScore"))
    vector = text_or_none(props.get("cvssv3_vector"))
    if score is None:
        score, vector = (
            as_float(props.get("cvssv2_score")),
            text_or_none(props.get("cvssv2_vector")),
        )
    return {
        "vuln_id": vuln_id,
        "aliases": None,
        "pkg_name": pkg,
        "pkg_type": text_or_none(fields.get("type")),
        "pkg_path": None,
        "purl": purls[0] if purls else None,
        "installed_version": text_or_none(fields.get("installed version") or fields.get("version")),
        "fixed_version": fixed,
        "fix_state": "fixed" if fixed else "unknown",
        "status_raw": None,
        "cvss_score": score,
        "cvss_vector": vector,
        "published_at": None,
    }


def _run_scan(rows: ScanRows, run: dict[str, Any], locator: str) -> str:
    """The run's ``scans`` row: image identity from ``run.properties`` (Trivy)."""
    props = as_dict(run.get("properties"))
    digests = [d for d in as_list(props.get("repoDigests")) if isinstance(d, str) and d]
    tags = [t for t in as_list(props.get("repoTags")) if isinstance(t, str) and t]
    name = text_or_none(props.get("imageName"))
    fields: dict[str, Any] = {"artifact_name": name}
    if name or digests or props.get("imageID"):  # Trivy puts image identity here
        named = tags[0] if tags else name
        repo, tag, digest = split_image_ref(digests[0] if digests else named)
        if tag is None and named:
            tag = split_image_ref(named)[1]
        fields.update(image_repo=repo, image_tag=tag, image_digest=digest)
        fields["image_id"] = text_or_none(props.get("imageID"))
    kind = "image" if "image_repo" in fields else "other"
    return rows.scan(locator, kind, **fields)


def _result_row(
    tool: str, run: dict[str, Any], result: dict[str, Any], rule: dict[str, Any], rule_id: str
) -> tuple[str, dict[str, Any]]:
    """The table a result belongs in and its row (without the provenance columns)."""
    table = _classify(tool, rule, rule_id)
    severity, raw, severity_source = _severity(result, rule)
    message = _text(result.get("message"))
    target, line = _location(run, result)
    title = _text(rule.get("shortDescription")) or text_or_none(rule.get("name"))
    suppression = _suppression(result)
    row: dict[str, Any] = {"severity": severity, "severity_raw": raw, "target": target}
    row["title"] = title
    if table == "vulnerabilities":
        row.update(_vuln(tool, rule_id, rule, message))
        row.update(severity_source=severity_source, suppression=suppression)
        row["suppressed"] = suppression is not None
    elif table == "secret_findings":
        # Only Trivy's "Match:" line is known to be redacted; never store another tool's text.
        masked = _fields(message).get("match") if tool == "trivy" else None
        row.update(rule_id=rule_id, category=None, start_line=line, layer_digest=None)
        row.update(masked_match=masked, suppression=suppression)
        row["suppressed"] = suppression is not None
    else:
        kind = str(result.get("kind") or "fail")
        status = "exception" if suppression else _KIND_STATUS.get(kind.lower(), "fail")
        row.update(rule_id=rule_id, status=status, status_raw=kind, message=message)
        row.update(remediation=_text(rule.get("help")), suppression=suppression)
    return table, row


def _load(ctx: LoadContext) -> LoadStats:
    stored = LoadStats()
    for r_index, run in enumerate(ctx.sniff.document["runs"]):
        run_loc = "#" + pointer("runs", r_index)
        if not isinstance(run, dict):
            ctx.reject(run_loc, "run is not an object")
            continue
        driver = as_dict(as_dict(run.get("tool")).get("driver"))
        tool = (text_or_none(driver.get("name")) or "unknown").strip()
        version = text_or_none(driver.get("version")) or text_or_none(driver.get("semanticVersion"))
        invocation = as_dict(next(iter(as_list(run.get("invocations"))), None))
        when = parse_time(invocation.get("startTimeUtc") or invocation.get("endTimeUtc"))
        rows = ScanRows(ctx, tool.lower(), scanner_version=version, scanned_at=when)
        scan_id = _run_scan(rows, run, run_loc)
        # What the run examined: a dedicated scanner's own class, plus the classes of the
        # results it carries (a clean Trivy run shows nothing: SARIF lists findings only).
        classes = {_TOOL_CLASS[tool.lower()]} if tool.lower() in _TOOL_CLASS else set()
        rules = _Rules(run)
        results = run.get("results")
        if results is not None and not isinstance(results, list):
            ctx.reject(run_loc + "/results", "results is not a list")
        for i, result in enumerate(results if isinstance(results, list) else []):
            loc = f"{run_loc}/results/{i}"
            if not isinstance(result, dict):
                ctx.reject(loc, "result is not an object")
                continue
            rule = rules.find(result)
            rule_id = text_or_none(result.get("ruleId")) or text_or_none(rule.get("id"))
            if rule_id is None:
                ctx.reject(loc, "result without ruleId")
                continue
            table, row = _result_row(tool.lower(), run, result, rule, rule_id)
            rows.add(table, loc, scan_id, **row)
            classes.add(_TABLE_CLASS[table])
        rows.scans[-1]["scan_classes"] = sorted(classes)
        run_stats = rows.flush()
        stored.stored += run_stats.stored
        stored.widen(run_stats.time_min)
        stored.widen(run_stats.time_max)
    return stored


FORMATS = [
    Format(
        name="sarif",
        family="scans",
        description="SARIF 2.1.0 log from any tool (results routed by tool and rule)",
        parser_version=PARSER_VERSION,
        matches=lambda s: s.shape == "json-document" and _is_sarif(s.document),
        load=_load,
    ),
]
