"""How Lunas writes money, times and raw documents for people, on every page: one formatter
each, registered as the templates' filters."""

from __future__ import annotations

import json

from flask import Flask

from app.clock import format_wib
from app.json_input import JsonInputError, read_json


def format_rupiah(amount: int | None) -> str:
    """75000 → "Rp75.000": Indonesian thousands separators, no decimals (IDR has none), no
    space after Rp (as Indonesian spelling writes it); "—" for no amount."""
    if amount is None:
        return "—"
    return f"Rp{amount:,}".replace(",", ".")


def pretty_json(raw: str | dict | None) -> str:
    """Indented JSON for reading; text that is not JSON is shown as it came."""
    if isinstance(raw, dict):
        return json.dumps(raw, indent=2, ensure_ascii=False)
    if not raw:
        return ""
    try:
        return json.dumps(read_json(raw), indent=2, ensure_ascii=False)
    except JsonInputError:
        return raw  # as it came (escaped by the template): never an error on stored data


def install(app: Flask) -> None:
    app.add_template_filter(format_rupiah, "rupiah")
    app.add_template_filter(format_wib, "wib")
    app.add_template_filter(pretty_json, "pretty_json")
