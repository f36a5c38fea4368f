#!/usr/bin/env bash
# Runs the gwi benchmark end to end and writes docs/benchmarks.md.
#
#   ./bench/run.sh
#   BENCH_SIZES=20000 BENCH_RUNS=5 ./bench/run.sh
#
# Needs a Rust toolchain, Python >= 3.10 with venv/pip, and curl. Installs what else it needs:
# GNU time (apt) when /usr/bin/time is missing, and a throwaway virtualenv in bench/.venv with
# singer-sdk and dlt[duckdb] from PyPI, and bench/.venv-target-jsonl with target-jsonl. Settings: see the docstring of bench/bench.py.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/bench/.venv"
PYTHON=${PYTHON:-python3}

say() { printf '[bench] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root for: $*"; return 1
    fi
}

for tool in cargo curl "$PYTHON"; do
    command -v "$tool" >/dev/null || { say "missing $tool"; exit 1; }
done

if [ ! -x /usr/bin/time ]; then
    say "installing GNU time (for peak RSS)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

# Peers: pinned only by what PyPI serves today; the report records the versions used.
if [ ! -f "$VENV/.bench-ready" ]; then
    say "creating $VENV with singer-sdk and dlt[duckdb] from PyPI"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q singer-sdk 'dlt[duckdb]'
    touch "$VENV/.bench-ready"
fi

# target-jsonl pins jsonschema 2.x, so it cannot live in the singer-sdk environment.
JSONL_VENV="$ROOT/bench/.venv-target-jsonl"
if [ ! -f "$JSONL_VENV/.bench-ready" ]; then
    say "creating $JSONL_VENV with target-jsonl from PyPI"
    "$PYTHON" -m venv "$JSONL_VENV"
    "$JSONL_VENV/bin/python" -m pip install -q --disable-pip-version-check target-jsonl==0.1.4
    touch "$JSONL_VENV/.bench-ready"
fi

say "building release binaries"
cargo build --release -q -p gwi-bench
# gwi itself: BENCH_BUILD_GWI=0 skips the build (the rows are skipped if no usable binary exists).
if [ "${BENCH_BUILD_GWI:-1}" != "0" ]; then
    if ! cargo build --release -q -p gwi-cli; then
        say "gwi-cli did not build; the gwi rows will be skipped"
    fi
fi

exec "$PYTHON" "$ROOT/bench/bench.py" "$@"
