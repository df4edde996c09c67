"""Callers' phone numbers: parsing, masking for logs, encryption and keyed hashing for storage.

A caller's number is personal data of someone who may be in danger. It is only ever stored
encrypted (Fernet, so keys can be rotated with MultiFernet) beside an HMAC-SHA256 digest
under its own key, so that "has this number called before" needs no decryption.
"""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers
from cryptography.fernet import Fernet, MultiFernet

MASK = "•"
WITHHELD = "withheld"


def normalise(raw: str | None) -> str | None:
    """The E.164 form of a caller ID, or None when it is withheld or not a real number.

    Twilio sends `anonymous`, `unknown`, client and SIP identities or keypad spellings when
    the caller hides their number; anything phonenumbers does not call valid counts as hidden.
    """
    if not raw or len(raw) > 32 or not raw.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


CALLING_CODES = frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def calling_code(raw: str | None) -> str | None:
    """The country calling code a caller ID starts with, such as "380", or None.

    Only used to guess a language, so it reads the prefix (calling codes are prefix-free)
    rather than validating the whole number: this runs on every menu step.
    """
    if not raw or not raw.startswith("+"):
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


class PhoneVault:
    """Encrypts, decrypts and digests E.164 numbers with the configured keys."""

    def __init__(self, encryption_keys: tuple[str, ...], hash_key: str) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in encryption_keys])
        self._hash_key = hash_key.encode()

    def encrypt(self, e164: str) -> str:
        return self._fernet.encrypt(e164.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode("ascii")).decode()

    def digest(self, e164: str) -> str:
        return hmac.new(self._hash_key, e164.encode(), hashlib.sha256).hexdigest()
