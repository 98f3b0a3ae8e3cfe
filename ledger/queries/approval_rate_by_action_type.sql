-- Per tenant and action type: proposals a human reviewed, approved, rejected, approval rate (approved / reviewed) and median hours from proposal to review decision.
-- A proposal counts once, by its latest review decision; time runs from the proposal's first version.
-- Optional parameter: $tenant (NULL = every tenant).
WITH proposal_facts AS (
    SELECT tenant, proposal_id,
           max_by(action_type, version) AS action_type,
           min(created_at) AS first_created_at
    FROM proposals
    GROUP BY tenant, proposal_id
),
final_reviews AS (
    SELECT tenant, proposal_id,
           max_by(outcome, decided_at) AS outcome,
           max(decided_at) AS decided_at
    FROM decisions
    WHERE stage = 'review'
    GROUP BY tenant, proposal_id
)
SELECT
    p.tenant,
    p.action_type,
    count(*) AS reviewed,
    count(*) FILTER (WHERE r.outcome = 'approve') AS approved,
    count(*) FILTER (WHERE r.outcome = 'reject') AS rejected,
    CAST(count(*) FILTER (WHERE r.outcome = 'approve') AS DOUBLE) / count(*) AS approval_rate,
    approx_percentile(date_diff('second', p.first_created_at, r.decided_at) / 3600.0, 0.5)
        AS median_hours_to_decision
FROM final_reviews r
JOIN proposal_facts p ON p.tenant = r.tenant AND p.proposal_id = r.proposal_id
WHERE $tenant IS NULL OR p.tenant = $tenant
GROUP BY p.tenant, p.action_type
ORDER BY p.tenant, p.action_type
