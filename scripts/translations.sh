#!/usr/bin/env bash
# The catalogs of the portal and the docs (app/i18n.py).
#   scripts/translations.sh extract   templates and code → translations/messages.pot
#   scripts/translations.sh update    extract, then merge new strings into every messages.po
#   scripts/translations.sh compile   messages.po → messages.mo (make install runs this)
# Services' refusals are found by their class: every ServiceError subclass is a keyword, so
# `raise ValidationError("name must be …")` is extracted without a marker at the raise site.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

extract() {
    local keywords
    keywords=$(PYTHONPATH=. "$BIN/python" scripts/translation_keywords.py)
    # shellcheck disable=SC2086
    "$BIN/pybabel" -q extract -F babel.cfg --no-location --sort-output --omit-header \
        -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 -k N_ -k __init__ $keywords \
        -o "${POT:-translations/messages.pot}" .
}

case "${1:-}" in
    extract) extract ;;
    update)
        extract
        "$BIN/pybabel" -q update -i translations/messages.pot -d translations \
            --no-fuzzy-matching --ignore-obsolete --omit-header
        ;;
    compile) "$BIN/pybabel" -q compile -d translations --statistics ;;
    *) echo "usage: $0 extract|update|compile" >&2; exit 2 ;;
esac
