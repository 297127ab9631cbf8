"""YAML / JSON scripts: the Script schema written out, validated by pydantic.

Validation errors name the field path (``scenes.0.elements.3.kind``) and, where the document gives positions,
the line and column of the offending value — found by walking the YAML node tree (JSON is read the same way).
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.script import Script
from tasks.script.errors import ScriptError


def _node_at(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """The deepest YAML node along ``loc`` (a pydantic error location)."""
    node = root
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
            if match is None:
                for k, _v in node.value:
                    if getattr(k, "value", None) == str(key):
                        return k
                return node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
        else:
            return node
    return node


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def parse_structured(text: str, *, source: str, fmt: str) -> Script:
    """A Script from YAML (``fmt="yaml"``) or JSON (``fmt="json"``) text."""
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ScriptError(
                f"invalid JSON: {err.msg}",
                file=source,
                line=err.lineno,
                column=err.colno,
                expected="a JSON object with the Script fields (title, scenes, …)",
            ) from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            raise ScriptError(
                f"invalid YAML: {problem}",
                file=source,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
                expected="a YAML mapping with the Script fields (title, scenes, …)",
                hint="check the indentation and that text containing ': ' is quoted",
            ) from None
    if data is None:
        raise ScriptError("the script is empty", file=source, expected="a mapping with title and scenes")
    if not isinstance(data, dict):
        raise ScriptError(
            f"the document is a {type(data).__name__}, not a mapping",
            file=source,
            line=1,
            column=1,
            expected="a mapping with the Script fields (title, scenes, …)",
        )
    data = {
        **data,
        "format": fmt,
        "source": source,
    }  # what was read, even when the dump came from another format
    try:
        return Script.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        node = _node_at(_compose(text), loc)
        line = node.start_mark.line + 1 if node is not None else None
        column = node.start_mark.column + 1 if node is not None else None
        more = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        field = ".".join(str(p) for p in loc) or "<root>"
        raise ScriptError(
            f"{first['msg']}{more}",
            file=source,
            line=line,
            column=column,
            field=field,
            hint="see schemas/script.py for the fields a Script accepts",
        ) from None
