-- Per tenant, for outcomes on accounts with and without an executed action before them: deals won and lost, win rate, renewals and churns, churn rate.
-- "With actions" means at least one action of a proposal on the account succeeded before the outcome (outcomes.prior_actions_executed > 0). Rates are NULL when nothing was decided.
-- Optional parameter: $tenant (NULL = every tenant).
SELECT
    tenant,
    prior_actions_executed > 0 AS with_actions,
    count(DISTINCT account_id) AS accounts,
    count(*) FILTER (WHERE kind = 'deal_won') AS deals_won,
    count(*) FILTER (WHERE kind = 'deal_lost') AS deals_lost,
    CAST(count(*) FILTER (WHERE kind = 'deal_won') AS DOUBLE)
        / nullif(count(*) FILTER (WHERE kind IN ('deal_won', 'deal_lost')), 0) AS win_rate,
    count(*) FILTER (WHERE kind = 'renewed') AS renewed,
    count(*) FILTER (WHERE kind = 'churned') AS churned,
    CAST(count(*) FILTER (WHERE kind = 'churned') AS DOUBLE)
        / nullif(count(*) FILTER (WHERE kind IN ('renewed', 'churned')), 0) AS churn_rate
FROM outcomes
WHERE $tenant IS NULL OR tenant = $tenant
GROUP BY tenant, prior_actions_executed > 0
ORDER BY tenant, with_actions DESC
