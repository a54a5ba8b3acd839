-- One row per connection between the CDE and a system outside the declared scope, either
-- direction (see controls/lib/flow_edges.sql for connections, zones and the matched approved
-- flow). Peers: namespaces the scope does not declare (zone out_of_scope) and the entity's own
-- addresses outside the CDE and connected ranges (zone internal). A peer the entity declares out
-- of scope (parameters) fails even when an approved flow covers the connection.
-- Rows name the requirement they evidence: 1.3.1 for connections into the CDE, 1.3.2 for
-- connections out of it.
WITH e AS (
    SELECT *,
        CASE WHEN src_zone = 'cde' THEN dst ELSE src END AS peer,
        CASE WHEN src_zone = 'cde' THEN dst_zone ELSE src_zone END AS peer_zone,
        CASE WHEN src_zone = 'cde' THEN dst_namespace ELSE src_namespace END AS peer_namespace,
        CASE WHEN src_zone = 'cde' THEN dst_ips ELSE src_ips END AS peer_ips,
        CASE WHEN src_zone = 'cde' THEN 'outbound' ELSE 'inbound' END AS direction
    FROM flow_edges
    WHERE (src_zone = 'cde' AND dst_zone IN ('out_of_scope', 'internal'))
       OR (dst_zone = 'cde' AND src_zone IN ('out_of_scope', 'internal'))
),
declared AS (
    SELECT e.*,
        (peer_zone = 'out_of_scope'
            AND list_contains(CAST($out_of_scope_namespaces AS VARCHAR[]), peer_namespace))
        OR (peer_zone = 'internal' AND coalesce(list_bool_or(list_transform(peer_ips, lambda peer_ip:
            coalesce(list_bool_or(list_transform(CAST($out_of_scope_cidrs AS VARCHAR[]), lambda c:
                -- IPv4 prefix arithmetic; an IPv6 entry matches only its exact /128 address
                CASE WHEN regexp_full_match(peer_ip, '\d+\.\d+\.\d+\.\d+')
                          AND regexp_full_match(c, '\d+\.\d+\.\d+\.\d+(/\d+)?') THEN
                    coalesce(try_cast(split_part(c, '/', 2) AS INTEGER), 32) = 0
                    OR (((CAST(split_part(peer_ip, '.', 1) AS BIGINT) << 24)
                         + (CAST(split_part(peer_ip, '.', 2) AS BIGINT) << 16)
                         + (CAST(split_part(peer_ip, '.', 3) AS BIGINT) << 8)
                         + CAST(split_part(peer_ip, '.', 4) AS BIGINT))
                        >> (32 - coalesce(try_cast(split_part(c, '/', 2) AS INTEGER), 32)))
                       = (((CAST(split_part(split_part(c, '/', 1), '.', 1) AS BIGINT) << 24)
                           + (CAST(split_part(split_part(c, '/', 1), '.', 2) AS BIGINT) << 16)
                           + (CAST(split_part(split_part(c, '/', 1), '.', 3) AS BIGINT) << 8)
                           + CAST(split_part(split_part(c, '/', 1), '.', 4) AS BIGINT))
                          >> (32 - coalesce(try_cast(split_part(c, '/', 2) AS INTEGER), 32)))
                     ELSE lower(peer_ip) = lower(replace(c, '/128', '')) END)), false))), false))
            AS declared_out_of_scope
    FROM e
)
SELECT
    edge AS resource,
    CASE WHEN NOT declared_out_of_scope AND matched_flow IS NOT NULL THEN 'pass' ELSE 'fail' END
        AS status,
    CASE
        WHEN declared_out_of_scope THEN
            'connection ' || CASE direction WHEN 'inbound' THEN 'into the CDE from ' ELSE 'from the CDE to ' END
            || peer || ', which the entity declares out of scope (' || records || ' record(s): '
            || records_by_format || ')'
            || CASE WHEN matched_flow IS NOT NULL
                    THEN '; approved flow ' || matched_flow || ' contradicts that: a system that talks to the CDE is connected-to'
                    ELSE '' END
        WHEN matched_flow IS NOT NULL THEN
            'approved flow ' || matched_flow || ' declares ' || peer
            || ' a connected-to system; add it to the declared scope'
        ELSE 'connection ' || CASE direction WHEN 'inbound' THEN 'into the CDE from ' ELSE 'from the CDE to ' END
            || CASE peer_zone WHEN 'out_of_scope' THEN 'namespace ' || peer || ' outside the declared scope'
                    ELSE 'address ' || peer || ' outside the CDE and connected ranges' END
            || ' (' || records || ' record(s): ' || records_by_format || '), and no approved flow covers it:'
            || ' segmentation does not isolate the CDE'
    END || CASE WHEN declared_out_of_scope OR matched_flow IS NULL
                THEN '; an observed path across the segmentation for the next segmentation test (11.4.5/11.4.6) to examine'
                ELSE '' END AS reason,
    source_sha256, locator,
    CASE direction WHEN 'inbound' THEN '1.3.1' ELSE '1.3.2' END AS requirement,
    direction, src, src_zone, dst, dst_zone, dst_port, protocol, peer_zone,
    declared_out_of_scope, records, records_by_format, bytes, first_seen, last_seen, flow_format,
    direction_basis, matched_flow, supporting_records
FROM declared
