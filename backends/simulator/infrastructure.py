"""The simulated infrastructure: storage sites, links, tape, compute sites.

Capacities and rates are plausible for XENON1T-era sites rather than measured
ones; they are constants so a test or a demo can reason about them.
"""

from __future__ import annotations

from backends.model import CHICAGO_RSE, EUROPEAN_RSES, LNGS_RSE, TB

# ----------------------------------------------------------------- LNGS side

BUFFER_TOTAL_BYTES = 50 * TB
BUFFER_MOUNT = "/data/xenon/raw"
#: Raw data may leave the buffer only this long after the run ended (and only
#: when the paper's purge rule holds); sets the nominal fill at ~25-30 %.
PURGE_RETENTION_S = 21 * 86400.0
#: Lifetime of the upload rule at LNGS_USERDISK.
LNGS_RULE_LIFETIME_S = 4 * 86400.0
#: Ruciax uploads one run at a time into LNGS_USERDISK at this rate.
LNGS_UPLOAD_BPS = 300e6

# ---------------------------------------------------------------------- RSEs

#: RSE -> (region, total bytes, bytes used by other data, link bandwidth B/s).
RSES: dict[str, tuple[str, int, int, float]] = {
    LNGS_RSE: ("LNGS", 60 * TB, 0, LNGS_UPLOAD_BPS),
    CHICAGO_RSE: ("US", 1_500 * TB, 180 * TB, 250e6),
    "NIKHEF_USERDISK": ("EU", 500 * TB, 60 * TB, 150e6),
    "SURFSARA_USERDISK": ("EU", 450 * TB, 40 * TB, 120e6),
    "CNAF_USERDISK": ("EU", 600 * TB, 80 * TB, 200e6),
    "CCIN2P3_USERDISK": ("EU", 400 * TB, 50 * TB, 150e6),
    "WEIZMANN_USERDISK": ("EU", 300 * TB, 20 * TB, 60e6),
}
assert set(RSES) == {LNGS_RSE, CHICAGO_RSE, *EUROPEAN_RSES}

#: FTS queueing before a rule's transfers start (seconds).
FTS_DELAY_S = (300.0, 1500.0)
#: Chance that a nominal rule gets STUCK once, and how long until repaired.
STUCK_PROBABILITY = 0.02
REPAIR_DELAY_S = (3600.0, 3 * 3600.0)
#: Rules in the transfers snapshot: every rule not OK, and the OK ones updated
#: this recently (what a poll with Rucio's ``updated_after`` filter returns;
#: the ~40,000 OK rules of a three-year history are not a pane's business).
RULES_RECENT_S = 7 * 86400.0
#: Window over which RSE throughput and the DAQ write rate are measured.
RATE_WINDOW_S = 600.0

#: Errors FTS reports for failed transfers, as Rucio shows them on a rule.
FTS_ERRORS: tuple[str, ...] = (
    "TRANSFER [70] DESTINATION OVERWRITE srm-ifce err: Communication error on send, "
    "err: [SE][srmRm][] httpg://{host}:8446/srm/managerv2: CGSI-gSOAP running on "
    "fts3.cern.ch reports Error reading token data header: Connection closed",
    "TRANSFER [110] TRANSFER Operation timed out: Connection timed out",
    "TRANSFER [113] DESTINATION MAKE_PARENT srm-ifce err: No route to host, err: "
    "[SE][Mkdir][] httpg://{host}:8446/srm/managerv2: Connection timed out",
    "TRANSFER [5] DESTINATION SRM_PUT_TURL error on the turl request : "
    "[SE][PrepareToPut][SRM_INTERNAL_ERROR] httpg://{host}:8446/srm/managerv2: "
    "Unable to connect to the storage backend",
)
RSE_HOSTS: dict[str, str] = {
    LNGS_RSE: "xe1t-datamanager.lngs.infn.it",
    CHICAGO_RSE: "xenon-gridftp.grid.uchicago.edu",
    "NIKHEF_USERDISK": "tbn18.nikhef.nl",
    "SURFSARA_USERDISK": "srm.grid.sara.nl",
    "CNAF_USERDISK": "storm-fe-archive.cr.cnaf.infn.it",
    "CCIN2P3_USERDISK": "ccsrm02.in2p3.fr",
    "WEIZMANN_USERDISK": "se-srm.weizmann.ac.il",
}

# ---------------------------------------------------------------------- tape

#: The single TSM client at LNGS uploads to PDC Stockholm one run at a time.
TAPE_UPLOAD_BPS = 150e6
#: Restore test and checksum comparison after the upload.
TAPE_RESTORE_BPS = 300e6
TAPE_VERIFY_OVERHEAD_S = (240.0, 600.0)
TAPE_QUEUE_DELAY_S = (60.0, 300.0)
#: Verified and failed uploads stay in the tape snapshot this long.
TAPE_RECENT_S = 48 * 3600.0
TAPE_RATE_WINDOW_S = 3600.0

# ---------------------------------------------------------------- processing

SCHEDD = "xenon-submit.grid.uchicago.edu"
OWNER = "xenon"
PAX_VERSION = "v6.8.0"
FIRST_CLUSTER_ID = 4_210_000
#: DAGMan retries a failing node this many times (RETRY 5).
DAG_RETRIES = 5
CHUNK_FAILURE_PROBABILITY = 0.03
#: Seconds of one 100-event chunk job, and of the merge job.
CHUNK_SECONDS = (900.0, 2700.0)
MERGE_SECONDS = (400.0, 1200.0)
#: CAX submits a run's DAG this long after its first copy outside LNGS.
DAG_SUBMIT_DELAY_S = (120.0, 900.0)
#: The processed file reaches RCC after this, then minitrees are made.
RCC_COPY_S = (600.0, 1800.0)
MINITREES_S = (1200.0, 3600.0)
#: Jobs and DAGs that left the queue stay in the snapshot this long.
JOB_HISTORY_S = 3 * 3600.0
DAG_HISTORY_S = 6 * 3600.0

#: Compute site -> (grid, slots available to XENON).
SITES: dict[str, tuple[str, int]] = {
    "MWT2": ("OSG", 70),
    "UChicago": ("OSG", 50),
    "Nebraska": ("OSG", 40),
    "SU-ITS": ("OSG", 25),
    "NIKHEF-ELPROD": ("EGI", 30),
    "CCIN2P3": ("EGI", 20),
    "INFN-T1": ("EGI", 25),
    "Weizmann": ("EGI", 10),
}
OSG_SITES: tuple[str, ...] = tuple(s for s, (g, _) in SITES.items() if g == "OSG")
EGI_SITES: tuple[str, ...] = tuple(s for s, (g, _) in SITES.items() if g == "EGI")
WORKER_DOMAINS: dict[str, str] = {
    "MWT2": "mwt2.org",
    "UChicago": "rcc.uchicago.edu",
    "Nebraska": "red.hcc.unl.edu",
    "SU-ITS": "its.syr.edu",
    "NIKHEF-ELPROD": "nikhef.nl",
    "CCIN2P3": "in2p3.fr",
    "INFN-T1": "cr.cnaf.infn.it",
    "Weizmann": "wisdom.weizmann.ac.il",
}

#: (HoldReasonCode, HoldReason template) of the held-jobs scenario.
HOLD_REASONS: tuple[tuple[int, str], ...] = (
    (
        34,
        "Error from slot1_{slot}@{worker}: Job has gone over memory limit of 2048 "
        "megabytes. Peak usage: {peak} megabytes.",
    ),
    (
        13,
        "Error from slot1_{slot}@{worker}: Transfer input files failure at execution "
        "point slot1_{slot}@{worker} using protocol gsiftp. Details: globus_xio: "
        "Unable to connect to xenon-gridftp.grid.uchicago.edu:2811",
    ),
    (
        12,
        "Error from slot1_{slot}@{worker}: STARTER at {worker} failed to send file(s) "
        "to <192.170.227.{slot}:9618>: error writing to file "
        "/var/lib/condor/execute/dir_{peak}/output.root: (errno 28) No space left on "
        "device",
    ),
)

# ------------------------------------------------------------------ runs DB

TAPE_LOCATION = "/xenon1t/raw/{name}"
BUFFER_LOCATION = BUFFER_MOUNT + "/{name}"
PROCESSED_OSG_LOCATION = "/xenon/xenon1t_processed/pax_" + PAX_VERSION + "/{name}.root"
PROCESSED_RCC_LOCATION = "/project/lgrandi/xenon1t/processed/pax_" + PAX_VERSION + "/{name}.root"
MINITREES_LOCATION = "/project/lgrandi/xenon1t/minitrees/pax_" + PAX_VERSION + "/{name}"
