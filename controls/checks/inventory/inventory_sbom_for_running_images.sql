-- One row per image repository seen running in the assessment period, judged on the component
-- inventories captured for it in the look-back:
--   * an SBOM: the sbom_packages of a CycloneDX or SPDX document that names the image;
--   * for a third-party image only, a vulnerability scan of the image (image_scans): the image
--     reference identifies the third-party component and the scanner enumerated its packages.
--     A scan stores only the packages that have findings, so it is no inventory of a bespoke
--     image's own dependencies: a bespoke image needs an SBOM listing application packages.
-- Inventories are matched by digest: when the running specs pin digests, each running digest
-- needs an inventory of that digest (an inventory whose document names no digest, as SPDX
-- files do here, counts for every digest of its repository); otherwise any inventory of the
-- repository counts. Package class comes from the purl type, else the package type the tool reports.
-- A workload in a CDE or connected namespace whose spec became unknown during the period (a change
-- the audit log does not show: workload_spec_history) ran an image nobody can name: one failing
-- row per such workload, keyed "unknown image of <workload>", since no inventory can be shown for it.
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
bespoke AS (
    SELECT image_repo,
        CASE WHEN len(CAST($bespoke_prefixes AS VARCHAR[])) > 0
                 THEN len(list_filter(CAST($bespoke_prefixes AS VARCHAR[]),
                                      lambda p: starts_with(image_repo, p))) > 0
             ELSE matches_cde_image END AS bespoke
    FROM running
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
sboms AS (
    SELECT 'SBOM' AS basis, s.scan_id, any_value(s.scanner) AS scanner,
        any_value(s.scanned_at) AS scanned_at, any_value(s.image_digest) AS digest,
        any_value(s.source_sha256) AS source_sha256, any_value(s.locator) AS locator,
        -- The image the document describes: its repository, else (SPDX) its name.
        regexp_replace(regexp_replace(
            regexp_replace(regexp_replace(coalesce(any_value(s.image_repo), any_value(s.artifact_name), ''),
                                          '@sha256:[0-9a-f]+$', ''), ':[^:/]+$', ''),
            '^(docker\.io|index\.docker\.io|registry-1\.docker\.io)/', ''),
            '^library/([^/]+)$', '\1') AS image_repo,
        count(DISTINCT p.name) AS packages,
        count(DISTINCT p.name) FILTER (WHERE list_contains(c.os_types, p.t)) AS os_packages,
        count(DISTINCT p.name) FILTER (WHERE list_contains(c.lang_types, p.t)) AS language_packages
    FROM scans s
    JOIN (SELECT scan_id, name,
              lower(coalesce(nullif(regexp_extract(purl, '^pkg:([^/@?]+)/', 1), ''), pkg_type)) AS t
          FROM sbom_packages) p USING (scan_id)
    CROSS JOIN classes c
    WHERE s.scanned_at >= $lookback_start AND s.scanned_at < least($as_of, $period_end) + INTERVAL 1 DAY
    GROUP BY s.scan_id
),
vscans AS (
    SELECT 'vulnerability scan' AS basis, s.scan_id, any_value(s.scanner) AS scanner,
        any_value(s.scanned_at) AS scanned_at, any_value(s.image_digest) AS digest,
        any_value(s.source_sha256) AS source_sha256, any_value(s.locator) AS locator,
        any_value(s.image_repo) AS image_repo,
        count(DISTINCT v.pkg_name) AS packages, NULL::BIGINT AS os_packages,
        NULL::BIGINT AS language_packages
    FROM image_scans s LEFT JOIN vulnerabilities v USING (scan_id)
    WHERE s.scanned_at >= $lookback_start AND s.scanned_at < least($as_of, $period_end) + INTERVAL 1 DAY
    GROUP BY s.scan_id
),
docs AS (
    SELECT d.*, b.bespoke,
        CASE WHEN d.basis = 'SBOM' THEN d.packages > 0 AND (NOT b.bespoke OR d.language_packages > 0)
             ELSE NOT b.bespoke END AS qualifies
    FROM (SELECT * FROM sboms UNION ALL BY NAME SELECT * FROM vscans) d
    JOIN bespoke b USING (image_repo)
),
per_digest AS (
    -- Each running digest, or the repository itself when no digest is known.
    SELECT r.image_repo, d.digest AS running_digest
    FROM running r, unnest(CASE WHEN len(r.image_digests) > 0 THEN r.image_digests
                                ELSE [NULL::VARCHAR] END) AS d(digest)
),
covered AS (
    SELECT p.image_repo, p.running_digest,
        (SELECT arg_max({'basis': x.basis, 'at': x.scanned_at, 'scanner': x.scanner,
                         'digest': x.digest, 'sha': x.source_sha256, 'loc': x.locator,
                         'packages': x.packages, 'os': x.os_packages, 'lang': x.language_packages},
                        (x.basis = 'SBOM', x.scanned_at, x.locator))
           FROM docs x
          WHERE x.image_repo = p.image_repo AND x.qualifies
            AND (p.running_digest IS NULL OR x.digest IS NULL OR x.digest = p.running_digest)) AS doc
    FROM per_digest p
),
summary AS (
    SELECT image_repo,
        count(*) FILTER (WHERE doc IS NULL) AS uncovered,
        coalesce(list(running_digest ORDER BY running_digest)
                     FILTER (WHERE doc IS NULL AND running_digest IS NOT NULL), []::VARCHAR[])
            AS digests_without_inventory,
        arg_max(doc, (doc.basis = 'SBOM', doc.at, doc.loc)) AS doc
    FROM covered GROUP BY image_repo
),
best_any AS (
    -- The most telling document even when it does not qualify, to explain a failure.
    SELECT image_repo,
        arg_max({'basis': basis, 'at': scanned_at, 'packages': packages,
                 'sha': source_sha256, 'loc': locator},
                (basis = 'SBOM', scanned_at, locator)) AS doc,
        count(*) FILTER (WHERE basis = 'SBOM') AS sbom_documents
    FROM docs GROUP BY image_repo
),
judged AS (
    SELECT r.*, b.bespoke, s.uncovered, s.digests_without_inventory, s.doc,
        a.doc AS other_doc, coalesce(a.sbom_documents, 0) AS sbom_documents
    FROM running r JOIN bespoke b USING (image_repo) JOIN summary s USING (image_repo)
    LEFT JOIN best_any a USING (image_repo)
)
SELECT
    image_repo AS resource,
    CASE WHEN zone = 'out_of_scope' THEN 'not_applicable'
         WHEN uncovered = 0 THEN 'pass'
         ELSE 'fail' END AS status,
    CASE
        WHEN zone = 'out_of_scope' THEN
            'runs only in namespaces outside the declared CDE and connected scope ('
            || array_to_string(namespaces, ', ') || ')'
        WHEN uncovered = 0 AND doc.basis = 'SBOM' THEN
            'SBOM of ' || CAST(doc.at AS DATE) || ' (' || doc.scanner || ') lists ' || doc.packages
            || ' packages: ' || doc.os || ' OS, ' || doc.lang || ' application'
        WHEN uncovered = 0 THEN
            'third-party image identified by the vulnerability scan of ' || CAST(doc.at AS DATE)
            || ' (' || doc.scanner || '), which enumerated its packages'
        WHEN doc IS NOT NULL THEN
            'no inventory of the running digest(s) ' || array_to_string(digests_without_inventory, ', ')
            || '; the latest inventory is of ' || coalesce(doc.digest, 'another digest')
        WHEN bespoke AND sbom_documents > 0 THEN
            'bespoke image: its SBOM lists no application (language) dependencies'
        WHEN bespoke AND other_doc IS NOT NULL THEN
            'bespoke image without an SBOM: vulnerability scans list only packages with findings, '
            || 'not its application dependencies'
        WHEN other_doc IS NOT NULL THEN
            'no inventory of the running digest(s) ' || array_to_string(digests_without_inventory, ', ')
        ELSE 'no SBOM and no vulnerability scan of this image was captured in the look-back'
    END AS reason,
    -- A pass cites the inventory; a bespoke image's insufficient inventory cites that document;
    -- any other failure cites the record showing the image running.
    CASE WHEN zone = 'out_of_scope' THEN run_rec.sha
         WHEN uncovered = 0 THEN doc.sha
         WHEN doc IS NULL AND bespoke AND other_doc IS NOT NULL THEN other_doc.sha
         ELSE run_rec.sha END AS source_sha256,
    CASE WHEN zone = 'out_of_scope' THEN run_rec.loc
         WHEN uncovered = 0 THEN doc.loc
         WHEN doc IS NULL AND bespoke AND other_doc IS NOT NULL THEN other_doc.loc
         ELSE run_rec.loc END AS locator,
    image_repo, zone, namespaces, workloads, image_digests, bespoke,
    doc.basis AS inventory_basis, CAST(doc.at AS DATE) AS inventory_at,
    doc.digest AS inventory_digest, doc.packages AS packages, doc.os AS os_packages,
    doc.lang AS language_packages, sbom_documents, digests_without_inventory
FROM judged
UNION ALL BY NAME
SELECT
    'unknown image of ' || h.workload AS resource, 'fail' AS status,
    any_value(h.spec_detail ORDER BY h.valid_from)
        || ': which image ran is unknown, so no inventory of it can be shown' AS reason,
    any_value(h.change_sha256 ORDER BY h.valid_from) AS source_sha256,
    any_value(h.change_locator ORDER BY h.valid_from) AS locator,
    NULL::VARCHAR AS image_repo, any_value(z.zone) AS zone, [h.namespace] AS namespaces,
    [h.workload] AS workloads, []::VARCHAR[] AS image_digests, NULL::BOOLEAN AS bespoke,
    []::VARCHAR[] AS digests_without_inventory
FROM workload_spec_history h
JOIN scope_namespaces z ON z.namespace = h.namespace
WHERE h.spec_state = 'unknown' AND (h.valid_to IS NULL OR h.valid_to >= $period_start)
GROUP BY h.workload, h.namespace
