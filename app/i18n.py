"""The portal's and the docs' two languages (SPEC §12): Bahasa Indonesia and English.

English is the source language: every string is written in English in the templates and the
code, marked with gettext, and translated in `translations/id/LC_MESSAGES/messages.po` (compiled
to `.mo` by `make install`; `scripts/translations.sh` extracts and updates). The language of a
request is the one the merchant chose with the switch (a cookie, remembered for a year), else
the best of the browser's Accept-Language, else English.

The buyer's pages are not translated: they are written in Bahasa Indonesia and stay so whatever
the buyer's browser asks (their templates mark nothing for translation). The JSON API speaks
English too: its messages are for developers, its codes are the contract."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel, get_locale

LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
DEFAULT_LANGUAGE = "en"
COOKIE = "lunas_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

babel = Babel()


def select_language() -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE)


def current_language() -> str:
    """The code of the language this request's pages speak ("id" or "en")."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def install(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path + "/../translations"))
    babel.init_app(app, locale_selector=select_language, default_locale=DEFAULT_LANGUAGE)
    app.add_template_global(current_language, "current_language")
    app.add_template_global(LANGUAGES, "languages")
