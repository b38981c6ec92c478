"""A read-only sequence whose items are made when asked for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar, overload

__all__ = ["MadeOnRead"]

_T = TypeVar("_T")


class MadeOnRead(Sequence[_T]):
    """``_item(i)`` makes item ``i`` (0 <= i < len); indexing counts negative
    indices from the end and raises IndexError past it; a slice is a tuple."""

    __slots__ = ()

    def __len__(self) -> int:
        raise NotImplementedError

    def _item(self, i: int) -> _T:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> _T: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[_T]: ...

    def __getitem__(self, index: int | slice) -> _T | Sequence[_T]:
        if isinstance(index, slice):
            return tuple(self._item(i) for i in range(*index.indices(len(self))))
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._item(index)

    def __iter__(self) -> Iterator[_T]:
        return (self._item(i) for i in range(len(self)))
