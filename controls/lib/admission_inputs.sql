-- Shared by the admission checks: which kinds of admission-control data the store holds for
-- the as-of date, one row per kind with how many records. Empty when nothing was ingested that
-- could show whether admission control enforces anything: Namespace objects carrying Pod
-- Security labels, admission policies or reports of the current policy snapshot, or admission
-- decisions in audit events up to the as-of date. (A Namespace without those labels says
-- nothing about Kyverno, Gatekeeper or ValidatingAdmissionPolicy, so it does not count.)
SELECT 'Pod Security labels' AS input, count(*) AS records FROM current_k8s_objects
WHERE kind = 'Namespace' AND contains(CAST(labels AS VARCHAR), 'pod-security.kubernetes.io/')
HAVING count(*) > 0
UNION ALL
SELECT 'admission policies', count(*) FROM current_admission_policies HAVING count(*) > 0
UNION ALL
SELECT 'policy reports and audit violations', count(*) FROM current_admission_results
WHERE origin <> 'audit-event' HAVING count(*) > 0
UNION ALL
SELECT 'admission decisions in audit events', count(*) FROM current_admission_results
WHERE origin = 'audit-event' AND result_time < least($as_of, $period_end) + INTERVAL 1 DAY HAVING count(*) > 0
