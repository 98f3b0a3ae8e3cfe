-- Per tenant and signal kind: signals raised, and how many were followed by an outcome on the same account within 30 days (good: deal won, close date held, renewed; bad: deal lost, close date slipped, churned).
-- A signal counts once per column however many outcomes follow it; conversion = followed / signals.
-- Optional parameter: $tenant (NULL = every tenant).
WITH followed AS (
    SELECT
        s.tenant, s.signal_id, s.kind,
        count(o.outcome_id) AS outcomes,
        count(o.outcome_id) FILTER (WHERE o.kind IN ('deal_won', 'close_date_held', 'renewed')) AS good,
        count(o.outcome_id) FILTER (WHERE o.kind IN ('deal_lost', 'close_date_slipped', 'churned')) AS bad
    FROM signals s
    LEFT JOIN outcomes o
      ON o.tenant = s.tenant AND o.account_id = s.account_id
     AND o.observed_at >= s.observed_at AND o.observed_at < s.observed_at + INTERVAL '30' DAY
    WHERE $tenant IS NULL OR s.tenant = $tenant
    GROUP BY s.tenant, s.signal_id, s.kind
)
SELECT
    tenant,
    kind,
    count(*) AS signals,
    count(*) FILTER (WHERE outcomes > 0) AS followed_by_outcome,
    count(*) FILTER (WHERE good > 0) AS followed_by_good,
    count(*) FILTER (WHERE bad > 0) AS followed_by_bad,
    CAST(count(*) FILTER (WHERE outcomes > 0) AS DOUBLE) / count(*) AS conversion
FROM followed
GROUP BY tenant, kind
ORDER BY tenant, signals DESC, kind
