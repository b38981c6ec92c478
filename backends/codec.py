"""JSON-able encoding of the domain model, for recordings.

``encode(obj)`` turns any value of ``backends.model`` (snapshots and their
parts) into plain JSON data, and ``decode(data)`` turns it back into an equal
value. The codec knows no field lists: it walks ``dataclasses.fields`` of the
classes it finds in ``backends.model``, so a field added to the model is
recorded and replayed without touching this file.

The encoding:

* None, bool, int, float and str are themselves;
* a dataclass of the model is ``{"$": "Run", "number": 1, ...}``; fields
  equal to their default are left out (decoding fills them in again);
* an enum is ``{"$enum": "JobStatus", "value": 2}``;
* a datetime is ``{"$dt": "2017-11-15T12:00:00+00:00"}``;
* a tuple, list or other sequence (such as the simulator's lazy runs) is a
  JSON array, and an array decodes to a tuple (the model holds no lists);
* a dict with str keys is ``{"$dict": {...}}``.

Data written by a newer version may carry fields this version does not know:
they are ignored, with a note in the ``notes`` set given to ``decode``.
Fields missing from the data take their defaults. A type name that is not in
the model raises ``CodecError``.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from backends import model

__all__ = ["REGISTRY", "CodecError", "decode", "decode_json", "encode"]

TYPE_KEY = "$"
ENUM_KEY = "$enum"
DATETIME_KEY = "$dt"
DICT_KEY = "$dict"


class CodecError(ValueError):
    """A value that cannot be encoded, or data that cannot be decoded."""


def _build_registry() -> dict[str, type]:
    """Every dataclass and enum defined in ``backends.model``, by class name."""
    registry: dict[str, type] = {}
    for name, obj in vars(model).items():
        if not isinstance(obj, type) or obj.__module__ != model.__name__:
            continue
        if dataclasses.is_dataclass(obj) or issubclass(obj, Enum | model.Kind):
            registry[name] = obj
    return registry


#: The classes the codec encodes and decodes, by name.
REGISTRY: dict[str, type] = _build_registry()


def register_class(cls: type) -> None:
    """Encode and decode a class defined outside ``backends.model`` (a kind
    registered by a plug-in or a test); its name must be new."""
    known = REGISTRY.get(cls.__name__)
    if known is not None and known is not cls:
        raise CodecError(f"a model class named {cls.__name__!r} exists already")
    REGISTRY[cls.__name__] = cls


def forget_class(cls: type) -> None:
    """Undo ``register_class`` (not for the model's own classes)."""
    if getattr(model, cls.__name__, None) is not cls and REGISTRY.get(cls.__name__) is cls:
        del REGISTRY[cls.__name__]


_NO_DEFAULT = object()


class _ClassInfo:
    """What the codec needs of one dataclass: its fields and their defaults."""

    __slots__ = ("cls", "encoder", "fields", "getter", "name", "names", "required")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = cls.__name__
        self.encoder: Callable[[Any], dict[str, Any]] | None = None
        specs = [f for f in dataclasses.fields(cls) if f.init]
        self.names = frozenset(f.name for f in specs)
        #: (name, default or _NO_DEFAULT) in declaration order.
        self.fields: tuple[tuple[str, Any], ...] = tuple(
            (f.name, f.default if f.default is not dataclasses.MISSING else _NO_DEFAULT)
            for f in specs
        )
        names = [f.name for f in specs]
        getter = operator.attrgetter(*names) if names else (lambda obj: ())
        self.getter: Callable[[Any], tuple[Any, ...]] = (
            getter if len(names) != 1 else (lambda obj: (getter(obj),))
        )
        self.required = frozenset(
            f.name
            for f in specs
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        )


_INFO: dict[type, _ClassInfo] = {}


def _info(cls: type) -> _ClassInfo:
    info = _INFO.get(cls)
    if info is None:
        info = _INFO[cls] = _ClassInfo(cls)
    return info


# -------------------------------------------------------------------- encode


def _identity(obj: Any) -> Any:
    return obj


def _encode_datetime(obj: datetime) -> dict[str, str]:
    return {DATETIME_KEY: obj.isoformat()}


def _encode_sequence(obj: Sequence[Any]) -> list[Any]:
    return [item if type(item) in _PLAIN else encode(item) for item in obj]


def _encode_dict(obj: dict[Any, Any]) -> dict[str, Any]:
    out = {}
    for key, value in obj.items():
        if not isinstance(key, str) or key.startswith("$"):
            # "$..." keys are the codec's tags.
            raise CodecError(f"cannot encode a dict with the key {key!r}")
        out[key] = encode(value)
    return {DICT_KEY: out}


def _encode_enum(obj: Enum | model.Kind) -> dict[str, Any]:
    return {ENUM_KEY: type(obj).__name__, "value": obj.value}


def _encode_dataclass(obj: Any) -> dict[str, Any]:
    info = _info(type(obj))
    if info.encoder is None:
        info.encoder = _compile_encoder(info)
    return info.encoder(obj)


def _compile_encoder(info: _ClassInfo) -> Callable[[Any], dict[str, Any]]:
    """A straight-line encoder for one dataclass, built from its fields.

    The same technique ``dataclasses`` uses for ``__init__``: encoding the
    26,762 runs of a full history with a generic loop over the fields took
    about twice as long. Values of the plain JSON types and datetimes are
    encoded inline; fields equal to their default (and of its type; floats
    always stay, for -0.0 and NaN) are left out.
    """
    namespace: dict[str, Any] = {
        "_getter": info.getter,
        "_plain": _PLAIN,
        "_encode": encode,
        "_datetime": datetime,
        "_float": float,
    }
    lines = [
        "def encode_dataclass(obj):",
        f"    out = {{{TYPE_KEY!r}: {info.name!r}}}",
    ]
    names = [name for name, _ in info.fields]
    if names:
        lines.append(f"    ({''.join(f'v{i}, ' for i in range(len(names)))}) = _getter(obj)")
    for i, (name, default) in enumerate(info.fields):
        value = f"v{i}"
        indent = "    "
        if default is not _NO_DEFAULT:
            namespace[f"_d{i}"] = default
            namespace[f"_t{i}"] = type(default)
            lines.append(
                f"    if not ({value} is _d{i} or (type({value}) is _t{i} "
                f"and _t{i} is not _float and {value} == _d{i})):"
            )
            indent = "        "
        lines += [
            f"{indent}if type({value}) in _plain:",
            f"{indent}    out[{name!r}] = {value}",
            f"{indent}elif type({value}) is _datetime:",
            f"{indent}    out[{name!r}] = {{{DATETIME_KEY!r}: {value}.isoformat()}}",
            f"{indent}else:",
            f"{indent}    out[{name!r}] = _encode({value})",
        ]
    lines.append("    return out")
    exec("\n".join(lines) + "\n", namespace)
    encoder: Callable[[Any], dict[str, Any]] = namespace["encode_dataclass"]
    return encoder


_PLAIN = frozenset((type(None), bool, int, float, str))

_ENCODERS: dict[type, Callable[[Any], Any]] = {
    type(None): _identity,
    bool: _identity,
    int: _identity,
    float: _identity,
    str: _identity,
    datetime: _encode_datetime,
    tuple: _encode_sequence,
    list: _encode_sequence,
    dict: _encode_dict,
    # An open enumeration (see ``model.Kind``), encoded like the enums.
    model.Kind: _encode_enum,
}


def _encoder_for(cls: type) -> Callable[[Any], Any]:
    """Find (and cache) the encoder of a type not met before."""
    if issubclass(cls, Enum):
        if REGISTRY.get(cls.__name__) is not cls:
            raise CodecError(f"cannot encode enum {cls.__qualname__}: not in backends.model")
        encoder: Callable[[Any], Any] = _encode_enum
    elif dataclasses.is_dataclass(cls):
        if REGISTRY.get(cls.__name__) is not cls:
            raise CodecError(f"cannot encode {cls.__qualname__}: not a backends.model type")
        encoder = _encode_dataclass
    elif issubclass(cls, datetime):
        encoder = _encode_datetime
    elif issubclass(cls, int):  # a driver's own int (bson.Int64) is a number
        encoder = int
    elif issubclass(cls, float):
        encoder = float
    elif issubclass(cls, str):
        encoder = str
    elif issubclass(cls, bytes | bytearray):
        raise CodecError(f"cannot encode a value of type {cls.__qualname__}")
    elif issubclass(cls, Sequence):
        encoder = _encode_sequence
    else:
        raise CodecError(f"cannot encode a value of type {cls.__qualname__}")
    _ENCODERS[cls] = encoder
    return encoder


def encode(obj: Any) -> Any:
    """``obj`` (a model value) as JSON-able data; raises ``CodecError``."""
    encoder = _ENCODERS.get(type(obj))
    if encoder is None:
        encoder = _encoder_for(type(obj))
    return encoder(obj)


# -------------------------------------------------------------------- decode


def decode(data: Any, notes: set[str] | None = None) -> Any:
    """The value ``data`` encodes; raises ``CodecError`` on data it cannot read.

    Unknown fields (from a newer version) are ignored and described in
    ``notes``, when given.
    """
    kind = type(data)
    if kind is list:
        return tuple([decode(item, notes) for item in data])
    if kind is dict:
        if len(data) == 1 and DICT_KEY in data:
            items = data[DICT_KEY]
            if not isinstance(items, dict):
                raise CodecError("bad dict: expected an object")
            return {key: decode(value, notes) for key, value in items.items()}
        decoded = {key: decode(value, notes) for key, value in data.items()}
        obj = _decode_object(decoded, notes)
        if obj is decoded:
            raise CodecError(f"object without a type tag (keys: {', '.join(sorted(data)[:5])})")
        return obj
    if data is None or kind in _PLAIN:
        return data
    raise CodecError(f"cannot decode a value of type {kind.__name__}")


def decode_json(text: str | bytes, notes: set[str] | None = None) -> Any:
    """Parse JSON text and decode the model values in it, in one pass.

    Several times faster than ``decode(json.loads(text))`` on big snapshots.
    Objects without a type tag are left as dicts (envelopes around encoded
    values, such as a recording's records), and so are the arrays in them;
    every other array becomes a tuple. Raises ``ValueError`` on bad JSON
    (``json.JSONDecodeError``) and ``CodecError`` on data it cannot decode.
    """
    value = json.loads(text, object_hook=lambda obj: _decode_object(obj, notes))
    return _tupled(value) if type(value) is list else value


def _tupled(value: list[Any]) -> tuple[Any, ...]:
    return tuple([_tupled(v) if type(v) is list else v for v in value])


def _decode_object(data: dict[str, Any], notes: set[str] | None) -> Any:
    """Decode one object whose members are decoded already (arrays may still
    be lists); return ``data`` itself when it has no type tag."""
    type_name = data.get(TYPE_KEY)
    if type_name is not None:
        return _decode_dataclass(type_name, data, notes)
    if len(data) == 1:
        if DATETIME_KEY in data:
            text = data[DATETIME_KEY]
            try:
                return datetime.fromisoformat(text)
            except (TypeError, ValueError):
                raise CodecError(f"bad datetime {text!r}") from None
        if DICT_KEY in data:
            items = data[DICT_KEY]
            if not isinstance(items, dict):
                raise CodecError("bad dict: expected an object")
            return {k: _tupled(v) if type(v) is list else v for k, v in items.items()}
    elif len(data) == 2 and ENUM_KEY in data:
        return _decode_enum(data[ENUM_KEY], data.get("value"))
    return data


def _lookup(type_name: Any) -> type:
    cls = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        if not isinstance(type_name, str):
            raise CodecError(f"bad type name {type_name!r}")
        raise CodecError(
            f"unknown type {type_name!r} (not in backends.model; written by a newer version?)"
        )
    return cls


def _decode_enum(type_name: Any, value: Any) -> Enum | model.Kind:
    cls = _lookup(type_name)
    if not issubclass(cls, Enum | model.Kind):
        raise CodecError(f"{type_name} is not an enum")
    try:
        return cls(value)
    except ValueError:
        raise CodecError(f"unknown {type_name} value {value!r}") from None


def _decode_dataclass(type_name: Any, data: dict[str, Any], notes: set[str] | None) -> Any:
    info = _INFO_BY_NAME.get(type_name) if isinstance(type_name, str) else None
    if info is None:
        cls = _lookup(type_name)
        if not dataclasses.is_dataclass(cls):
            raise CodecError(f"{type_name} is not a dataclass (an enum needs {ENUM_KEY!r})")
        info = _INFO_BY_NAME[type_name] = _info(cls)
    kwargs = dict(data)
    del kwargs[TYPE_KEY]
    keys = kwargs.keys()
    if not keys <= info.names:
        for key in keys - info.names:
            if notes is not None:
                notes.add(f"ignored unknown field {type_name}.{key} (written by a newer version?)")
            del kwargs[key]
    if not info.required <= keys:
        missing = ", ".join(sorted(info.required - keys))
        raise CodecError(f"{type_name} lacks required field(s): {missing}")
    for key, value in kwargs.items():
        if type(value) is list:
            kwargs[key] = _tupled(value)
    try:
        return info.cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"cannot build {type_name}: {exc}") from None


_INFO_BY_NAME: dict[str, _ClassInfo] = {}
