"""Versioned prompts: ``<name>.v<N>.md`` files. A released version never changes (``versions.json`` pins
each file's SHA-256; a test enforces it): to change a prompt, add the next version and point the agent's
config at it. The version is recorded on every proposal the prompt led to."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

PROMPT_DIR = Path(__file__).resolve().parent
_VERSION = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.v(?P<number>[1-9][0-9]*)$")


class PromptError(ValueError):
    """A prompt version is unknown, malformed, or its file differs from the pinned digest."""


@dataclass(frozen=True)
class Prompt:
    version: str  # e.g. "bedrock_agent.v1"
    template: str
    digest: str  # SHA-256 of the file

    def render(self, **values: object) -> str:
        """Fill ``$placeholders``; a placeholder left unfilled is an error, not silent text."""
        try:
            return Template(self.template).substitute({k: str(v) for k, v in values.items()})
        except KeyError as exc:
            raise PromptError(f"prompt {self.version} needs a value for ${exc.args[0]}") from None


def pinned_digests(prompt_dir: Path = PROMPT_DIR) -> dict[str, str]:
    path = prompt_dir / "versions.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_prompt(version: str, prompt_dir: Path = PROMPT_DIR) -> Prompt:
    if not _VERSION.match(version):
        raise PromptError(f"prompt version {version!r} must look like 'bedrock_agent.v1'")
    path = prompt_dir / f"{version}.md"
    if not path.exists():
        known = sorted(p.stem for p in prompt_dir.glob("*.v*.md"))
        raise PromptError(f"no prompt {version!r} in {prompt_dir} (there are: {', '.join(known) or 'none'})")
    digest = file_digest(path)
    pinned = pinned_digests(prompt_dir).get(version)
    if pinned != digest:
        raise PromptError(
            f"prompt {version} differs from its pinned digest in versions.json: released prompts never "
            "change. Revert the edit, or copy it to the next version and pin that one")
    return Prompt(version=version, template=path.read_text(encoding="utf-8"), digest=digest)
