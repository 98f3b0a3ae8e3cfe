"""Meeting briefs: a Markdown artifact per proposal, written atomically under the artifacts directory."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from decisioning.contracts import Proposal

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def safe_name(value: str, what: str) -> str:
    """Tenant and proposal ids become path parts: refuse anything that could leave the directory."""
    if not _SAFE_NAME.fullmatch(value) or ".." in value:
        raise ValueError(f"{what} {value!r} cannot be used in a file name: "
                         "use letters, digits, '_', '-', '.'")
    return value


def brief_path(artifacts_dir: Path, proposal: Proposal) -> Path:
    tenant = safe_name(proposal.tenant, "tenant")
    return artifacts_dir / tenant / "briefs" / f"{safe_name(proposal.proposal_id, 'proposal id')}.md"


def render_brief(proposal: Proposal) -> str:
    args = proposal.arguments
    title = args.get("title") or f"Meeting brief: account {proposal.account_id}"
    lines = [f"# {title}", "", f"- Account: `{proposal.account_id}`",
             f"- Proposal: `{proposal.proposal_id}` v{proposal.version} ({proposal.agent} "
             f"{proposal.agent_version})", f"- Confidence: {proposal.confidence:.2f}",
             f"- Expected effect: {proposal.expected_effect}", "", "## Why now", "", proposal.rationale, ""]
    for section in args.get("sections") or []:
        if isinstance(section, dict):
            lines += [f"## {section.get('heading', '')}", "", str(section.get("body", "")), ""]
    for key, value in args.items():
        if key in ("title", "sections"):
            continue
        lines += [f"## {key.replace('_', ' ').capitalize()}", "", *_render_value(value), ""]
    lines += ["## Evidence", ""]
    lines += [f"- {c.kind}: `{c.ref}`" + (f" — {c.detail}" if c.detail else "") for c in proposal.evidence]
    return "\n".join(lines) + "\n"


def _render_value(value: Any) -> list[str]:
    if isinstance(value, list):
        return [f"- {item}" for item in value]
    if isinstance(value, dict):
        return [f"- **{k}**: {v}" for k, v in value.items()]
    return [str(value)]


def write_brief(artifacts_dir: Path, proposal: Proposal) -> Path:
    """Same proposal -> same bytes at the same path, so a retried write changes nothing."""
    path = brief_path(artifacts_dir, proposal)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(render_brief(proposal), encoding="utf-8")
    os.replace(tmp, path)
    return path
