"""An Example (app/docs/examples.py) as code a developer pastes: curl, Python (requests), Node
(fetch, an ES module) and PHP (ext-curl). Each reads its URL, credentials and ids from the
environment, so the same text runs against any Lunas and any project."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.docs.examples import PATH_VARIABLES, Env, Example

LANGUAGES = {"curl": "curl", "python": "Python", "node": "Node", "php": "PHP"}

# What each language calls the value of an environment variable.
LOCAL_NAMES = {
    "LUNAS_URL": "base",
    "LUNAS_CLIENT_ID": "client_id",
    "LUNAS_CLIENT_SECRET": "client_secret",
    "PURCHASE_ID": "purchase_id",
    "ORDER_ID": "order_id",
    "ITEM_ID": "item_id",
}


def snippets(example: Example) -> dict[str, str]:
    return {
        "curl": curl(example),
        "python": python(example),
        "node": node(example),
        "php": php(example),
    }


# -- curl --------------------------------------------------------------------------------------


def curl(example: Example) -> str:
    path = _path(example, lambda name: "$" + name)
    words = ["curl -sS"]
    if example.query and example.method == "GET":
        words[0] += " -G"
    elif example.method != "GET":
        words[0] += f" -X {example.method}"
    words[0] += f' "$LUNAS_URL{path}"'
    if example.authenticated:
        words.append('-u "$LUNAS_CLIENT_ID:$LUNAS_CLIENT_SECRET"')
    for name, value in example.query.items():
        text = "$" + value.name if isinstance(value, Env) else value
        words.append(f'--data-urlencode "{name}={text}"')
    if example.body is not None:
        body = json.dumps(example.body, indent=2, ensure_ascii=False).replace("'", "'\\''")
        words += ['-H "Content-Type: application/json"', f"-d '{body}'"]
    if example.upload is not None:
        words.append(f'-F "{example.upload.field}=@{example.upload.filename}"')
    return " \\\n  ".join(words)


# -- Python ------------------------------------------------------------------------------------


def python(example: Example) -> str:
    lines = ["import os"]
    if example.upload is not None:
        lines.append("from pathlib import Path")
    lines += ["", "import requests", ""]
    lines += [f'{LOCAL_NAMES[name]} = os.environ["{name}"]' for name in example.variables]
    path = _path(example, lambda name: "{" + LOCAL_NAMES[name] + "}")
    arguments = [f'f"{{base}}{path}"']
    if example.authenticated:
        arguments.append("auth=(client_id, client_secret)")
    if example.query:
        arguments.append(f"params={_literal(PYTHON, _query(example, LOCAL_NAMES.get), 2)}")
    if example.body is not None:
        arguments.append(f"json={_literal(PYTHON, example.body, 2)}")
    if example.upload is not None:
        upload = example.upload
        arguments.append(
            f'files={{"{upload.field}": ("{upload.filename}", '
            f'Path("{upload.filename}").read_bytes())}}'
        )
    arguments.append("timeout=30")
    lines += [
        "",
        f"response = requests.{example.method.lower()}(",
        *(f"    {argument}," for argument in arguments),
        ")",
        "print(response.status_code, response.json())",
    ]
    return "\n".join(lines)


# -- Node --------------------------------------------------------------------------------------


def node(example: Example) -> str:
    lines = []
    if example.upload is not None:
        lines += ['import { readFile } from "node:fs/promises";', ""]
    lines += [
        f"const {_camel(LOCAL_NAMES[name])} = process.env.{name};" for name in example.variables
    ]
    if example.authenticated:
        lines.append(
            'const auth = "Basic " + Buffer.from(`${clientId}:${clientSecret}`).toString("base64");'
        )
    path = _path(example, lambda name: "${" + _camel(LOCAL_NAMES[name]) + "}")
    if example.query:
        query = _query(example, lambda name: _camel(LOCAL_NAMES[name]))
        pairs = ", ".join(f"{key}: {_js_value(value)}" for key, value in query.items())
        lines.append(f"const query = new URLSearchParams({{ {pairs} }});")
        path += "?${query}"
    if example.upload is not None:
        upload = example.upload
        lines += [
            "const form = new FormData();",
            f'form.append("{upload.field}", new Blob([await readFile("{upload.filename}")]), '
            f'"{upload.filename}");',
        ]
    options = []
    if example.method != "GET":
        options.append(f'method: "{example.method}"')
    headers = []
    if example.authenticated:
        headers.append("Authorization: auth")
    if example.body is not None:
        headers.append('"Content-Type": "application/json"')
    if headers:
        options.append("headers: { " + ", ".join(headers) + " }")
    if example.body is not None:
        body = json.dumps(example.body, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        options.append(f"body: JSON.stringify({body})")
    if example.upload is not None:
        options.append("body: form")
    call = f"await fetch(`${{base}}{path}`"
    if options:
        call += ", {\n" + "".join(f"  {option},\n" for option in options) + "}"
    lines += [
        "",
        f"const response = {call});",
        "console.log(response.status, await response.json());",
    ]
    return "\n".join(lines)


def _js_value(value: Any) -> str:
    return value.code if isinstance(value, _Code) else json.dumps(value, ensure_ascii=False)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


# -- PHP ---------------------------------------------------------------------------------------


def php(example: Example) -> str:
    lines = ["<?php"]
    lines += [f"${_camel(LOCAL_NAMES[name])} = getenv('{name}');" for name in example.variables]
    path = _path(example, lambda name: "$" + _camel(LOCAL_NAMES[name]))
    url = f'"$base{path}"'
    if example.query:
        query = _query(example, lambda name: "$" + _camel(LOCAL_NAMES[name]))
        url += f" . '?' . http_build_query({_literal(PHP, query, 1)})"
    options = [f"CURLOPT_CUSTOMREQUEST => '{example.method}'"]
    if example.authenticated:
        options.append('CURLOPT_USERPWD => "$clientId:$clientSecret"')
    if example.body is not None:
        options += [
            "CURLOPT_HTTPHEADER => ['Content-Type: application/json']",
            f"CURLOPT_POSTFIELDS => json_encode({_literal(PHP, example.body, 2)})",
        ]
    if example.upload is not None:
        upload = example.upload
        options.append(
            f"CURLOPT_POSTFIELDS => ['{upload.field}' => new CURLFile('{upload.filename}')]"
        )
    options.append("CURLOPT_RETURNTRANSFER => true")
    lines += [
        "",
        f"$curl = curl_init({url});",
        "curl_setopt_array($curl, [",
        *(f"    {option}," for option in options),
        "]);",
        "$body = curl_exec($curl);",
        "echo curl_getinfo($curl, CURLINFO_HTTP_CODE), ' ', $body, PHP_EOL;",
    ]
    return "\n".join(lines)


def _php_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- shared ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """How a language writes a JSON value as a literal."""

    pair: str  # a map's entry, from {key} and {value}
    map_brackets: tuple[str, str]
    string: Callable[[str], str]
    null: str
    true: str
    false: str


PYTHON = Dialect(
    "{key}: {value}", ("{", "}"), lambda text: json.dumps(text, ensure_ascii=False),
    "None", "True", "False",
)  # fmt: skip
PHP = Dialect("{key} => {value}", ("[", "]"), _php_string, "null", "true", "false")


def _literal(dialect: Dialect, value: Any, depth: int) -> str:
    if isinstance(value, _Code):
        return value.code
    if isinstance(value, dict):
        items = [
            dialect.pair.format(key=dialect.string(key), value=_literal(dialect, item, depth + 1))
            for key, item in value.items()
        ]
        return _wrap(*dialect.map_brackets, items, depth)
    if isinstance(value, list):
        return _wrap("[", "]", [_literal(dialect, item, depth + 1) for item in value], depth)
    if value is None:
        return dialect.null
    if isinstance(value, bool):
        return dialect.true if value else dialect.false
    if isinstance(value, str):
        return dialect.string(value)
    return json.dumps(value)


class _Code:
    """A piece of code in a literal: a variable's name, not a string."""

    def __init__(self, code: str) -> None:
        self.code = code


def _path(example: Example, variable) -> str:
    return re.sub(
        r"\{(\w+)\}", lambda match: variable(PATH_VARIABLES[match.group(1)]), example.path
    )


def _query(example: Example, local) -> dict[str, Any]:
    return {
        name: _Code(local(value.name)) if isinstance(value, Env) else value
        for name, value in example.query.items()
    }


def _wrap(opening: str, closing: str, items: list[str], depth: int) -> str:
    """A collection on one line when it is short, else one item a line."""
    if not items:
        return opening + closing
    flat = opening + ", ".join(items) + closing
    if len(flat) + 4 * depth <= 72 and "\n" not in flat:
        return flat
    inner = "    " * depth
    return (
        opening
        + "\n"
        + "".join(f"{inner}{item},\n" for item in items)
        + "    " * (depth - 1)
        + closing
    )
