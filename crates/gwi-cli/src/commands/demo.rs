//! `gwi demo`: see a connector work end to end without tokens, against its local sandbox.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gwi_core::store::{RecordQuery, Scope};
use gwi_core::stream::SyncOptions;
use gwi_core::sync::{SyncEngine, SyncResult};
use gwi_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

use super::common::{bad_usage, context_for, open_store};

/// Arguments of `gwi demo`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  gwi demo && gwi records list --store sqlite://gwi-demo.db --connector github\n  gwi demo gitlab\n  gwi demo slack\n  gwi demo linear\n  gwi demo jira\n\n\
The demo starts the sandbox (local, simulated provider APIs) in this process, syncs everything the\n\
sandbox serves for the connector into a SQLite file, changes, creates and deletes some data\n\
upstream, and syncs again incrementally. For a provider that never announces deletions (GitLab)\n\
a reconciling sync (gwi sync --reconcile) then finds them."
)]
pub struct DemoArgs {
    /// The connector to show (one the sandbox serves: github, gitlab, jira, slack, linear).
    #[arg(default_value = "github")]
    connector: String,
    /// SQLite file to sync into (replaced if it exists).
    #[arg(long, default_value = "gwi-demo.db", value_name = "FILE")]
    db: PathBuf,
    /// Sandbox data size (1 = about 3,000 records).
    #[arg(long, default_value_t = 1)]
    scale: u32,
}

/// Runs `gwi demo`.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let name = args.connector.as_str();
    if !gwi_sandbox::PROVIDERS.contains(&name) {
        return Err(bad_usage(anyhow::anyhow!(
            "the sandbox serves no {name:?}; `gwi demo` shows one of: {}",
            gwi_sandbox::PROVIDERS.join(", ")
        )));
    }
    let sandbox = Sandbox::start(SandboxConfig {
        scale: args.scale,
        providers: vec![name.to_owned()],
        ..SandboxConfig::default()
    })
    .await
    .context("cannot start the sandbox")?;
    let mut config = sandbox
        .connector_config(name)
        .with_context(|| format!("the sandbox has no config for {name}"))?;
    writeln!(
        out,
        "sandbox {name} API at {}",
        config["base_url"].as_str().unwrap_or_default()
    )?;

    // The token goes through a `file:` reference, as a real one should (never literally).
    let token_dir = std::env::temp_dir().join(format!("gwi-demo-{}", std::process::id()));
    std::fs::create_dir_all(&token_dir)?;
    let token_file = token_dir.join("token");
    std::fs::write(&token_file, "gwi-sandbox-demo")?;
    config["auth"] = json!({"type": "bearer", "token": format!("file:{}", token_file.display())});
    let connector = gwi_connectors::registry().build(name, config);
    let _ = std::fs::remove_dir_all(&token_dir);
    let connector = connector?;

    for suffix in ["", "-wal", "-shm"] {
        let mut path = args.db.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let url = format!("sqlite://{}", args.db.display());
    let store = open_store(&url).await?;

    let run = |label: &'static str, options: SyncOptions| {
        let connector = connector.clone();
        let store = store.clone();
        async move {
            let ctx = context_for(&connector, Some(&store), None)?;
            let engine = SyncEngine::new(connector.connector.clone(), ctx, store);
            let result = engine.run(options).await?;
            anyhow::Ok((label, result, engine.context().progress.snapshot()))
        }
    };
    let report = |out: &mut dyn Write,
                  (label, result, progress): (
        &str,
        SyncResult,
        gwi_core::progress::ProgressSnapshot,
    )| {
        writeln!(
            out,
            "{label}: {} records ({} written) in {:.2}s with {} requests{}",
            result.records,
            result.written,
            result.duration.as_secs_f64(),
            progress.requests,
            if result.deleted > 0 {
                format!("; {} stored records marked deleted", result.deleted)
            } else {
                String::new()
            }
        )
    };

    report(&mut out, run("full sync", SyncOptions::default()).await?)?;
    let changes = sandbox.mutate(name, 20)?;
    writeln!(
        out,
        "upstream changed: {} records updated, {} created, {} deleted",
        changes.updated, changes.created, changes.deleted
    )?;
    report(
        &mut out,
        run("incremental sync", SyncOptions::default()).await?,
    )?;
    if changes.deleted > 0 && sandbox.announces_deletions(name) {
        writeln!(
            out,
            "  (the provider announces deletions by webhook: under `gwi serve` they become tombstones)"
        )?;
    } else if changes.deleted > 0 {
        // Nothing told gwi of these deletions; comparing a full read with the store finds them.
        let reconcile = SyncOptions {
            reconcile: true,
            ..SyncOptions::default()
        };
        report(&mut out, run("reconciling sync", reconcile).await?)?;
    }

    let scope = Scope::new("default", name);
    let mut query = RecordQuery {
        tenant: scope.tenant.clone(),
        connector: Some(scope.connector.clone()),
        ..RecordQuery::default()
    };
    writeln!(out, "\nstored in {}:", args.db.display())?;
    let meta = connector.metadata.clone();
    for record_type in &meta.record_types {
        query.record_type = Some(record_type.clone());
        writeln!(
            out,
            "  {record_type:<14} {:>6}",
            store.count_records(&query).await?
        )?;
    }
    let shown = meta.record_types.first().cloned().unwrap_or_default();
    query.record_type = Some(shown.clone());
    query.limit = Some(3);
    writeln!(out, "\nnewest {shown} records:")?;
    for record in store.query_records(&query).await? {
        // Through a `Value`, so `data` is indented too (its JSON text is written as stored).
        let record = serde_json::to_value(&record)?;
        writeln!(out, "{}", serde_json::to_string_pretty(&record)?)?;
    }
    writeln!(
        out,
        "\nexplore: gwi records list --store {url} --connector {name} --type {shown}\n         gwi state show {name} --store {url}"
    )?;
    store.close().await;
    sandbox.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
