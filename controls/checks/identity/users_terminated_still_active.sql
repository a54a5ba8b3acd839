-- One row per human account with a termination date in the current inventory snapshot.
-- The audit log and the RBAC snapshot add evidence of failure; without them a pass is noted as
-- not examined (and the check is Not Tested unless the inventory proves a failure).
WITH evidence AS (
    SELECT EXISTS (SELECT 1 FROM k8s_audit_events WHERE event_time >= $period_start
                   AND event_time < least($as_of, $period_end) + INTERVAL 1 DAY) AS audit,
        EXISTS (SELECT 1 FROM current_rbac_bindings) AS rbac
),
u AS (
    SELECT cu.*,
        coalesce(CAST(s.observed_at AS DATE), CAST($as_of AS DATE)) AS snapshot_date,
        cu.terminated + $grace_days AS deadline              -- last day access may still exist
    FROM current_users cu LEFT JOIN sources s USING (source_sha256)
    WHERE cu.user_type = 'human' AND cu.terminated IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY cu.user_id ORDER BY cu.source_sha256, cu.locator) = 1
),
act AS (   -- requests authenticated as the account after the deadline, up to the as-of date
    SELECT u.user_id,
        count(DISTINCT e.audit_id) AS requests_after_termination,
        min(e.event_time) AS first_request_after, max(e.event_time) AS last_request_after,
        arg_min(e.source_sha256, e.event_time) AS ev_sha256, arg_min(e.locator, e.event_time) AS ev_locator
    FROM u JOIN k8s_audit_events e ON e.username = u.k8s_username
    WHERE e.event_time >= u.deadline + 1 AND e.event_time < least($as_of, $period_end) + INTERVAL 1 DAY
    GROUP BY u.user_id
),
bind AS (  -- RBAC bindings in the current snapshot that still name the user
    SELECT u.user_id,
        list(DISTINCT b.kind || '/' || coalesce(b.namespace || '/', '') || b.name
             ORDER BY b.kind || '/' || coalesce(b.namespace || '/', '') || b.name) AS live_bindings,
        first(b.source_sha256 ORDER BY b.source_sha256, b.locator) AS b_sha256,
        first(b.locator ORDER BY b.source_sha256, b.locator) AS b_locator
    FROM u JOIN current_rbac_bindings b
      ON b.subject_kind = 'User' AND b.subject_principal = u.k8s_username
    GROUP BY u.user_id
),
j AS (
    SELECT u.*, a.requests_after_termination, a.first_request_after, a.last_request_after,
        a.ev_sha256, a.ev_locator, b.live_bindings, b.b_sha256, b.b_locator,
        u.terminated > least($as_of, $period_end) AS scheduled,
        coalesce(a.requests_after_termination, 0) > 0 AS used_after,
        coalesce(u.last_login >= u.deadline + 1, false) AS login_after,
        u.status = 'active' AND u.snapshot_date > u.deadline AS still_active,
        u.status = 'active' AND u.snapshot_date < u.terminated AS snapshot_too_old,
        b.live_bindings IS NOT NULL AS still_bound
    FROM u LEFT JOIN act a USING (user_id) LEFT JOIN bind b USING (user_id)
)
SELECT
    'user:' || user_id AS resource,
    CASE
        WHEN scheduled THEN 'not_applicable'
        WHEN used_after OR login_after OR still_active OR snapshot_too_old OR still_bound THEN 'fail'
        ELSE 'pass'
    END AS status,
    CASE
        WHEN scheduled THEN 'termination is scheduled for ' || terminated || ', after the evaluation date (the earlier of the as-of date and the period end)'
        WHEN used_after OR login_after OR still_active OR snapshot_too_old OR still_bound THEN
            'terminated ' || terminated || ': ' || concat_ws('; ',
                CASE WHEN used_after THEN requests_after_termination || ' API request(s) as '
                    || k8s_username || ' afterwards, first ' || strftime(first_request_after, '%Y-%m-%d %H:%M') || ' UTC' END,
                CASE WHEN login_after THEN 'signed in ' || strftime(last_login, '%Y-%m-%d %H:%M') || ' UTC' END,
                CASE WHEN still_active THEN 'still active in the inventory of ' || snapshot_date
                    || ' (' || (snapshot_date - terminated) || ' days later)' END,
                CASE WHEN snapshot_too_old THEN 'listed as active in an inventory of ' || snapshot_date
                    || ', before the termination; no later inventory shows it disabled' END,
                CASE WHEN still_bound THEN 'still named in RBAC binding(s) ' || array_to_string(live_bindings, ', ') END)
        WHEN status = 'active' THEN 'terminated ' || terminated || '; still active in the inventory of '
            || snapshot_date || ', which is allowed until the end of ' || deadline
        ELSE 'terminated ' || terminated || '; disabled'
             || CASE WHEN (SELECT audit FROM evidence) THEN ' and not used afterwards' ELSE '' END
    END || CASE WHEN NOT (scheduled OR used_after OR login_after OR still_active OR snapshot_too_old OR still_bound)
                THEN concat_ws('', CASE WHEN NOT (SELECT audit FROM evidence)
                                        THEN '; use after termination not examined: no audit log for the period' END,
                               CASE WHEN NOT (SELECT rbac FROM evidence)
                                        THEN '; remaining bindings not examined: no RBAC snapshot' END)
                ELSE '' END AS reason,
    CASE WHEN used_after THEN ev_sha256
         WHEN login_after OR still_active OR snapshot_too_old OR NOT still_bound THEN source_sha256
         ELSE b_sha256 END AS source_sha256,
    CASE WHEN used_after THEN ev_locator
         WHEN login_after OR still_active OR snapshot_too_old OR NOT still_bound THEN locator
         ELSE b_locator END AS locator,
    user_id, name, status AS account_status, k8s_username, terminated, snapshot_date, last_login,
    coalesce(requests_after_termination, 0) AS requests_after_termination,
    first_request_after, last_request_after, live_bindings
FROM j
