#!/usr/bin/env bash
# Runs gwi's whole test suite on a fresh machine: makes sure PostgreSQL is up (the store
# conformance suite runs against it as well as SQLite), runs every test of the workspace, then
# (when no cargo arguments narrow the run) checks gwi with real Singer targets and Airbyte's
# protocol models (scripts/ecosystem-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

export GWI_TEST_POSTGRES_URL="${GWI_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

if ! pg_up; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; trying to start it" >&2
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || echo "PostgreSQL is still down: the PostgreSQL store tests will fail" >&2
fi

cargo test --workspace "$@"
if [ "$#" -eq 0 ]; then
  ./scripts/ecosystem-test.sh
fi
