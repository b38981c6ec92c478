"""Fast construction of the model's frozen, slotted dataclasses.

Backends that build tens of thousands of model objects per poll use
``positional_constructor`` rather than the dataclass's own ``__init__``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from types import MemberDescriptorType
from typing import Any, TypeVar

T = TypeVar("T")


def positional_constructor(cls: type[T]) -> Callable[..., T]:
    """A faster stand-in for ``cls(*fields)`` of a frozen, slotted dataclass.

    A frozen dataclass's ``__init__`` sets each field with ``object.__setattr__``
    by name; setting the slots through their descriptors does the same in
    about half the time, which counts when tens of thousands of runs and
    ~120,000 copies are built (the simulator's history), or 100,000 jobs per
    poll (the condor backend, see bench/condor_aggregate.py). Falls back to
    ``cls`` itself when the class is not one this applies to (no slots,
    ``__post_init__``, default factories).
    """
    try:
        specs = fields(cls)  # type: ignore[arg-type]  # any class; TypeError if no dataclass
    except TypeError:
        return cls
    if hasattr(cls, "__post_init__") or not all(f.init for f in specs):
        return cls
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params = []
    body = []
    for i, f in enumerate(specs):
        slot = cls.__dict__.get(f.name)
        if f.default_factory is not MISSING or not isinstance(slot, MemberDescriptorType):
            return cls
        namespace[f"_set{i}"] = slot.__set__
        if f.default is MISSING:
            params.append(f"a{i}")
        else:
            namespace[f"_default{i}"] = f.default
            params.append(f"a{i}=_default{i}")
        body.append(f"    _set{i}(obj, a{i})\n")
    source = (
        f"def make({', '.join(params)}):\n    obj = _new(_cls)\n{''.join(body)}    return obj\n"
    )
    exec(source, namespace)  # the same technique dataclasses use for __init__
    make: Callable[..., T] = namespace["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    make.__doc__ = f"Positional constructor of {cls.__name__} (see positional_constructor)."
    return make
