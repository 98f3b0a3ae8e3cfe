"""The edit-arguments form: one input per argument, built from the action type's schema, parsed back
into typed arguments, with each validation problem shown next to its field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from decisioning.actions import ACTION_ARGUMENT_MODELS
from decisioning.contracts import ActionType

FIELD_PREFIX = "arg."
TEXTAREA_MIN_LENGTH = 1000


@dataclass(frozen=True)
class ArgumentField:
    name: str
    label: str
    kind: str  # text | textarea | number | integer | date | select | lines | json
    value: str
    required: bool
    choices: tuple[str, ...] = ()
    hint: str | None = None
    error: str | None = None

    @property
    def input_name(self) -> str:
        return FIELD_PREFIX + self.name

    @property
    def input_id(self) -> str:
        return "arg-" + self.name.replace(".", "-")


def _schema(action_type: ActionType) -> dict[str, Any]:
    return ACTION_ARGUMENT_MODELS[ActionType(action_type)].model_json_schema()


def _variants(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [v for v in spec.get("anyOf", [spec]) if v.get("type") != "null"]


def _kind(spec: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    variants = _variants(spec)
    if len(variants) != 1:
        return "text", ()  # a value of several scalar types: typed like the current value
    only = variants[0]
    if "enum" in only or "const" in only:
        return "select", tuple(str(c) for c in only.get("enum", [only.get("const")]))
    kind = only.get("type")
    if kind == "integer":
        return "integer", ()
    if kind == "number":
        return "number", ()
    if kind == "boolean":
        return "select", ("true", "false")
    if kind == "array":
        return ("lines", ()) if only.get("items", {}).get("type") == "string" else ("json", ())
    if kind == "object" or "$ref" in only:
        return "json", ()
    if only.get("format") == "date":
        return "date", ()
    return ("textarea", ()) if only.get("maxLength", 0) >= TEXTAREA_MIN_LENGTH else ("text", ())


def _shown(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if kind == "json" or isinstance(value, dict | list):
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def argument_fields(action_type: ActionType, arguments: Mapping[str, Any],
                    submitted: Mapping[str, str] | None = None,
                    errors: Mapping[str, str] | None = None) -> list[ArgumentField]:
    """The form's fields, showing the submitted text (after a failed edit) or the current values."""
    schema = _schema(action_type)
    required = set(schema.get("required", []))
    fields = []
    for name, spec in schema.get("properties", {}).items():
        kind, choices = _kind(spec)
        typed = None if kind != "text" or len(_variants(spec)) == 1 else type(arguments.get(name)).__name__
        hint = {"lines": "one per line", "json": "JSON"}.get(kind)
        if typed in {"int", "float", "bool"}:
            hint = f"read as {typed} when it parses as one, else text"
        shown = (submitted or {}).get(FIELD_PREFIX + name)
        fields.append(ArgumentField(
            name=name, label=str(spec.get("title", name)), kind=kind, required=name in required,
            value=shown if shown is not None else _shown(kind, arguments.get(name, spec.get("default"))),
            choices=choices, hint=hint, error=(errors or {}).get(name)))
    return fields


def _like(original: Any, raw: str) -> Any:
    """A multi-type value keeps the type of the value it replaces when the text reads as that type."""
    if isinstance(original, bool):
        return {"true": True, "false": False}.get(raw.strip().lower(), raw)
    for kind in (int, float):
        if isinstance(original, kind):
            try:
                return kind(raw)
            except ValueError:
                return raw
    return raw


def parse_argument_form(action_type: ActionType, form: Mapping[str, str],
                        original: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Arguments from the form's text, and what could not even be read (bad number or JSON) by field.
    Schema validation is left to decisioning.actions.validate_arguments."""
    schema = _schema(action_type)
    arguments: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in schema.get("properties", {}).items():
        raw = form.get(FIELD_PREFIX + name)
        if raw is None:
            continue
        kind, _ = _kind(spec)
        nullable = any(v.get("type") == "null" for v in spec.get("anyOf", []))
        text = raw.strip()
        if text == "" and kind != "textarea":
            if nullable:
                arguments[name] = None
            continue  # left out: the schema's default applies, or validation says it is required
        try:
            if kind == "integer":
                arguments[name] = int(text)
            elif kind == "number":
                arguments[name] = float(text)
            elif kind == "lines":
                arguments[name] = [line.strip() for line in raw.splitlines() if line.strip()]
            elif kind == "json":
                arguments[name] = json.loads(raw)
            elif kind == "select" and tuple(_kind(spec)[1]) == ("true", "false"):
                arguments[name] = text == "true"
            elif len(_variants(spec)) > 1:
                arguments[name] = _like(original.get(name), text)
            else:
                arguments[name] = raw if kind == "textarea" else text
        except ValueError as exc:
            expected = {"integer": "a whole number", "number": "a number", "json": "valid JSON"}[kind]
            errors[name] = f"enter {expected}" + (f" ({exc})" if kind == "json" else "")
    return arguments, errors


def field_errors(problems: list[str]) -> dict[str, str]:
    """validate_arguments' problems ("field.sub: message") keyed by top-level field; "(root)" problems
    (an unknown field, say) are kept under "_form"."""
    by_field: dict[str, str] = {}
    for problem in problems:
        where, _, message = problem.partition(": ")
        field = where.split(".")[0] if message else "_form"
        text = message if message else problem
        if where.count("."):
            text = f"{where}: {message}"
        by_field[field] = f"{by_field[field]}; {text}" if field in by_field else text
    return by_field
