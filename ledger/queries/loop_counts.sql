-- Per tenant: signals, proposals (and proposals by current status), executed and failed actions, ledger entries.
-- A proposal counts once, with its latest version's status; an action is executed when it succeeded.
-- Optional parameter: $tenant (NULL = every tenant).
WITH latest_proposals AS (
    SELECT tenant, proposal_id, max_by(status, version) AS status
    FROM proposals
    GROUP BY tenant, proposal_id
),
metrics AS (
    SELECT tenant, 'signals' AS metric, count(*) AS value, 1 AS position FROM signals GROUP BY tenant
    UNION ALL
    SELECT tenant, 'proposals', count(*), 2 FROM latest_proposals GROUP BY tenant
    UNION ALL
    SELECT tenant, 'proposals.' || status, count(*), 3 FROM latest_proposals GROUP BY tenant, status
    UNION ALL
    SELECT tenant, 'actions_executed', count(*) FILTER (WHERE status = 'succeeded'), 4
    FROM actions GROUP BY tenant
    UNION ALL
    SELECT tenant, 'actions_failed', count(*) FILTER (WHERE status = 'failed'), 5 FROM actions GROUP BY tenant
    UNION ALL
    SELECT tenant, 'ledger_entries', count(*), 6 FROM ledger_entries GROUP BY tenant
)
SELECT tenant, metric, CAST(value AS BIGINT) AS value
FROM metrics
WHERE $tenant IS NULL OR tenant = $tenant
ORDER BY tenant, position, metric
