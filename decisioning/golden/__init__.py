"""Golden tasks for any decision agent: ``run_golden(agent, engine)`` over ``tasks.json``."""

from decisioning.golden.harness import GoldenReport, GoldenResult, run_golden
from decisioning.golden.tasks import GoldenTask, load_golden_tasks

__all__ = ["GoldenReport", "GoldenResult", "GoldenTask", "load_golden_tasks", "run_golden"]
