"""Scheduled syncs shared by several `gwi serve` processes over one PostgreSQL (issue 25).

Workload: the local sandbox (`gwi sandbox`, GitHub, 50 ms latency on every request) and one
GitHub connector with SERVICE_TENANTS tenants of 8 streams each (2 repositories x 4 types), each
scheduled `every 1h`, so each sync runs once, each process running at most MAX_SYNCS at a time.
For 1, 2 and 4 processes started together on a fresh
database: the wall time until every tenant's run has finished, and the records and streams per
second that makes. Then takeover: two processes, the one running a sync is SIGKILLed, and the time
until the other starts that sync, for two lease lengths.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GWI = ROOT / "target" / "release" / "gwi"
ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
TENANTS = int(os.environ.get("BENCH_SERVICE_TENANTS", "5"))
TYPES = ["pull_request", "issue", "comment", "workflow_run"]
PROCESSES = [1, 2, 4]
LEASES = [20, 5]
# Syncs one process runs at once: with one, each process takes a tenant at a time, so the rows
# show how the tenants spread over processes (a process's syncs already overlap their latency).
MAX_SYNCS = int(os.environ.get("BENCH_SERVICE_MAX_SYNCS", "1"))


def log(msg: str) -> None:
    print(f"[service] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str) -> str:
    out = subprocess.run(
        ["psql", ADMIN, "-XAtq", "-c", sql], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def fresh_db(name: str) -> str:
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"CREATE DATABASE {name}")
    return ADMIN.rsplit("/", 1)[0] + "/" + name


def query(url: str, sql: str) -> list[list[str]]:
    out = subprocess.run(["psql", url, "-XAtq", "-F", "\t", "-c", sql], capture_output=True, text=True)
    if out.returncode != 0:
        return []
    return [line.split("\t") for line in out.stdout.splitlines() if line]


class Sandbox:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(GWI), "sandbox", "--port", str(self.port), "--faults", "latency=50ms",
             "--rate-limit", "100000000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the sandbox did not start")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/github"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def config(scratch: Path, sandbox: Sandbox) -> Path:
    text = (
        "[connectors.github]\n"
        f'base_url = "{sandbox.base_url}"\n'
        'repositories = ["acme/widgets", "acme/gadgets"]\n'
        f"types = {json.dumps(TYPES)}\n"
        'auth = { type = "bearer", token = "gwi-sandbox-bench" }\n'
        'schedule = "every 1h"\n'
    )
    for i in range(1, TENANTS):
        text += f"\n[connectors.github.tenants.t{i}]\n"
    path = scratch / "service.toml"
    path.write_text(text)
    return path


def start(cfg: Path, store: str, instance: str, lease: int, scratch: Path) -> subprocess.Popen:
    log_file = open(scratch / f"service-{instance}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        [str(GWI), "serve", "--config", str(cfg), "--store", store, "--instance", instance,
         "--listen", f"127.0.0.1:{free_port()}", "--lease-secs", str(lease),
         "--max-syncs", str(MAX_SYNCS)],
        stdout=subprocess.DEVNULL, stderr=log_file,
        env={**os.environ, "GWI_LOG": "info"},
    )  # fmt: skip


def stop_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def throughput(scratch: Path, n: int) -> dict:
    sandbox = Sandbox()
    store = fresh_db(f"gwi_bench_service_{n}")
    cfg = config(scratch, sandbox)
    t0 = time.monotonic()
    procs = [start(cfg, store, f"p{i}", 30, scratch) for i in range(n)]
    try:
        done: list[list[str]] = []
        deadline = t0 + 600
        while time.monotonic() < deadline:
            done = query(store, "SELECT holder, records FROM sync_runs "
                                "WHERE finished_at IS NOT NULL AND error IS NULL")  # fmt: skip
            if len(done) >= TENANTS:
                break
            if all(p.poll() is not None for p in procs):
                raise RuntimeError(f"every gwi serve exited; see {scratch}/service-p0.log")
            time.sleep(0.05)
        wall = time.monotonic() - t0
        holders = sorted({row[0] for row in done})
        records = sum(int(row[1]) for row in done)
        counted = query(store, "SELECT count(*) FROM sync_state")
        streams = int(counted[0][0]) if counted else 0
    finally:
        stop_all(procs)
        sandbox.stop()
        psql(f"DROP DATABASE IF EXISTS gwi_bench_service_{n} WITH (FORCE)")
    return {
        "processes": n, "wall_s": wall, "records": records, "streams": streams,
        "ran_in": len(holders), "finished": len(done),
    }  # fmt: skip


def takeover(scratch: Path, lease: int) -> dict:
    sandbox = Sandbox()
    store = fresh_db("gwi_bench_takeover")
    cfg = config(scratch, sandbox)
    procs = {name: start(cfg, store, name, lease, scratch) for name in ("a", "b")}
    try:
        victim = tenant = None
        deadline = time.monotonic() + 120
        while victim is None and time.monotonic() < deadline:
            rows = query(store, "SELECT holder, tenant FROM sync_runs WHERE finished_at IS NULL")
            if rows:
                victim, tenant = rows[0]
            else:
                time.sleep(0.02)
        if victim is None:
            return {"lease_s": lease, "takeover_s": None}
        procs[victim].kill()
        killed = time.monotonic()
        other = "b" if victim == "a" else "a"
        taken = None
        while time.monotonic() < killed + lease + 60:
            rows = query(store, f"SELECT holder FROM sync_runs WHERE tenant = '{tenant}'")
            if rows and rows[0][0] == other:
                taken = time.monotonic() - killed
                break
            time.sleep(0.05)
    finally:
        stop_all(list(procs.values()))
        sandbox.stop()
        psql("DROP DATABASE IF EXISTS gwi_bench_takeover WITH (FORCE)")
    return {"lease_s": lease, "takeover_s": taken}


def measure(scratch: Path) -> dict:
    if not GWI.exists():
        return {"skipped": f"{GWI} is missing"}
    try:
        return _measure(scratch)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as e:
        # No PostgreSQL or psql here: the rest of the report still stands.
        log(f"skipped: {e}")
        return {"skipped": f"cannot run ({e})"}


def _measure(scratch: Path) -> dict:
    rows = []
    for n in PROCESSES:
        row = throughput(scratch, n)
        log(f"{n} process(es): {row}")
        rows.append(row)
    takeovers = []
    for lease in LEASES:
        row = takeover(scratch, lease)
        log(f"takeover: {row}")
        takeovers.append(row)
    return {"throughput": rows, "takeover": takeovers}


def section(result: dict) -> str:
    if "skipped" in result:
        return f"Not run: {result['skipped']}.\n"
    out = [
        f"One GitHub connector with {TENANTS} tenants of 8 streams each ({TENANTS * 8} streams: 2 "
        f"repositories × {', '.join(TYPES)}), each scheduled `every 1h`, against `gwi sandbox "
        "--faults latency=50ms` (every request waits 50 ms, as a distant provider would), on a fresh "
        f"PostgreSQL database. N `gwi serve --max-syncs {MAX_SYNCS}` processes start together; the wall time runs until every "
        "tenant's first run has finished (process start-up included). One run each.\n",
        "| processes | wall | records | records/s | streams/s | processes that ran a sync |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["throughput"]:
        out.append(
            f"| {r['processes']} | {r['wall_s']:.2f} s | {r['records']:,} | "
            f"{r['records'] / r['wall_s']:,.0f} | {r['streams'] / r['wall_s']:.1f} | {r['ran_in']} |"
        )
    out.append(
        "\nTakeover: two processes; the one running a sync is SIGKILLed, and the time until the "
        "other has started that sync is measured (the lease must run out unrenewed, then the "
        "scheduler's next look, every 5 s, takes it).\n"
    )
    out.append("| --lease-secs | takeover after SIGKILL |")
    out.append("|---|---|")
    for r in result["takeover"]:
        taken = "not taken over" if r["takeover_s"] is None else f"{r['takeover_s']:.1f} s"
        out.append(f"| {r['lease_s']} | {taken} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="gwi-service-"))
    print(section(measure(scratch)))
