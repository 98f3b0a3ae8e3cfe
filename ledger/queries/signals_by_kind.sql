-- Per tenant and signal kind: signals raised, by severity, accounts affected, first and last observed.
-- Optional parameter: $tenant (NULL = every tenant).
SELECT
    tenant,
    kind,
    count(*) AS signals,
    count(*) FILTER (WHERE severity = 'high') AS high,
    count(*) FILTER (WHERE severity = 'medium') AS medium,
    count(*) FILTER (WHERE severity = 'low') AS low,
    count(DISTINCT account_id) AS accounts,
    min(observed_at) AS first_observed_at,
    max(observed_at) AS last_observed_at
FROM signals
WHERE $tenant IS NULL OR tenant = $tenant
GROUP BY tenant, kind
ORDER BY tenant, signals DESC, kind
