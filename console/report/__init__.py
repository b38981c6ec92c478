"""One-shot views of every pane: the JSON report, the Rich report and the Nagios check.

All three are built from the same ``fetch_all`` results, the same
analysis functions and the same renderers (``console/render``) as the TUI,
each kind through its ``PaneSpec``, so they never disagree with the screen.
Everything that came from a backend is cleaned before it is printed.
"""

from console.report.check import CheckOptions, check_line
from console.report.common import alarms_for, reference_time
from console.report.data import report_data
from console.report.rich import render_report

__all__ = [
    "CheckOptions",
    "alarms_for",
    "check_line",
    "reference_time",
    "render_report",
    "report_data",
]
