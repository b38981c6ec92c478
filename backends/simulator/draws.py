"""Keyed, order-independent random draws for the engine.

The catalogue of runs is drawn from one ``random.Random(seed)`` stream, in run
order. The engine, though, meets its entities (rules, tape uploads, jobs) in an
order that depends on how the clock is stepped. Drawing their durations and
outcomes from a hash of ``(run salt, key)`` instead of a shared stream makes
every outcome a property of the entity itself: the same run gets the same
European RSE, the same transfer delay and the same failing job attempt however
the simulated time was advanced. It is also far cheaper than seeding a
``random.Random`` per entity.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1
_INV_2_53 = 1.0 / (1 << 53)


def mix(salt: int, key: int) -> int:
    """A 64-bit splitmix64 hash of ``salt`` and ``key``."""
    z = (salt ^ ((key * 0xD1B54A32D192ED03) & _MASK)) + 0x9E3779B97F4A7C15
    z &= _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def unit(salt: int, key: int) -> float:
    """A float uniform in [0, 1) determined by ``salt`` and ``key``."""
    return (mix(salt, key) >> 11) * _INV_2_53


def between(salt: int, key: int, low: float, high: float) -> float:
    """A float uniform in [low, high) determined by ``salt`` and ``key``."""
    return low + (high - low) * unit(salt, key)


# Keys of the draws, so that two uses never share one by accident.
K_STUCK = 10  # + 16 * RSE index
K_STUCK_AT = 11  # + 16 * RSE index
K_STUCK_ERROR = 12  # + 16 * RSE index
K_REPAIR = 13  # + 16 * RSE index
K_BAD_CHECKSUM = 7
K_JOB = 1_000_000  # + 8 * (node * 8 + attempt) + field
