//! The `gwi` binary as a user runs it: against the in-process sandbox, with real config files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use gwi_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

#[path = "cli/security.rs"]
mod security;
#[path = "cli/service.rs"]
mod service;

fn gwi(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gwi"))
        .args(args)
        .current_dir(dir)
        .env("GITHUB_TOKEN", "gwi-sandbox-cli-test")
        .env_remove("GWI_CONFIG")
        .env_remove("GWI_STORE")
        .output()
        .unwrap()
}

fn write_config(dir: &Path, sandbox: &SandboxHandle) {
    std::fs::write(
        dir.join("gwi.toml"),
        format!(
            r#"[store]
url = "sqlite://gwi.db"

[connectors.github]
base_url = "{}"
repositories = ["acme/widgets"]
types = ["pull_request", "issue"]
auth = {{ type = "bearer", token = "env:GITHUB_TOKEN" }}
"#,
            sandbox.base_url()
        ),
    )
    .unwrap();
}

/// A local address nobody listens on now, for a `gwi serve` to bind.
fn free_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_then_records_count_shows_the_sandbox_totals() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sandbox);
    let counts = sandbox.github().counts().repos["acme/widgets"];

    let sync = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || gwi(&dir, &["sync", "github"])
    })
    .await
    .unwrap();
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    let summary = String::from_utf8_lossy(&sync.stderr);
    assert!(
        summary.contains(&format!("synced {} records", counts.pulls + counts.issues)),
        "{summary}"
    );
    only_the_database_file(dir.path());

    let count = gwi(dir.path(), &["records", "count", "--connector", "github"]);
    let text = stdout(&count);
    let line = |kind: &str| {
        text.lines()
            .find(|l| l.starts_with(kind))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|n| n.parse::<usize>().ok())
    };
    assert_eq!(line("pull_request"), Some(counts.pulls), "{text}");
    assert_eq!(line("issue "), Some(counts.issues), "{text}");

    let export = gwi(dir.path(), &["records", "export", "--connector", "github"]);
    assert!(export.status.success());
    let exported: Vec<serde_json::Value> = stdout(&export)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(exported.len(), counts.pulls + counts.issues);
    let keys: std::collections::HashSet<(&str, &str)> = exported
        .iter()
        .map(|r| (r["type"].as_str().unwrap(), r["id"].as_str().unwrap()))
        .collect();
    assert_eq!(keys.len(), exported.len(), "a record was exported twice");
    let updated: Vec<&str> = exported
        .iter()
        .map(|r| r["updated_at"].as_str().unwrap())
        .collect();
    assert!(updated.windows(2).all(|w| w[0] >= w[1]), "not newest first");

    let state = gwi(dir.path(), &["state", "show", "github", "--json"]);
    let states: serde_json::Value = serde_json::from_str(&stdout(&state)).unwrap();
    assert_eq!(states.as_array().unwrap().len(), 2, "{states}");
    only_the_database_file(dir.path());
}

/// A command leaves the store whole in `gwi.db`: no write-ahead log a copy of the file would miss.
fn only_the_database_file(dir: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("gwi.db"))
        .collect();
    names.sort();
    assert_eq!(names, ["gwi.db"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tap_sends_typed_schemas_flat_records_and_state() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "base_url": sandbox.base_url().as_str(),
        "repositories": ["acme/widgets"],
        "auth": {"type": "bearer", "token": "env:GITHUB_TOKEN"},
    });
    std::fs::write(dir.path().join("github.json"), config.to_string()).unwrap();
    let catalog = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            gwi(
                &dir,
                &["tap", "github", "--config", "github.json", "--discover"],
            )
        }
    })
    .await
    .unwrap();
    assert!(
        catalog.status.success(),
        "{}",
        String::from_utf8_lossy(&catalog.stderr)
    );
    let mut catalog: serde_json::Value = serde_json::from_slice(&catalog.stdout).unwrap();
    // Select the issue stream only.
    for stream in catalog["streams"].as_array_mut().unwrap() {
        let on = stream["tap_stream_id"] == "issue";
        stream["metadata"][0]["metadata"]["selected"] = on.into();
    }
    std::fs::write(dir.path().join("catalog.json"), catalog.to_string()).unwrap();
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            gwi(
                &dir,
                &[
                    "tap",
                    "github",
                    "--config",
                    "github.json",
                    "--catalog",
                    "catalog.json",
                ],
            )
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let messages: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(messages[0]["type"], "SCHEMA");
    assert_eq!(messages[0]["stream"], "issue");
    assert_eq!(
        messages[0]["schema"]["properties"]["number"]["type"],
        serde_json::json!(["integer", "null"])
    );
    let records: Vec<_> = messages.iter().filter(|m| m["type"] == "RECORD").collect();
    assert_eq!(
        records.len(),
        sandbox.github().counts().repos["acme/widgets"].issues
    );
    assert!(
        records
            .iter()
            .all(|r| r["stream"] == "issue" && r["record"]["number"].is_u64())
    );
    assert_eq!(messages.last().unwrap()["type"], "STATE");
    // Nothing went to a store: a tap leaves state to the target.
    assert!(!dir.path().join("gwi.db").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_with_a_config_checks_the_live_api_read_only_and_fails_on_a_bad_token() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sandbox);
    let out = gwi(dir.path(), &["verify", "github", "--config", "gwi.toml"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("stream acme/widgets/pull_request: first page"),
        "{text}"
    );
    assert!(text.contains("4 passed, 0 failed"), "{text}");
    assert!(
        !dir.path().join("gwi.db").exists(),
        "verify stored something"
    );

    let refused = Command::new(env!("CARGO_BIN_EXE_gwi"))
        .args(["verify", "github", "--config", "gwi.toml"])
        .current_dir(dir.path())
        .env("GITHUB_TOKEN", "refused-token-0815")
        .env_remove("GWI_CONFIG")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let text = stdout(&refused);
    assert!(text.contains("FAIL"), "{text}");
    assert!(!text.contains("refused-token-0815"), "{text}");
}

#[test]
fn verify_of_an_unknown_connector_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = gwi(dir.path(), &["verify", "gitlub"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known: github"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_reconcile_marks_deleted_what_gitlab_lists_no_more_and_needs_the_store() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gwi.toml"),
        format!(
            "[store]\nurl = \"sqlite://gwi.db\"\n\n[connectors.gitlab]\nbase_url = \"{}gitlab\"\nprojects = [\"acme/widgets\", \"102\"]\ngroups = [\"acme-platform\"]\nauth = {{ type = \"bearer\", token = \"env:GITHUB_TOKEN\" }}\n",
            sandbox.base_url()
        ),
    )
    .unwrap();
    let run = |args: &'static [&'static str]| {
        let dir = dir.path().to_owned();
        tokio::task::spawn_blocking(move || gwi(&dir, args))
    };
    let first = run(&["sync", "gitlab"]).await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let mut deleted = 0;
    while deleted == 0 {
        deleted = sandbox.mutate("gitlab", 20).unwrap().deleted;
    }

    let out = run(&["sync", "gitlab", "--reconcile"]).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("marked {deleted} stored records deleted")),
        "{deleted} deletions: {err}"
    );
    let again = run(&["sync", "gitlab", "--reconcile"]).await.unwrap();
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("marked"),
        "a second reconciling run finds nothing more"
    );

    for args in [
        &["sync", "gitlab", "--reconcile", "--output", "ndjson"][..],
        &["sync", "gitlab", "--reconcile", "--limit", "10"][..],
        &[
            "sync",
            "gitlab",
            "--reconcile",
            "--resources",
            "acme/widgets",
        ][..],
    ] {
        let out = gwi(dir.path(), args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn demo_of_gitlab_finds_its_unannounced_deletions_by_reconciling() {
    let dir = tempfile::tempdir().unwrap();
    let out = gwi(dir.path(), &["demo", "gitlab", "--db", "demo.db"]);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("sandbox gitlab API at"), "{text}");
    assert!(text.contains("reconciling sync:"), "{text}");
    assert!(text.contains("stored records marked deleted"), "{text}");
    assert!(text.contains("newest merge_request records"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_tenant_syncs_its_own_table_over_the_connectors_and_an_unknown_one_exits_2() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gwi.toml"),
        format!(
            r#"[store]
url = "sqlite://gwi.db"

[connectors.github]
base_url = "{}"
repositories = ["acme/widgets"]
types = ["issue"]
auth = {{ type = "bearer", token = "env:GITHUB_TOKEN" }}

[connectors.github.tenants.globex]
repositories = ["acme/gadgets"]
auth = {{ type = "bearer", token = "env:GLOBEX_GITHUB_TOKEN" }}
"#,
            sandbox.base_url()
        ),
    )
    .unwrap();
    let counts = sandbox.github().counts().repos["acme/gadgets"];
    let sync = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            Command::new(env!("CARGO_BIN_EXE_gwi"))
                .args(["sync", "github", "--tenant", "globex"])
                .current_dir(&dir)
                .env("GLOBEX_GITHUB_TOKEN", "gwi-sandbox-globex")
                .env_remove("GITHUB_TOKEN")
                .env_remove("GWI_CONFIG")
                .env_remove("GWI_STORE")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    let count = gwi(
        dir.path(),
        &[
            "records",
            "count",
            "--connector",
            "github",
            "--tenant",
            "globex",
        ],
    );
    let text = stdout(&count);
    let issues = text
        .lines()
        .find(|l| l.starts_with("issue "))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse::<usize>().ok());
    assert_eq!(
        issues,
        Some(counts.issues),
        "globex's repository, the connector's types: {text}"
    );
    let unknown = gwi(dir.path(), &["sync", "github", "--tenant", "initech"]);
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("[connectors.github.tenants.initech]"),
        "{message}"
    );
}
