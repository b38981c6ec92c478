"""Which run a DAG processes, from what its DAGMan job ad carries.

XENON processes one run per DAG. The run number is taken from an attribute
the submit file sets (``+RunNumber = 6789``, configurable as
``run_attribute``) when the ad has it, else from the batch name with a
regular expression (``run_pattern``, first group = run number), since
``JobBatchName`` is what every XENON submitter sets and condor_q shows. A
DAG that matches neither has no run: it is still shown, just not linked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

DEFAULT_RUN_ATTRIBUTE = "RunNumber"
#: ``xe1t_run_6789``, ``pax_v6.8.0_run6789``, ``run-006789.dag+123``...
DEFAULT_RUN_PATTERN = r"(?i)(?:^|[^a-z0-9])run[_\-]?0*(\d{1,9})(?!\d)"


class RunMapper:
    """Maps a DAGMan job ad to a run number, or None."""

    def __init__(
        self,
        attribute: str | None = DEFAULT_RUN_ATTRIBUTE,
        pattern: str | None = DEFAULT_RUN_PATTERN,
    ) -> None:
        self.attribute = attribute or None
        self.pattern = re.compile(pattern) if pattern else None
        if self.pattern is not None and self.pattern.groups < 1:
            raise ValueError("run_pattern needs one group that captures the run number")

    def run_of(self, ad: Mapping[str, Any], batch_name: str | None) -> int | None:
        return self.run_of_get(ad.get, batch_name)

    def run_of_get(self, get: Callable[[str], Any], batch_name: str | None) -> int | None:
        """As run_of, given the ad's ``get``."""
        if self.attribute is not None:
            value = get(self.attribute)
            if isinstance(value, int) and not isinstance(value, bool | Enum) and value >= 0:
                return value
            if isinstance(value, str) and value.strip().isdigit():
                return int(value)
        if self.pattern is not None and batch_name:
            match = self.pattern.search(batch_name)
            if match is not None:
                return int(match.group(1))
        return None
