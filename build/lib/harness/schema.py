"""Build frozen dataclasses from parsed TOML, with errors that name the file and the key.

Every configuration file (environments, gate policy, waivers) is validated through
`build`, so an unknown key, a wrong type or a bad URL is reported the same way:
``environments/demo.toml: smoke.timout_s: unknown key; did you mean 'timeout_s'?``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import types
import typing
from typing import Any, TypeVar
from urllib.parse import urlsplit

from harness.errors import ConfigError

T = TypeVar("T")


def suggest(word: str, choices: typing.Iterable[str]) -> str:
    """A did-you-mean hint for `word`, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def check_url(value: str, file: str, key: str) -> str:
    """Return `value` if it is an absolute http(s) URL, else raise ConfigError."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(file, key, f"'{value}' is not an http(s) URL",
                          hint="write it like https://staging.example.com")
    return value.rstrip("/")


def build(cls: type[T], data: Any, file: str, prefix: str = "") -> T:
    """Validate the mapping `data` against dataclass `cls` and return an instance."""
    if not isinstance(data, dict):
        raise ConfigError(file, prefix or "(top level)", f"expected a table, got {_kind(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        raise ConfigError(file, _join(prefix, key), "unknown key", hint=suggest(key, fields))
    values: dict[str, Any] = {}
    for name, value in data.items():
        key = _join(prefix, name)
        values[name] = _convert(hints[name], value, file, key)
        if name.endswith("_url") and isinstance(values[name], str) and values[name]:
            values[name] = check_url(values[name], file, key)
    missing = [n for n, f in fields.items() if n not in values and _required(f)]
    if missing:
        raise ConfigError(file, _join(prefix, missing[0]), "required key is missing")
    return cls(**values)


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else key


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _convert(tp: Any, value: Any, file: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arg in args:
            if arg is type(None) and value is None:
                return None
            try:
                return _convert(arg, value, file, key)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[-1]
    if tp is Any or tp is object:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build(tp, value, file, key)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(file, key, f"expected a list, got {_kind(value)}")
        item_tp = args[0] if args else Any
        items = [_convert(item_tp, v, file, _join(key, i)) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(file, key, f"expected a table, got {_kind(value)}")
        val_tp = args[1] if len(args) == 2 else Any
        return {str(k): _convert(val_tp, v, file, _join(key, str(k))) for k, v in value.items()}
    if typing.get_origin(tp) is typing.Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            hint = suggest(str(value), [str(a) for a in args]) or f"one of {choices}"
            raise ConfigError(file, key, f"'{value}' is not allowed", hint=hint)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(file, key, f"expected true or false, got {_kind(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(file, key, f"expected an integer, got {_kind(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(file, key, f"expected a number, got {_kind(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(file, key, f"expected a string, got {_kind(value)}")
        return value
    if tp is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ConfigError(file, key, f"expected a date like 2026-12-31, got {value!r}")
    raise TypeError(f"schema type {tp!r} is not supported (field {key})")
