"""Derived knowledge: pure functions over snapshots.

Forecasts, summaries, data-safety verdicts and alarms are computed here, once,
and shared by the TUI, ``report`` and ``check``. Nothing in this package does
I/O or knows about the terminal, so all of it is tested with hand-built
snapshots.
"""
