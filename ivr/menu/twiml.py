"""Plans become TwiML here, with the twilio package's VoiceResponse (which escapes all text)."""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.menu.menu_file import Menu
from ivr.menu.plans import (
    Ask,
    DialNumber,
    DialQueue,
    Enqueue,
    Hangup,
    Leave,
    Plan,
    Record,
    Redirect,
    Say,
    SayDigits,
    Speech,
)
from ivr.menu.prompts import Catalog

PROMPTS_PATH = "/prompts"
CACHE_LIMIT = 4096


class Renderer:
    """Turns plans into TwiML documents. The same plan always gives the same document, so
    documents of plans that hold nobody's data are kept: the menu webhooks do no XML work
    on the hot path."""

    def __init__(self, menu: Menu, catalog: Catalog) -> None:
        self.menu = menu
        self.catalog = catalog
        self._cache: dict[tuple[Plan, str], str] = {}

    def render(self, plan: Plan, base: str) -> str:
        if plan.private:
            return self._render(plan, base)
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
            if isinstance(step, Say | SayDigits):
                self._speak(response, step, base)
            elif isinstance(step, Ask):
                self._ask(response, step, base)
            elif isinstance(step, Redirect):
                response.redirect(step.to.url(base), method="POST")
            elif isinstance(step, Record):
                self._record(response, step, base)
            elif isinstance(step, Enqueue):
                response.enqueue(step.queue, action=step.action.url(base), method="POST",
                                 wait_url=step.wait.url(base), wait_url_method="POST")
            elif isinstance(step, Leave):
                response.leave()
            elif isinstance(step, DialQueue):
                dial = response.dial(action=step.action.url(base), method="POST",
                                     timeout=step.timeout)
                dial.queue(step.queue, url=step.announce.url(base), method="POST")
            elif isinstance(step, DialNumber):
                dial = response.dial(action=step.action.url(base), method="POST",
                                     timeout=step.timeout, caller_id=step.caller_id)
                dial.number(step.number, status_callback=step.status_callback.url(base),
                            status_callback_method="POST",
                            status_callback_event="initiated ringing answered completed")
            elif isinstance(step, Hangup):
                response.hangup()
        return str(response)

    def _ask(self, response: VoiceResponse, ask: Ask, base: str) -> None:
        action = ask.action.url(base)
        gather = response.gather(
            action=action,
            method="POST",
            input="dtmf",
            num_digits=ask.num_digits,
            timeout=ask.timeout,
            # "" means every key, # included, is a choice and none ends the input early.
            finish_on_key=ask.finish_on_key,
            action_on_empty_result=False,
        )
        for speech in ask.prompts:
            self._speak(gather, speech, base)
        if ask.redirect_on_silence:
            # Twilio goes on to the next verb when nobody presses anything: our silence.
            response.redirect(action, method="POST")

    def _record(self, response: VoiceResponse, record: Record, base: str) -> None:
        response.record(
            action=record.action.url(base),
            method="POST",
            max_length=record.max_length,
            timeout=record.timeout,
            finish_on_key="#",
            play_beep=True,
            recording_status_callback=record.recording_callback.url(base),
            recording_status_callback_method="POST",
            recording_status_callback_event="completed",
        )
        # Should Twilio hear nothing, it goes on here instead of the action.
        response.redirect(record.then.url(base), method="POST")

    def _speak(self, parent: VoiceResponse | Gather, speech: Speech, base: str) -> None:
        if isinstance(speech, SayDigits):
            for digit in speech.digits:
                self._speak(parent, Say(speech.lang, f"digit_{digit}"), base)
            return
        prompt = self.catalog.get(speech.lang, speech.prompt)
        if prompt.recording is not None:
            parent.play(f"{base}{PROMPTS_PATH}/{speech.lang}/{prompt.recording}?v={prompt.version}")
            return
        voice = self.menu.languages[speech.lang]
        parent.say(prompt.text, language=voice.say_language, voice=voice.voice)
