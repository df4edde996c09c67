"""Callers' phone numbers: parsing, masking for logs, encryption and keyed hashing for storage.

A caller's number is personal data of someone who may be in danger. It is only ever stored
encrypted (Fernet, so keys can be rotated with MultiFernet) beside an HMAC-SHA256 digest
under its own key, so that "has this number called before" needs no decryption.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    REGION_CODE_FOR_NON_GEO_ENTITY,
    PhoneMetadata,
    timezone,
)
from phonenumbers.phonenumberutil import (  # the steps of parse() and is_valid_number()
    _MAX_LENGTH_FOR_NSN,
    _MIN_LENGTH_FOR_NSN,
    ValidationResult,
    _maybe_strip_national_prefix_carrier_code,
    _set_italian_leading_zeros_for_phone_number,
    _test_number_length,
    country_code_for_valid_region,
    national_significant_number,
    region_code_for_country_code,
)

MASK = "•"
# Where a number's zones agree, the name a person would expect to see.
USUAL_ZONES = frozenset({"Europe/London", "Europe/Moscow", "Europe/Kyiv", "Europe/Minsk"})
WITHHELD = "withheld"
# How Twilio passes a hidden caller ID: as a word, or as the word spelt on a keypad. Named so
# that no update of phonenumbers' metadata can turn one into a number we would ring back.
HIDDEN_CALLER_IDS = frozenset({
    "anonymous", "restricted", "unknown", "blocked", "unavailable", "private",
    "+266696687",  # ANONYMOUS
    "+7378742833",  # RESTRICTED
    "+2562533",  # BLOCKED
    "+8656696",  # UNKNOWN
    "+86282452253",  # UNAVAILABLE
})


# The longest caller ID worth parsing (Twilio's are E.164: 16 characters at most).
LONGEST_RAW = 32
# An E.164 number has at most this many digits after its +.
E164_DIGITS = 15
# How Twilio sends a caller ID that is a number: a + and digits.
_PLUS_DIGITS = re.compile(r"\+[0-9]+")


def hidden(raw: str | None) -> bool:
    """Whether a caller ID is one of the ways a hidden number is passed."""
    return raw is None or raw.strip().lower() in HIDDEN_CALLER_IDS


def normalise(raw: str | None) -> str | None:
    """The E.164 form of a caller ID, or None when it is withheld or not a real number.

    Twilio sends `anonymous`, `unknown`, client and SIP identities or keypad spellings when
    the caller hides their number: those are named (HIDDEN_CALLER_IDS), and anything else
    phonenumbers does not call valid counts as hidden too.
    """
    if not raw or len(raw) > LONGEST_RAW or not raw.startswith("+") or hidden(raw):
        return None
    try:
        number = _parsed_plus_digits(raw) if _PLUS_DIGITS.fullmatch(raw) else phonenumbers.parse(
            raw, None)
    except phonenumbers.NumberParseException:
        return None
    if number is None or not _valid(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_NOT_STRIPPED = (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
                 ValidationResult.INVALID_LENGTH)


def _parsed_plus_digits(raw: str) -> phonenumbers.PhoneNumber | None:
    """phonenumbers.parse(raw, None) for a + and digits, None where it raises: the steps it
    takes for such a string, without those for any other (extensions, RFC 3966, letters,
    spaces), which are half of its cost. Every call's caller ID is parsed, by the call log's
    writer; tests/test_phones_and_logs.py holds it to phonenumbers.parse."""
    digits = raw[1:]
    for length in (1, 2, 3):
        code = digits[:length]
        if code[0] != "0" and int(code) in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    country_code = int(code)
    national = digits[length:]
    if len(national) < _MIN_LENGTH_FOR_NSN:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, region_code_for_country_code(country_code))
    if metadata is None:
        return None
    _carrier, stripped, _ = _maybe_strip_national_prefix_carrier_code(national, metadata)
    if _test_number_length(stripped, metadata) not in _NOT_STRIPPED:
        national = stripped
    if not _MIN_LENGTH_FOR_NSN <= len(national) <= _MAX_LENGTH_FOR_NSN:
        return None
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    _set_italian_leading_zeros_for_phone_number(national, number)
    return number


def _valid(number: phonenumbers.PhoneNumber) -> bool:
    """phonenumbers.is_valid_number: the same region for the number, then the same question of
    its national number, "does it match one of the region's kinds of number". phonenumbers asks
    it by finding which kind (eleven patterns in turn, mobile numbers last) and, for a calling
    code that several regions share (+7, +44, +1), twice; asked here of patterns ready-made
    per region, a mobile number's first, and once: 3 µs a number instead of 6 to 15. Every
    caller's number is checked, by the call log's writer; tests/test_phones_and_logs.py holds
    it to phonenumbers."""
    country_code = number.country_code
    if country_code is None or country_code not in COUNTRY_CODE_TO_REGION_CODE:
        return False
    regions = COUNTRY_CODE_TO_REGION_CODE[country_code]
    national = national_significant_number(number)
    region = regions[0]
    if len(regions) > 1:  # as phonenumbers' _region_code_for_number_from_list
        for region in regions:
            kinds = _kinds(country_code, region)
            if kinds is None:
                continue
            if kinds.leading_digits is not None:
                if kinds.leading_digits.match(national):
                    break
            elif kinds.matched(national):
                return True  # the number's region, and what it is valid for there
        else:
            return False
    kinds = _kinds(country_code, region)
    return kinds is not None and kinds.of_the_code and kinds.matched(national)


_Pattern = tuple[frozenset[int], re.Pattern[str]]


class _Kinds(NamedTuple):
    """A region's kinds of number, as phonenumbers' _number_type_helper looks at them: its
    general description, then each kind's, as possible lengths and a compiled pattern."""

    leading_digits: re.Pattern[str] | None
    of_the_code: bool  # the region's calling code is the number's (is_valid_number_for_region)
    general: _Pattern | None
    kinds: tuple[_Pattern, ...]

    def matched(self, national: str) -> bool:
        """`_number_type_helper(national, metadata) != UNKNOWN`."""
        if self.general is None or not _matches(national, self.general):
            return False
        return any(_matches(national, kind) for kind in self.kinds)


def _matches(national: str, pattern: _Pattern) -> bool:
    lengths, compiled = pattern  # as phonenumbers' _is_number_matching_desc
    return (not lengths or len(national) in lengths) and compiled.fullmatch(national) is not None


@lru_cache(maxsize=512)
def _kinds(country_code: int, region: str) -> _Kinds | None:
    """A region's kinds of number, mobile first (what callers mostly have); None for a region
    phonenumbers has no metadata for. A mobile number is looked at there only when its pattern
    differs from a fixed line's, as _number_type_helper does."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region.upper())
    if metadata is None:
        return None
    descriptions = [metadata.mobile, metadata.fixed_line, metadata.premium_rate,
                    metadata.toll_free, metadata.shared_cost, metadata.voip,
                    metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail]
    if metadata.same_mobile_and_fixed_line_pattern:
        descriptions.remove(metadata.mobile)
    return _Kinds(
        leading_digits=None if metadata.leading_digits is None
        else re.compile(metadata.leading_digits),
        of_the_code=(region == REGION_CODE_FOR_NON_GEO_ENTITY
                     or country_code == country_code_for_valid_region(region)),
        general=_pattern(metadata.general_desc),
        kinds=tuple(kind for kind in map(_pattern, descriptions) if kind is not None))


def _pattern(description: phonenumbers.PhoneNumberDesc | None) -> _Pattern | None:
    """A description's lengths and pattern; None for one that matches nothing."""
    if description is None or not description.national_number_pattern:
        return None
    return (frozenset(description.possible_length),
            re.compile(description.national_number_pattern))


@lru_cache(maxsize=16)
def normalise_ours(raw: str | None) -> str | None:
    """normalise, for the hotline's own numbers (the `To` of a call to us): kept, as they
    are few and not a caller's."""
    return normalise(raw)


CALLING_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def parse_entered(digits: str, regions: tuple[str, ...]) -> str | None:
    """A number the caller typed: international if it parses so, else national in one of
    `regions` (the caller's own country, then the hotline's). None if it is not a number."""
    digits = "".join(char for char in digits if char.isdigit())
    if not 6 <= len(digits) <= E164_DIGITS:
        return None
    candidates = [("+" + digits, None), *((digits, region) for region in regions)]
    for text, region in candidates:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def regions_of(calling_codes: Iterable[str]) -> tuple[str, ...]:
    """The regions whose national numbers callers from these calling codes may type ("7":
    Russia and Kazakhstan)."""
    return tuple(region for code in calling_codes if code.isascii() and code.isdigit()
                 for region in phonenumbers.region_codes_for_country_code(int(code)))


def region_of(e164: str | None) -> str | None:
    """The two-letter region of a number, such as "UA"."""
    if e164 is None:
        return None
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None


def timezone_of(e164: str, now: datetime | None = None) -> str | None:
    """The caller's time zone from their number, or None when the number does not tell.

    Mobile ranges often span a country's zones (a Russian mobile: Kaliningrad to Kamchatka);
    a guess there could put a call at 3 a.m., so only zones that agree on the time count.
    """
    zones = [zone for zone in timezone.time_zones_for_number(phonenumbers.parse(e164, None))
             if zone != "Etc/Unknown"]
    if not zones:
        return None
    moment = now or datetime.now(UTC)
    offsets = {moment.astimezone(_zone(zone)).utcoffset() for zone in zones}
    if len(offsets) > 1:
        return None
    return next((zone for zone in zones if zone in USUAL_ZONES), zones[0])


# ZoneInfo keeps only eight zones alive: a Russian mobile's eleven would be read from disk again
# on every request saved.
_zone = cache(ZoneInfo)


def calling_code(raw: str | None) -> str | None:
    """The country calling code a caller ID starts with, such as "380", or None.

    Only used to guess a language, so it reads the prefix (calling codes are prefix-free)
    rather than validating the whole number: this runs on every menu step.
    """
    if not raw or not raw.startswith("+") or hidden(raw):
        return None
    for length in (1, 2, 3):
        prefix = raw[1:1 + length]
        if prefix in CALLING_CODES:
            return prefix
    return None


def mask(e164: str | None) -> str:
    """A form safe for logs and screens: `+7916•••••67`."""
    if not e164:
        return WITHHELD
    digits = e164.lstrip("+")
    head = max(0, min(4, len(digits) - 7))
    tail = 2 if len(digits) >= 6 else 0
    hidden = len(digits) - head - tail
    return "+" + digits[:head] + MASK * hidden + digits[len(digits) - tail:]


def masked_caller_id(raw: str | None) -> str:
    """mask() of a caller ID as Twilio sent it, for a log line, without parsing it: `withheld`
    for a hidden one or anything but a + and digits."""
    if hidden(raw) or not raw or len(raw) > 1 + E164_DIGITS or not _PLUS_DIGITS.fullmatch(raw):
        return WITHHELD
    return mask(raw)


class PhoneVault:
    """Encrypts, decrypts and digests E.164 numbers with the configured keys."""

    def __init__(self, encryption_keys: tuple[str, ...], hash_key: str) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in encryption_keys])
        self._hash_key = hash_key.encode()
        self._ours: dict[str, tuple[str, str]] = {}

    def encrypt(self, e164: str) -> str:
        return self._fernet.encrypt(e164.encode()).decode("ascii")

    def ours(self, e164: str) -> tuple[str, str]:
        """The hotline's own number (the `To` of every call to us), encrypted and digested
        once per process: one token for every row that names it reveals nothing its digest
        does not, and spares each incoming call an encryption."""
        known = self._ours.get(e164)
        if known is None:
            if len(self._ours) >= 16:  # a handful of numbers are ours; anything else is not
                return self.encrypt(e164), self.digest(e164)
            known = self._ours[e164] = (self.encrypt(e164), self.digest(e164))
        return known

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode("ascii")).decode()

    def digest(self, e164: str) -> str:
        return hmac.new(self._hash_key, e164.encode(), hashlib.sha256).hexdigest()

    def seal(self, text: str) -> str:
        """Encrypt anything that may hold a number: a URL parameter, a spool record."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def seal_audio(self, audio: bytes) -> str:
        """A caller's recorded message, encrypted for the database."""
        return self._fernet.encrypt(audio).decode("ascii")

    def unseal_audio(self, token: str) -> bytes:
        """A message sealed by seal_audio; InvalidToken if no key reads it."""
        return self._fernet.decrypt(token.encode("ascii"))

    def unseal(self, token: str) -> str | None:
        """The text of a sealed token, or None for a token we did not make."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            return None
