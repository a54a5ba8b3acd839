-- One row per image repository seen running in the assessment period, with the best component
-- inventory captured for it in the look-back: an SBOM (sbom_packages of a CycloneDX or SPDX
-- document naming the image) or a vulnerability scan of the image. A vulnerability scan lists
-- only the packages that have findings, so it counts only when it shows both OS and application
-- (language) packages; an SBOM counts when it lists packages, and for a bespoke image when they
-- include application packages.
-- Package class comes from the purl type, else the package type the tool reports.
WITH running AS (
    SELECT image_repo,
        CASE WHEN bool_or(zone = 'cde') THEN 'cde' WHEN bool_or(zone = 'connected') THEN 'connected'
             WHEN bool_or(zone = 'unknown') THEN 'unknown' ELSE 'out_of_scope' END AS zone,
        bool_or(matches_cde_image) AS matches_cde_image,
        coalesce(list(DISTINCT namespace ORDER BY namespace) FILTER (WHERE namespace IS NOT NULL),
                 []::VARCHAR[]) AS namespaces,
        list_sort(list_distinct(flatten(list(workloads)))) AS workloads,
        list_sort(list_distinct(flatten(list(image_digests)))) AS image_digests,
        arg_max({'sha': source_sha256, 'loc': locator}, (evidence_at, locator)) AS run_rec
    FROM workload_running_images
    WHERE in_period
    GROUP BY image_repo
),
classes AS (
    SELECT ['deb', 'rpm', 'apk', 'alpm', 'debian', 'ubuntu', 'alpine', 'redhat', 'centos', 'rocky',
            'alma', 'almalinux', 'amazon', 'oracle', 'photon', 'suse', 'sles', 'opensuse',
            'opensuse.leap', 'opensuse.tumbleweed', 'fedora', 'wolfi', 'chainguard', 'cbl-mariner',
            'azurelinux', 'mariner', 'bottlerocket', 'minimos', 'echo', 'coreos', 'operating-system',
            'os'] AS os_types,
           ['npm', 'yarn', 'pnpm', 'bun', 'node-pkg', 'pypi', 'pip', 'pipenv', 'poetry', 'uv',
            'python', 'python-pkg', 'conda', 'conda-pkg', 'gem', 'gemspec', 'bundler', 'maven',
            'jar', 'pom', 'gradle', 'sbt', 'java-archive', 'jenkins-plugin', 'golang', 'gomod',
            'gobinary', 'go-module', 'cargo', 'rust-crate', 'rustbinary', 'rust-binary', 'composer',
            'php-composer', 'nuget', 'dotnet', 'dotnet-core', 'packages-props', 'conan',
            'cocoapods', 'swift', 'hex', 'pub', 'dart-pub', 'hackage', 'cran', 'r-package',
            'lua-rock', 'luarocks', 'julia', 'elixir', 'erlang', 'rebar', 'mix'] AS lang_types
),
pkgs AS (
    -- Every package an SBOM lists, and every package a vulnerability scan reports, per document.
    SELECT 'SBOM' AS basis, s.scan_id, s.image_repo, s.artifact_name, s.image_digest, s.scanner,
        s.scanned_at, s.source_sha256, s.locator,
        lower(coalesce(nullif(regexp_extract(p.purl, '^pkg:([^/@?]+)/', 1), ''), p.pkg_type)) AS t,
        p.name AS pkg
    FROM scans s JOIN sbom_packages p USING (scan_id)
    WHERE s.scanned_at >= $lookback_start AND s.scanned_at < $as_of + INTERVAL 1 DAY
    UNION ALL
    SELECT 'vulnerability scan', s.scan_id, s.image_repo, s.artifact_name, s.image_digest, s.scanner,
        s.scanned_at, s.source_sha256, s.locator,
        lower(coalesce(nullif(regexp_extract(v.purl, '^pkg:([^/@?]+)/', 1), ''), v.pkg_type)),
        v.pkg_name
    FROM image_scans s JOIN vulnerabilities v USING (scan_id)
    WHERE s.scanned_at >= $lookback_start AND s.scanned_at < $as_of + INTERVAL 1 DAY
),
docs AS (
    SELECT basis, scan_id, any_value(scanner) AS scanner, any_value(scanned_at) AS scanned_at,
        any_value(image_digest) AS image_digest, any_value(source_sha256) AS source_sha256,
        any_value(locator) AS locator,
        -- The image the document describes: its repository, else (an SPDX document) its name.
        regexp_replace(regexp_replace(
            regexp_replace(regexp_replace(coalesce(any_value(image_repo), any_value(artifact_name), ''),
                                          '@sha256:[0-9a-f]+$', ''), ':[^:/]+$', ''),
            '^(docker\.io|index\.docker\.io|registry-1\.docker\.io)/', ''),
            '^library/([^/]+)$', '\1') AS image_repo,
        count(DISTINCT pkg) AS packages,
        count(DISTINCT pkg) FILTER (WHERE list_contains(c.os_types, t)) AS os_packages,
        count(DISTINCT pkg) FILTER (WHERE list_contains(c.lang_types, t)) AS language_packages
    FROM pkgs CROSS JOIN classes c
    GROUP BY basis, scan_id
),
judged_docs AS (
    SELECT d.*, r.image_repo IS NOT NULL AS for_running,
        CASE WHEN len(CAST($bespoke_prefixes AS VARCHAR[])) > 0
                 THEN len(list_filter(CAST($bespoke_prefixes AS VARCHAR[]),
                                      lambda p: starts_with(d.image_repo, p))) > 0
             ELSE coalesce(r.matches_cde_image, false) END AS bespoke
    FROM docs d JOIN running r USING (image_repo)
),
best AS (
    SELECT image_repo, count(*) FILTER (WHERE basis = 'SBOM') AS sbom_documents,
        arg_max({'basis': basis, 'at': scanned_at, 'scanner': scanner, 'digest': image_digest,
                 'sha': source_sha256, 'loc': locator, 'packages': packages,
                 'os': os_packages, 'lang': language_packages,
                 'ok': CASE WHEN basis = 'SBOM' THEN packages > 0 AND (NOT bespoke OR language_packages > 0)
                            ELSE os_packages > 0 AND language_packages > 0 END},
                (CASE WHEN basis = 'SBOM' THEN packages > 0 AND (NOT bespoke OR language_packages > 0)
                      ELSE os_packages > 0 AND language_packages > 0 END,
                 basis = 'SBOM', scanned_at, locator)) AS doc
    FROM judged_docs GROUP BY image_repo
),
judged AS (
    SELECT r.*, b.doc, coalesce(b.sbom_documents, 0) AS sbom_documents,
        CASE WHEN len(CAST($bespoke_prefixes AS VARCHAR[])) > 0
                 THEN len(list_filter(CAST($bespoke_prefixes AS VARCHAR[]),
                                      lambda p: starts_with(r.image_repo, p))) > 0
             ELSE r.matches_cde_image END AS bespoke
    FROM running r LEFT JOIN best b USING (image_repo)
)
SELECT
    image_repo AS resource,
    CASE WHEN zone = 'out_of_scope' THEN 'not_applicable'
         WHEN doc.ok THEN 'pass'
         ELSE 'fail' END AS status,
    CASE
        WHEN zone = 'out_of_scope' THEN
            'runs only in namespaces outside the declared CDE and connected scope ('
            || array_to_string(namespaces, ', ') || ')'
        WHEN doc IS NULL THEN
            'no SBOM and no vulnerability scan listing its packages was captured in the look-back'
        WHEN doc.ok AND doc.basis = 'SBOM' THEN
            'SBOM of ' || CAST(doc.at AS DATE) || ' (' || doc.scanner || ') lists ' || doc.packages
            || ' packages: ' || doc.os || ' OS, ' || doc.lang || ' application'
        WHEN doc.ok THEN
            'no SBOM, but the vulnerability scan of ' || CAST(doc.at AS DATE)
            || ' reports both OS (' || doc.os || ') and application (' || doc.lang || ') packages'
        WHEN doc.basis = 'SBOM' AND doc.packages = 0 THEN
            'the SBOM of ' || CAST(doc.at AS DATE) || ' lists no packages'
        WHEN doc.basis = 'SBOM' THEN
            'bespoke image: the SBOM of ' || CAST(doc.at AS DATE) || ' lists ' || doc.packages
            || ' packages but no application (language) dependencies'
        ELSE
            'no SBOM; the vulnerability scan of ' || CAST(doc.at AS DATE) || ' reports only '
            || CASE WHEN doc.lang > 0 THEN 'application' ELSE 'OS' END
            || ' packages, which does not show the full component inventory'
    END AS reason,
    CASE WHEN zone <> 'out_of_scope' AND doc IS NOT NULL THEN doc.sha ELSE run_rec.sha END
        AS source_sha256,
    CASE WHEN zone <> 'out_of_scope' AND doc IS NOT NULL THEN doc.loc ELSE run_rec.loc END
        AS locator,
    image_repo, zone, namespaces, workloads, image_digests, bespoke,
    doc.basis AS inventory_basis, CAST(doc.at AS DATE) AS inventory_at,
    doc.digest AS inventory_digest, doc.packages AS packages, doc.os AS os_packages,
    doc.lang AS language_packages, sbom_documents
FROM judged
