#!/usr/bin/env bash
# Checks gwi with real Singer targets and Airbyte's protocol models (tests/ecosystem/check.py):
# makes one virtualenv per consumer under target/ecosystem (kept between runs), then runs the
# check with the debug `gwi` that `cargo test` built. Needs PyPI and the local PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

venvs="target/ecosystem"
mkdir -p "$venvs"
# Each consumer gets its own environment: their pins conflict (target-jsonl wants jsonschema 2.x).
declare -A packages=(
  [target-jsonl]="target-jsonl==0.1.4"
  [target-postgres]="meltanolabs-target-postgres==0.8.1"
  [airbyte-cdk]="airbyte-cdk==7.39.1"
  [meltano]="meltano==4.4.1"
)
for name in "${!packages[@]}"; do
  if [ ! -f "$venvs/$name/.installed-${packages[$name]}" ]; then
    rm -rf "${venvs:?}/$name"
    python3 -m venv "$venvs/$name"
    "$venvs/$name/bin/pip" install --quiet --disable-pip-version-check "${packages[$name]}"
    touch "$venvs/$name/.installed-${packages[$name]}"
  fi
done

gwi="target/debug/gwi"
[ -x "$gwi" ] || cargo build --quiet -p gwi-cli
python3 tests/ecosystem/check.py "$gwi" "$venvs"
