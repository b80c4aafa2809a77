"""The portal and the docs are in Bahasa Indonesia and English (SPEC §12): these tests fail when
a string a merchant reads is left out of the catalog or written where no catalog can reach it.

- Every string the extractor finds (templates, the portal's code, services' refusals) has a
  Bahasa Indonesia translation, not fuzzy, with the same %(placeholders)s and HTML tags, and
  the catalog holds nothing the code no longer says.
- No template of the portal or the docs has English text (or a placeholder, title, aria-label
  or alt) outside `_()`.
- The portal's Python shows no literal string: flash() gets gettext's answer, forms' labels and
  validators' messages are lazy_gettext (WTForms has no Bahasa Indonesia of its own), and every
  refusal a service raises is one literal template, so the extractor sees it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "translations" / "id" / "LC_MESSAGES" / "messages.po"
TRANSLATED_TEMPLATES = sorted(
    [
        *(ROOT / "templates" / "portal").glob("*.html"),
        *(ROOT / "templates" / "docs").glob("*.html"),
        ROOT / "templates" / "error.html",
        ROOT / "templates" / "_language.html",
    ]
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TAG = re.compile(r"</?([a-z][a-z0-9]*)")
# Text that reads the same in both languages.
SAME_IN_BOTH = {"Lunas", "QRIS", "SANDBOX", "Midtrans", "OpenAPI", "JSON", "HTTP", "URL", "SVG"}
SAME_IN_BOTH |= {"WIB", "ms", "NMID", "Webhook"}
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "data-confirm"}
CODE_ELEMENTS = {"code", "pre", "kbd", "samp", "script", "style"}
HOLE = "\x00"  # where a Jinja expression or tag was: its text is not literal


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [str(ROOT / "scripts" / "translations.sh"), "extract"],
        cwd=ROOT,
        env={**os.environ, "POT": str(pot), "BIN": str(Path(sys.executable).parent)},
        check=True,
    )
    with pot.open("rb") as source:
        return read_po(source)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with CATALOG.open("rb") as source:
        return read_po(source, locale="id")


def _forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def _ids(catalog: Catalog) -> set[str]:
    return {message.id if isinstance(message.id, str) else message.id[0] for message in catalog}


def test_every_extracted_string_has_a_bahasa_indonesia_translation(extracted, catalog):
    assert len(extracted) > 300  # the extractor found the portal, the docs and the services
    missing = []
    for message in extracted:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        translated = catalog.get(key)
        if translated is None or translated.fuzzy or not all(_forms(translated)):
            missing.append(key)
    assert not missing, f"{len(missing)} strings without a translation: {missing[:20]}"


def test_translations_keep_their_placeholders_and_markup(catalog):
    broken = []
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[-1]
        for form in _forms(message):
            if set(PLACEHOLDER.findall(form)) != set(PLACEHOLDER.findall(source)):
                broken.append((source, form, "placeholders"))
            if sorted(TAG.findall(form)) != sorted(TAG.findall(source)):
                broken.append((source, form, "markup"))
    assert not broken, broken[:10]


def test_the_catalog_holds_only_what_the_code_still_says(extracted, catalog):
    stale = _ids(catalog) - _ids(extracted) - {""}
    assert not stale, f"run scripts/translations.sh update: {sorted(stale)[:20]}"


class _LiteralText(HTMLParser):
    """The text and read attributes of a template's skeleton that are not in a code element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.indonesian: list[str] = []  # open elements written in Bahasa Indonesia (lang="id")
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in {"input", "br", "img", "meta", "link", "hr", "source"}:
            self.open.append(tag)
            if ("lang", "id") in attrs:
                self.indonesian.append(tag)
        for name, value in attrs:
            shown_value = tag == "input" and ("type", "submit") in attrs and name == "value"
            if name in READ_ATTRIBUTES or shown_value:
                self._keep(value or "")

    def handle_endtag(self, tag):
        if self.indonesian and self.indonesian[-1] == tag:
            self.indonesian.pop()
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_data(self, data):
        if not CODE_ELEMENTS.intersection(self.open) and not self.indonesian:
            self._keep(data)

    def _keep(self, text: str) -> None:
        for piece in text.split(HOLE):
            piece = " ".join(piece.split())
            if "class=" in piece:  # a body_class block's attribute, not text
                continue
            words = [w for w in re.findall(r"[A-Za-z_][\w.-]*", piece) if len(w) > 1]
            # Identifiers (client_id, openapi.json) and names are the same in both languages.
            if any(w not in SAME_IN_BOTH and not re.search(r"[_.\d-]", w) for w in words):
                self.found.append(piece)


def literal_text(source: str) -> list[str]:
    """English a template writes outside `{{ _() }}`: its data, with every expression replaced
    by a hole (and every tag by a space), read as HTML."""
    skeleton = []
    for _line, kind, value in Environment(autoescape=True, extensions=["jinja2.ext.i18n"]).lex(
        source
    ):
        if kind == "data":
            skeleton.append(value)
        elif kind == "variable_begin":
            skeleton.append(HOLE)
        elif kind == "block_begin":  # may sit inside a tag: `<tr{% if x %} class="y"{% endif %}>`
            skeleton.append(" ")
    parser = _LiteralText()
    parser.feed("".join(skeleton))
    parser.close()
    return parser.found


@pytest.mark.parametrize("template", TRANSLATED_TEMPLATES, ids=lambda path: path.name)
def test_no_template_of_the_portal_or_the_docs_has_untranslated_text(template):
    assert literal_text(template.read_text()) == []


def test_the_template_check_finds_english_outside_gettext():
    # The check itself: text, a read attribute and a button's value are found; code, marked
    # strings and Jinja expressions are not.
    found = literal_text(
        '<h1>Payments</h1><p>{{ _("Saved.") }} {{ project.name }}</p>'
        '<input placeholder="Search orders"><input type="submit" value="Save">'
        "<code>client_id</code><pre>curl -u x</pre><p>Lunas · {{ n }}</p>"
        '<a title="{{ _("Open") }}" href="/x">{{ _("Open") }}</a>'
    )
    assert found == ["Payments", "Search orders", "Save"]


def _python(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _is_literal_text(node: ast.expr) -> bool:
    return isinstance(node, ast.JoinedStr | ast.BinOp) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def test_the_portal_flashes_only_translated_messages():
    untranslated = [
        f"{path.name}:{node.lineno}"
        for path in sorted((ROOT / "app" / "portal").glob("*.py"))
        for node in ast.walk(_python(path))
        if isinstance(node, ast.Call)
        and _name(node) == "flash"
        and node.args
        and _is_literal_text(node.args[0])
    ]
    assert not untranslated


VALIDATORS = {"DataRequired", "InputRequired", "Length", "Email", "NumberRange", "EqualTo"}
VALIDATORS |= {"URL", "Regexp", "AnyOf", "NoneOf", "FileRequired", "FileAllowed", "FileSize"}


def test_form_labels_and_validator_messages_are_translated():
    untranslated = []
    for node in ast.walk(_python(ROOT / "app" / "portal" / "forms.py")):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name.endswith("Field"):
            label = node.args[0] if node.args else None
            label = next((k.value for k in node.keywords if k.arg == "label"), label)
            if label is not None and _is_literal_text(label):
                untranslated.append(f"{name} label at line {node.lineno}")
        elif name in VALIDATORS:
            message = next((k.value for k in node.keywords if k.arg == "message"), None)
            if message is None or _is_literal_text(message):
                untranslated.append(f"{name} at line {node.lineno} (WTForms' English)")
    assert not untranslated


def _error_classes() -> set[str]:
    printed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "translation_keywords.py")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(printed.split()) - {"-k"}


def test_every_refusal_a_service_raises_is_a_literal_the_extractor_sees():
    classes = _error_classes()
    assert {"ServiceError", "ValidationError", "NotFoundError"} <= classes
    hidden = []
    for path in sorted(
        [*(ROOT / "app" / "services").rglob("*.py"), *(ROOT / "app").glob("qris/*.py")]
    ):
        for node in ast.walk(_python(path)):
            if isinstance(node, ast.Call) and _name(node) in classes and node.args:
                message = node.args[0]
                if isinstance(message, ast.JoinedStr | ast.BinOp) or (
                    isinstance(message, ast.Call) and _name(message) == "format"
                ):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not hidden, "use a literal with %(name)s and params: " + ", ".join(hidden)
