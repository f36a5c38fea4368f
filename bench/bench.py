#!/usr/bin/env python3
"""Runs the gwi benchmark: gwi vs the download floor vs Singer SDK vs dlt, same upstream, same run.

Started by ``bench/run.sh`` (which builds the binaries and the Python virtualenv first); uses
only the standard library itself. Settings come from the environment:

    BENCH_SIZES        record counts to run, default "20000 200000"
    BENCH_RUNS         runs per measurement (median reported), default 3
    BENCH_SLOW_RUNS    runs of the Python peers at N >= 100000, default 1
    BENCH_TOOLS        subset to run, default "floor,gwi,singer,tap,dlt-extract,dlt-duckdb,shapes,webhooks,service"
    BENCH_SHAPE_RECORDS records per data shape in the shape matrix, default 200000
    BENCH_SHAPES       shape rows to run (names from SHAPES below), default all
    BENCH_PG_SHAPES    shapes also synced into PostgreSQL, default "baseline,by-id"
    BENCH_PG_ADMIN_URL a PostgreSQL database to create the benchmark's from, default
                       postgres://postgres@127.0.0.1:5432/postgres (needs `psql`)
    BENCH_WEBHOOK_RATE offered webhook load (deliveries/s), default 2000
    BENCH_WEBHOOK_SECS seconds per webhook run, default 10
    BENCH_WEBHOOK_CONNECTIONS  load-generator connections, default 64
    BENCH_WEBHOOK_RUNS fresh `gwi serve` runs at max load (median reported), default 3
    BENCH_RECORDS_QUERY  SQL counting synced records in gwi's SQLite store (default: auto)
    BENCH_INBOX_QUERY    SQL listing stored webhook delivery ids (default: auto)
    BENCH_GWI_LOG      GWI_LOG value for gwi runs (default: unset)
    BENCH_DLT_FORMAT   dlt loader_file_format, default "jsonl" ("default" = dlt's insert_values)
    BENCH_TIMEOUT      seconds before one run is killed, default 900
    BENCH_OUT          report path, default docs/benchmarks.md
    BENCH_KEEP         keep the scratch directory when set to 1

Hook points for the gwi commands are marked ``HOOK(gwi ...)``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import select
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import service  # bench/service.py: scheduled syncs across processes

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release"
GWI = BIN / "gwi"
UPSTREAM = BIN / "gwi-bench-upstream"
WEBHOOKS = BIN / "gwi-bench-webhooks"
VENV_PY = ROOT / "bench" / ".venv" / "bin" / "python"
# target-jsonl pins jsonschema 2.x, which singer-sdk cannot share: it has a virtualenv of its own.
TARGET_JSONL = ROOT / "bench" / ".venv-target-jsonl" / "bin" / "target-jsonl"
PEERS = ROOT / "bench" / "peers"
TIME = "/usr/bin/time"
REPO = "acme/widgets"
PER_PAGE = 100
TOKEN = "bench-token"
WEBHOOK_SECRET = "bench-webhook-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        sys.exit(f"{name} must be an integer")


SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "20000 200000").replace(",", " ").split()]
RUNS = max(1, env_int("BENCH_RUNS", 3))
SLOW_RUNS = max(1, env_int("BENCH_SLOW_RUNS", 1))
TOOLS = {
    t.strip()
    for t in os.environ.get(
        "BENCH_TOOLS", "floor,gwi,singer,tap,dlt-extract,dlt-duckdb,shapes,webhooks,service"
    ).split(",")
    if t.strip()
}
WEBHOOK_RATE = env_int("BENCH_WEBHOOK_RATE", 2000)
WEBHOOK_SECS = env_int("BENCH_WEBHOOK_SECS", 10)
WEBHOOK_CONNECTIONS = env_int("BENCH_WEBHOOK_CONNECTIONS", 64)
WEBHOOK_RUNS = max(1, env_int("BENCH_WEBHOOK_RUNS", 3))
OUT = Path(os.environ.get("BENCH_OUT", ROOT / "docs" / "benchmarks.md"))
DLT_FORMAT = os.environ.get("BENCH_DLT_FORMAT", "jsonl")
TIMEOUT = env_int("BENCH_TIMEOUT", 900)
# The floor takes well under a second; more runs steady its median.
FLOOR_RUNS = max(RUNS, 9)
SHAPE_RECORDS = env_int("BENCH_SHAPE_RECORDS", 200_000)
# The data shapes of the matrix: `gwi-bench-upstream` flags per row. The first is the shape of
# the tables above; each other row changes one or two things a store or a decoder is sensitive
# to. `ids ascending, updated scattered` is a listing sorted by id or creation date.
SHAPES: dict[str, dict[str, str]] = {
    "baseline": {},
    "updated-scattered": {"--updated": "scattered"},
    "by-id": {"--ids": "ascending", "--updated": "scattered"},
    "random": {"--ids": "random", "--updated": "scattered"},
    "small": {"--size": "small"},
    "small-random": {"--size": "small", "--ids": "random", "--updated": "scattered"},
    "large": {"--size": "large"},
    "large-random": {"--size": "large", "--ids": "random", "--updated": "scattered"},
    "wide": {"--extra-fields": "40"},
}
SHAPE_NAMES = [
    x.strip()
    for x in os.environ.get("BENCH_SHAPES", ",".join(SHAPES)).split(",")
    if x.strip()
]
for _name in SHAPE_NAMES:
    if _name not in SHAPES:
        sys.exit(f"BENCH_SHAPES: unknown shape {_name!r} (known: {', '.join(SHAPES)})")
PG_SHAPES = [
    x.strip() for x in os.environ.get("BENCH_PG_SHAPES", "baseline,by-id").split(",") if x.strip()
]
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Processes and measurements
# ---------------------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_peak_rss_kib(pid: int) -> int:
    """Peak resident set (VmHWM) of a running process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback only)
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return 0, b""


class Upstream:
    """The benchmark upstream process, serving N pull requests."""

    def __init__(self, records: int, scratch: Path, shape: dict[str, str] | None = None) -> None:
        self.records = records
        self.log_path = scratch / f"upstream-{records}.log"
        self.log_file = open(self.log_path, "w")  # noqa: SIM115
        started = time.monotonic()
        flags = [x for pair in (shape or {}).items() for x in pair]
        self.proc = subprocess.Popen(
            [str(UPSTREAM), "--port", "0", "--records", str(records), "--repo", REPO, *flags],
            stdout=subprocess.PIPE,
            stderr=self.log_file,
            text=True,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 300)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("http://"):
            self.stop()
            sys.exit(f"upstream did not start; see {self.log_path}")
        self.base_url = line
        self.render_s = time.monotonic() - started
        log(f"upstream {self.base_url} serving {records} pull requests (ready in {self.render_s:.1f} s)")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        return proc_cpu_seconds(self.pid)

    def stats(self) -> dict:
        status, body = http_get(f"{self.base_url}/__bench/stats")
        return json.loads(body) if status == 200 else {}

    def pulls_url(self, page: str) -> str:
        return (
            f"{self.base_url}/repos/{REPO}/pulls?state=all&sort=updated&direction=desc"
            f"&per_page={PER_PAGE}&page={page}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


@dataclass
class Run:
    """One timed run of one tool."""

    wall_s: float
    rss_kib: int
    cpu_s: float
    upstream_cpu_s: float
    records_served: int
    bytes_served: int
    records_seen: int | None
    in_process_s: float | None
    ok: bool
    note: str = ""


@dataclass
class Row:
    """All runs of one tool at one size, and what the table shows for them."""

    tool: str
    records: int
    runs: list[Run] = field(default_factory=list)
    skipped: str = ""

    @property
    def good(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    @property
    def wall(self) -> float | None:
        good = self.good
        return statistics.median(r.wall_s for r in good) if good else None

    @property
    def rate(self) -> float | None:
        w = self.wall
        return self.records / w if w else None

    @property
    def in_process_rate(self) -> float | None:
        vals = [r.in_process_s for r in self.good if r.in_process_s]
        return self.records / statistics.median(vals) if vals else None

    @property
    def rss_kib(self) -> int | None:
        good = self.good
        return max(r.rss_kib for r in good) if good else None

    @property
    def busy(self) -> float | None:
        """The tool's CPU time (user + system, children included) ÷ its wall time."""
        good = self.good
        if not good:
            return None
        return statistics.median(r.cpu_s / r.wall_s for r in good if r.wall_s > 0)

    @property
    def cpu_per_record_us(self) -> float | None:
        """Median CPU time (user + system, children included) per record, in µs."""
        good = self.good
        if not good or not self.records:
            return None
        return statistics.median(r.cpu_s for r in good) / self.records * 1e6

    @property
    def upstream_busy(self) -> float | None:
        """Upstream CPU time as a share of the tool's wall time (1.0 = one core all the time)."""
        good = self.good
        if not good:
            return None
        return statistics.median(r.upstream_cpu_s / r.wall_s for r in good if r.wall_s > 0)

    @property
    def verified(self) -> str:
        if not self.runs:
            return ""
        if not self.good:
            return "failed"
        served = all(r.records_served == self.records for r in self.good)
        seen = [r.records_seen for r in self.good if r.records_seen is not None]
        if not served:
            return "upstream served " + "/".join(str(r.records_served) for r in self.good)
        if seen and any(s != self.records for s in seen):
            return "tool counted " + "/".join(str(s) for s in seen)
        return "yes" if seen else "served only"


def timed(
    argv: list[str],
    upstream: Upstream,
    scratch: Path,
    env: dict | None = None,
    stdout_path: Path | None = None,
) -> tuple[Run, str]:
    """Runs argv under /usr/bin/time -v; returns the run and the tail of its stderr."""
    tfile = scratch / "time.txt"
    efile = scratch / "stderr.txt"
    before_cpu, before = upstream.cpu(), upstream.stats()
    with open(efile, "w") as err, open(stdout_path or os.devnull, "w") as out:
        t0 = time.monotonic()
        # Own session, so a run past the timeout is killed with everything it started.
        proc = subprocess.Popen(
            [TIME, "-v", "-o", str(tfile), *argv],
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        try:
            returncode = proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = "timeout"
        wall = time.monotonic() - t0
    after_cpu, after = upstream.cpu(), upstream.stats()
    text = tfile.read_text() if tfile.exists() else ""
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
    stderr = efile.read_text(errors="replace")
    run = Run(
        wall_s=wall,
        rss_kib=int(m.group(1)) if m else 0,
        cpu_s=cpu,
        upstream_cpu_s=after_cpu - before_cpu,
        records_served=after.get("pull_records", 0) - before.get("pull_records", 0),
        bytes_served=after.get("body_bytes", 0) - before.get("body_bytes", 0),
        records_seen=None,
        in_process_s=None,
        ok=returncode == 0,
        note="" if returncode == 0 else (f"killed after {TIMEOUT} s" if returncode == "timeout" else f"exit {returncode}"),
    )
    if not run.ok:
        log(f"  {argv[0]} failed ({run.note}); stderr tail:\n" + "\n".join(stderr.splitlines()[-15:]))
    return run, stderr


def repeat(row: Row, runs: int, once) -> Row:  # noqa: ANN001
    for i in range(runs):
        run = once(i)
        row.runs.append(run)
        log(
            f"  {row.tool} run {i + 1}/{runs}: {run.wall_s:.2f} s, "
            f"{row.records / run.wall_s:,.0f} records/s, peak RSS {run.rss_kib / 1024:.1f} MiB"
            + ("" if run.ok else f" [{run.note}]")
        )
    return row


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------


def floor(up: Upstream, scratch: Path) -> Row:
    """curl over one keep-alive connection, URL globbing over every page, bodies discarded."""
    pages = max(1, -(-up.records // PER_PAGE))
    argv = ["curl", "-s", "--fail", "-o", "/dev/null", up.pulls_url(f"[1-{pages}]")]

    def once(_: int) -> Run:
        run, _ = timed(argv, up, scratch)
        return run

    return repeat(Row("floor (curl)", up.records), FLOOR_RUNS, once)


def parallel_floor(up: Upstream) -> dict:
    """Two floor downloads at once: if the upstream were the limit, the sum could not grow."""
    pages = max(1, -(-up.records // PER_PAGE))
    argv = ["curl", "-s", "--fail", "-o", "/dev/null", up.pulls_url(f"[1-{pages}]")]
    before = up.cpu()
    t0 = time.monotonic()
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL) for _ in range(2)]
    ok = all(p.wait() == 0 for p in procs)
    wall = time.monotonic() - t0
    return {
        "ok": ok,
        "wall_s": wall,
        "aggregate_rate": 2 * up.records / wall,
        "upstream_busy": (up.cpu() - before) / wall,
    }


# HOOK(gwi sync): the store URL form and table names are the store crate's; adjust if needed.
def sqlite_url(path: Path) -> str:
    return f"sqlite://{path}"


def write_gwi_toml(path: Path, base_url: str, store_url: str, listen: str | None = None) -> None:
    """The gwi.toml shape from issue 6, pointed at the benchmark upstream."""
    text = f"""# Generated by bench/bench.py for one benchmark run.
[store]
url = "{store_url}"

[connectors.github]
base_url = "{base_url}"
repositories = ["{REPO}"]
types = ["pull_request"]
auth = {{ type = "bearer", token = "env:GITHUB_TOKEN" }}
webhook_secret = "env:GITHUB_WEBHOOK_SECRET"
"""
    if listen:
        text += f'\n[server]\nlisten = "{listen}"\n'
    path.write_text(text)


def gwi_env() -> dict:
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET}
    if os.environ.get("BENCH_GWI_LOG"):
        env["GWI_LOG"] = os.environ["BENCH_GWI_LOG"]
    return env


# HOOK(gwi sync): the command line from issue 6.
def gwi_sync_argv(config: Path, store_url: str, output: str) -> list[str]:
    argv = [
        str(GWI), "sync", "github",
        "--config", str(config),
        "--store", store_url,
        "--types", "pull_request",
        "--full-refresh",
    ]  # fmt: skip
    if output != "store":
        argv += ["--output", output]
    return argv


def count_sqlite_records(db: Path) -> int | None:
    """Rows gwi stored, by BENCH_RECORDS_QUERY or a table named like `records`."""
    # HOOK(gwi store schema): set BENCH_RECORDS_QUERY if the table is not found automatically.
    if not db.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            query = os.environ.get("BENCH_RECORDS_QUERY")
            if not query:
                tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
                named = [t for t in tables if t == "records"] or [t for t in tables if "record" in t]
                if not named:
                    return None
                query = f'SELECT count(*) FROM "{named[0]}"'
            return int(con.execute(query).fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error as e:
        log(f"  could not count stored records: {e}")
        return None


def gwi_sync(up: Upstream, scratch: Path, output: str) -> Row:
    label = "gwi (sqlite)" if output == "store" else f"gwi ({output})"
    row = Row(label, up.records)

    def once(i: int) -> Run:
        db = scratch / f"gwi-{output}-{up.records}-{i}.db"
        config = scratch / "gwi.toml"
        write_gwi_toml(config, up.base_url, sqlite_url(db))
        run, _ = timed(gwi_sync_argv(config, sqlite_url(db), output), up, scratch, env=gwi_env())
        if output == "store":
            run.records_seen = count_sqlite_records(db)
        for p in scratch.glob(f"gwi-{output}-{up.records}-{i}.db*"):
            p.unlink()
        return run

    return repeat(row, RUNS, once)


def singer(up: Upstream, scratch: Path, runs: int) -> Row:
    argv = singer_tap_argv(scratch, up.base_url)

    def once(_: int) -> Run:
        run, stderr = timed(argv, up, scratch)
        # Counters are logged per interval and reset; their sum is the record count.
        counts = re.findall(r'"metric":\s*"record_count",\s*"value":\s*(\d+)', stderr)
        run.records_seen = sum(int(c) for c in counts) if counts else None
        m = re.search(r'"tap_bench_in_process_s":\s*([\d.]+)', stderr)
        run.in_process_s = float(m.group(1)) if m else None
        return run

    return repeat(Row("singer-sdk tap", up.records), runs, once)


def gwi_tap_argv(scratch: Path, base_url: str) -> list[str]:
    """`gwi tap github` with the JSON config a Meltano user would give it."""
    config = scratch / "gwi-tap.json"
    config.write_text(
        json.dumps(
            {
                "base_url": base_url,
                "repositories": [REPO],
                "types": ["pull_request"],
                "auth": {"type": "bearer", "token": "env:GITHUB_TOKEN"},
            }
        )
    )
    return [str(GWI), "tap", "github", "--config", str(config)]


def singer_tap_argv(scratch: Path, base_url: str) -> list[str]:
    config = scratch / "tap-config.json"
    config.write_text(json.dumps({"base_url": base_url, "repository": REPO, "token": TOKEN}))
    return [str(VENV_PY), str(PEERS / "tap_bench.py"), "--config", str(config)]


def tap_alone(up: Upstream, scratch: Path) -> Row:
    """`gwi tap github` to /dev/null: the tap's own pace, beside the Singer SDK tap's row."""

    def once(_: int) -> Run:
        run, _ = timed(gwi_tap_argv(scratch, up.base_url), up, scratch, env=gwi_env())
        return run

    return repeat(Row("gwi tap", up.records), RUNS, once)


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def tap_to_target_jsonl(up: Upstream, scratch: Path, label: str, tap: list[str], runs: int) -> Row:
    """A Singer pipeline as Meltano runs it: the tap's stdout piped into `target-jsonl`.

    Wall time, CPU and peak RSS cover both processes (the largest of the two for RSS); the
    record count is the lines target-jsonl wrote, so a tap that dropped records shows here.
    """
    out = scratch / "target-jsonl-out"
    config = scratch / "target-jsonl.json"
    config.write_text(json.dumps({"destination_path": str(out), "do_timestamp_file": False}))
    target = [str(TARGET_JSONL), "--config", str(config)]
    argv = ["bash", "-c", f"set -o pipefail; {shlex.join(tap)} | {shlex.join(target)}"]

    def once(_: int) -> Run:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        run, _ = timed(argv, up, scratch, env=gwi_env())
        files = list(out.glob("*.jsonl"))
        run.records_seen = sum(count_lines(f) for f in files) if files else None
        return run

    return repeat(Row(label, up.records), runs, once)


def taps(up: Upstream, scratch: Path, commands: set[str], peers_ok: bool, peer_runs: int) -> list[Row]:
    """gwi's Singer tap alone and into target-jsonl, next to the Singer SDK tap into the same target."""
    if "tap" not in commands:
        return [Row("gwi tap", up.records, skipped="`gwi tap` not built yet")]
    rows = [tap_alone(up, scratch)]
    if not TARGET_JSONL.exists():
        return rows + [Row("→ target-jsonl", up.records, skipped="bench/.venv-target-jsonl is missing")]
    rows.append(
        tap_to_target_jsonl(up, scratch, "gwi tap → target-jsonl", gwi_tap_argv(scratch, up.base_url), RUNS)
    )
    if peers_ok:
        rows.append(
            tap_to_target_jsonl(
                up, scratch, "singer-sdk tap → target-jsonl", singer_tap_argv(scratch, up.base_url), peer_runs
            )
        )
    return rows


def dlt(up: Upstream, scratch: Path, mode: str, runs: int) -> Row:
    label = "dlt extract" if mode == "extract" else "dlt → duckdb"
    if DLT_FORMAT != "default":
        label += f" ({DLT_FORMAT})"

    def once(i: int) -> Run:
        work = scratch / f"dlt-{mode}-{up.records}-{i}"
        report = scratch / "dlt-report.json"
        report.unlink(missing_ok=True)
        argv = [
            str(VENV_PY), str(PEERS / "dlt_bench.py"),
            "--base-url", up.base_url, "--repository", REPO, "--token", TOKEN,
            "--mode", mode, "--workdir", str(work), "--report", str(report),
            "--loader-file-format", DLT_FORMAT,
        ]  # fmt: skip
        run, _ = timed(argv, up, scratch, env={"RUNTIME__DLTHUB_TELEMETRY": "false"})
        if report.exists():
            data = json.loads(report.read_text())
            run.records_seen = data.get("records")
            run.in_process_s = data.get("in_process_s")
        shutil.rmtree(work, ignore_errors=True)
        return run

    return repeat(Row(label, up.records), runs, once)


def psql(url: str, sql: str) -> str | None:
    """One statement through `psql`; None (logged) when it fails or psql is missing."""
    try:
        done = subprocess.run(
            ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        log(f"  psql: {e}")
        return None
    if done.returncode != 0:
        log(f"  psql: {done.stderr.strip()}")
        return None
    return done.stdout.strip()


def postgres_db_url(name: str) -> str:
    """The admin URL with its database replaced by `name`."""
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def gwi_sync_postgres(up: Upstream, scratch: Path, shape: str) -> Row:
    """gwi into a fresh PostgreSQL database per run."""
    row = Row("gwi (postgres)", up.records)
    if psql(PG_ADMIN_URL, "SELECT 1") is None:
        row.skipped = f"PostgreSQL not reachable at {PG_ADMIN_URL} (BENCH_PG_ADMIN_URL)"
        return row

    def once(i: int) -> Run:
        name = f"gwi_bench_{os.getpid()}_{shape.replace('-', '_')}_{i}"
        psql(PG_ADMIN_URL, f"DROP DATABASE IF EXISTS {name}")
        psql(PG_ADMIN_URL, f"CREATE DATABASE {name}")
        url = postgres_db_url(name)
        config = scratch / "gwi.toml"
        write_gwi_toml(config, up.base_url, url)
        try:
            run, _ = timed(gwi_sync_argv(config, url, "store"), up, scratch, env=gwi_env())
            counted = psql(url, "SELECT count(*) FROM records")
            run.records_seen = int(counted) if counted and counted.isdigit() else None
        finally:
            psql(PG_ADMIN_URL, f"DROP DATABASE IF EXISTS {name}")
        return run

    return repeat(row, RUNS, once)


def postgres_section(rows: list[dict]) -> str:
    measured = [(r, r["postgres"]) for r in rows if r.get("postgres")]
    if not measured:
        return "Not run (`BENCH_PG_SHAPES` named no shape of this run).\n"
    skipped = [pg.skipped for _, pg in measured if pg.skipped]
    if skipped:
        return f"Not run: {skipped[0]}.\n"
    head = (
        "| shape | gwi (postgres) records/s | median wall | peak RSS | CPU: gwi / upstream "
        "| gwi (sqlite) records/s | all records |\n|---|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for r, pg in measured:
        sq = r.get("sqlite")
        busy = f"{pg.busy:.0%} / {pg.upstream_busy:.0%}" if pg.busy is not None and pg.upstream_busy is not None else "–"
        lines.append(
            f"| {r['shape']} | {fmt_rate(pg.rate)} | {pg.wall:.2f} s | {fmt_mib(pg.rss_kib)} "
            f"| {busy} | {fmt_rate(sq.rate if sq else None)} | {pg.verified} |"
        )
    return head + "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Webhook ingest
# ---------------------------------------------------------------------------------------------


def shape_matrix(scratch: Path, commands: set[str], peers_ok: bool) -> list[dict]:
    """gwi (SQLite and ndjson), the floor and the Singer SDK tap on every shape in SHAPE_NAMES."""
    rows = []
    for name in SHAPE_NAMES:
        log(f"=== shape {name}: {SHAPES[name] or 'default flags'}, N = {SHAPE_RECORDS:,} ===")
        up = Upstream(SHAPE_RECORDS, scratch, SHAPES[name])
        try:
            row = {"shape": name, "flags": SHAPES[name], "floor": floor(up, scratch)}
            served = row["floor"].good[0] if row["floor"].good else None
            row["bytes_per_record"] = served.bytes_served / SHAPE_RECORDS if served else 0
            if "sync" in commands:
                row["sqlite"] = gwi_sync(up, scratch, "store")
                row["ndjson"] = gwi_sync(up, scratch, "ndjson")
                if name in PG_SHAPES:
                    row["postgres"] = gwi_sync_postgres(up, scratch, name)
            if peers_ok:
                row["singer"] = singer(up, scratch, SLOW_RUNS)
        finally:
            up.stop()
        rows.append(row)
    return rows


def shape_section(rows: list[dict]) -> str:
    head = (
        "| shape | upstream flags | bytes/record | gwi (sqlite) records/s | peak RSS | "
        "gwi (ndjson) records/s | peak RSS | ndjson vs floor | singer-sdk tap records/s "
        "| gwi (sqlite) × singer | all records |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for r in rows:
        g, nd, f, sg = r.get("sqlite"), r.get("ndjson"), r.get("floor"), r.get("singer")
        flags = " ".join(f"`{k} {v}`" for k, v in r["flags"].items()) or "(none)"
        vs_floor = f"{nd.rate / f.rate:.0%}" if nd and f and nd.rate and f.rate else "–"
        times = f"{g.rate / sg.rate:.1f}×" if g and sg and g.rate and sg.rate else "–"
        checks = "/".join(x.verified for x in (g, nd) if x) or "–"
        lines.append(
            f"| {r['shape']} | {flags} | {r['bytes_per_record']:,.0f} "
            f"| {fmt_rate(g.rate if g else None)} | {fmt_mib(g.rss_kib if g else None)} "
            f"| {fmt_rate(nd.rate if nd else None)} | {fmt_mib(nd.rss_kib if nd else None)} "
            f"| {vs_floor} | {fmt_rate(sg.rate if sg else None)} | {times} | {checks} |"
        )
    return head + "\n".join(lines) + "\n"


def shape_targets(rows: list[dict]) -> str:
    """Issue 26's targets, per shape: the worst shape decides."""
    if not rows:
        return "- data shapes: not measured\n"

    def worst(label: str, values: list[tuple[str, float | None]], ok) -> str:  # noqa: ANN001
        got = [(n, v) for n, v in values if v is not None]
        if not got:
            return f"- {label}: not measured"
        bad = [f"{n} {v:,.1f}" for n, v in got if not ok(v)]
        return f"- {label}: " + ("met on every shape" if not bad else "NOT met on " + ", ".join(bad))

    def get(r: dict, key: str, attr: str) -> float | None:
        x = r.get(key)
        return getattr(x, attr) if x else None

    lines = [
        worst("≥ 150k records/s into SQLite", [(r["shape"], get(r, "sqlite", "rate")) for r in rows], lambda v: v >= 150_000),
        worst(
            "≥ 15× the Singer SDK tap",
            [(r["shape"], (get(r, "sqlite", "rate") or 0) / s if (s := get(r, "singer", "rate")) else None) for r in rows],
            lambda v: v >= 15,
        ),
        worst(
            "`--output ndjson` ≥ 50 % of the floor (in %)",
            [(r["shape"], 100 * (get(r, "ndjson", "rate") or 0) / f if (f := get(r, "floor", "rate")) else None) for r in rows],
            lambda v: v >= 50,
        ),
        worst(
            "peak RSS ≤ 48 MiB, SQLite (MiB)",
            [(r["shape"], k / 1024 if (k := get(r, "sqlite", "rss_kib")) else None) for r in rows],
            lambda v: v <= 48,
        ),
        worst(
            "peak RSS ≤ 48 MiB, ndjson (MiB)",
            [(r["shape"], k / 1024 if (k := get(r, "ndjson", "rss_kib")) else None) for r in rows],
            lambda v: v <= 48,
        ),
    ]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# HOOK(gwi serve): the command line from issue 7.
def gwi_serve_argv(config: Path, listen: str) -> list[str]:
    return [str(GWI), "serve", "--config", str(config), "--listen", listen]


def stored_delivery_ids(db: Path) -> tuple[set[str], str]:
    """Every value that could be a delivery id in the store's webhook inbox, and where it was found."""
    # HOOK(gwi store schema): set BENCH_INBOX_QUERY (one column of delivery ids) to skip the search.
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        query = os.environ.get("BENCH_INBOX_QUERY")
        if query:
            return {str(r[0]) for r in con.execute(query)}, query
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        candidates = [t for t in tables if "inbox" in t] or [t for t in tables if "webhook" in t]
        best: tuple[set[str], str] = (set(), "no inbox table found")
        for t in candidates:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
            for c in cols:
                try:
                    values = {str(r[0]) for r in con.execute(f'SELECT "{c}" FROM "{t}"') if r[0] is not None}
                except sqlite3.Error:
                    continue
                uuids = sum(1 for v in values if re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", v))
                if uuids > sum(1 for v in best[0] if re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", v)):
                    best = (values, f"{t}.{c}")
        return best
    finally:
        con.close()


def check_ids(ids_file: Path, stored: set[str]) -> tuple[int, int]:
    """(answered 2xx, of which missing from the store); a stored key may carry a prefix."""
    ids = [line.strip() for line in ids_file.read_text().splitlines() if line.strip()]
    suffixes = {v[-36:] for v in stored}
    missing = sum(1 for i in ids if i not in stored and i not in suffixes)
    return len(ids), missing


def drive(url: str, mode: str, scratch: Path, server_pid: int, label: str) -> dict:
    """One load-generator run against url; its JSON report plus the server's CPU time."""
    slug = label.replace(" ", "-")
    ids = scratch / f"ids-{slug}-{mode}.txt"
    out = scratch / f"webhooks-{slug}-{mode}.json"
    extra = ["--rate", str(WEBHOOK_RATE)] if mode == "fixed" else ["--max"]
    argv = [
        str(WEBHOOKS), "--url", url, "--duration", str(WEBHOOK_SECS),
        "--connections", str(WEBHOOK_CONNECTIONS),
        "--ids-out", str(ids), "--json-out", str(out), *extra,
    ]  # fmt: skip
    log(f"webhooks: {label}, {mode}: {' '.join(argv[1:])}")
    cpu0 = proc_cpu_seconds(server_pid)
    subprocess.run(argv, env={**os.environ, "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET}, check=False)
    report = json.loads(out.read_text()) if out.exists() else {}
    report["server_cpu_s"] = proc_cpu_seconds(server_pid) - cpu0
    report["ids_file"] = str(ids)
    report["target"] = label
    report["load"] = mode
    return report


def webhooks(scratch: Path, commands: set[str]) -> dict:
    """Load-generator runs against a null receiver (its ceiling here) and against `gwi serve`."""
    result: dict = {"rows": [], "skipped": ""}
    # The null receiver reads each body and answers 202: what the generator reaches when the
    # server does nothing, on the same cores.
    sink = Upstream(1, scratch)
    try:
        for mode in ("fixed", "max"):
            result["rows"].append(
                drive(f"{sink.base_url}/__bench/sink", mode, scratch, sink.pid, "null receiver")
            )
    finally:
        sink.stop()
    if "serve" not in commands:
        result["skipped"] = "`gwi serve` is not in target/release/gwi yet"
        log(f"webhooks: gwi skipped: {result['skipped']}")
        return result
    # The default server (workers processing beside ingest), then an ingest-only one
    # (`--workers 0`: store, verify and dedupe only, as when other processes drain the inbox).
    # Full-load rates move by 10-20 % from one run to the next on a shared machine, so each
    # configuration gets several fresh servers at max load and the median is reported.
    for label, extra, modes in (
        ("gwi serve", [], ("fixed", "max")),
        ("gwi serve --workers 0", ["--workers", "0"], ("max",)),
    ):
        at_max = []
        for run in range(WEBHOOK_RUNS):
            rows, skipped = serve_runs(scratch, label, extra, modes if run == 0 else ("max",), result, run)
            result["rows"].extend(r for r in rows if r["load"] != "max")
            at_max.extend(r for r in rows if r["load"] == "max")
            if skipped:
                result["skipped"] = skipped
                break
        if at_max:
            result["rows"].append(median_run(at_max))
        if result["skipped"]:
            break
    return result


def median_run(runs: list[dict]) -> dict:
    """The median run by deliveries/s, carrying every run's rate and the deliveries missing in any."""
    ranked = sorted(runs, key=lambda r: r.get("deliveries_per_s", 0))
    row = dict(ranked[(len(ranked) - 1) // 2])
    row["run_rates"] = [r.get("deliveries_per_s", 0) for r in runs]
    counts = [r.get("missing_from_store") for r in runs]
    if all(isinstance(c, int) for c in counts):
        row["missing_from_store"] = sum(counts)
    return row


def serve_runs(
    scratch: Path, label: str, extra: list[str], modes, result: dict, run: int = 0
) -> tuple[list, str]:
    """Drives one fresh `gwi serve` (own store file) at each load; checks every 2xx is stored."""
    port = free_port()
    listen = f"127.0.0.1:{port}"
    slug = ("serve-ingest" if extra else "serve") + f"-{run + 1}"
    db = scratch / f"{slug}.db"
    config = scratch / f"{slug}.toml"
    write_gwi_toml(config, "http://127.0.0.1:9", sqlite_url(db), listen=listen)
    serve_log = scratch / f"{slug}.log"
    gwi_rows = []
    with open(serve_log, "w") as lf:
        server = subprocess.Popen(
            gwi_serve_argv(config, listen) + extra, stdout=lf, stderr=lf, env={**os.environ, **gwi_env()}
        )
    try:
        deadline = time.monotonic() + 60
        while http_get(f"http://{listen}/healthz", timeout=1)[0] != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                skipped = f"{label} did not become healthy; see {serve_log}"
                log(f"webhooks: {skipped}")
                return [], skipped
            time.sleep(0.2)
        for mode in modes:
            gwi_rows.append(drive(f"http://{listen}/webhooks/github", mode, scratch, server.pid, label))
        peaks = result.setdefault("server_peak_rss_kib", {})
        peaks[label] = max(peaks.get(label, 0), proc_peak_rss_kib(server.pid))
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    # Checked after shutdown: 2xx means durably stored, so it must survive the process.
    stored, where = stored_delivery_ids(db) if db.exists() else (set(), "no store file")
    result["store_column"] = where
    for r in gwi_rows:
        if Path(r["ids_file"]).exists():
            answered, missing = check_ids(Path(r["ids_file"]), stored)
            r["answered_2xx_ids"] = answered
            r["missing_from_store"] = missing
            log(f"webhooks: {label}, {r['load']}: {answered} ids answered 2xx, {missing} missing from the store ({where})")
    return gwi_rows, ""


def gwi_webhook_row(w: dict, mode: str, target: str = "gwi serve") -> dict | None:
    return next((r for r in w.get("rows", []) if r["target"] == target and r["load"] == mode), None)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def fmt_rate(v: float | None) -> str:
    return f"{v:,.0f}" if v else "–"


def fmt_mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f} MiB" if kib else "–"


def table(rows: list[Row]) -> str:
    by = {r.tool: r for r in rows}
    floor_rate = by.get("floor (curl)").rate if "floor (curl)" in by else None
    gwi_rate = by["gwi (sqlite)"].rate if "gwi (sqlite)" in by else None
    head = (
        "| tool | records/s | median wall | peak RSS | vs floor | gwi (sqlite) is × faster "
        "| records/s after start-up | CPU: tool / upstream | CPU per record | runs | all records |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    lines = []
    for r in rows:
        if r.skipped:
            lines.append(f"| {r.tool} | skipped: {r.skipped} | | | | | | | | | |")
            continue
        rate = r.rate
        vs_floor = f"{rate / floor_rate:.0%}" if rate and floor_rate else "–"
        peer = not r.tool.startswith(("gwi", "floor"))
        vs_gwi = f"{gwi_rate / rate:.1f}×" if peer and rate and gwi_rate else "–"
        busy = (
            f"{r.busy:.0%} / {r.upstream_busy:.0%}"
            if r.busy is not None and r.upstream_busy is not None
            else "–"
        )
        wall = f"{r.wall:.2f} s" if r.wall else "–"
        per_record = r.cpu_per_record_us
        per_record = f"{per_record:.1f} µs" if per_record is not None else "–"
        lines.append(
            f"| {r.tool} | {fmt_rate(rate)} | {wall} | {fmt_mib(r.rss_kib)} | {vs_floor} | {vs_gwi} "
            f"| {fmt_rate(r.in_process_rate)} | {busy} | {per_record} | {len(r.good)}/{len(r.runs)} "
            f"| {r.verified} |"
        )
    return head + "\n".join(lines) + "\n"


def webhook_section(w: dict) -> str:
    if not w:
        return "Not run (`BENCH_TOOLS` excluded `webhooks`).\n"
    out = [
        "| receiver | load | deliveries/s (2xx) | p50 | p90 | p99 | max | 2xx | 4xx | 5xx | errors "
        "| missing from store | receiver CPU |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in w.get("rows", []):
        lat = r.get("latency", {})
        ms = lambda k: f"{lat.get(k, 0) / 1000:.2f} ms"  # noqa: E731
        load = f"{r['offered_rate']:,.0f}/s offered" if r.get("offered_rate") else "max (closed loop)"
        busy = r["server_cpu_s"] / r["elapsed_s"] if r.get("elapsed_s") else 0
        missing = r.get("missing_from_store", "?" if r["target"].startswith("gwi serve") else "n/a")
        out.append(
            f"| {r['target']} | {load} | {r.get('deliveries_per_s', 0):,.0f} | {ms('p50_us')} | {ms('p90_us')} "
            f"| {ms('p99_us')} | {ms('max_us')} | {r.get('ok_2xx', 0)} | {r.get('status_4xx', 0)} "
            f"| {r.get('status_5xx', 0)} | {r.get('errors', 0)} | {missing} | {busy:.0%} |"
        )
    if w.get("skipped"):
        out.append(f"| gwi serve | skipped: {w['skipped']} | | | | | | | | | | | |")
    body = next((r.get("body_bytes_mean", 0) for r in w.get("rows", [])), 0)
    out.append("")
    out.append(
        f"{WEBHOOK_CONNECTIONS} keep-alive connections, {WEBHOOK_SECS} s per load, ~{body / 1024:.0f} KiB "
        "GitHub-signed `pull_request` bodies, each one distinct (a sequence number, signed as it is "
        "sent), as real deliveries are: gwi answers a repeated body as a duplicate. Latency runs from the moment a delivery is released "
        "by the open-loop scheduler, so queueing behind a slow server counts. The *null receiver* "
        "(the upstream's `POST /__bench/sink`: read the body, answer 202) shows what the load "
        "generator itself reaches on these cores; the generator and the receiver share them."
    )
    repeated = [r for r in w.get("rows", []) if len(r.get("run_rates", [])) > 1]
    if repeated:
        rates = "; ".join(
            f"`{r['target']}` " + " / ".join(f"{v:,.0f}" for v in r["run_rates"]) for r in repeated
        )
        out.append(
            f"\nEach *max* row of `gwi serve` is the median of {len(repeated[0]['run_rates'])} runs, "
            f"each against a fresh server and store (deliveries/s in run order: {rates}); its "
            "*missing from store* counts every run."
        )
    if "store_column" in w:
        rss = w.get("server_peak_rss_kib") or {}
        peaks = "; ".join(f"`{k}` {fmt_mib(v)}" for k, v in rss.items())
        out.append(
            f"\nPeak RSS (largest over the runs): {peaks}. Every 2xx-answered delivery id was looked up in "
            f"`{w['store_column']}` after the server shut down. `gwi serve` runs its default 16 "
            "workers, which process the inbox beside ingest on the same two cores and the same "
            "SQLite writer; `--workers 0` only verifies, dedupes and stores."
        )
    return "\n".join(out) + "\n"


def sh(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    versions = sh(
        str(VENV_PY),
        "-c",
        "import importlib.metadata as m; print(*(f'{p} {m.version(p)}' for p in ('singer-sdk','dlt','duckdb','requests')), sep=', ')",
    )
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": f"{mem_kib / 1048576:.1f} GiB",
        "kernel": platform.release(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "rustc": sh("rustc", "--version"),
        "curl": sh("curl", "--version").splitlines()[0] if sh("curl", "--version") else "",
        "python": sh(str(VENV_PY), "--version"),
        "peers": versions,
        "gwi_commit": sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
    }


def targets(results: dict[int, list[Row]], w: dict) -> str:
    """The issue's targets, checked against what ran."""
    lines = []
    big = max(results) if results else None
    if big is not None:
        by = {r.tool: r for r in results[big]}
        g, f, s = by.get("gwi (sqlite)"), by.get("floor (curl)"), by.get("singer-sdk tap")
        gr = g.rate if g else None
        lines.append(
            f"- ≥ 100k records/s into SQLite at N = {big:,}: "
            + (f"{gr:,.0f} → {'met' if gr >= 100_000 else 'NOT met'}" if gr else "not measured")
        )
        if gr and s and s.rate:
            lines.append(f"- ≥ 10× the Singer SDK tap: {gr / s.rate:.1f}× → {'met' if gr / s.rate >= 10 else 'NOT met'}")
        else:
            lines.append("- ≥ 10× the Singer SDK tap: not measured")
        gt, st = by.get("gwi tap → target-jsonl"), by.get("singer-sdk tap → target-jsonl")
        if gt and st and gt.rate and st.rate:
            # Not a target of issue 8: what a Meltano user sees when swapping taps (issue 24).
            lines.append(
                f"- Singer pipelines into target-jsonl: gwi tap {gt.rate:,.0f} records/s, "
                f"Singer SDK tap {st.rate:,.0f} records/s ({gt.rate / st.rate:.1f}×)"
            )
        if gr and f and f.rate:
            line = f"- ≥ 60 % of the floor: {gr / f.rate:.0%} → {'met' if gr / f.rate >= 0.6 else 'NOT met'}"
            # 60 % of the floor leaves each record this much CPU, with every core busy all the time.
            budget = (os.cpu_count() or 1) / (0.6 * f.rate) * 1e6
            spent = [
                f"{r.tool} {r.cpu_per_record_us:.1f} µs"
                for r in (g, by.get("gwi (ndjson)"))
                if r and r.cpu_per_record_us is not None
            ]
            if spent:
                line += (
                    f" (on {os.cpu_count()} cores it leaves at most {budget:.1f} µs of CPU per "
                    f"record; spent: {', '.join(spent)})"
                )
            lines.append(line)
        else:
            lines.append("- ≥ 60 % of the floor: not measured")
        rss = {n: {r.tool: r for r in rows}.get("gwi (sqlite)") for n, rows in results.items()}
        rss = {n: r.rss_kib for n, r in rss.items() if r and r.rss_kib}
        if rss:
            peak = max(rss.values())
            spread = (max(rss.values()) - min(rss.values())) / min(rss.values())
            lines.append(
                f"- peak RSS ≤ 64 MiB: {peak / 1024:.1f} MiB → {'met' if peak <= 65536 else 'NOT met'}; "
                f"within 10 % across sizes: {spread:.0%} → {'met' if spread <= 0.10 or len(rss) < 2 else 'NOT met'}"
            )
        else:
            lines.append("- peak RSS ≤ 64 MiB and flat across sizes: not measured")
    fixed, mx = gwi_webhook_row(w, "fixed"), gwi_webhook_row(w, "max")
    ingest = gwi_webhook_row(w, "max", "gwi serve --workers 0")
    for name, row in (("with the default workers", mx), ("ingest only (`--workers 0`)", ingest)):
        if row:
            lines.append(
                f"- ≥ 10k stored deliveries/s, {name}: {row['deliveries_per_s']:,.0f} → "
                f"{'met' if row['deliveries_per_s'] >= 10_000 else 'NOT met'}"
            )
        else:
            lines.append(f"- ≥ 10k stored deliveries/s, {name}: not measured")
    if fixed:
        p99 = fixed["latency"]["p99_us"] / 1000
        lines.append(f"- p99 ≤ 25 ms at {WEBHOOK_RATE}/s: {p99:.2f} ms → {'met' if p99 <= 25 else 'NOT met'}")
    else:
        lines.append(f"- p99 ≤ 25 ms at {WEBHOOK_RATE}/s: not measured")
    return "\n".join(lines) + "\n"


def render(
    results: dict[int, list[Row]],
    checks: dict[int, dict],
    shapes: list[dict],
    w: dict,
    m: dict,
    notes: list[str],
) -> str:
    parts = [
        "# Benchmarks\n",
        "Generated by `./bench/run.sh` (see `bench/bench.py` for the settings it reads). "
        "Every figure comes from one run on one machine; rerun the script to reproduce them.\n",
        "## Machine\n",
        f"- date: {m['date']}\n- CPUs: {m['nproc']} × {m['cpu']}\n- RAM: {m['ram']}\n"
        f"- kernel: {m['kernel']}; load average at start: {' '.join(m['loadavg'])}\n"
        f"- {m['rustc']}; {m['curl']}\n- {m['python']}; {m['peers']}\n- gwi commit: {m['gwi_commit']}\n",
        "## What runs\n",
        "One upstream (`gwi-bench-upstream`) serves N GitHub-shaped pull requests (about 2.5 KB "
        "each, 100 per page, `Link` headers, pages pre-rendered in memory) on 127.0.0.1. Against it, "
        "in the same run:\n\n"
        "- **floor**: `curl` fetching every page over one keep-alive connection to /dev/null, the "
        "fastest this machine moves these bytes;\n"
        "- **gwi**: `gwi sync github --types pull_request --full-refresh` into a fresh SQLite file, "
        "and with `--output ndjson` to /dev/null;\n"
        "- **singer-sdk tap**: a minimal `RESTStream` + `HeaderLinkPaginator` tap, records to /dev/null;\n"
        "- **gwi tap**: `gwi tap github` (Singer messages, flat typed rows) to /dev/null, and both "
        "taps piped into `target-jsonl` 0.1.4 as Meltano would run them (wall time, CPU and the "
        "larger peak RSS of the two processes; *all records* counts the lines the target wrote);\n"
        "- **dlt**: the `rest_api` source with its `header_link` paginator, `pipeline.extract` only, "
        f"and a full `pipeline.run` into DuckDB (loader file format: `{DLT_FORMAT}`).\n\n"
        "records/s is N ÷ the median wall time of the whole process (start-up included); "
        "*records/s after start-up* excludes interpreter and import time where the tool reports it. "
        "Peak RSS is the largest `/usr/bin/time -v` maximum resident set over the runs. "
        "*CPU* is CPU time (user + system) ÷ the tool's wall time, for the tool and for the "
        "upstream (100 % = one core busy all the time; the machine has "
        f"{os.cpu_count()}): an upstream well under 100 % while the tool runs means the tool, "
        "not the upstream, set the pace. *CPU per record* is the tool's median CPU time ÷ N: "
        "what each record costs, on whichever cores it ran. "
        "*all records* checks that the upstream served exactly N records during every run and, "
        "where the tool reports a count, that it saw N.\n",
    ]
    for n, rows in results.items():
        parts.append(f"## N = {n:,} pull requests\n")
        parts.append(table(rows))
        c = checks.get(n, {})
        if c:
            ub, scale = c.get("upstream_busy", 0), c.get("aggregate_vs_single", 0)
            headline = "Not the bottleneck" if scale >= 1.3 or ub < 0.5 else "Possibly a bottleneck"
            if scale >= 1.3:
                verdict = (
                    f"two clients moved {scale:.2f}× the records of one, so a single client (the "
                    "floor, or any tool above) could not saturate it"
                )
            elif ub < 0.5:
                verdict = "with most of a core idle it had capacity to spare"
            else:
                verdict = (
                    f"two clients moved only {scale:.2f}× the records of one with the upstream at "
                    f"{ub:.0%} of one core: check whether the upstream limited this floor"
                )
            parts.append(
                f"\nUpstream: {c.get('bytes_per_record', 0):,.0f} bytes of JSON per record, "
                f"rendered in {c['render_s']:.1f} s, {fmt_mib(c.get('upstream_rss_kib'))} resident. "
                f"{headline}: during two parallel floor downloads "
                f"({fmt_rate(c.get('aggregate_rate'))} records/s together) it used {ub:.0%} of one "
                f"core, and {verdict}. While the tools ran it was busy for the share shown in the "
                "CPU column.\n"
            )
    if shapes:
        parts.append(f"## Data shapes (N = {SHAPE_RECORDS:,})\n")
        parts.append(
            "The same sync on upstreams that differ in record size, in the order of ids and of "
            "`updated_at` along the listing, and in fields nobody reads (`bench.py` `SHAPES`; "
            "`gwi-bench-upstream --help`). gwi rows are medians of "
            f"{RUNS} runs, the Singer SDK tap ran {SLOW_RUNS}×; the floor is `curl` on that "
            "upstream.\n"
        )
        parts.append(shape_section(shapes))
        parts.append("\nTargets (issue 26), every shape:\n")
        parts.append(shape_targets(shapes))
        parts.append(f"\n### Into PostgreSQL (N = {SHAPE_RECORDS:,})\n")
        parts.append(
            "The same sync into a fresh database of the local PostgreSQL per run (`BENCH_PG_SHAPES`, "
            f"`BENCH_PG_ADMIN_URL`), median of {RUNS} runs; *CPU* is gwi's own, PostgreSQL's "
            "backends are not counted in it. Target (issue 26): ≥ 100k records/s.\n"
        )
        parts.append(postgres_section(shapes))
    parts.append("## Webhook ingest (`gwi serve`, SQLite)\n")
    parts.append(webhook_section(w))
    parts.append("\n## Targets (issue 8)\n")
    parts.append(targets(results, w))
    if notes:
        parts.append("\n## Notes\n")
        parts.append("".join(f"- {n}\n" for n in notes))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------


def gwi_commands() -> set[str]:
    """Subcommands `gwi --help` lists (empty when the binary is missing)."""
    if not GWI.exists():
        return set()
    text = sh(str(GWI), "--help")
    cmds, in_cmds = set(), False
    for line in text.splitlines():
        if line.strip().lower().startswith("commands:"):
            in_cmds = True
            continue
        if in_cmds:
            m = re.match(r"^\s{2,}([a-z][a-z0-9-]*)\b", line)
            if m:
                cmds.add(m.group(1))
            elif line.strip() and not line.startswith(" "):
                in_cmds = False
    return cmds


def main() -> int:
    for path in (UPSTREAM, WEBHOOKS):
        if not path.exists():
            sys.exit(f"{path} is missing: run bench/run.sh (it builds the release binaries)")
    peers_ok = VENV_PY.exists()
    commands = gwi_commands()
    notes: list[str] = []
    if "gwi" in TOOLS and "sync" not in commands:
        msg = "gwi rows skipped: target/release/gwi has no `sync` command yet (`gwi --help` lists: " + (
            ", ".join(sorted(commands)) or "no binary") + ")"
        log(msg)
        notes.append(msg)
    if not peers_ok and TOOLS & {"singer", "dlt-extract", "dlt-duckdb"}:
        notes.append("peers skipped: bench/.venv is missing (bench/run.sh creates it)")
    notes.append(
        f"{RUNS} runs per measurement ({FLOOR_RUNS} for the floor); the Python peers run "
        f"{SLOW_RUNS}× at N ≥ 100,000, where each of their runs takes about a minute."
    )
    if DLT_FORMAT != "default":
        notes.append(
            f"dlt runs with `loader_file_format=\"{DLT_FORMAT}\"`. Its default for DuckDB, `insert_values`, "
            "loaded 20,000 of these records at 177 records/s with a 3.8 GB peak RSS here (dlt 1.31, "
            "duckdb 2.0.0; 5,000 records: 25 s in the load step vs 1 s with jsonl), which would "
            "turn the comparison into a straw man and the 200k run into an hour. "
            "`BENCH_DLT_FORMAT=default` measures it anyway."
        )
    notes.append(
        "The machine is shared: other processes compete for the same cores, so figures move "
        "between runs; compare rows of the same table, which ran minutes apart."
    )
    m = machine()
    scratch = Path(tempfile.mkdtemp(prefix="gwi-bench-"))
    results: dict[int, list[Row]] = {}
    checks: dict[int, dict] = {}
    try:
        for n in SIZES:
            log(f"=== N = {n:,} ===")
            up = Upstream(n, scratch)
            rows: list[Row] = []
            peer_runs = SLOW_RUNS if n >= 100_000 else RUNS
            try:
                if "gwi" in TOOLS:
                    for output in ("store", "ndjson"):
                        if "sync" in commands:
                            rows.append(gwi_sync(up, scratch, output))
                        else:
                            label = "gwi (sqlite)" if output == "store" else "gwi (ndjson)"
                            rows.append(Row(label, n, skipped="`gwi sync` not built yet"))
                if "floor" in TOOLS:
                    rows.append(floor(up, scratch))
                    par = parallel_floor(up)
                    single = rows[-1].rate or 0
                    served = rows[-1].good[0] if rows[-1].good else None
                    checks[n] = {
                        "render_s": up.render_s,
                        "bytes_per_record": served.bytes_served / n if served else 0,
                        "aggregate_rate": par["aggregate_rate"],
                        "aggregate_vs_single": par["aggregate_rate"] / single if single else 0,
                        "upstream_busy": par["upstream_busy"],
                    }
                    log(
                        f"  two parallel floors: {par['aggregate_rate']:,.0f} records/s together, "
                        f"upstream {par['upstream_busy']:.0%} busy"
                    )
                if peers_ok and "singer" in TOOLS:
                    rows.append(singer(up, scratch, peer_runs))
                if "tap" in TOOLS:
                    rows.extend(taps(up, scratch, commands, peers_ok, peer_runs))
                if peers_ok and "dlt-extract" in TOOLS:
                    rows.append(dlt(up, scratch, "extract", peer_runs))
                if peers_ok and "dlt-duckdb" in TOOLS:
                    rows.append(dlt(up, scratch, "duckdb", peer_runs))
                if n in checks:
                    checks[n]["upstream_rss_kib"] = proc_peak_rss_kib(up.pid)
            finally:
                up.stop()
            results[n] = rows
            print(f"\nN = {n:,}\n" + table(rows), flush=True)
        shapes = shape_matrix(scratch, commands, peers_ok) if "shapes" in TOOLS else []
        if shapes:
            print("\nData shapes\n" + shape_section(shapes), flush=True)
        w = webhooks(scratch, commands) if "webhooks" in TOOLS else {}
        if w:
            print("\nWebhook ingest\n" + webhook_section(w), flush=True)
        svc = service.measure(scratch) if "service" in TOOLS else {}
        report = render(results, checks, shapes, w, m, notes)
        if svc:
            print("\nScheduled syncs across processes\n" + service.section(svc), flush=True)
            report += "\n## Scheduled syncs across processes\n\n" + service.section(svc)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(report)
        raw = ROOT / "target" / "bench" / "results.json"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(
            json.dumps(
                {
                    "machine": m,
                    "sizes": {
                        str(n): [
                            {"tool": r.tool, "skipped": r.skipped, "runs": [vars(x) for x in r.runs]}
                            for r in rows
                        ]
                        for n, rows in results.items()
                    },
                    "checks": checks,
                    "shapes": [
                        {
                            "shape": r["shape"],
                            "flags": r["flags"],
                            "bytes_per_record": r["bytes_per_record"],
                            "runs": {
                                k: [vars(x) for x in v.runs]
                                for k, v in r.items()
                                if isinstance(v, Row)
                            },
                        }
                        for r in shapes
                    ],
                    "webhooks": w,
                    "service": svc,
                },
                indent=2,
            )
        )
        log(f"wrote {OUT} and {raw}")
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            log(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
