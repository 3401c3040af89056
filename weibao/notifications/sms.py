"""Pluggable SMS backends, chosen like Django's e-mail backends (``WEIBAO_SMS_BACKEND``, a dotted path).

A backend is a class with ``send(phone_numbers, text) -> int`` (messages accepted). The shipped ones:
``ConsoleBackend`` (prints, for the demo), ``LocmemBackend`` (keeps messages in ``outbox``, for tests),
``DisabledBackend`` (the default: closed networks often have no SMS gateway). A gateway is one more class.
"""

import sys

from django.conf import settings
from django.utils.module_loading import import_string

outbox: list[tuple[str, str]] = []


class DisabledBackend:
    def send(self, phone_numbers, text) -> int:
        return 0


class ConsoleBackend:
    def send(self, phone_numbers, text) -> int:
        for number in phone_numbers:
            sys.stdout.write(f"SMS to {number}: {text}\n")
        return len(phone_numbers)


class LocmemBackend:
    def send(self, phone_numbers, text) -> int:
        outbox.extend((number, text) for number in phone_numbers)
        return len(phone_numbers)


def get_backend():
    return import_string(settings.SMS_BACKEND)()
