"""The layers of DESIGN.md are the architecture: each package imports only what it may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["ledger", "connectors", "perception", "world_model", "decisioning", "actions", "pipelines",
          "revloop"]

# DESIGN.md's table: what each layer may import directly; "may import X" includes what X may import.
DIRECT = {
    "ledger": set(),
    "connectors": {"ledger"},
    "perception": {"connectors"},
    "world_model": {"perception"},
    "decisioning": {"world_model", "perception"},
    "actions": {"decisioning", "connectors"},
    "pipelines": set(LAYERS) - {"pipelines"},
    "revloop": set(LAYERS) - {"revloop"},
}
# Only adapter modules inside domain packages may call cloud/orchestration SDKs.
FORBIDDEN_EVERYWHERE_BUT_PIPELINES = {"dagster"}


def allowed(layer: str) -> set[str]:
    seen: set[str] = set()
    todo = list(DIRECT[layer])
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo.extend(DIRECT[dep])
    return seen | {layer}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_what_design_allows(layer: str) -> None:
    assert python_files(layer), f"layer {layer}/ has no Python files"
    violations = []
    for path in python_files(layer):
        bad = (imports_of(path) & set(LAYERS)) - allowed(layer)
        if bad:
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("layer", [name for name in LAYERS if name != "pipelines"])
def test_only_pipelines_imports_dagster(layer: str) -> None:
    offenders = [str(p.relative_to(ROOT)) for p in python_files(layer)
                 if imports_of(p) & FORBIDDEN_EVERYWHERE_BUT_PIPELINES]
    assert not offenders, f"dagster imported outside pipelines/: {offenders}"


def test_ledger_imports_nothing_from_the_project() -> None:
    assert allowed("ledger") == {"ledger"}


def test_the_rule_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from actions.store import OperationalStore\nimport dagster as dg\n")
    assert imports_of(bad) == {"actions", "dagster"}
    assert "actions" not in allowed("perception")
