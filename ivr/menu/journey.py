"""The caller's journey through the menu, as plain decisions with no HTTP in them.

Where a caller is (node, language, how many tries, how many errors) travels in the URLs
Twilio calls back, so no process keeps any state and any instance can answer any step.
Each function returns a Plan: what the caller hears and where the call goes next.
`walk` and `chosen` are the decisions any channel makes on the menu (the website's chat walks
the same menu with them, ivr/chat/journey.py); the call's own steps are built on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

from ivr import paths
from ivr.callback_requests.questions import redirect_to_request
from ivr.menu.menu_file import KEYS, Menu, Node, Option
from ivr.menu.plans import Ask, Hangup, Plan, Redirect, Say, Target, target

# After this many errors in one call the caller is told plainly and the call ends,
# rather than looping through apologies.
MAX_ERRORS = 3


@dataclass(frozen=True)
class Where:
    node: str
    lang: str | None = None
    attempt: int = 1
    errors: int = 0


def enter_target(where: Where) -> Target:
    """The webhook that presents a node."""
    return target(paths.MENU, node=where.node, lang=where.lang, err=where.errors or None)


def input_target(where: Where) -> Target:
    """The webhook that takes the key pressed at a node, or the silence."""
    return target(paths.MENU_INPUT, node=where.node, lang=where.lang, **{"try": where.attempt},
                  err=where.errors or None)


def where_from(menu: Menu, args: Mapping[str, str]) -> Where:
    """Read the caller's position from our own URL parameters, forgiving anything odd.

    A node that needs a language but has none goes back to the language menu.
    """
    node = args.get("node", "")
    lang = args.get("lang")
    if lang not in menu.languages:
        lang = None
    if node not in menu.nodes or (lang is None and node != menu.start):
        node = menu.start
    return Where(
        node=node,
        lang=lang,
        attempt=_clamp(args.get("try"), 1, max(menu.nodes[node].repeats,
                                               menu.nodes[node].silences)),
        errors=_clamp(args.get("err"), 0, MAX_ERRORS),
    )


def _clamp(raw: str | None, low: int, high: int) -> int:
    try:
        value = int(raw or low)
    except ValueError:
        return low
    return min(max(value, low), high)


@dataclass(frozen=True)
class Stop:
    """Where a walk through the menu stops, whatever the channel (a call or the website's
    chat): the prompts said on the way there (message nodes), and the node that asks or acts
    (a menu, the language menu, the operator, the callback request, the end)."""

    said: tuple[str, ...]
    node: Node


def walk(menu: Menu, name: str) -> Stop:
    """From a node, through the messages it leads to, to the node where something is asked
    or done. The menu was checked when loaded: messages lead somewhere, without a loop."""
    said: list[str] = []
    node = menu.node(name)
    while node.kind == "message":
        said += node.prompts
        node = menu.node(_next(node))
    return Stop(tuple(said), node)


def chosen(node: Node, key: str | None) -> Option | None:
    """The option a key picks at a node, if any: a pressed key or a button in the chat."""
    return node.option(key) if key in KEYS else None


def first_choice(menu: Menu) -> str:
    """The node after the language menu: where a person whose language is known begins."""
    start_node = menu.node(menu.start)
    return _next(start_node) if start_node.kind == "language" else start_node.name


# `start` and `answer` are decided once per menu and place: a call's first step and each key
# pressed are most of the webhooks, and their plans depend on nothing else (a Plan is
# immutable). The places are few: the menu's nodes and languages, a few tries and errors, the
# keys and the callers' calling codes.
_REMEMBERED = 8192


@lru_cache(maxsize=_REMEMBERED)
def start(menu: Menu, calling_code: str | None) -> Plan:
    return enter(menu, Where(menu.start), calling_code)


def turned_away(menu: Menu, calling_code: str | None) -> Plan:
    """A call from a number a supervisor blocked: a neutral word in the menu's languages (the
    caller has chosen none yet), then the end. Nothing tells them they are blocked."""
    said = tuple(Say(lang, "cannot_take_call") for lang in menu.language_order(calling_code))
    return Plan((*said, Hangup()), "blocked")


def enter(menu: Menu, where: Where, calling_code: str | None, reason: str = "chosen",
          again: bool = False) -> Plan:
    """What a caller hears on arriving at a node. `reason`: why they would leave a callback
    request, should the node be one. `again`: the node once more after a silence or a wrong
    key: the options only, not the introduction."""
    node = menu.node(where.node)
    lang = where.lang or menu.default_language
    if node.kind == "operator":
        return Plan((Redirect(target(paths.OPERATOR, lang=lang)),), "goto:operator")
    if node.kind == "callback":
        return Plan((redirect_to_request(lang, reason),), f"callback:{reason}")
    if node.kind == "language":
        return Plan((_ask_language(menu, node, where, calling_code),), f"ask:{node.name}")
    if node.kind == "menu":
        prompts = [] if again else [Say(lang, prompt) for prompt in node.prompts]
        prompts += [Say(lang, option.prompt) for option in node.options if option.prompt]
        return Plan((Ask(tuple(prompts), input_target(where), node.timeout),),
                    f"ask:{node.name}")
    if node.kind == "hangup":
        said = tuple(Say(lang, prompt) for prompt in node.prompts)
        return Plan((*said, Hangup()), f"hangup:{node.name}")
    stop = walk(menu, node.name)  # a message: its prompts, then wherever it leads
    then = enter(menu, Where(stop.node.name, where.lang, errors=where.errors), calling_code)
    said = tuple(Say(lang, prompt) for prompt in stop.said)
    return Plan(said + then.steps, f"say:{node.name}")


@lru_cache(maxsize=_REMEMBERED)
def answer(menu: Menu, where: Where, key: str | None, calling_code: str | None) -> Plan:
    """What happens after the caller pressed `key` at a node, or nothing (None)."""
    node = menu.node(where.node)
    option = chosen(node, key)
    if option is not None:
        if node.kind == "language":
            then = enter(menu, Where(_next(node), option.goto, errors=where.errors), calling_code)
            return Plan(then.steps, f"language:{option.goto}", language=option.goto)
        then = enter(menu, Where(option.goto, where.lang, errors=where.errors), calling_code)
        return Plan(then.steps, f"goto:{option.goto}")
    wrong = () if key is None else _in_languages(menu, where, calling_code, "invalid_option")
    if where.attempt >= (node.silences if key is None else node.repeats):
        fallback = _fallback(menu, node, where, calling_code, silent=key is None)
        return Plan(wrong + fallback.steps, fallback.outcome, fallback.language)
    again = enter(menu, replace(where, attempt=where.attempt + 1), calling_code, again=True)
    return Plan(wrong + again.steps, "silence" if key is None else "invalid")


def _fallback(menu: Menu, node: Node, where: Where, calling_code: str | None,
              silent: bool) -> Plan:
    """Nobody chose: say what happened and what happens next (after silences, or after
    wrong keys), then go where the menu file says."""
    if node.kind == "language":
        lang = menu.likely_language(calling_code)
        destination = _next(node)
    else:
        lang = where.lang or menu.default_language
        assert node.fallback is not None  # checked when the menu was loaded
        destination = node.fallback
    prompt = node.fallback_prompt if silent else node.wrong_keys_prompt
    said = (Say(lang, prompt),) if prompt else ()
    then = enter(menu, Where(destination, lang, errors=where.errors), calling_code, "no_choice")
    chosen = lang if node.kind == "language" else None
    return Plan(said + then.steps, f"fallback:{destination}", language=chosen)


def apologise(menu: Menu, where: Where, calling_code: str | None,
              step: Target | None = None) -> Plan:
    """After an error in our code: say sorry and try the same place again, a few times at most.

    `step`: the webhook that failed, when it is not a menu node (a callback request's question,
    the queue); it is asked again as it was, so the caller keeps what they already told us.
    """
    errors = where.errors + 1
    if errors >= MAX_ERRORS:
        trouble = _in_languages(menu, where, calling_code, "technical_trouble")
        return Plan((*trouble, Hangup()), "error:gave-up")
    sorry = _in_languages(menu, where, calling_code, "sorry_error")
    retry = enter_target(Where(where.node, where.lang, errors=errors))
    if step is not None:
        retry = with_errors(step, errors)
    return Plan((*sorry, Redirect(retry)), "error:retry", private=step is not None)


def recover(menu: Menu, where: Where, calling_code: str | None,
            step: Target | None = None) -> Plan:
    """Twilio's fallback URL: our app failed to answer. Apologise and retry once, then end.

    `step`: as for apologise, the failed webhook when it is not a menu node.
    """
    trouble = _in_languages(menu, where, calling_code, "technical_trouble")
    if where.errors >= MAX_ERRORS - 1:
        return Plan((*trouble, Hangup()), "fallback:gave-up")
    retry = enter_target(Where(where.node, where.lang, errors=MAX_ERRORS - 1))
    if step is not None:
        retry = with_errors(step, MAX_ERRORS - 1)
    return Plan((*trouble, Redirect(retry)), "fallback:retry", private=step is not None)


def with_errors(step: Target, errors: int) -> Target:
    """The same webhook and parameters, carrying how many errors the call has met."""
    kept = tuple((name, value) for name, value in step.params if name != "err")
    return Target(step.path, (*kept, ("err", str(errors))))


def _in_languages(menu: Menu, where: Where, calling_code: str | None,
                  prompt: str) -> tuple[Say, ...]:
    """A prompt in the caller's language, or in every offered one before they have chosen."""
    if where.lang is not None:
        return (Say(where.lang, prompt),)
    return tuple(Say(lang, prompt) for lang in menu.language_order(calling_code))


def _ask_language(menu: Menu, node: Node, where: Where, calling_code: str | None) -> Ask:
    prompts = tuple(Say(lang, prompt)
                    for lang in menu.language_order(calling_code) for prompt in node.prompts)
    return Ask(prompts, input_target(where), node.timeout)


def _next(node: Node) -> str:
    assert node.next is not None  # checked when the menu was loaded
    return node.next
