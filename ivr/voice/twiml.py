"""Plans become TwiML here, with the twilio package's VoiceResponse (which escapes all text)."""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.flow import Ask, Hangup, Plan, Redirect, Say, Where
from ivr.menu import Menu
from ivr.prompts import Catalog

MENU_PATH = "/voice/menu"
INPUT_PATH = "/voice/menu/input"
FALLBACK_PATH = "/voice/fallback"
PROMPTS_PATH = "/prompts"
CACHE_LIMIT = 4096


def enter_url(base: str, where: Where) -> str:
    return f"{base}{MENU_PATH}?{urlencode(_state(where, with_attempt=False))}"


def input_url(base: str, where: Where) -> str:
    return f"{base}{INPUT_PATH}?{urlencode(_state(where, with_attempt=True))}"


def _state(where: Where, with_attempt: bool) -> dict[str, str]:
    state = {"node": where.node}
    if where.lang:
        state["lang"] = where.lang
    if with_attempt:
        state["try"] = str(where.attempt)
    if where.errors:
        state["err"] = str(where.errors)
    return state


class Renderer:
    """Turns plans into TwiML documents. The same plan always gives the same document, so
    documents are kept: the menu webhooks do no XML work on the hot path."""

    def __init__(self, menu: Menu, catalog: Catalog) -> None:
        self.menu = menu
        self.catalog = catalog
        self._cache: dict[tuple[Plan, str], str] = {}

    def render(self, plan: Plan, base: str) -> str:
        key = (plan, base)
        document = self._cache.get(key)
        if document is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            document = self._cache[key] = self._render(plan, base)
        return document

    def _render(self, plan: Plan, base: str) -> str:
        response = VoiceResponse()
        for step in plan.steps:
            if isinstance(step, Say):
                self._speak(response, step, base)
            elif isinstance(step, Ask):
                self._ask(response, step, base)
            elif isinstance(step, Redirect):
                response.redirect(enter_url(base, step.to), method="POST")
            elif isinstance(step, Hangup):
                response.hangup()
        return str(response)

    def _ask(self, response: VoiceResponse, ask: Ask, base: str) -> None:
        action = input_url(base, ask.at)
        gather = response.gather(
            action=action,
            method="POST",
            input="dtmf",
            num_digits=1,
            timeout=ask.timeout,
            # Every key, # included, is a choice; none of them ends the input early.
            finish_on_key="",
            action_on_empty_result=False,
        )
        for say in ask.prompts:
            self._speak(gather, say, base)
        # Twilio goes on to the next verb when nobody presses anything: that is our silence.
        response.redirect(action, method="POST")

    def _speak(self, parent: VoiceResponse | Gather, say: Say, base: str) -> None:
        prompt = self.catalog.get(say.lang, say.prompt)
        if prompt.recording is not None:
            parent.play(f"{base}{PROMPTS_PATH}/{say.lang}/{prompt.recording}?v={prompt.version}")
            return
        voice = self.menu.languages[say.lang]
        parent.say(prompt.text, language=voice.say_language, voice=voice.voice)
