"""Loading a policy directory: one ``*.cedarschema``, the ``*.cedar`` policies and ``tenants.json``.

Everything wrong with the directory becomes a problem string instead of an exception, so the engine can
fail closed with the reason. The version is a hash over every file's name and bytes."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import cedarpy

from decisioning.policy_tenants import TENANTS_FILE, TenantConstraintSet, load_tenant_constraints

VERSION_HEX_CHARS = 12


@dataclass
class LoadedPolicySet:
    directory: Path
    version: str = ""
    schema_text: str = ""
    policy_text: str = ""
    policies: cedarpy.PolicySet | None = None
    schema: cedarpy.Schema | None = None
    tenants: TenantConstraintSet = field(default_factory=TenantConstraintSet)
    names: dict[str, str] = field(default_factory=dict)  # Cedar's positional id ("policy3") -> @id
    effects: dict[str, str] = field(default_factory=dict)  # @id -> "permit" | "forbid"
    errors: list[str] = field(default_factory=list)  # any error: every classification is forbidden
    warnings: list[str] = field(default_factory=list)  # sound but suspicious: `policy validate` fails

    @property
    def usable(self) -> bool:
        return not self.errors and self.policies is not None and self.schema is not None


def policy_files(directory: Path) -> tuple[list[Path], list[Path]]:
    if not directory.is_dir():
        return [], []
    return sorted(directory.glob("*.cedarschema")), sorted(directory.glob("*.cedar"))


def load_policy_set(directory: Path) -> LoadedPolicySet:
    loaded = LoadedPolicySet(directory=directory)
    try:
        _load(loaded)
    except Exception as exc:  # an unreadable directory must not crash the loop: classify forbids
        loaded.policies = None
        loaded.errors.append(f"loading {directory} failed: {type(exc).__name__}: {exc}")
    return loaded


def _load(loaded: LoadedPolicySet) -> None:
    where = loaded.directory
    schemas, policies = policy_files(where)
    tenants_file = [where / TENANTS_FILE] if (where / TENANTS_FILE).is_file() else []
    contents = {path: path.read_bytes() for path in [*schemas, *policies, *tenants_file]}
    digest = hashlib.sha256()
    for path, content in contents.items():
        digest.update(f"{path.name}\0{len(content)}\0".encode())
        digest.update(content)
    loaded.version = digest.hexdigest()[:VERSION_HEX_CHARS]
    if len(schemas) != 1:
        loaded.errors.append(f"{where} must hold exactly one *.cedarschema file, found {len(schemas)}")
    if not policies:
        loaded.errors.append(f"{where} holds no *.cedar policy files")
    loaded.tenants, tenant_problems = load_tenant_constraints(where)
    loaded.errors.extend(tenant_problems)
    if len(schemas) != 1 or not policies:
        return
    try:
        loaded.schema_text = contents[schemas[0]].decode()
        loaded.schema = cedarpy.Schema.from_str(loaded.schema_text)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        loaded.errors.append(f"{schemas[0].name} does not parse: {exc}")
    for path in policies:
        try:
            text = contents[path].decode()
            cedarpy.PolicySet.from_str(text)
        except ValueError as exc:
            loaded.errors.append(f"{path.name} does not parse: {exc}")
            continue
        loaded.warnings.extend(_text_warnings(path.name, text))
        loaded.policy_text += f"// {path.name}\n{text}\n"
    if loaded.errors:
        return
    loaded.policies = cedarpy.PolicySet.from_str(loaded.policy_text)
    loaded.errors.extend(_validation_problems(loaded))


def _validation_problems(loaded: LoadedPolicySet) -> list[str]:
    result = cedarpy.validate_policies(loaded.policy_text, loaded.schema_text)
    annotations = result.id_annotations_by_policy_id
    problems = [f"policy {annotations.get(e.policy_id) or e.policy_id}: {e.error}" for e in result.errors]
    if not result.validation_passed and not problems:
        problems.append("the policies do not validate against the schema")
    seen: set[str] = set()
    est = json.loads(cedarpy.policies_to_json_str(loaded.policy_text))
    for policy_id, policy in {**est.get("staticPolicies", {}), **est.get("templates", {})}.items():
        annotation = (policy.get("annotations") or {}).get("id")
        if not annotation:
            problems.append(f"policy {policy_id} has no @id annotation; decisions cite policies by @id")
        elif annotation in seen:
            problems.append(f"@id({annotation!r}) is used by two policies")
        else:
            seen.add(annotation)
            loaded.names[policy_id] = annotation
            loaded.effects[annotation] = policy["effect"]
    if est.get("templates"):
        problems.append("templates are not supported: every policy must be static")
    return problems


def _text_warnings(name: str, text: str) -> list[str]:
    """Cedar's linter warns about mixed-script, bidirectional and confusable text; cedarpy does not
    report its warnings, so any non-ASCII character outside a comment is flagged here."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("//", 1)[0]
        for char in code:
            if ord(char) > 127:
                found.append(f"{name}:{number}: non-ASCII character U+{ord(char):04X} "
                             f"({unicodedata.name(char, 'unnamed')}); keep policies ASCII so that "
                             "look-alike text cannot hide what a policy matches")
                break
    return found
