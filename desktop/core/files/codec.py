"""Dataclasses <-> JSON-safe values, driven by the field annotations.

The one reader of JSON into our dataclasses: recordings store records and
options through this, so that a new record type or a new option needs no code,
and the jobs and lab clients read the server's answers with `read`.  Enums go
by value, bytes as base64, tuples and frozensets as lists, nested dataclasses
as objects, and the annotations say how to turn a value back (and what is wrong
when it cannot be).

Why not ``pydantic.TypeAdapter`` (already installed with fastapi): reading an
`Event` it measured no faster than `Shape.build`, its lax mode turns ``"5"``
into ``5`` where a recording should say the field is wrong, and its strict mode
refuses a JSON object for a dataclass.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import types
from collections.abc import Callable
from dataclasses import is_dataclass
from enum import Enum
from operator import attrgetter
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

Convert = Callable[[object], object]
T = TypeVar("T")


class BadValueError(ValueError):
    """A JSON value does not fit the field it is meant for; the text says why."""


def kind_of(cls: type) -> str:
    """``RawChunk`` → ``raw_chunk``: the tag a record's class gets in a file."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def plain(value: object) -> object:
    """A field value as JSON can hold it."""
    cls = value.__class__
    if cls is str or cls is int or cls is float or cls is bool or value is None:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, frozenset | set):
        return sorted((plain(item) for item in value), key=repr)
    if is_dataclass(value) and not isinstance(value, type):
        return shape_of(type(value)).dump(value)
    return value


class _Never:
    """No JSON value has this class: fields without a fast path always convert."""


_SIMPLE = (str, int, float, bool)


class Shape:
    """How to turn one dataclass into a JSON object and back, field by field.

    Recordings hold hundreds of thousands of records, so both directions take
    a fast path for plain fields (a class check, no call) and call the
    annotation's converter only for the rest.
    """

    __slots__ = ("_get", "_special", "cls", "fields", "names")

    def __init__(self, cls: type) -> None:
        hints = get_type_hints(cls)
        self.cls = cls
        self.fields: list[tuple[str, type, Convert, Callable[[], object] | None]] = []
        for field in dataclasses.fields(cls):
            if not field.init:
                continue
            default: Callable[[], object] | None = None
            if field.default is not dataclasses.MISSING:
                default = _constant(field.default)
            elif field.default_factory is not dataclasses.MISSING:
                default = field.default_factory
            hint = hints[field.name]
            simple = hint if hint in _SIMPLE else _Never
            convert = _converter(hint)
            self.fields.append((field.name, simple, convert, default))
        self.names = tuple(name for name, _, _, _ in self.fields)
        self._get = attrgetter(*self.names) if len(self.names) > 1 else None
        self._special = tuple(
            i for i, (_, simple, _, _) in enumerate(self.fields) if simple is _Never
        )

    def build(self, obj: dict[str, object]) -> Any:
        """The dataclass; unknown keys are ignored, a missing field with a
        default takes it (files from older or newer versions), else BadValueError."""
        kwargs: dict[str, object] = {}
        for name, simple, convert, default in self.fields:
            if name in obj:
                value = obj[name]
                if value.__class__ is not simple:
                    try:
                        value = convert(value)
                    except BadValueError as exc:
                        raise BadValueError(f"field {name!r}: {exc}") from None
                kwargs[name] = value
            elif default is not None:
                kwargs[name] = default()
            else:
                raise BadValueError(f"field {name!r} is missing")
        return self.cls(**kwargs)

    def dump(self, value: object) -> dict[str, object]:
        if self._get is None:
            return {name: plain(getattr(value, name)) for name in self.names}
        values = list(self._get(value))
        for i in self._special:
            values[i] = plain(values[i])
        return dict(zip(self.names, values, strict=True))


_SHAPES: dict[type, Shape] = {}


def shape_of(cls: type) -> Shape:
    """The `Shape` of a dataclass, built once."""
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = Shape(cls)
    return shape


def read(cls: type[T], value: object) -> T:
    """Parsed JSON as a ``cls`` dataclass; BadValueError says what does not fit.

    Unknown keys are ignored and missing ones take the field's default, so a
    newer or older peer can add or drop fields.
    """
    return cast("T", shape_of(cls).build(_object(value)))


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


def _converter(hint: object) -> Convert:
    origin, args = get_origin(hint), get_args(hint)
    if origin is Union or origin is types.UnionType:
        return _union(hint, args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])
            return lambda v: tuple(item(x) for x in _list(v))
        items = [_converter(arg) for arg in args]

        def fixed(v: object) -> object:
            values = _list(v)
            if len(values) != len(items):
                raise BadValueError(f"expected {len(items)} items, got {len(values)}")
            return tuple(c(x) for c, x in zip(items, values, strict=True))

        return fixed
    if origin in (frozenset, set):
        member = _converter(args[0]) if args else _same
        return lambda v: frozenset(member(x) for x in _list(v))
    if origin is list:
        entry = _converter(args[0]) if args else _same
        return lambda v: [entry(x) for x in _list(v)]
    if origin is dict or hint is dict:
        return _object
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        nested = hint  # its shape is looked up on use: a class may name itself
        return lambda v: (
            v if isinstance(v, nested) else shape_of(nested).build(_object(v))
        )
    if hint is bool:
        return _typed(bool, "true or false")
    if hint is int:
        return _int
    if hint is float:
        return _float
    if hint is str:
        return _typed(str, "a string")
    if hint is bytes:
        return _bytes
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum(hint)
    return _same  # an annotation this codec does not know: keep the JSON value


def _union(hint: object, args: tuple[object, ...]) -> Convert:
    arms = [_converter(arg) for arg in args if arg is not type(None)]
    optional = len(arms) < len(args)

    def convert(v: object) -> object:
        if v is None and optional:
            return None
        for arm in arms:
            try:
                return arm(v)
            except BadValueError:
                continue
        raise BadValueError(f"{_show(v)} does not fit {hint}")

    return convert


def _same(v: object) -> object:
    return v


def _typed(cls: type, what: str) -> Convert:
    def convert(v: object) -> object:
        if v.__class__ is not cls:
            raise BadValueError(f"expected {what}, got {_show(v)}")
        return v

    return convert


def _int(v: object) -> object:
    if v.__class__ is not int:
        raise BadValueError(f"expected a whole number, got {_show(v)}")
    return v


def _float(v: object) -> object:
    if v.__class__ is float:
        return v
    if v.__class__ is int:
        return float(v)
    raise BadValueError(f"expected a number, got {_show(v)}")


def _bytes(v: object) -> object:
    if not isinstance(v, str):
        raise BadValueError(f"expected base64 text, got {_show(v)}")
    try:
        return base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise BadValueError("not valid base64") from None


def _enum(cls: type[Enum]) -> Convert:
    def convert(v: object) -> object:
        try:
            return cls(v)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in cls)
            raise BadValueError(f"{_show(v)} is not one of {allowed}") from None

    return convert


def _object(v: object) -> dict[str, object]:
    if not isinstance(v, dict):
        raise BadValueError(f"expected an object, got {_show(v)}")
    return v


def _list(v: object) -> list[object]:
    if not isinstance(v, list):
        raise BadValueError(f"expected a list, got {_show(v)}")
    return v


def _show(v: object) -> str:
    text = json_repr(v)
    return text if len(text) <= 40 else text[:39] + "…"


def json_repr(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "an object"
    if isinstance(v, list):
        return "a list"
    return repr(v)
