"""gwi inside the Singer and Airbyte ecosystems, checked with the real consumers.

For every connector, against the local sandbox (`gwi sandbox`):
  * `gwi tap --discover` gives a catalog, and `gwi tap` with it loads every expected record into
    target-jsonl (draft-04 validation of each record) and into the Meltano SDK's target-postgres
    (typed columns in the local PostgreSQL);
  * after changes upstream, the STATE target-postgres emitted, given back to `gwi tap --state`,
    reads only what changed, and the tables then hold every expected record at its new version;
  * `gwi airbyte spec|check|discover|read` messages all pass airbyte-cdk's protocol models,
    `read` sends every expected record, and its states given back read far less;
  * Meltano runs the `meltano.yml` of docs/singer-and-airbyte.md, as written, twice: the second
    run reads only what changed.

Usage: check.py GWI_BINARY VENV_DIR (the virtualenvs scripts/ecosystem-test.sh makes).
"""

import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request

PROVIDERS = ["github", "gitlab", "jira", "linear", "slack"]
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "", "database": "test"}


def fail(message):
    sys.exit(f"ecosystem check failed: {message}")


def run(args, stdin=None, env=None):
    """Runs args, returns stdout; fails with stderr's tail if it exits non-zero."""
    result = subprocess.run(args, input=stdin, capture_output=True, env=env)
    if result.returncode != 0:
        fail(f"{' '.join(map(str, args))} exited {result.returncode}: {result.stderr.decode()[-2000:]}")
    return result.stdout


def pipe(producer, consumer):
    """producer | consumer; returns the consumer's stdout."""
    first = subprocess.Popen(producer, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second = subprocess.run(consumer, stdin=first.stdout, capture_output=True)
    first.stdout.close()
    first_err = first.stderr.read().decode()
    if first.wait() != 0:
        fail(f"{' '.join(producer)} failed: {first_err[-2000:]}")
    if second.returncode != 0:
        fail(f"{' '.join(consumer)} failed: {second.stderr.decode()[-3000:]}")
    return second.stdout


def when(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


class Sandbox:
    def __init__(self, gwi):
        self.process = subprocess.Popen(
            [gwi, "sandbox", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        line = self.process.stdout.readline()
        if "listening on " not in line:
            fail(f"the sandbox did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].strip().rstrip("/")

    def get(self, path):
        with urllib.request.urlopen(self.url + path) as answer:
            return json.load(answer)

    def post(self, path, body):
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)

    def expected(self, provider):
        """{(record_type, id): updated_at} of the records a full sync must hold (deleted ones left out)."""
        return {
            (e["record_type"], e["id"]): when(e["updated_at"])
            for e in self.get(f"/_sandbox/expected?provider={provider}")
            if not e["deleted"]
        }

    def stop(self):
        self.process.terminate()
        self.process.wait()


# The queries run with the psycopg that target-postgres brings, so no PostgreSQL client is needed.
QUERY = """
import json, sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as db:
    cursor = db.execute(sys.argv[2])
    rows = cursor.fetchall() if cursor.description else []
    print(json.dumps([[str(v) for v in row] for row in rows]))
"""


def sql(venvs, statement):
    dsn = f"host={PG['host']} port={PG['port']} user={PG['user']} dbname={PG['database']}"
    python = os.path.join(venvs, "target-postgres/bin/python")
    return json.loads(run([python, "-c", QUERY, dsn, statement]))


def table_rows(venvs, schema):
    """{(table, id): updated_at} of every row target-postgres loaded into schema."""
    rows = {}
    tables = sql(venvs, f"select table_name from information_schema.tables where table_schema = '{schema}'")
    for (table,) in tables:
        for record_id, updated in sql(venvs, f'select id, updated_at from "{schema}"."{table}"'):
            rows[(table, record_id)] = datetime.datetime.fromisoformat(updated)
    return rows


def last_state(output):
    lines = [l for l in output.decode().splitlines() if l.strip()]
    if not lines:
        fail("the target emitted no STATE")
    return lines[-1]


def check_singer(gwi, venvs, sandbox, provider, work):
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        json.dump(sandbox.get("/_sandbox")["providers"][provider]["config"], f)
    catalog = json.loads(run([gwi, "tap", provider, "--config", config, "--discover"]))
    names = sorted(s["tap_stream_id"] for s in catalog["streams"])
    for stream in catalog["streams"]:
        if stream["key_properties"] != ["id"] or not stream["metadata"]:
            fail(f"{provider}: stream {stream['tap_stream_id']} lacks keys or metadata")
        stream["metadata"][0]["metadata"]["selected"] = True
    catalog_path = os.path.join(work, "catalog.json")
    with open(catalog_path, "w") as f:
        json.dump(catalog, f)
    expected = sandbox.expected(provider)
    tap = [gwi, "tap", provider, "--config", config, "--catalog", catalog_path]

    # target-jsonl: one file per stream, every record validated against its SCHEMA (draft-04).
    out = os.path.join(work, "jsonl")
    os.mkdir(out)
    jsonl_config = os.path.join(work, "jsonl.json")
    with open(jsonl_config, "w") as f:
        json.dump({"destination_path": out}, f)
    pipe(tap, [os.path.join(venvs, "target-jsonl/bin/target-jsonl"), "--config", jsonl_config])
    loaded = {}
    for name in os.listdir(out):
        stream = name.rsplit("-", 1)[0]
        with open(os.path.join(out, name)) as f:
            for line in f:
                row = json.loads(line)
                loaded[(stream, row["id"])] = when(row["updated_at"])
    if loaded != expected:
        missing = sorted(set(expected) - set(loaded))[:5]
        extra = sorted(set(loaded) - set(expected))[:5]
        fail(f"{provider}: target-jsonl holds {len(loaded)} records, {len(expected)} expected; missing {missing}, extra {extra}")

    # target-postgres (Meltano SDK): typed tables, then an incremental run from its STATE.
    schema = f"gwi_ecosystem_{provider}"
    sql(venvs, f"drop schema if exists {schema} cascade")
    pg_config = os.path.join(work, "pg.json")
    with open(pg_config, "w") as f:
        json.dump({**PG, "default_target_schema": schema, "add_record_metadata": True}, f)
    target_postgres = [os.path.join(venvs, "target-postgres/bin/target-postgres"), "--config", pg_config]
    state = last_state(pipe(tap, target_postgres))
    rows = table_rows(venvs, schema)
    if rows != expected:
        fail(f"{provider}: target-postgres holds {len(rows)} rows, {len(expected)} expected")
    [[columns]] = sql(
        venvs,
        f"select count(*) from information_schema.columns where table_schema = '{schema}' and data_type <> 'jsonb'",
    )
    if int(columns) < 4 * len(names):
        fail(f"{provider}: only {columns} typed columns over {len(names)} tables")

    changes = sandbox.post("/_sandbox/mutate", {"count": 12, "provider": provider})["changes"]
    state_path = os.path.join(work, "state.json")
    with open(state_path, "w") as f:
        f.write(state)
    jsonl_again = os.path.join(work, "jsonl-incremental")
    os.mkdir(jsonl_again)
    with open(jsonl_config, "w") as f:
        json.dump({"destination_path": jsonl_again}, f)
    pipe(tap + ["--state", state_path], [os.path.join(venvs, "target-jsonl/bin/target-jsonl"), "--config", jsonl_config])
    read_again = sum(sum(1 for _ in open(os.path.join(jsonl_again, n))) for n in os.listdir(jsonl_again))
    if not 0 < read_again < len(expected) // 2:
        fail(f"{provider}: the run from the target's STATE read {read_again} records after {len(changes)} changes ({len(expected)} in all)")
    pipe(tap + ["--state", state_path], target_postgres)
    rows = table_rows(venvs, schema)
    now_expected = sandbox.expected(provider)
    stale = [k for k, v in now_expected.items() if rows.get(k) != v][:5]
    if stale:
        fail(f"{provider}: after the incremental run these rows are missing or stale: {stale}")
    sql(venvs, f"drop schema if exists {schema} cascade")
    return len(expected), read_again, len(changes)


def check_airbyte(gwi, venvs, sandbox, provider, work):
    config = os.path.join(work, "config.json")
    validate = [os.path.join(venvs, "airbyte-cdk/bin/python"), os.path.join(os.path.dirname(__file__), "airbyte_messages.py")]

    def messages(args):
        return json.loads(run(validate, stdin=run([gwi, "airbyte", provider] + args)))

    spec = messages(["spec"])
    check = json.loads(run([gwi, "airbyte", provider, "check", "--config", config]))
    messages(["check", "--config", config])
    if check["connectionStatus"]["status"] != "SUCCEEDED" or spec["counts"] != {"SPEC": 1}:
        fail(f"{provider}: check or spec failed: {check}")
    catalog = json.loads(run([gwi, "airbyte", provider, "discover", "--config", config]))["catalog"]
    messages(["discover", "--config", config])
    configured = {
        "streams": [
            {"stream": s, "sync_mode": "incremental", "cursor_field": ["updated_at"],
             "destination_sync_mode": "append_dedup", "primary_key": [["id"]]}
            for s in catalog["streams"]
        ]
    }
    catalog_path = os.path.join(work, "configured_catalog.json")
    with open(catalog_path, "w") as f:
        json.dump(configured, f)
    read = messages(["read", "--config", config, "--catalog", catalog_path])
    expected = sandbox.expected(provider)
    by_type = {}
    for record_type, _ in expected:
        by_type[record_type] = by_type.get(record_type, 0) + 1
    if read["records"] != by_type:
        fail(f"{provider}: Airbyte read sent {read['records']}, expected {by_type}")
    state_path = os.path.join(work, "airbyte_state.json")
    with open(state_path, "w") as f:
        json.dump(list(read["states"].values()), f)
    again = messages(["read", "--config", config, "--catalog", catalog_path, "--state", state_path])
    total_again = sum(again["records"].values())
    if total_again >= len(expected) // 2:
        fail(f"{provider}: the read from Airbyte's states sent {total_again} of {len(expected)} records again")
    return sum(read["counts"].values()), total_again


def check_meltano(gwi, venvs, sandbox):
    """Runs the docs' meltano.yml against the sandbox's GitHub; gives the records of both runs."""
    doc = open(os.path.join(os.path.dirname(__file__), "../../docs/singer-and-airbyte.md")).read()
    match = re.search(r"Then in `meltano.yml`:\n\n```yaml\n(.*?)```", doc, re.S)
    if not match:
        fail("docs/singer-and-airbyte.md has no meltano.yml block")
    config = sandbox.get("/_sandbox")["providers"]["github"]["config"]
    with tempfile.TemporaryDirectory() as project:
        with open(os.path.join(project, "meltano.yml"), "w") as f:
            f.write(match.group(1))
        links = os.path.join(project, "bin")
        os.mkdir(links)
        os.symlink(os.path.abspath(gwi), os.path.join(links, "tap-gwi-github"))
        os.mkdir(os.path.join(project, "output"))
        env = {
            **os.environ,
            "PATH": os.pathsep.join([links, os.path.join(venvs, "meltano/bin"), os.environ["PATH"]]),
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            # Settings from the environment, as Meltano documents, point the doc's project at the sandbox.
            "TAP_GWI_GITHUB_BASE_URL": config["base_url"],
            "TAP_GWI_GITHUB_AUTH": json.dumps(config["auth"]),
            "TAP_GWI_GITHUB_REPOSITORIES": json.dumps(config["repositories"]),
        }
        meltano = os.path.join(venvs, "meltano/bin/meltano")

        def meltano_run():
            result = subprocess.run([meltano, "run", "tap-gwi-github", "target-jsonl"], cwd=project, env=env, capture_output=True)
            if result.returncode != 0:
                fail(f"meltano run failed: {result.stderr.decode()[-3000:]}")
            rows = {}
            for name in os.listdir(os.path.join(project, "output")):
                with open(os.path.join(project, "output", name)) as f:
                    for line in f:
                        row = json.loads(line)
                        rows[(name.rsplit("-", 1)[0], row["id"])] = when(row["updated_at"])
                os.remove(os.path.join(project, "output", name))
            return rows

        result = subprocess.run([meltano, "install"], cwd=project, env=env, capture_output=True)
        if result.returncode != 0:
            fail(f"meltano install failed: {result.stderr.decode()[-3000:]}")
        first = meltano_run()
        selected = {k: v for k, v in sandbox.expected("github").items() if k[0] in ("pull_request", "issue")}
        if first != selected:
            fail(f"meltano loaded {len(first)} records, {len(selected)} expected (pull requests and issues)")
        sandbox.post("/_sandbox/mutate", {"count": 12, "provider": "github"})
        second = meltano_run()
        now = {k: v for k, v in sandbox.expected("github").items() if k[0] in ("pull_request", "issue")}
        changed = {k for k, v in now.items() if selected.get(k) != v}
        if not changed <= set(second) or len(second) >= len(now) // 2:
            fail(f"meltano's second run loaded {len(second)} records for {len(changed)} changed")
        return len(first), len(second)


def main():
    gwi, venvs = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    sandbox = Sandbox(gwi)
    try:
        for provider in PROVIDERS:
            with tempfile.TemporaryDirectory() as work:
                full, incremental, changes = check_singer(gwi, venvs, sandbox, provider, work)
                sent, again = check_airbyte(gwi, venvs, sandbox, provider, work)
                print(
                    f"ecosystem {provider}: Singer {full} records into target-jsonl and target-postgres, "
                    f"{incremental} from the target's STATE after {changes} changes; "
                    f"Airbyte {sent} valid messages, {again} records from its states"
                )
        first, second = check_meltano(gwi, venvs, sandbox)
        print(f"ecosystem meltano: the documented meltano.yml loaded {first} records, then {second} after changes")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
