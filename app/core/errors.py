"""User-facing errors of the services: a Chinese message id with parameters, translated where it is shown."""
from __future__ import annotations

from flask_babel import gettext


class UserError(ValueError):
    """A request the service refuses, with a message for the person who made it.

    Raise with a literal marked `N_("...")` (so the catalogue has it) and `%(name)s` parameters; `str(exc)` is the
    Chinese text (command line, logs), `exc.localized()` the text in the reader's language (pages).
    """

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def localized(self) -> str:
        return gettext(self.message, **self.params)


class FieldErrors(ValueError):
    """A form the service refuses: field -> msgid, or (msgid, params), translated where the form shows it."""

    def __init__(self, errors: dict[str, str | tuple[str, dict]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
