"""Workers die with their parent, whatever kills it; a batch killed at any moment, then rerun, gives the
same tables as a run never killed.

Each run under test starts in a session of its own, so every process it started (the parent, its
worker processes, multiprocessing's resource tracker) is found afterwards by its session id in /proc.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk

from PRIMELib import lifeline
from PRIMELib.batch import BatchSettings, run_batch
from PRIMELib.synth import draw_cohort, make_phantom

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds a run's processes through Linux's /proc"
)

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
QUICK = BatchSettings(mode="extract", params="prime_quick")
CASES = 10


# --------------------------------------------------------------------------------------------------
# Processes, from /proc


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by whoever adopted it, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _session(sid: int) -> dict[int, str]:
    """The live processes of session ``sid``: {pid: command line}."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if os.getsid(pid) != sid or not _alive(pid):
                continue
            members[pid] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return members


def _wait_until_gone(sid: int, seconds: float) -> dict[int, str]:
    """Wait up to ``seconds`` for session ``sid`` to end; returns what is still alive then."""
    deadline = time.monotonic() + seconds
    while (members := _session(sid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


def _end_session(sid: int) -> None:
    """Clean-up after a failed check: nothing of a test outlives it."""
    try:
        os.killpg(sid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_line(process: subprocess.Popen, seconds: float = 60.0) -> str:
    """The next line of ``process``'s unbuffered stdout (read byte by byte: nothing waits in a buffer
    that ``select`` cannot see)."""
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, f"no line from the process in {seconds} s"
    return process.stdout.readline().decode().strip()


# --------------------------------------------------------------------------------------------------
# The parent watch itself

# The worker: tells its pid, waits (argument 3), arms its lifeline for the process whose pid it is
# given (with or without the kernel's parent-death signal), says so, then idles.
CHILD = """
import os, sys, time
print("worker", os.getpid(), flush=True)
time.sleep(float(sys.argv[3]))
from PRIMELib import lifeline
lifeline.arm(int(sys.argv[1]), poll_seconds=0.1, kernel_signal=sys.argv[2] == "1")
print("armed", flush=True)
time.sleep(120)
"""
# A launcher between parent and worker (as Slicer's PythonSlicer is): runs the worker and waits.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
# The parent: starts the worker (through the launcher or not), tells its own pid, idles.
PARENT = """
import os, subprocess, sys
child = [sys.executable, "-c", sys.argv[1], str(os.getpid()), sys.argv[2], sys.argv[3]]
if sys.argv[4] == "1":
    child = [sys.executable, "-c", sys.argv[5], *child]
subprocess.Popen(child)
print("parent", os.getpid(), flush=True)
os.read(0, 1)  # until killed
"""


@pytest.mark.parametrize(
    ("kernel_signal", "launcher", "late"),
    [
        pytest.param(True, False, False, id="parent-death-signal"),
        pytest.param(False, False, False, id="watch-thread-only"),
        pytest.param(True, True, False, id="through-a-launcher"),
        pytest.param(False, False, True, id="parent-dead-before-arm"),
    ],
)
def test_a_worker_ends_within_two_seconds_of_its_parent_being_killed(kernel_signal, launcher, late):
    command = [sys.executable, "-c", PARENT, CHILD, str(int(kernel_signal))]
    command += ["1.5" if late else "0", str(int(launcher)), LAUNCHER]
    parent = subprocess.Popen(
        command, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, start_new_session=True
    )
    try:
        said = dict(_read_line(parent).split() for _ in range(2))  # parent and worker, in either order
        assert said.keys() == {"parent", "worker"} and int(said["parent"]) == parent.pid
        worker = int(said["worker"])
        if not late:
            assert _read_line(parent) == "armed"
            time.sleep(0.5)  # several looks of the watch thread: a live parent keeps its worker
            assert _alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        # The worker ends within 2 s of the kill; a late one (it arms 1.5 s after it started, its
        # parent dead by then) within 2 s of arming, and before it says it is armed.
        deadline = time.monotonic() + (3.5 if late else 2.0)
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(worker), "the worker outlived its parent"
        assert not _wait_until_gone(parent.pid, 2.0)  # the launcher too, once its worker ended
        assert b"armed" not in parent.stdout.read()  # every writer gone: the pipe ends
    finally:
        _end_session(parent.pid)
        parent.stdout.close()
        parent.stdin.close()


def test_arming_for_a_process_already_gone_exits_at_once_with_the_orphan_status():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    code = "import sys; from PRIMELib import lifeline; lifeline.arm(int(sys.argv[1])); print('ran on')"
    ended = subprocess.run(
        [sys.executable, "-c", code, str(gone.pid)], env=ENV, capture_output=True, text=True, timeout=60
    )
    assert ended.returncode == lifeline.ORPHAN_EXIT_CODE and "ran on" not in ended.stdout
    alive = subprocess.run(
        [sys.executable, "-c", code, str(os.getpid())], env=ENV, capture_output=True, text=True, timeout=60
    )
    assert alive.returncode == 0 and "ran on" in alive.stdout, alive.stderr
    assert not lifeline.armed() and not lifeline.orphaned()  # the parent itself is never armed


# A parent that starts a radiomics worker process (its main loop, serve(), as PhaseRunner's workers
# run it), then a sleeper that inherits every descriptor it has: the worker's stdin then never ends
# when the parent dies, as when another process of the application holds it, so only the lifeline
# can end the worker.
RADIOMICS_PARENT = """
import os, subprocess, sys
serve = "from PRIMELib.radiomics.parallel import serve; serve()"
worker = subprocess.Popen([sys.executable, "-c", serve], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
fds = []
for name in os.listdir("/proc/self/fd"):
    try:
        os.fstat(int(name))
        fds.append(int(name))
    except OSError:
        pass
holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], pass_fds=fds)
print("holder", holder.pid, flush=True)
os.read(0, 1)  # until killed
"""


def _radiomics_loaded(pid: int) -> bool:
    try:
        return "_cmatrices" in Path(f"/proc/{pid}/maps").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_radiomics_worker_process_ends_when_its_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c", RADIOMICS_PARENT],
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        bufsize=0,
        start_new_session=True,
    )
    try:
        holder = int(_read_line(parent).split()[1])
        members = _session(parent.pid)
        workers = [p for p, command in members.items() if "serve()" in command and p != parent.pid]
        assert len(workers) == 1, members
        # serve() arms its lifeline, then imports PyRadiomics: once that is loaded, it is armed.
        deadline = time.monotonic() + 60
        while not _radiomics_loaded(workers[0]):
            assert time.monotonic() < deadline and _alive(workers[0]), "the worker did not start"
            time.sleep(0.05)
        time.sleep(0.3)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 2.0
        while _alive(workers[0]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(workers[0]), "the radiomics worker outlived its parent"
        assert _alive(holder)  # not a lifeline's doing: the sleeper, a plain process, lives on
    finally:
        _end_session(parent.pid)
        parent.stdout.close()
        parent.stdin.close()


def test_a_worker_whose_parent_died_mid_case_writes_no_case_file(manifest, tmp_path):
    """The check right before writing: the watch thread looks only once an hour here and the kernel
    signal is off, so only that check stands between a dead parent and a new case file."""
    watched = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    code = """
import os, signal, sys
from PRIMELib import lifeline
from PRIMELib.batch import BatchSettings, read_manifest
from PRIMELib.batch.runner import process_case
lifeline.arm(int(sys.argv[1]), poll_seconds=3600, kernel_signal=False)
os.kill(int(sys.argv[1]), signal.SIGKILL)  # the process it works for dies while it works
print(process_case(read_manifest(sys.argv[2])[0], BatchSettings(params="prime_quick"), sys.argv[3]))
"""
    try:
        ended = subprocess.run(
            [sys.executable, "-c", code, str(watched.pid), str(manifest), str(tmp_path / "out")],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        watched.kill()
        watched.wait()
    assert ended.returncode == lifeline.ORPHAN_EXIT_CODE, ended.stderr
    assert ended.stdout == ""  # process_case never returned
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


# --------------------------------------------------------------------------------------------------
# A batch killed at random moments


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """Ten small synthetic patients, a fraction of a second each with the quick parameter set."""
    folder = tmp_path_factory.mktemp("kill-cohort")
    rows = []
    for number, patient in enumerate(draw_cohort({"A": CASES}, seed=11).itertuples(index=False)):
        images = make_phantom(
            diameter_cm=2.0 + 0.2 * number,
            lobulation=patient.lobulation,
            heterogeneity=patient.heterogeneity,
            seed=number,
            spacing_mm=(2.0, 2.0, 5.0),
        )
        row = {"case_id": patient.case_id, "centre": patient.centre}
        for phase, image in zip(("arterial", "venous", "mask"), images, strict=True):
            row[phase] = str(folder / f"{patient.case_id}_{phase}.nrrd")
            sitk.WriteImage(image, row[phase], True)
        rows.append(row)
    path = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _cases_done(out: Path, run: int) -> int | None:
    """How many cases run number ``run`` (from 0) has finished, from run.log (each run appends its
    lines after a ``start:`` line); None before that run has started."""
    log = (out / "run.log").read_text(encoding="utf-8") if (out / "run.log").exists() else ""
    runs = log.split(" start: ")[1:]
    return runs[run].count(": done in") if len(runs) > run else None


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path).sort_values("case_id").reset_index(drop=True)


def test_a_batch_killed_at_random_moments_then_rerun_gives_the_uninterrupted_tables(manifest, tmp_path):
    reference = run_batch(manifest, tmp_path / "reference", settings=QUICK)
    assert (reference.succeeded, reference.failed) == (CASES, 0)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "PRIMELib", "batch", str(manifest), "--output", str(out)]
    command += ["--params", "prime_quick", "--workers", "2"]
    rng = random.Random(2026)
    workers_seen = hits = 0
    for kill in range(3):
        # A random moment: after a random number of this run's cases (none: while the workers start),
        # plus a random fraction of a second.
        after, jitter = rng.randint(0, 2), rng.uniform(0.0, 0.3)
        with open(tmp_path / f"stderr-{kill}.txt", "w") as stderr:
            batch = subprocess.Popen(
                command, env=ENV, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
            )
        try:
            deadline = time.monotonic() + 120
            while batch.poll() is None and (_cases_done(out, kill) or -1) < after:
                assert time.monotonic() < deadline, "the batch made no progress"
                time.sleep(0.05)
            time.sleep(jitter)
            workers_seen += any("spawn_main" in c for c in _session(batch.pid).values())
            hits += batch.poll() is None
            batch.send_signal(signal.SIGKILL)
            batch.wait(10)
            left = _wait_until_gone(batch.pid, 5.0)
            assert not left, f"kill {kill}: processes of the killed batch still run: {left}"
        finally:
            _end_session(batch.pid)
        for case_file in (out / "cases").glob("*.json"):  # every case file is whole
            assert json.loads(case_file.read_text(encoding="utf-8"))["key"]
    assert hits == 3, "a batch ended before its kill"
    assert workers_seen >= 1, "no kill found worker processes at work: the test tested nothing"

    resumed = run_batch(manifest, out, settings=QUICK)  # in this process: no worker start-up to wait for
    assert resumed.failed == 0 and resumed.succeeded + resumed.skipped == CASES
    assert resumed.skipped >= 1  # what the killed runs finished is kept
    pd.testing.assert_frame_equal(
        _table(out / "features.csv"), _table(tmp_path / "reference" / "features.csv")
    )
    # The same files as the run never killed: no temporary file a kill left behind.
    files = {p.relative_to(out).as_posix() for p in out.rglob("*")}
    assert files == {
        p.relative_to(tmp_path / "reference").as_posix() for p in (tmp_path / "reference").rglob("*")
    }


def test_a_rerun_deletes_the_temporary_files_a_killed_run_left(manifest, tmp_path):
    """What a kill in the middle of a write leaves (``write_atomically``'s ``.partial-*`` files, in the
    output folder, cases/ and reports/) is gone after the rerun; the finished files are kept."""
    one_case = tmp_path / "one.csv"
    pd.read_csv(manifest).head(1).to_csv(one_case, index=False)
    out = tmp_path / "out"
    left = [out / ".partial-0123abcd-features.csv", out / "cases" / ".partial-89abcdef-SYN-A-0001.json"]
    left.append(out / "reports" / ".partial-00000000-SYN-A-0001.pdf")
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half a file", encoding="utf-8")
    summary = run_batch(one_case, out, settings=QUICK)
    assert summary.succeeded == 1
    assert not [path for path in left if path.exists()]
    assert (out / "features.csv").is_file() and len(list((out / "cases").glob("*.json"))) == 1
