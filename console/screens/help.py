"""The `?` help screen: keys and what the panes show."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from console.specs import PaneSpec

HELP = """\
# xenon-console

| Key | Action |
|---|---|
| {numbers} | show pane: {panes} |
| `Tab` / `Shift+Tab` | next / previous pane |
| `z` | zoom the current pane to the whole screen (again to restore) |
| `r` | poll every source now |
| `/` | filter the current table (every word must match; `Esc` clears) |
| `s` / `S` | sort the current table by the next column / reverse the order |
| `↑ ↓ PgUp PgDn Home End` | move in a table (`g`/`G` first/last run) |
| `Enter` | details of the run under the cursor (a run, a DAG, an RSE's oldest \
stuck rule, a tape upload): copies, rules, replicas, tape, jobs, verdicts and \
what to do (`c` copies the commands) |
| `:` | go to a run by number and open its details |
| `t` | the pane's next table (the DAGs and the sites, the RSEs and the stuck rules) |
| `w` | every column in full (the tables scroll sideways); the line under a table shows the row \
under the cursor in full |
| `a` | alarms: active and recent; `a` there acknowledges with a note, `u` undoes |
| `Ctrl+P` | command palette |
| `?` | this help |
| `q` | quit |

Each pane's status line names its source, the time its data was taken, and
its age. **STALE** means the last poll failed or did not answer in time: the
data shown is the last good one, and the error follows.

When replaying a recording: `space` play/pause, `n` step, `[` `]` seek a
minute, `{` `}` ten minutes, `+` `-` speed.

Rows that changed since the last refresh are highlighted for one refresh.
Each sparkline says what it spans (the time since the console started, up to
`[ui] trend_hours`, or the backend's own history) and its range, low..high.

The alarms strip at the top is always in view: counts by severity, the worst
alarms, and the worst one's detail with a hint of what to do.

Data-safety verdicts follow the experiment's policy: science runs need
UC_OSG_USERDISK, one European RSE and a valid tape copy; other runs one
European RSE and a valid tape copy. A copy counts only when it is raw data,
`transferred`, has no checksum problem, is at a known RSE (`[rses]`) and, on
tape, has a checksum. `safe` green; `wait` yellow (a young run, copies on
their way); `MISS` red (overdue); `FAIL` red (a copy failed its checksum).
A red run number is malformed: Enter says why.

## Panes

{pane_help}

## What the abbreviations mean

| On screen | Meaning |
|---|---|
| `safe` / `wait` / `MISS` / `FAIL` | data safety: every copy there / a young run, copies on \
their way / overdue and missing / a copy failed its checksum |
| `UC` `EU` `tape` (Safety) | the copies a run lacks: UC_OSG_USERDISK, a European RSE, tape |
| `buf` `tape` `tape!` `tape?` | copies: on the LNGS buffer, on tape (valid), tape copy failed \
its checksum, tape says transferred but is not valid (no checksum) |
| `UC` `EU` `EU2` `LN` (Copies) | valid Rucio copies: UC_OSG_USERDISK, one / two European RSEs, \
LNGS_USERDISK only |
| `SR1` | science run period (tag `_sciencerun1`) |
| `rr` `rr_mv` (XENONnT) | a data type in the copies a run lacks: `raw_records`, \
`raw_records_mv` (`wait: rr UC SURFSARA`) |
| `EB failed` `EB abandoned` (XENONnT, Processing) | the event builder (bootstrax) failed \
to build the run (it retries) / gave it up |
| `6 EBs beating` / `EB silent: eb4` (XENONnT, runs footer) | every event builder wrote a \
bootstrax heartbeat within `eb_silent_warning_seconds` / these did not (`never seen`: no \
heartbeat at all); `EB heartbeats unknown`: they could not be read |
| `OK` `Repl` `Stuck` | Rucio rules by state: OK, replicating, stuck |
| `Oldest` | how long the oldest stuck rule of the RSE has been stuck |
| `In/s` | throughput into the RSE, its trend and range (span, low..high) |
| `Exp` | LNGS_USERDISK rules expiring within 24 h |
| `Idle` `Run` `Held` `Xfer` `Done` | jobs by HTCondor state (idle yellow, running cyan, held \
red, done green); Xfer: transferring output |
| `Retried` | jobs started more than once |
| `Fail` `Total` `Progress` | DAG nodes failed, in all, done (rounded down: 100 % only when all \
are done) |
| `ETA` (RSE, DAG) | when the rules replicating into the RSE / the DAG's nodes are all \
done; `?` unknown (stuck, no throughput in the rate window, no node done yet), `done`; the \
row's detail says what it was computed from (`ETA of`) |
| `At risk` | runs whose LNGS_USERDISK copy expires before their European (and Chicago) \
copies are made, the soonest first |
| `RC` | dsmc return code: 0 ok, 4 files skipped, 8 warnings, 12 errors |
| `STALE` | the data shown is the last good one: the last poll failed or did not answer |
| `✗` after an RSE | the RSE is unavailable (Rucio says so): nothing arrives or leaves |
| `MWT2 +3` (Site) | where a DAG's jobs run or were held: the site with most of them, and \
how many other sites |

{notes}
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, specs: Sequence[PaneSpec], notes: str = "") -> None:
        super().__init__()
        self.specs = tuple(specs)
        self.notes = notes

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(help_text(self.specs, self.notes))


def help_text(specs: Sequence[PaneSpec], notes: str = "") -> str:
    """The help, with the panes' keys and lines from their specs, and any
    notes about what is on screen (a damaged recording)."""
    numbers = [spec.number for spec in specs]
    keys = f"`{min(numbers)}`-`{max(numbers)}`" if len(numbers) > 1 else f"`{numbers[0]}`"
    return (
        HELP.replace("{numbers}", keys)
        .replace("{panes}", ", ".join(f"{spec.number} {spec.kind.value}" for spec in specs))
        .replace(
            "{pane_help}",
            "\n".join(f"- **{spec.number} {spec.title}**: {spec.help}" for spec in specs),
        )
        .replace("{notes}", notes)
    )
