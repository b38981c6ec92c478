"""When each step of the chain happened for a run that went through it cleanly.

Runs older than the window the engine simulates step by step are not ticked
through (years of runs would take far too long): their history is these
closed-form times, drawn from the run's own salt with nominal, unshared
rates. The engine draws its delays with the same keys, so a run looks alike
whether it was settled or simulated.
"""

from __future__ import annotations

from typing import NamedTuple

from backends.model import CHICAGO_RSE, LNGS_RSE
from backends.simulator.catalogue import RunSpec
from backends.simulator.infrastructure import (
    DAG_SUBMIT_DELAY_S,
    FTS_DELAY_S,
    LNGS_UPLOAD_BPS,
    MINITREES_S,
    RCC_COPY_S,
    RSES,
    TAPE_QUEUE_DELAY_S,
    TAPE_RESTORE_BPS,
    TAPE_UPLOAD_BPS,
    TAPE_VERIFY_OVERHEAD_S,
)

RSE_INDEX: dict[str, int] = {rse: i for i, rse in enumerate(RSES)}
#: Hours a clean DAG takes from submission to the merged file.
DAG_HOURS = (1.0, 3.0)
UPLOAD_DELAY_S = (60.0, 600.0)


class SettledTimes(NamedTuple):
    upload_start: float
    lngs_ok: float
    chicago_ok: float | None
    eu_ok: float
    tape_start: float
    tape_uploaded: float
    tape_verified: float
    dag_submitted: float | None
    processed: float | None
    rcc_done: float | None
    minitrees: float | None


def fractions(spec: RunSpec) -> tuple[float, ...]:
    """Nine uniform 7-bit fractions for the run's delays, straight from the bits
    of its (uniformly random, 63-bit) salt: the settled history needs them for
    each of tens of thousands of runs, so they must cost next to nothing."""
    salt = spec.salt
    return tuple(((salt >> (7 * i)) & 0x7F) / 128.0 for i in range(9))


_F_UPLOAD, _F_FTS_CHICAGO, _F_FTS_EU, _F_TAPE, _F_VERIFY, _F_DAG, _F_DAG_HOURS = range(7)
_F_RCC, _F_MINITREES = 7, 8


def _span(bounds: tuple[float, float], fraction: float) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * fraction


def upload_delay(spec: RunSpec) -> float:
    return _span(UPLOAD_DELAY_S, fractions(spec)[_F_UPLOAD])


def fts_delay(spec: RunSpec, rse: str) -> float:
    which = _F_FTS_CHICAGO if rse == CHICAGO_RSE else _F_FTS_EU
    return _span(FTS_DELAY_S, fractions(spec)[which])


def tape_delay(spec: RunSpec) -> float:
    return _span(TAPE_QUEUE_DELAY_S, fractions(spec)[_F_TAPE])


def verify_seconds(spec: RunSpec) -> float:
    overhead = _span(TAPE_VERIFY_OVERHEAD_S, fractions(spec)[_F_VERIFY])
    return spec.size / TAPE_RESTORE_BPS + overhead


def dag_delay(spec: RunSpec) -> float:
    return _span(DAG_SUBMIT_DELAY_S, fractions(spec)[_F_DAG])


assert _F_DAG == 5 and 7 * _F_DAG == 35  # the bits settled_times uses


def rcc_copy_seconds(spec: RunSpec) -> float:
    return _span(RCC_COPY_S, fractions(spec)[_F_RCC])


def minitrees_seconds(spec: RunSpec) -> float:
    return _span(MINITREES_S, fractions(spec)[_F_MINITREES])


_M64 = (1 << 64) - 1


def rule_id(spec: RunSpec, rse: str) -> str:
    """A 32-hex-digit Rucio rule id, fixed by the run and the RSE (cheap: one
    is needed per rule of the settled history)."""
    k = RSE_INDEX[rse] + 1
    high = (spec.salt * 0x9E3779B97F4A7C15 + k * 0xD1B54A32D192ED03) & _M64
    low = ((spec.salt ^ (k * 0x94D049BB133111EB)) * 0xBF58476D1CE4E5B9) & _M64
    return f"{high:016x}{low:016x}"


def checksum(spec: RunSpec) -> str:
    """The adler32 of the run's raw data, as the runs DB stores it."""
    return f"{(spec.salt * 0x2545F4914F6CDD1D >> 17) & 0xFFFFFFFF:08x}"


def settled_times(spec: RunSpec) -> SettledTimes:
    """The clean history of one run. Inlined arithmetic on the salt's bits: it
    runs once for each of up to tens of thousands of settled runs."""
    salt = spec.salt
    size = spec.size
    upload_start = spec.end + _span(UPLOAD_DELAY_S, (salt & 0x7F) / 128.0)
    lngs_ok = upload_start + size / LNGS_UPLOAD_BPS
    chicago_ok = None
    if spec.science:
        fts = _span(FTS_DELAY_S, ((salt >> 7) & 0x7F) / 128.0)
        chicago_ok = lngs_ok + fts + size / _CHICAGO_BPS
    eu_ok = lngs_ok + _span(FTS_DELAY_S, ((salt >> 14) & 0x7F) / 128.0) + size / _BPS[spec.eu_rse]
    tape_start = spec.end + _span(TAPE_QUEUE_DELAY_S, ((salt >> 21) & 0x7F) / 128.0)
    tape_uploaded = tape_start + size / TAPE_UPLOAD_BPS
    overhead = _span(TAPE_VERIFY_OVERHEAD_S, ((salt >> 28) & 0x7F) / 128.0)
    tape_verified = tape_uploaded + size / TAPE_RESTORE_BPS + overhead
    dag = processed = rcc = minitrees = None
    if spec.processable:
        first_copy = eu_ok if chicago_ok is None or eu_ok < chicago_ok else chicago_ok
        dag = first_copy + _span(DAG_SUBMIT_DELAY_S, ((salt >> 35) & 0x7F) / 128.0)
        processed = dag + 3600.0 * _span(DAG_HOURS, ((salt >> 42) & 0x7F) / 128.0)
        rcc = processed + _span(RCC_COPY_S, ((salt >> 49) & 0x7F) / 128.0)
        minitrees = rcc + _span(MINITREES_S, ((salt >> 56) & 0x7F) / 128.0)
    return SettledTimes(
        upload_start,
        lngs_ok,
        chicago_ok,
        eu_ok,
        tape_start,
        tape_uploaded,
        tape_verified,
        dag,
        processed,
        rcc,
        minitrees,
    )


def rule_times(spec: RunSpec) -> tuple[float, float | None, float]:
    """``(lngs_ok, chicago_ok, eu_ok)`` of ``settled_times``, bit-identical to
    it, without the rest (the settled runs' rules under XENONnT, where Rucio
    lists every rule)."""
    salt = spec.salt
    size = spec.size
    lngs_ok = spec.end + (_UPLOAD_LO + _UPLOAD_W * ((salt & 0x7F) / 128.0)) + size / LNGS_UPLOAD_BPS
    chicago_ok = None
    if spec.science:
        fts = _FTS_LO + _FTS_W * (((salt >> 7) & 0x7F) / 128.0)
        chicago_ok = lngs_ok + fts + size / _CHICAGO_BPS
    eu_ok = (
        lngs_ok + (_FTS_LO + _FTS_W * (((salt >> 14) & 0x7F) / 128.0)) + size / _BPS[spec.eu_rse]
    )
    return lngs_ok, chicago_ok, eu_ok


#: Lower bounds and widths of the spans ``document_times`` draws from (the
#: same floats ``_span`` computes, so the results are bit-identical).
_UPLOAD_LO, _UPLOAD_W = UPLOAD_DELAY_S[0], UPLOAD_DELAY_S[1] - UPLOAD_DELAY_S[0]
_FTS_LO, _FTS_W = FTS_DELAY_S[0], FTS_DELAY_S[1] - FTS_DELAY_S[0]
_TAPE_LO, _TAPE_W = TAPE_QUEUE_DELAY_S[0], TAPE_QUEUE_DELAY_S[1] - TAPE_QUEUE_DELAY_S[0]
_DAG_LO, _DAG_W = DAG_SUBMIT_DELAY_S[0], DAG_SUBMIT_DELAY_S[1] - DAG_SUBMIT_DELAY_S[0]
_HOURS_LO, _HOURS_W = DAG_HOURS[0], DAG_HOURS[1] - DAG_HOURS[0]
_RCC_LO, _RCC_W = RCC_COPY_S[0], RCC_COPY_S[1] - RCC_COPY_S[0]
_MT_LO, _MT_W = MINITREES_S[0], MINITREES_S[1] - MINITREES_S[0]


def document_times(spec: RunSpec) -> tuple[float, float, float | None, float | None]:
    """``(lngs_ok, tape_start, processed, minitrees)`` of ``settled_times``:
    the only times a settled run's document shows, bit-identical to it, without
    the rest (the lazy runs sequence builds settled runs on demand, and all
    26,762 of them when a consumer walks the whole history)."""
    salt = spec.salt
    size = spec.size
    end = spec.end
    lngs_ok = end + (_UPLOAD_LO + _UPLOAD_W * ((salt & 0x7F) / 128.0)) + size / LNGS_UPLOAD_BPS
    tape_start = end + (_TAPE_LO + _TAPE_W * (((salt >> 21) & 0x7F) / 128.0))
    if not spec.processable:
        return lngs_ok, tape_start, None, None
    first_copy = (
        lngs_ok + (_FTS_LO + _FTS_W * (((salt >> 14) & 0x7F) / 128.0)) + size / _BPS[spec.eu_rse]
    )
    if spec.science:
        fts = _FTS_LO + _FTS_W * (((salt >> 7) & 0x7F) / 128.0)
        chicago_ok = lngs_ok + fts + size / _CHICAGO_BPS
        if not first_copy < chicago_ok:
            first_copy = chicago_ok
    dag = first_copy + (_DAG_LO + _DAG_W * (((salt >> 35) & 0x7F) / 128.0))
    processed = dag + 3600.0 * (_HOURS_LO + _HOURS_W * (((salt >> 42) & 0x7F) / 128.0))
    rcc = processed + (_RCC_LO + _RCC_W * (((salt >> 49) & 0x7F) / 128.0))
    minitrees = rcc + (_MT_LO + _MT_W * (((salt >> 56) & 0x7F) / 128.0))
    return lngs_ok, tape_start, processed, minitrees


def processed_after(spec: RunSpec, first_copy: float) -> float:
    """When a clean DAG, submitted after the run's first copy outside LNGS,
    delivered the merged file."""
    salt = spec.salt
    dag = first_copy + _span(DAG_SUBMIT_DELAY_S, ((salt >> 35) & 0x7F) / 128.0)
    return dag + 3600.0 * _span(DAG_HOURS, ((salt >> 42) & 0x7F) / 128.0)


_BPS: dict[str, float] = {rse: v[3] for rse, v in RSES.items()}
_CHICAGO_BPS = _BPS[CHICAGO_RSE]


def settled_rses(spec: RunSpec) -> tuple[str, ...]:
    """The RSEs a run's raw data ends up on once LNGS_USERDISK expired."""
    return (CHICAGO_RSE, spec.eu_rse) if spec.science else (spec.eu_rse,)


__all__ = ["LNGS_RSE", "SettledTimes", "document_times", "settled_rses", "settled_times"]
