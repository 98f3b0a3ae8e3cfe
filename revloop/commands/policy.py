"""``revloop policy status|kill|resume|budget|validate|backtest``: operate the Cedar policy and its controls.

Register with ``app.add_typer(policy_app, name="policy")`` in revloop/cli.py (``from
revloop.commands.policy import app as policy_app``). Kill switches and budgets live in the state
database and take effect at the next classification; every change is ledgered with ``--by``."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revloop.settings import Settings, load_settings

if TYPE_CHECKING:
    from decisioning.controls import Controls

app = typer.Typer(help="Cedar policy: status, kill switches, budgets, validation and backtests.",
                  no_args_is_help=True)

PolicyDirOption = Annotated[Path | None, typer.Option(
    "--policy-dir", help="Policy directory (default: the shipped decisioning/policies).",
    file_okay=False)]
TenantOption = Annotated[str | None, typer.Option(help="One tenant (default: every tenant).")]
ActionTypeOption = Annotated[str | None, typer.Option(
    "--action-type", help="One action type, e.g. crm.update_field (default: every action type).")]
ByOption = Annotated[str | None, typer.Option(help="Who makes the change (default: cli:<os user>).")]


def _settings() -> Settings:
    settings = load_settings()
    settings.paths.ensure()
    return settings


def _controls(settings: Settings) -> Controls:
    from decisioning.controls import Controls
    from revloop.wiring import open_ledger, state_url

    return Controls(state_url(settings), open_ledger(settings))


def _by(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _scope(tenant: str | None, action_type: str | None) -> str:
    from decisioning.policy_control_records import scope_name

    return scope_name(tenant or "*", action_type or "*")


@app.command("status")
def status(policy_dir: PolicyDirOption = None, tenant: TenantOption = None) -> None:
    """Policy version and soundness, kill switches in force, and each tenant's budgets and usage today."""
    from decisioning.policy import CedarPolicyEngine

    settings = _settings()
    engine = CedarPolicyEngine(policy_dir)
    problems = engine.validate()
    typer.echo(f"policies: {engine.policy_dir} version {engine.policy_version}, "
               f"{len(engine.policy_ids)} policies, " + (f"{len(problems)} PROBLEMS (run `revloop policy "
                                                           "validate`)" if problems else "sound"))
    controls = _controls(settings)
    switches = controls.kill_switches()
    typer.echo("kill switches:" + ("" if switches else " none"))
    for switch in switches:
        typer.echo(f"  {switch.scope:<45} {switch.mode:<5} by {switch.set_by} at "
                   f"{switch.set_at.isoformat(timespec='seconds')}: {switch.reason}")
    budgets = {b.tenant: b for b in controls.budgets()}
    tenants = [tenant] if tenant else sorted(set(settings.tenants) | set(budgets))
    typer.echo("budgets (today, UTC):")
    for name in tenants:
        budget, used = budgets.get(name), controls.usage(name)
        actions = "unlimited" if budget is None or budget.max_actions_per_day is None \
            else str(budget.max_actions_per_day)
        spend = "unlimited" if budget is None or budget.max_spend_per_day_usd is None \
            else f"${budget.max_spend_per_day_usd:,.2f}"
        typer.echo(f"  {name:<20} automatic actions {used.actions} of {actions}; "
                   f"spend ${used.spend_usd:,.2f} of {spend}")


@app.command("kill")
def kill(
    reason: Annotated[str, typer.Option(help="Why (goes to the ledger).")],
    tenant: TenantOption = None,
    action_type: ActionTypeOption = None,
    pause: Annotated[bool, typer.Option(
        "--pause", help="Only stop automation: everything covered needs a human (default: stop all).")
    ] = False,
    by: ByOption = None,
) -> None:
    """Set a kill switch for a tenant, an action type, both, or (neither given) everything."""
    try:
        switch = _controls(_settings()).kill(tenant=tenant, action_type=action_type, by=_by(by),
                                             reason=reason, mode="pause" if pause else "stop")
    except ValueError as exc:
        raise _fail(f"kill switch not set: {exc}", 2) from exc
    what = "automation paused (a human decides)" if pause else "stopped (forbidden)"
    typer.echo(f"kill switch set: {switch.scope} {what} from the next classification; by {switch.set_by}")


@app.command("resume")
def resume(tenant: TenantOption = None, action_type: ActionTypeOption = None,
           reason: Annotated[str, typer.Option(help="Why (goes to the ledger).")] = "",
           by: ByOption = None) -> None:
    """Lift the kill switch of exactly this scope (the same --tenant/--action-type it was set with)."""
    try:
        lifted = _controls(_settings()).resume(tenant=tenant, action_type=action_type, by=_by(by),
                                               reason=reason)
    except ValueError as exc:
        raise _fail(f"nothing resumed: {exc}", 2) from exc
    if lifted is None:
        raise _fail(f"no kill switch is set for {_scope(tenant, action_type)}; see `revloop policy status`")
    typer.echo(f"kill switch lifted: {lifted.scope} (was {lifted.mode}, set by {lifted.set_by})")


@app.command("budget")
def budget(
    tenant: Annotated[str, typer.Argument(help="Tenant id.")],
    actions_per_day: Annotated[int | None, typer.Option(
        min=0, help="Automatic actions per UTC day; beyond it a human decides.")] = None,
    spend_per_day: Annotated[float | None, typer.Option(
        min=0.0, help="US dollars of cost estimates per UTC day; beyond it nothing runs.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the tenant's budgets.")] = False,
    reason: Annotated[str, typer.Option(help="Why (goes to the ledger).")] = "",
    by: ByOption = None,
) -> None:
    """Show, set or clear a tenant's daily budgets. Setting replaces both: an omitted one is unlimited."""
    controls = _controls(_settings())
    try:
        if clear:
            removed = controls.clear_budget(tenant, by=_by(by), reason=reason)
            typer.echo(f"{tenant}: budgets cleared" if removed else f"{tenant}: had no budgets")
            return
        if actions_per_day is not None or spend_per_day is not None:
            controls.set_budget(tenant, by=_by(by), max_actions_per_day=actions_per_day,
                                max_spend_per_day_usd=spend_per_day, reason=reason)
    except ValueError as exc:
        raise _fail(f"budget not changed: {exc}", 2) from exc
    found, used = controls.budget(tenant), controls.usage(tenant)
    if found is None:
        typer.echo(f"{tenant}: no budgets (unlimited); today {used.actions} automatic actions, "
                   f"${used.spend_usd:,.2f} spent")
        return
    actions = "unlimited" if found.max_actions_per_day is None else str(found.max_actions_per_day)
    spend = "unlimited" if found.max_spend_per_day_usd is None else f"${found.max_spend_per_day_usd:,.2f}"
    typer.echo(f"{tenant}: {actions} automatic actions and {spend} per day (set by {found.set_by}); "
               f"today {used.actions} actions, ${used.spend_usd:,.2f} spent")


@app.command("validate")
def validate(policy_dir: PolicyDirOption = None) -> None:
    """Parse the schema, policies and tenants.json, validate the policies against the schema, check
    @ids, flag warnings. Exits 1 on any problem or warning."""
    from decisioning.policy import CedarPolicyEngine

    engine = CedarPolicyEngine(policy_dir)
    problems = engine.validate()
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    if problems:
        raise _fail(f"policies INVALID: {len(problems)} problems in {engine.policy_dir}")
    typer.echo(f"policies OK: {len(engine.policy_ids)} policies in {engine.policy_dir}, "
               f"version {engine.policy_version}")


@app.command("backtest")
def backtest(
    candidate: Annotated[Path, typer.Option(
        help="Directory of the candidate policy set (schema, *.cedar, tenants.json).",
        exists=True, file_okay=False)],
    tenant: TenantOption = None,
    since: Annotated[datetime | None, typer.Option(
        help="Only proposals created at or after this date/time (UTC), e.g. 2025-03-01.")] = None,
    examples: Annotated[int, typer.Option(min=1, help="Example proposal ids per transition.")] = 3,
) -> None:
    """Replay a candidate policy set over past proposals (ledger, with the context recorded at the time)
    and print each current -> candidate outcome transition with counts and example proposal ids."""
    from decisioning.policy import CedarPolicyEngine
    from decisioning.policy_backtest import backtest_policies
    from revloop.wiring import open_ledger

    report = backtest_policies(open_ledger(_settings()), CedarPolicyEngine(candidate), tenant=tenant,
                               since=since.replace(tzinfo=since.tzinfo or UTC) if since else None,
                               example_limit=examples)
    typer.echo(report.table())
