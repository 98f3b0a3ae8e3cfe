"""decided_actions_sensor: one executor run per new decision, a retried tick asks for the same run,
and lifting a pause launches the run that releases the automatic proposals it held."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from decisioning.contracts import PolicyOutcome
from decisioning.controls import Controls
from pipelines.resources import OperationalDbResource
from pipelines.sensors import decided_actions_sensor
from tests.integration.test_actions_support import Loop, make_proposal


class Env:
    def __init__(self, root: Path) -> None:
        self.loop = Loop(root)
        self.url = self.loop.store.engine.url.render_as_string(hide_password=False)
        self.controls = Controls(self.url, self.loop.ledger)

    def tick(self, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
        db = OperationalDbResource(url=self.url)
        return decided_actions_sensor(dg.build_sensor_context(cursor=cursor, resources={"db": db}))


def keys(result: dg.SensorResult | dg.SkipReason) -> list[str | None]:
    assert isinstance(result, dg.SensorResult)
    return [r.run_key for r in result.run_requests or []]


def test_a_new_decision_launches_one_run_and_a_retried_tick_the_same(tmp_path: Path) -> None:
    env = Env(tmp_path)
    assert isinstance(env.tick(None), dg.SkipReason)
    env.loop.submit(make_proposal("p-1"), PolicyOutcome.automatic)
    first = env.tick(None)
    assert len(keys(first)) == 1 and keys(env.tick(None)) == keys(first)
    assert isinstance(first, dg.SensorResult) and first.cursor is not None
    assert isinstance(env.tick(first.cursor), dg.SkipReason)
    env.loop.submit(make_proposal("p-2"), PolicyOutcome.automatic)
    assert keys(env.tick(first.cursor)) not in ([], keys(first))


def test_lifting_a_pause_launches_the_run_that_releases_held_proposals(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.controls.kill(by="ops@vendor.com", reason="checking", tenant="acme", mode="pause")
    env.loop.submit(make_proposal(), PolicyOutcome.automatic)
    launched = env.tick(None)
    assert len(keys(launched)) == 1
    assert env.loop.executor.execute_ready() == []  # the run holds it: paused
    assert isinstance(launched, dg.SensorResult)
    assert isinstance(env.tick(launched.cursor), dg.SkipReason), "nothing new while paused"
    env.controls.resume(by="ops@vendor.com", reason="fixed", tenant="acme")
    again = env.tick(launched.cursor)
    assert len(keys(again)) == 1 and keys(again) != keys(launched)
    [result] = env.loop.executor.execute_ready()
    assert result.status == "succeeded"


def test_a_cursor_written_before_switches_counted_still_reads(tmp_path: Path) -> None:
    env = Env(tmp_path)
    env.loop.submit(make_proposal(), PolicyOutcome.automatic)
    assert isinstance(env.tick("1"), dg.SkipReason), "decision 1 was seen under the old cursor"
