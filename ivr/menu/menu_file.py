"""The call flow as data: `prompts/menu.yaml`, loaded and checked once at start-up.

A broken menu file must stop the service with a line naming the file and the problem;
it must never surface during a call. So everything a call could trip over is checked here:
unknown nodes, unreachable targets, loops that never ask the caller anything, bad digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ivr.menu.hours import ALWAYS, Hours, parse_clock, parse_days
from ivr.settings import StartupError

NodeKind = Literal["language", "menu", "message", "hangup", "operator", "callback"]
# How a language's prompts reach the caller: its recordings (<Play>, <Say> where there is no
# good one), or Twilio's voice for every prompt, for a language whose recordings are poor.
Speak = Literal["recordings", "voice"]
SPEAK_CHOICES: tuple[Speak, ...] = ("recordings", "voice")
LANGUAGE_FIELDS = frozenset({"say_language", "voice", "speak"})
KINDS: tuple[NodeKind, ...] = ("language", "menu", "message", "hangup", "operator", "callback")
KEYS = frozenset("0123456789*#")
PROMPT_ID = re.compile(r"[a-z0-9_]{1,64}")
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
SAY_LANGUAGE = re.compile(r"[a-z]{2,3}-[A-Z]{2}")
CALLING_CODE = re.compile(r"[1-9][0-9]{0,2}")

# Prompts every flow uses, whatever the menu: a wrong key, an error, Twilio's fallback.
# Said whatever the menu holds; the last is the operator's phone, when the operators' page
# calls someone back through it.
SYSTEM_PROMPTS = ("invalid_option", "sorry_error", "technical_trouble", "callback_call_whisper",
                  "cannot_take_call")
DIGIT_PROMPTS = tuple(f"digit_{digit}" for digit in range(10))
# What a `callback` node says while taking a request.
CALLBACK_PROMPTS = (
    "callback_confirm", "callback_confirm_keys", "callback_enter", "callback_entered",
    "callback_entered_keys", "callback_number_invalid", "callback_number_failed",
    "callback_number_failed_operator", "callback_identify", "callback_window", "callback_hour",
    "callback_record", "callback_saved", "callback_saved_more", "callback_saved_end",
    *DIGIT_PROMPTS)
# Numbers said as words ("your place in the queue: twelve"): 1 to 19, then the tens.
NUMBER_PROMPTS = (*(f"number_{n}" for n in range(1, 20)),
                  *(f"number_{tens}" for tens in range(20, 100, 10)))
# The expected wait, a whole sentence each: under a minute, 1 to 10 minutes, more.
WAIT_PROMPTS = (*(f"queue_wait_{minutes}" for minutes in range(11)), "queue_wait_more")
# What an `operator` node says, to the caller and to the operator's phone.
OPERATOR_PROMPTS = (
    "operator_surge", "operator_closed", "operator_nobody", "queue_joined", "queue_position",
    "queue_position_many", "hold_music", "queue_leave_hint", "queue_too_long",
    "queue_connecting", "queue_goodbye", "operator_whisper", "operator_no_caller",
    *DIGIT_PROMPTS, *NUMBER_PROMPTS, *WAIT_PROMPTS)

# Voices that Twilio documents for the languages we know; a pair outside these fails the <Say>.
KNOWN_VOICES = {
    "uk-UA": ("Google.uk-UA-Standard-A", "Google.uk-UA-Wavenet-A"),
    "ru-RU": ("Polly.Tatyana", "Polly.Maxim", *(
        f"Google.ru-RU-{kind}-{letter}" for kind in ("Standard", "Wavenet") for letter in "ABCDE")),
}

NODE_FIELDS: dict[NodeKind, frozenset[str]] = {
    "language": frozenset({"kind", "prompts", "options", "order_by_country", "timeout", "repeats",
                           "silences", "next", "fallback_prompt", "wrong_keys_prompt"}),
    "menu": frozenset({"kind", "prompts", "options", "timeout", "repeats", "silences",
                       "fallback", "fallback_prompt", "wrong_keys_prompt"}),
    "message": frozenset({"kind", "prompts", "next"}),
    "hangup": frozenset({"kind", "prompts"}),
    "operator": frozenset({"kind"}),
    "callback": frozenset({"kind"}),
}
DESK_FIELDS = frozenset({"max_wait", "ring_seconds", "hours"})
HOURS_FIELDS = frozenset({"timezone", "open", "close", "days"})


class MenuError(StartupError):
    pass


@dataclass(frozen=True)
class Voice:
    say_language: str
    voice: str
    speak: Speak = "recordings"


@dataclass(frozen=True)
class Option:
    key: str
    goto: str  # a node, or for the language node a language code
    prompt: str | None = None


@dataclass(frozen=True)
class Node:
    name: str
    kind: NodeKind
    prompts: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    timeout: int = 5
    repeats: int = 3  # tries with wrong keys before the fallback
    silences: int = 3  # tries without a key before the fallback
    next: str | None = None
    fallback: str | None = None
    fallback_prompt: str | None = None  # said going to the fallback after silences
    wrong_keys_prompt: str | None = None  # said going to the fallback after wrong keys
    order_by_country: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def option(self, key: str) -> Option | None:
        return next((option for option in self.options if option.key == key), None)


@dataclass(frozen=True)
class Desk:
    """How callers reach operators: how long they may wait, and when each language is open."""

    max_wait: int = 180  # seconds in the queue before the callback request is offered
    ring_seconds: int = 20  # how long an operator's phone rings
    hours: Mapping[str, Hours] = field(default_factory=dict)

    def open_at(self, language: str, moment: datetime) -> bool:
        return self.hours.get(language, ALWAYS).open_at(moment)


# Compared and hashed as itself (eq=False): the journey's decisions are remembered per menu
# (ivr/menu/journey.py), and a reloaded menu is another menu.
@dataclass(frozen=True, eq=False)
class Menu:
    start: str
    default_language: str
    languages: Mapping[str, Voice]
    nodes: Mapping[str, Node]
    # The key a prompt announces ("press {key}"), per (language, prompt id).
    keys: Mapping[tuple[str, str], str]
    desk: Desk = field(default_factory=Desk)

    def node(self, name: str) -> Node:
        return self.nodes[name]

    def prompt_ids(self) -> set[str]:
        ids = set(SYSTEM_PROMPTS)
        kinds = {node.kind for node in self.nodes.values()}
        if "operator" in kinds:
            ids.update(OPERATOR_PROMPTS)
        if kinds & {"operator", "callback"}:
            ids.update(CALLBACK_PROMPTS)  # every way past an operator ends in a request
        for node in self.nodes.values():
            ids.update(node.prompts)
            ids.update(option.prompt for option in node.options if option.prompt)
            ids.update(said for said in (node.fallback_prompt, node.wrong_keys_prompt) if said)
        return ids

    def caller_countries(self) -> tuple[str, ...]:
        """The calling codes the menu expects callers from (its language menu's
        `order_by_country`), in the order the file names them."""
        return tuple(self.nodes[self.start].order_by_country)

    def likely_language(self, calling_code: str | None) -> str:
        """The language a caller from there most likely speaks: the first their country
        is offered, or the default."""
        node = self.nodes[self.start]
        preferred = node.order_by_country.get(calling_code or "")
        return self.language_order(calling_code)[0] if preferred else self.default_language

    def language_order(self, calling_code: str | None) -> tuple[str, ...]:
        """The languages of the language menu, in the order a caller from there hears them."""
        node = self.nodes[self.start]
        if node.kind != "language":
            return (self.default_language,)
        offered = tuple(option.goto for option in node.options)
        preferred = tuple(lang for lang in node.order_by_country.get(calling_code or "", ())
                          if lang in offered)
        return preferred + tuple(lang for lang in offered if lang not in preferred)


def load_menu(path: Path) -> Menu:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MenuError(f"{path}: cannot read it ({error})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise MenuError(f"{path}: not valid YAML: {_yaml_problem(error)}") from None
    try:
        return _Parser(raw).menu()
    except _Invalid as problem:
        raise MenuError(f"{path}: {problem}") from None


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
    return str(error).replace("\n", " ")


class _Invalid(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(where, "must be a mapping")
    return {str(key): item for key, item in value.items()}


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Invalid(where, "must be a list of names")
    return tuple(value)


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Invalid(where, f"must be a whole number from {low} to {high}")
    return value


class _Parser:
    def __init__(self, raw: Any) -> None:
        self.raw = _mapping(raw, "")

    def menu(self) -> Menu:
        unknown = set(self.raw) - {"start", "default_language", "languages", "nodes",
                                   "operators"}
        if unknown:
            raise _Invalid(sorted(unknown)[0], "unknown setting")
        languages = self.languages()
        nodes = {name: self.node(name, spec) for name, spec in
                 _mapping(self.raw.get("nodes"), "nodes").items()}
        start = self.raw.get("start")
        if start not in nodes:
            raise _Invalid("start", f"{start!r} is not a node")
        default = self.raw.get("default_language")
        if default not in languages:
            raise _Invalid("default_language", f"{default!r} is not one of the languages")
        desk = self.desk(languages)
        menu = Menu(start=start, default_language=default, languages=languages, nodes=nodes,
                    keys={}, desk=desk)
        _check_links(menu)
        return replace(menu, keys=_prompt_keys(menu))

    def desk(self, languages: Mapping[str, Voice]) -> Desk:
        raw = _mapping(self.raw.get("operators", {}), "operators")
        unknown = set(raw) - DESK_FIELDS
        if unknown:
            raise _Invalid(f"operators.{sorted(unknown)[0]}", "unknown setting")
        hours = {}
        for lang, spec in _mapping(raw.get("hours", {}), "operators.hours").items():
            if lang not in languages:
                raise _Invalid(f"operators.hours.{lang}", "not one of the languages")
            hours[lang] = _hours(spec, f"operators.hours.{lang}")
        return Desk(
            max_wait=_whole(raw.get("max_wait", 180), "operators.max_wait", 30, 3600),
            ring_seconds=_whole(raw.get("ring_seconds", 20), "operators.ring_seconds", 5, 60),
            hours=hours,
        )

    def languages(self) -> dict[str, Voice]:
        languages: dict[str, Voice] = {}
        for code, spec in _mapping(self.raw.get("languages"), "languages").items():
            where = f"languages.{code}"
            if not LANGUAGE_CODE.fullmatch(code):
                raise _Invalid(where, "a language code is two or three lower-case letters")
            spec = _mapping(spec, where)
            unknown = set(spec) - LANGUAGE_FIELDS
            if unknown:
                raise _Invalid(f"{where}.{sorted(unknown)[0]}", "not a setting of a language")
            say_language, voice = spec.get("say_language"), spec.get("voice")
            if not isinstance(say_language, str) or not SAY_LANGUAGE.fullmatch(say_language):
                raise _Invalid(f"{where}.say_language", "must be like ru-RU")
            if not isinstance(voice, str) or not voice:
                raise _Invalid(f"{where}.voice", "must name a Twilio voice, like Polly.Tatyana")
            known = KNOWN_VOICES.get(say_language)
            if known and voice not in known:
                raise _Invalid(f"{where}.voice", f"{voice} does not speak {say_language}; "
                               f"use one of {', '.join(known)}")
            speak = spec.get("speak", "recordings")
            if speak not in SPEAK_CHOICES:
                raise _Invalid(f"{where}.speak", "must be recordings (the default) or voice")
            languages[code] = Voice(say_language=say_language, voice=voice,
                                    speak=cast(Speak, speak))
        if not languages:
            raise _Invalid("languages", "at least one language is needed")
        return languages

    def node(self, name: str, spec: Any) -> Node:
        where = f"nodes.{name}"
        if not PROMPT_ID.fullmatch(name):
            raise _Invalid(where, "a node name is lower-case letters, digits and _")
        spec = _mapping(spec, where)
        kind = spec.get("kind")
        if kind not in KINDS:
            raise _Invalid(f"{where}.kind", f"must be one of {', '.join(KINDS)}")
        kind = cast(NodeKind, kind)
        unknown = set(spec) - NODE_FIELDS[kind]
        if unknown:
            raise _Invalid(f"{where}.{sorted(unknown)[0]}", f"not a setting of a {kind} node")
        prompts = _string_list(spec.get("prompts", []), f"{where}.prompts")
        for prompt in prompts:
            _check_prompt_id(prompt, f"{where}.prompts")
        fallback_prompt, wrong_keys_prompt = (spec.get("fallback_prompt"),
                                               spec.get("wrong_keys_prompt"))
        for said, setting in ((fallback_prompt, "fallback_prompt"),
                              (wrong_keys_prompt, "wrong_keys_prompt")):
            if said is not None:
                _check_prompt_id(said, f"{where}.{setting}")
        repeats = _whole(spec.get("repeats", 3), f"{where}.repeats", 1, 5)
        return Node(
            name=name,
            kind=kind,
            prompts=prompts,
            options=self.options(kind, spec.get("options"), f"{where}.options"),
            timeout=_whole(spec.get("timeout", 5), f"{where}.timeout", 1, 30),
            repeats=repeats,
            silences=_whole(spec.get("silences", repeats), f"{where}.silences", 1, 5),
            next=spec.get("next"),
            fallback=spec.get("fallback"),
            fallback_prompt=fallback_prompt,
            wrong_keys_prompt=wrong_keys_prompt,
            order_by_country=self.order_by_country(spec.get("order_by_country", {}),
                                                   f"{where}.order_by_country"),
        )

    def options(self, kind: NodeKind, raw: Any, where: str) -> tuple[Option, ...]:
        if kind not in ("language", "menu"):
            return ()
        options = []
        for key, spec in _mapping(raw, where).items():
            if key not in KEYS:
                raise _Invalid(f"{where}.{key}", "a key is one of 0-9, * or # (quote * and #)")
            if kind == "language":
                if not isinstance(spec, str):
                    raise _Invalid(f"{where}.{key}", "must be a language code")
                options.append(Option(key=key, goto=spec))
                continue
            spec = _mapping(spec, f"{where}.{key}")
            unknown = set(spec) - {"goto", "prompt"}
            if unknown:
                raise _Invalid(f"{where}.{key}.{sorted(unknown)[0]}", "not a setting of an option")
            goto, prompt = spec.get("goto"), spec.get("prompt")
            if not isinstance(goto, str):
                raise _Invalid(f"{where}.{key}.goto", "must name a node")
            if prompt is not None:
                _check_prompt_id(prompt, f"{where}.{key}.prompt")
            options.append(Option(key=key, goto=goto, prompt=prompt))
        if not options:
            raise _Invalid(where, "a menu needs at least one option")
        return tuple(options)

    def order_by_country(self, raw: Any, where: str) -> dict[str, tuple[str, ...]]:
        order = {}
        for code, languages in _mapping(raw, where).items():
            if not CALLING_CODE.fullmatch(code):
                raise _Invalid(f"{where}.{code}", "must be a country calling code, like 380")
            order[code] = _string_list(languages, f"{where}.{code}")
        return order


def _hours(raw: Any, where: str) -> Hours:
    spec = _mapping(raw, where)
    unknown = set(spec) - HOURS_FIELDS
    if unknown:
        raise _Invalid(f"{where}.{sorted(unknown)[0]}", "not a setting of opening hours")
    zone = spec.get("timezone")
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid(f"{where}.timezone", f"{zone!r} is not a time zone like Europe/Kyiv"
                       ) from None
    opens, closes = parse_clock(str(spec.get("open"))), parse_clock(str(spec.get("close")))
    if opens is None or closes is None or opens == closes:
        raise _Invalid(where, "open and close must be different times like \"08:00\" and "
                       "\"22:00\" (quoted)")
    days = parse_days(str(spec.get("days", "mon-sun")))
    if days is None:
        raise _Invalid(f"{where}.days", "must be like mon-fri or sat,sun")
    return Hours(timezone=str(zone), opens=opens, closes=closes, days=days)


def _check_prompt_id(prompt: Any, where: str) -> None:
    if not isinstance(prompt, str) or not PROMPT_ID.fullmatch(prompt):
        raise _Invalid(where, f"{prompt!r}: a prompt id is lower-case letters, digits and _")


def _check_links(menu: Menu) -> None:
    """Every target exists, and no chain of messages runs round without asking the caller."""
    def must_be_node(target: str | None, where: str) -> None:
        if target is None:
            raise _Invalid(where, "missing: name the node to go to")
        if target not in menu.nodes:
            raise _Invalid(where, f"{target!r} is not a node")

    for node in menu.nodes.values():
        where = f"nodes.{node.name}"
        if node.kind == "language":
            if node.name != menu.start:
                raise _Invalid(where, "only the start node can be the language menu")
            for option in node.options:
                if option.goto not in menu.languages:
                    raise _Invalid(f"{where}.options.{option.key}",
                                   f"{option.goto!r} is not one of the languages")
            for code, order in node.order_by_country.items():
                for lang in order:
                    if lang not in menu.languages:
                        raise _Invalid(f"{where}.order_by_country.{code}",
                                       f"{lang!r} is not one of the languages")
            if not node.prompts:
                raise _Invalid(f"{where}.prompts", "the language menu needs a prompt to offer")
            must_be_node(node.next, f"{where}.next")
        elif node.kind == "menu":
            if not node.prompts and not any(option.prompt for option in node.options):
                raise _Invalid(f"{where}.prompts", "a menu needs something to say")
            for option in node.options:
                must_be_node(option.goto, f"{where}.options.{option.key}.goto")
            must_be_node(node.fallback, f"{where}.fallback")
        elif node.kind == "message":
            must_be_node(node.next, f"{where}.next")
            if not node.prompts:
                raise _Invalid(f"{where}.prompts", "a message needs something to say")
    for node in menu.nodes.values():
        seen = [node.name]
        current = node
        while current.kind == "message" and current.next is not None:
            current = menu.nodes[current.next]
            if current.name in seen:
                loop = " -> ".join([*seen, current.name])
                raise _Invalid(f"nodes.{node.name}.next", f"messages lead round in a loop: {loop}")
            seen.append(current.name)


def _prompt_keys(menu: Menu) -> dict[tuple[str, str], str]:
    """Which key each option prompt announces, so `{key}` in its text can be filled in."""
    keys: dict[tuple[str, str], str] = {}

    def claim(lang: str, prompt: str, key: str, where: str) -> None:
        if keys.setdefault((lang, prompt), key) != key:
            raise _Invalid(where, f"prompt {prompt!r} would announce two keys "
                           f"({keys[(lang, prompt)]} and {key}); give each option its own prompt")

    for node in menu.nodes.values():
        for option in node.options:
            where = f"nodes.{node.name}.options.{option.key}"
            if node.kind == "language":
                for prompt in node.prompts:
                    claim(option.goto, prompt, option.key, where)
            elif option.prompt:
                for lang in menu.languages:
                    claim(lang, option.prompt, option.key, where)
    return keys
