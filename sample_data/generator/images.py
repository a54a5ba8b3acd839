"""Container images: versions and digests, the vulnerability catalogue, scan schedule.

Digests are derived from the repository and tag, so every file that names an
image (pod specs, scans, Falco alerts) agrees on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .util import digest
from .world import WORKLOADS

# --------------------------------------------------------------------------- images


@dataclass(frozen=True)
class ImageVersion:
    repo: str  # e.g. registry.northwind.example/payments/payments-api
    tag: str
    os_family: str
    os_name: str
    built: str  # ISO date the image was built

    @property
    def name(self) -> str:
        return self.repo.rsplit("/", 1)[1]

    @property
    def manifest_digest(self) -> str:
        return digest("manifest", self.repo, self.tag)

    @property
    def image_id(self) -> str:
        return digest("config", self.repo, self.tag)

    @property
    def ref(self) -> str:
        """The reference pods use: tag plus pinned digest."""
        return f"{self.repo}:{self.tag}@{self.manifest_digest}"

    @property
    def repo_digest(self) -> str:
        return f"{self.repo}@{self.manifest_digest}"

    def layers(self, n: int = 3) -> list[tuple[str, str]]:
        """(layer digest, diff id) pairs; the last layer holds the application."""
        base = self.os_name if self.os_family != "none" else self.repo
        out = []
        for i in range(n):
            key = (base, i) if i < n - 1 else (self.repo, self.tag, i)
            out.append((digest("layer", *key), digest("diffid", *key)))
        return out


@dataclass(frozen=True)
class Image:
    key: str  # short key used across the generator
    repo: str
    bespoke: bool
    lang: str  # jar | node-pkg | gobinary | none
    versions: tuple[ImageVersion, ...]

    def version(self, tag: str) -> ImageVersion:
        for v in self.versions:
            if v.tag == tag:
                return v
        raise KeyError(tag)


def _img(key, repo, bespoke, lang, os_family, versions):
    return Image(
        key=key,
        repo=repo,
        bespoke=bespoke,
        lang=lang,
        versions=tuple(
            ImageVersion(repo, tag, os_family, os_name, built) for tag, os_name, built in versions
        ),
    )


REG = "registry.northwind.example"
IMAGES = {
    i.key: i
    for i in [
        _img(
            "payments-api",
            f"{REG}/payments/payments-api",
            True,
            "jar",
            "debian",
            [
                ("2.11.0", "12.7", "2025-09-12"),
                ("2.12.0", "12.8", "2025-11-18"),
                ("2.13.0", "12.9", "2026-02-08"),
                ("2.14.0", "12.11", "2026-06-13"),
                ("2.15.0", "12.11", "2026-08-18"),
            ],
        ),
        _img(
            "card-vault",
            f"{REG}/payments/card-vault",
            True,
            "gobinary",
            "debian",
            [
                ("1.7.0", "12.7", "2025-08-29"),
                ("1.8.0", "12.9", "2026-01-18"),
                ("1.8.2", "12.11", "2026-06-30"),
                ("1.8.3", "12.11", "2026-08-17"),
            ],
        ),
        _img(
            "checkout-web",
            f"{REG}/web/checkout-web",
            True,
            "node-pkg",
            "alpine",
            [
                ("4.2.0", "3.20.3", "2025-09-10"),
                ("4.3.0", "3.21.0", "2025-12-09"),
                ("4.4.0", "3.21.3", "2026-03-17"),
                ("4.5.0", "3.22.0", "2026-06-01"),
                ("4.5.1", "3.22.1", "2026-07-21"),
                ("4.6.0", "3.22.1", "2026-09-14"),
            ],
        ),
        _img(
            "nginx",
            "docker.io/library/nginx",
            False,
            "none",
            "debian",
            [
                ("1.27.2", "12.7", "2025-10-02"),
                ("1.27.4", "12.9", "2026-02-05"),
                ("1.29.0", "12.11", "2026-06-24"),
            ],
        ),
        _img(
            "postgres",
            "docker.io/library/postgres",
            False,
            "none",
            "debian",
            [
                ("16.4", "12.7", "2025-08-08"),
                ("16.8", "12.9", "2026-02-20"),
            ],
        ),
        _img(
            "redis",
            "docker.io/library/redis",
            False,
            "none",
            "debian",
            [
                ("7.2.5", "12.7", "2025-07-30"),
                ("7.4.2", "12.11", "2026-06-20"),
            ],
        ),
        _img(
            "falco",
            "docker.io/falcosecurity/falco",
            False,
            "none",
            "debian",
            [
                ("0.40.0", "12.9", "2025-01-28"),
                ("0.41.3", "12.11", "2026-06-30"),
            ],
        ),
        _img(
            "fluent-bit",
            "docker.io/fluent/fluent-bit",
            False,
            "none",
            "debian",
            [
                ("3.2.4", "12.8", "2025-01-10"),
                ("4.0.3", "12.10", "2026-05-12"),
            ],
        ),
        _img(
            "node-exporter",
            "docker.io/prom/node-exporter",
            False,
            "gobinary",
            "none",
            [
                ("v1.8.2", "", "2024-07-14"),
                ("v1.9.1", "", "2026-03-28"),
            ],
        ),
        _img(
            "prometheus",
            "docker.io/prom/prometheus",
            False,
            "gobinary",
            "none",
            [
                ("v2.55.1", "", "2024-11-04"),
                ("v3.4.1", "", "2026-05-30"),
            ],
        ),
        _img(
            "kubectl",
            "docker.io/bitnami/kubectl",
            False,
            "gobinary",
            "debian",
            [
                ("1.30.2", "12.7", "2025-06-20"),
            ],
        ),
        _img(
            "ingress-nginx",
            "registry.k8s.io/ingress-nginx/controller",
            False,
            "gobinary",
            "alpine",
            [
                ("v1.11.3", "3.20.3", "2025-10-10"),
                ("v1.12.3", "3.21.3", "2026-04-28"),
            ],
        ),
    ]
}

# --------------------------------------------------------------------------- vulnerabilities


@dataclass(frozen=True)
class Vuln:
    cve: str
    image: str  # IMAGES key
    tags: tuple[str, ...]  # image versions that contain the vulnerable package
    pkg: str
    installed: str
    fixed: str  # "" when no fix exists (yet)
    pkg_class: str  # os-pkgs | lang-pkgs
    severity: str  # CRITICAL | HIGH | MEDIUM | LOW
    published: str  # ISO date
    fix_seen: str  # first scan date on which the scanner reports the fix ("" = never)
    title: str
    cvss: float
    vector: str
    cwe: str
    status_unfixed: str = "affected"


def _v(*args, **kw) -> Vuln:
    return Vuln(*args, **kw)


V_NET = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V_NET_LOW = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N"
V_LOCAL = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L"
V_DOS = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"

VULNS = [
    # --- scenario: critical, fix available since the 2026-07-06 scan, still running (6.3.3 FAIL)
    _v("CVE-2026-10231", "payments-api", ("2.13.0", "2.14.0", "2.15.0"), "libssl3",
       "3.0.15-1~deb12u1", "3.0.16-1~deb12u1", "os-pkgs", "CRITICAL", "2026-06-24", "2026-07-06",
       "openssl: heap overflow in TLS 1.3 key share parsing", 9.8, V_NET, "CWE-122"),
    # --- scenario: critical, no fix published (open, not overdue)
    _v("CVE-2026-13310", "payments-api", ("2.13.0", "2.14.0", "2.15.0"), "libxml2",
       "2.9.14+dfsg-1.3~deb12u1", "", "os-pkgs", "CRITICAL", "2026-07-29", "",
       "libxml2: use-after-free when parsing crafted XInclude documents", 9.1, V_NET, "CWE-416"),
    # --- scenario: high with a fix, still present (not a 6.3.3 case; 11.3.1 rescan FAIL)
    _v("CVE-2026-15520", "payments-api", ("2.13.0", "2.14.0", "2.15.0"),
       "com.fasterxml.jackson.core:jackson-databind", "2.17.1", "2.17.3", "lang-pkgs", "HIGH",
       "2026-04-29", "2026-05-06",
       "jackson-databind: unbounded recursion on deeply nested polymorphic input", 7.5, V_DOS,
       "CWE-674"),
    # --- previous quarter: critical fixed only after 69 days (6.3.3 FAIL in Q2, resolved in Q3)
    _v("CVE-2026-10044", "payments-api", ("2.12.0", "2.13.0"), "org.springframework:spring-web",
       "6.1.12", "6.1.19", "lang-pkgs", "CRITICAL", "2026-03-30", "2026-04-07",
       "spring-web: request header smuggling leads to authentication bypass", 9.4, V_NET,
       "CWE-444"),
    # --- scenario: critical fixed within the month (card-vault 1.8.3, PASS)
    _v("CVE-2026-12045", "card-vault", ("1.8.2",), "stdlib", "v1.22.9", "1.22.12, 1.23.6",
       "lang-pkgs", "CRITICAL", "2026-07-28", "2026-08-04",
       "golang: crypto/x509 accepts certificates with malformed name constraints", 9.1, V_NET,
       "CWE-295"),
    # --- scenario: critical fixed within the month (checkout-web 4.5.1, PASS)
    _v("CVE-2026-11873", "checkout-web", ("4.4.0", "4.5.0"), "fast-xml-parser", "4.4.1",
       "4.5.3", "lang-pkgs", "CRITICAL", "2026-07-02", "2026-07-09",
       "fast-xml-parser: prototype pollution through crafted entity names", 9.8, V_NET,
       "CWE-1321"),
    # --- previous quarter: critical in nginx, fix seen 2026-04-10, patched 2026-06-25 (Q2 FAIL)
    _v("CVE-2026-10877", "nginx", ("1.27.2", "1.27.4"), "libexpat1", "2.5.0-1+deb12u1",
       "2.5.0-1+deb12u2", "os-pkgs", "CRITICAL", "2026-04-01", "2026-04-10",
       "expat: integer overflow in XML_GetBuffer on 32-bit length fields", 9.8, V_NET, "CWE-190"),
    # --- critical without a fix in the card data store image (open, not overdue)
    _v("CVE-2026-14477", "postgres", ("16.8",), "libkrb5-3", "1.20.1-2+deb12u2", "",
       "os-pkgs", "CRITICAL", "2026-07-21", "",
       "krb5: double free in GSS-API token processing", 9.0, V_NET, "CWE-415"),
    # --- background findings (medium/low/high), realistic noise
    _v("CVE-2025-48211", "payments-api", ("2.11.0", "2.12.0", "2.13.0"), "zlib1g",
       "1:1.2.13.dfsg-1", "", "os-pkgs", "MEDIUM", "2025-10-17", "",
       "zlib: out-of-bounds read in inflateGetHeader with oversized extra field", 5.3, V_NET_LOW,
       "CWE-125", "will_not_fix"),
    _v("CVE-2025-50102", "payments-api", ("2.11.0", "2.12.0", "2.13.0", "2.14.0", "2.15.0"),
       "libc6", "2.36-9+deb12u9", "", "os-pkgs", "LOW", "2025-09-02", "",
       "glibc: stack exhaustion in regcomp with nested back-references", 3.3, V_LOCAL, "CWE-674"),
    _v("CVE-2025-61420", "card-vault", ("1.7.0", "1.8.0"), "golang.org/x/net", "v0.28.0",
       "0.33.0", "lang-pkgs", "MEDIUM", "2025-11-24", "2025-12-03",
       "golang.org/x/net: excessive memory use in HTTP/2 header decoding", 5.9, V_DOS, "CWE-770"),
    _v("CVE-2025-50102", "card-vault", ("1.7.0", "1.8.0", "1.8.2", "1.8.3"), "libc6",
       "2.36-9+deb12u9", "", "os-pkgs", "LOW", "2025-09-02", "",
       "glibc: stack exhaustion in regcomp with nested back-references", 3.3, V_LOCAL, "CWE-674"),
    _v("CVE-2026-20931", "checkout-web", ("4.5.0", "4.5.1", "4.6.0"), "busybox", "1.37.0-r8",
       "", "os-pkgs", "MEDIUM", "2026-05-19", "",
       "busybox: awk heap overflow with crafted format strings", 5.5, V_LOCAL, "CWE-787"),
    _v("CVE-2026-21005", "checkout-web", ("4.3.0", "4.4.0", "4.5.0", "4.5.1", "4.6.0"),
       "cookie", "0.6.0", "0.7.2", "lang-pkgs", "LOW", "2026-01-14", "2026-01-20",
       "cookie: cookie name can contain out-of-bounds characters", 3.7, V_NET_LOW, "CWE-74"),
    _v("CVE-2026-22788", "nginx", ("1.27.4", "1.29.0"), "libtiff6", "4.5.0-6+deb12u2", "",
       "os-pkgs", "MEDIUM", "2026-03-02", "", "libtiff: NULL dereference in TIFFReadRGBATile",
       6.5, V_DOS, "CWE-476"),
    _v("CVE-2025-50102", "postgres", ("16.4", "16.8"), "libc6", "2.36-9+deb12u9", "",
       "os-pkgs", "LOW", "2025-09-02", "",
       "glibc: stack exhaustion in regcomp with nested back-references", 3.3, V_LOCAL, "CWE-674"),
    _v("CVE-2026-23140", "postgres", ("16.4",), "libldap-2.5-0", "2.5.13+dfsg-5",
       "2.5.13+dfsg-5+deb12u1",
       "os-pkgs", "HIGH", "2026-01-08", "2026-01-13",
       "openldap: NULL pointer dereference in ber_get_next", 7.5, V_DOS, "CWE-476"),
    _v("CVE-2026-24419", "redis", ("7.2.5",), "libssl3", "3.0.13-1~deb12u1", "3.0.15-1~deb12u1",
       "os-pkgs", "HIGH", "2026-02-24", "2026-03-01",
       "openssl: out-of-bounds read in X.400 address processing", 7.4, V_NET, "CWE-125"),
    _v("CVE-2026-25010", "falco", ("0.40.0",), "libcurl4", "7.88.1-10+deb12u8",
       "7.88.1-10+deb12u12",
       "os-pkgs", "MEDIUM", "2026-04-16", "2026-04-22",
       "curl: credentials leak on cross-protocol redirect", 5.3, V_NET_LOW, "CWE-200"),
    _v("CVE-2026-25811", "fluent-bit", ("3.2.4",), "libyaml-0-2", "0.2.5-1", "", "os-pkgs",
       "LOW", "2026-02-02", "", "libyaml: assertion failure on crafted alias nodes", 3.3, V_LOCAL,
       "CWE-617"),
    _v("CVE-2026-26301", "node-exporter", ("v1.8.2",), "stdlib", "v1.22.5", "1.22.12, 1.23.6",
       "lang-pkgs", "MEDIUM", "2026-01-29", "2026-02-04",
       "golang: net/http header parsing accepts invalid line endings", 5.3, V_NET_LOW, "CWE-444"),
    _v("CVE-2026-26301", "prometheus", ("v2.55.1",), "stdlib", "v1.23.2", "1.22.12, 1.23.6",
       "lang-pkgs", "MEDIUM", "2026-01-29", "2026-02-04",
       "golang: net/http header parsing accepts invalid line endings", 5.3, V_NET_LOW, "CWE-444"),
    _v("CVE-2026-27702", "kubectl", ("1.30.2",), "k8s.io/client-go", "v0.30.2", "0.30.14",
       "lang-pkgs", "MEDIUM", "2026-03-18", "2026-03-25",
       "client-go: bearer token written to verbose logs on redirect", 4.4, V_LOCAL, "CWE-532"),
    _v("CVE-2026-28090", "ingress-nginx", ("v1.11.3",), "musl", "1.2.5-r0", "1.2.5-r1",
       "os-pkgs", "HIGH", "2026-02-11", "2026-02-16",
       "musl: iconv out-of-bounds write for crafted EUC-KR input", 7.3, V_LOCAL, "CWE-787"),
]

# --------------------------------------------------------------------------- scans

# Scan dates per image key. Bespoke images are scanned at build time and monthly;
# third-party images roughly monthly. card-vault has no scan at all in 2026-04..06
# (the missed quarter). The redis 7.4.2 digest running since 2026-07-14 was never
# scanned: the last redis scan is 2026-05-12.
SCAN_DATES = {
    "payments-api": ["2025-10-06", "2025-11-19", "2025-12-04", "2026-01-07", "2026-02-09",
                     "2026-03-05", "2026-04-07", "2026-05-06", "2026-06-14", "2026-07-06",
                     "2026-08-05", "2026-08-19", "2026-09-03", "2026-09-28"],
    "card-vault": ["2025-10-08", "2025-11-05", "2025-12-03", "2026-01-19", "2026-02-04",
                   "2026-03-04", "2026-07-01", "2026-08-04", "2026-08-18", "2026-09-02",
                   "2026-09-28"],
    "checkout-web": ["2025-10-09", "2025-11-10", "2025-12-09", "2026-01-12", "2026-02-09",
                     "2026-03-17", "2026-04-09", "2026-05-11", "2026-06-01", "2026-07-09",
                     "2026-07-22", "2026-08-10", "2026-09-14", "2026-09-28"],
    "nginx": ["2025-10-13", "2025-11-12", "2025-12-10", "2026-01-13", "2026-02-12",
              "2026-03-11", "2026-04-10", "2026-05-13", "2026-06-10", "2026-06-24",
              "2026-07-15", "2026-08-12", "2026-09-09", "2026-09-28"],
    "postgres": ["2025-10-14", "2025-11-12", "2025-12-10", "2026-01-13", "2026-02-11",
                 "2026-03-09", "2026-04-14", "2026-05-12", "2026-06-09", "2026-07-14",
                 "2026-08-12", "2026-09-09", "2026-09-28"],
    "redis": ["2025-11-12", "2026-02-11", "2026-05-12"],
    "falco": ["2025-10-15", "2025-12-10", "2026-01-14", "2026-03-11", "2026-04-15",
              "2026-05-13", "2026-06-10", "2026-07-14", "2026-08-12", "2026-09-09"],
    "fluent-bit": ["2025-10-15", "2025-11-12", "2026-01-14", "2026-02-11", "2026-04-15",
                   "2026-05-13", "2026-06-10", "2026-07-15", "2026-08-12", "2026-09-09"],
    "node-exporter": ["2025-10-15", "2025-12-10", "2026-01-14", "2026-03-11", "2026-04-07",
                      "2026-05-13", "2026-06-10", "2026-07-15", "2026-08-12", "2026-09-09"],
    "prometheus": ["2025-10-15", "2025-12-10", "2026-01-14", "2026-03-11", "2026-04-15",
                   "2026-06-09", "2026-07-15", "2026-08-12", "2026-09-09"],
    "kubectl": ["2025-10-16", "2026-01-15", "2026-04-16", "2026-07-16", "2026-09-10"],
    "ingress-nginx": ["2025-10-13", "2025-11-12", "2025-12-10", "2026-01-13", "2026-02-16",
                      "2026-03-11", "2026-04-28", "2026-05-13", "2026-06-10", "2026-07-15",
                      "2026-08-12", "2026-09-09"],
}

# Which version a scan on a given date looks at. A build scan (the image's build
# date, or the day after) looks at the new version; otherwise the running one.


def version_for_scan(image_key: str, day: str) -> str:
    image = IMAGES[image_key]
    for v in image.versions:
        if v.built <= day <= _plus_days(v.built, 1) and v.built >= "2025-09-01":
            return v.tag
    running = [w for w in WORKLOADS if w.image == image_key and w.namespace != "dev-sandbox"]
    if running:
        return running[0].tag_at(day + "T23:59")
    tag = image.versions[0].tag
    for v in image.versions:
        if v.built <= day:
            tag = v.tag
    return tag


def _plus_days(iso: str, n: int) -> str:
    return (date.fromisoformat(iso) + timedelta(days=n)).isoformat()


# --------------------------------------------------------------------------- misc

TRIVY_VERSIONS = [("2025-10-01", "0.67.2"), ("2026-01-01", "0.68.1"), ("2026-04-01", "0.69.1"),
                  ("2026-07-01", "0.70.0")]


def trivy_version(day: str) -> str:
    out = TRIVY_VERSIONS[0][1]
    for start, ver in TRIVY_VERSIONS:
        if day >= start:
            out = ver
    return out
