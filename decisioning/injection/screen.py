"""Does a piece of CRM, email or webhook text look like instructions to an agent rather than data?

A screen, not a proof: text it flags is kept from running unreviewed (the playbook agent raises the
proposal to L1, which the shipped policies never automate). It folds the usual disguises first:
compatibility forms (full-width, ligatures), zero-width and bidi controls, Cyrillic/Greek look-alikes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from perception.contracts import Signal
from world_model.contracts import AccountContext

# Look-alike letters that NFKC leaves alone, folded to the Latin letter they imitate.
_HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ԁ": "d",
    "ѕ": "s", "һ": "h", "ɡ": "g", "ո": "n", "ν": "v", "ο": "o", "α": "a", "ε": "e", "ι": "i", "κ": "k",
    "τ": "t", "υ": "u", "ρ": "p", "Α": "a", "Β": "b", "Ε": "e", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n",
    "Ο": "o", "Ρ": "p", "Τ": "t", "Χ": "x", "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h",
    "О": "o", "Р": "p", "С": "c", "Т": "t", "Х": "x",
})

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((name, re.compile(rx)) for name, rx in (
    ("override", r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instructions?|rules?|prompts?|"
                 r"polic(y|ies)|guardrails?|above|previous|prior)\b"),
    ("new instructions", r"\b(new|updated|real|hidden) (instructions?|task|orders?)\b"),
    ("role play", r"\b(you are now|act as|pretend to be|from now on you|system prompt|developer mode|"
                  r"jailbreak)\b"),
    ("chat markup", r"<\|?/?(system|assistant|user|im_start|im_end|tool)\|?>|\[/?inst\]|"
                    r"^\s*(system|assistant)\s*:"),
    ("self-approval", r"\b(auto[- ]?approv\w*|approved? (this |it )?(automatically|without review|now)|"
                      r"skip (the )?(review|approval)|no (human )?(review|approval) (is )?needed)\b"),
    ("tool call", r"\b(crm|notify|draft|escalate|schedule|tools?|functions?|mcp)\.[a-z_]+\b|"
                  r"\b(call|invoke|run|execute|use) (the )?(tool|function|command|api)\b|"
                  r"\b(tool_call|function_call|tool_use)\b"),
    ("record tampering", r"\b(delete|remove|wipe|drop)\b.{0,20}\b(accounts?|contacts?|records?|deals?|"
                         r"opportunit(y|ies)|tables?|everything)\b|"
                         r"\b(set|update|change|make)\b.{0,20}\b(amount|owner|stage|close ?date|arr)\b.{0,10}"
                         r"\b(to|=)\b|\breassign\b|"
                         r"\bmark (the |this )?(deal|opportunity) (as )?(closed[ -]?)?won\b"),
    ("exfiltration", r"\b(export|send|email|forward|upload|leak)\b.{0,30}\b(all )?(contacts?|customers?|"
                     r"emails?|data|credentials?|api keys?|tokens?|passwords?)\b.{0,30}\b(to|at)\b"),
    ("structured payload",
     r"```|\{\s*\"(action|action_type|tool|function|name|arguments|role|command)\"\s*:"),
    ("markup link", r"!?\[[^\]]*\]\([^)]*\)|<\s*(script|img|a|iframe)\b"),
))


def fold(text: str) -> str:
    """The text as the screen reads it: NFKC, controls removed, look-alikes folded, lower case, spaces
    collapsed."""
    normal = unicodedata.normalize("NFKC", text)
    visible = "".join(ch for ch in normal if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\n\t")
    return re.sub(r"\s+", " ", visible.lower().translate(_HOMOGLYPHS)).strip()


def _mixed_script_word(text: str) -> bool:
    for word in re.findall(r"\w{3,}", unicodedata.normalize("NFKC", text)):
        scripts = {unicodedata.name(ch, "?").split(" ")[0] for ch in word if ch.isalpha()}
        if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
            return True
    return False


# Digits and symbols written for letters ("1gn0re prev10us"): read again with letters back in place.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def instruction_findings(text: str) -> list[str]:
    """Names of the patterns ``text`` matches (empty: it reads as plain data)."""
    folded = fold(text)
    found = [name for name, pattern in _PATTERNS if pattern.search(folded)]
    if not found:
        found = [f"{name} (in digits for letters)" for name, pattern in _PATTERNS
                 if pattern.search(folded.translate(_LEET))]
    if any(unicodedata.category(ch) == "Cf" for ch in text):
        found.append("invisible characters")
    if _mixed_script_word(text):
        found.append("mixed-script word")
    return found


_NAME_PUNCTUATION = re.compile(r"[;:!?{}<>\[\]`|\\=*#$%^~\"]")
MAX_NAME_LENGTH = 80
MAX_NAME_WORDS = 10


def name_findings(text: str) -> list[str]:
    """A name or job title that is shaped like a sentence or markup rather than a name."""
    found = instruction_findings(text)
    if len(text) > MAX_NAME_LENGTH or len(text.split()) > MAX_NAME_WORDS:
        found.append("too long for a name")
    if _NAME_PUNCTUATION.search(unicodedata.normalize("NFKC", text)):
        found.append("punctuation no name carries")
    return found


def untrusted_texts(context: AccountContext, signals: list[Signal]) -> dict[str, list[str]]:
    """CRM-sourced text of a situation that must not run unreviewed: text -> what is wrong with it."""
    names = [context.name or "", *(o.name for o in context.open_opportunities)]
    for person in [*context.contacts, *context.champions]:
        names += [person.name, person.title or "", person.role or ""]
    flagged = {text: found for text in names if text and (found := name_findings(text))}
    for signal in signals:
        texts = [signal.narrative, *(str(e.after) for e in signal.evidence if isinstance(e.after, str))]
        flagged.update({text: found for text in texts if (found := instruction_findings(text))})
    return flagged


def texts_in(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` with its path (``sections.0.body``)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from texts_in(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from texts_in(item, f"{where}.{index}")


def screen_arguments(arguments: dict[str, Any], untrusted: dict[str, list[str]] | None = None
                     ) -> dict[str, list[str]]:
    """For each argument path whose text looks like instructions, or quotes ``untrusted`` text (see
    :func:`untrusted_texts`), what was found."""
    quoted = {fold(text): found for text, found in (untrusted or {}).items() if fold(text)}
    out: dict[str, list[str]] = {}
    for where, text in texts_in(arguments):
        found = instruction_findings(text)
        folded = fold(text)
        found += [f for source, reasons in quoted.items() if source in folded for f in reasons]
        if found:
            out[where] = list(dict.fromkeys(found))
    return out
