-- Per tenant and reason: proposals the policy stage forbade, by the policy that decided it (evaluation_error: the engine failed and denied closed).
-- A decision naming several determining policies counts once under each.
-- Optional parameter: $tenant (NULL = every tenant).
SELECT
    d.tenant,
    r.reason,
    count(*) AS denials,
    count(DISTINCT d.proposal_id) AS proposals_denied
FROM decisions d
CROSS JOIN UNNEST(split(coalesce(nullif(d.reasons, ''), 'unspecified'), ',')) AS r (reason)
WHERE d.stage = 'policy' AND d.outcome = 'forbidden'
  AND ($tenant IS NULL OR d.tenant = $tenant)
GROUP BY d.tenant, r.reason
ORDER BY d.tenant, denials DESC, r.reason
