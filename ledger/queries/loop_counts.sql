-- Per tenant: signals, proposals (and proposals by current status), executed and failed actions, ledger entries.
-- A proposal counts once, with its latest version's status; an action is executed when it succeeded.
-- Optional parameter: $tenant (NULL = every tenant).
WITH tenants AS (
    SELECT tenant FROM signals
    UNION SELECT tenant FROM proposals
    UNION SELECT tenant FROM decisions
    UNION SELECT tenant FROM actions
    UNION SELECT tenant FROM ledger_entries
),
latest_proposals AS (
    SELECT tenant, proposal_id, arg_max(status, version) AS status
    FROM proposals
    GROUP BY tenant, proposal_id
),
per_tenant AS (
    SELECT
        t.tenant,
        (SELECT count(*) FROM signals s WHERE s.tenant = t.tenant) AS signals,
        (SELECT count(*) FROM latest_proposals p WHERE p.tenant = t.tenant) AS proposals,
        (SELECT count(*) FROM actions a WHERE a.tenant = t.tenant AND a.status = 'succeeded') AS actions_executed,
        (SELECT count(*) FROM actions a WHERE a.tenant = t.tenant AND a.status = 'failed') AS actions_failed,
        (SELECT count(*) FROM ledger_entries l WHERE l.tenant = t.tenant) AS ledger_entries
    FROM tenants t
),
metrics AS (
    SELECT tenant, metric, value,
           CASE metric WHEN 'signals' THEN 1 WHEN 'proposals' THEN 2 WHEN 'actions_executed' THEN 4
                       WHEN 'actions_failed' THEN 5 ELSE 6 END AS position
    FROM (UNPIVOT per_tenant
          ON signals, proposals, actions_executed, actions_failed, ledger_entries
          INTO NAME metric VALUE value)
    UNION ALL
    SELECT tenant, 'proposals.' || status, count(*), 3
    FROM latest_proposals
    GROUP BY tenant, status
)
SELECT tenant, metric, value::BIGINT AS value
FROM metrics
WHERE $tenant IS NULL OR tenant = $tenant
ORDER BY tenant, position, metric
