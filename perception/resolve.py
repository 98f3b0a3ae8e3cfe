"""Entity resolution: which CRM account a telemetry row (or another CRM's record) is about.

A reference is matched, in order of trust, by
1. `explicit_id` — it is a CRM account id of the tenant,
2. `domain` — it (or the email/URL it contains) has the account's web domain,
3. `normalized_name` — it equals the account's name once case, punctuation and legal suffixes
   (Inc, LLC, GmbH, ...) are removed.
A reference matching several accounts at the first level it matches is `ambiguous` and is not linked
(a wrong link is worse than none). Every link keeps its reason; unresolved rows are quarantined with
one, never dropped. Matching never crosses tenants."""

from __future__ import annotations

import polars as pl

from perception.schemas import QUARANTINE

LINKS = pl.Schema({"tenant": pl.String, "ref": pl.String, "account_id": pl.String, "match_reason": pl.String})
LEGAL_SUFFIXES = ("inc", "incorporated", "llc", "ltd", "limited", "gmbh", "corp", "corporation", "co",
                  "company", "plc", "sa", "ag", "bv", "nv", "oy", "ab", "sarl", "pty", "srl", "kk")


def normalized_name(expr: pl.Expr) -> pl.Expr:
    words = expr.str.to_lowercase().str.replace_all(r"&", " and ").str.replace_all(r"[^a-z0-9]+", " ") \
        .str.strip_chars()
    suffix = r"(\s+(" + "|".join(LEGAL_SUFFIXES) + r"))+$"
    return words.str.replace(suffix, "").str.replace_all(r"\s+", " ")


def domain_of(expr: pl.Expr) -> pl.Expr:
    """The web domain in a URL, an email address or a bare domain; null when there is none."""
    text = expr.str.to_lowercase().str.strip_chars()
    host = text.str.replace(r"^[^@\s]*@", "").str.replace(r"^[a-z]+://", "").str.replace(r"^www\.", "") \
        .str.replace(r"[/:?#].*$", "")
    return pl.when(host.str.contains(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")).then(host).otherwise(None)


def resolve_accounts(refs: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Link each distinct (tenant, ref) to an account (LINKS schema); account_id is null when unresolved,
    with match_reason `unresolved` or `ambiguous: <level> matches N accounts`."""
    wanted = refs.select("tenant", pl.col("ref").cast(pl.String)).unique().with_columns(
        pl.col("ref").str.strip_chars().alias("__id"), domain_of(pl.col("ref")).alias("__domain"),
        normalized_name(pl.col("ref")).alias("__name"))
    known = accounts.select("tenant", "account_id", pl.col("domain").alias("__domain"),
                            normalized_name(pl.col("name")).alias("__name"))
    levels = [
        ("explicit_id", known.select("tenant", pl.col("account_id").alias("__id"), "account_id"), "__id"),
        ("domain", known.filter(pl.col("__domain").is_not_null()).select("tenant", "__domain", "account_id"),
         "__domain"),
        ("normalized_name", known.filter(pl.col("__name") != "").select("tenant", "__name", "account_id"),
         "__name"),
    ]
    links: list[pl.DataFrame] = []
    remaining = wanted
    for reason, table, column in levels:
        candidates = remaining.join(table, on=["tenant", column], how="inner") \
            .group_by("tenant", "ref").agg(pl.col("account_id").unique().alias("__ids"))
        single = candidates.filter(pl.col("__ids").list.len() == 1)
        many = candidates.filter(pl.col("__ids").list.len() > 1)
        links.append(single.select("tenant", "ref", pl.col("__ids").list.first().alias("account_id"),
                                   pl.lit(reason).alias("match_reason")))
        links.append(many.select("tenant", "ref", pl.lit(None, dtype=pl.String).alias("account_id"),
                                 pl.format("ambiguous: {} matches {} accounts", pl.lit(reason),
                                           pl.col("__ids").list.len()).alias("match_reason")))
        remaining = remaining.join(candidates.select("tenant", "ref"), on=["tenant", "ref"], how="anti")
    links.append(remaining.select("tenant", "ref", pl.lit(None, dtype=pl.String).alias("account_id"),
                                  pl.lit("unresolved").alias("match_reason")))
    return pl.concat([frame.cast(LINKS) for frame in links]).sort("tenant", "ref")  # type: ignore[arg-type]


def link_to_accounts(frame: pl.DataFrame, object_: str, key: str, accounts: pl.DataFrame
                     ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Rewrite the `account_id` of a canonical table whose source names accounts its own way (a domain,
    a workspace name) to the resolved CRM account id. Returns (linked rows, quarantine rows for the
    rows that could not be linked, the links used — with their match reasons)."""
    links = resolve_accounts(frame.select("tenant", pl.col("account_id").alias("ref")), accounts)
    joined = frame.join(links.rename({"account_id": "__resolved"}), left_on=["tenant", "account_id"],
                        right_on=["tenant", "ref"], how="left")
    good = joined.filter(pl.col("__resolved").is_not_null()) \
        .with_columns(pl.col("__resolved").alias("account_id")).select(frame.columns)
    bad = joined.filter(pl.col("__resolved").is_null()).select(
        pl.col("tenant"), pl.lit(object_).alias("object"), pl.col(key).cast(pl.String).alias("entity_id"),
        pl.format("unresolved_account: {} ({})", pl.col("account_id"), pl.col("match_reason"))
        .alias("reason"),
        pl.struct(frame.columns).struct.json_encode().alias("record"),
    ).cast(QUARANTINE)  # type: ignore[arg-type]
    return good, bad, links
