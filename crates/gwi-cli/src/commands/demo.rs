//! `gwi demo`: see gwi work end to end without tokens, against the local GitHub sandbox.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use gwi_core::store::{RecordQuery, Scope};
use gwi_core::stream::SyncOptions;
use gwi_core::sync::{SyncEngine, SyncResult};
use gwi_sandbox::{Sandbox, SandboxConfig};
use serde_json::json;

use super::common::{context_for, open_store};

/// Arguments of `gwi demo`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  gwi demo && gwi records list --store sqlite://gwi-demo.db --connector github\n\n\
The demo starts the sandbox (a local, simulated GitHub API) in this process, syncs two repositories\n\
into a SQLite file, changes some data upstream, and syncs again incrementally."
)]
pub struct DemoArgs {
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
    let sandbox = Sandbox::start(SandboxConfig {
        scale: args.scale,
        ..SandboxConfig::default()
    })
    .await
    .context("cannot start the sandbox")?;
    writeln!(out, "sandbox GitHub API at {}", sandbox.base_url())?;

    // The token goes through a `file:` reference, as a real one should (never literally).
    let token_dir = std::env::temp_dir().join(format!("gwi-demo-{}", std::process::id()));
    std::fs::create_dir_all(&token_dir)?;
    let token_file = token_dir.join("token");
    std::fs::write(&token_file, "gwi-sandbox-demo")?;
    let config = json!({
        "base_url": sandbox.base_url().as_str(),
        "repositories": ["acme/widgets", "acme/gadgets"],
        "auth": {"type": "bearer", "token": format!("file:{}", token_file.display())},
    });
    let connector = gwi_connectors::registry().build("github", config)?;
    let _ = std::fs::remove_dir_all(&token_dir);

    for suffix in ["", "-wal", "-shm"] {
        let mut path = args.db.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let url = format!("sqlite://{}", args.db.display());
    let store = open_store(&url).await?;

    let run = |label: &'static str| {
        let connector = connector.clone();
        let store = store.clone();
        async move {
            let ctx = context_for(&connector, Some(&store))?;
            let engine = SyncEngine::new(connector.connector.clone(), ctx, store);
            let result = engine.run(SyncOptions::default()).await?;
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
            "{label}: {} records ({} new or changed) in {:.2}s with {} requests",
            result.records,
            result.written,
            result.duration.as_secs_f64(),
            progress.requests
        )
    };

    report(&mut out, run("full sync").await?)?;
    let changes = sandbox.mutate("github", 10)?;
    writeln!(
        out,
        "upstream changed: {} records updated, {} created",
        changes.updated, changes.created
    )?;
    report(&mut out, run("incremental sync").await?)?;

    let scope = Scope::new("default", "github");
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
    query.record_type = Some("pull_request".to_owned());
    query.limit = Some(3);
    writeln!(out, "\nnewest pull requests:")?;
    for record in store.query_records(&query).await? {
        // Through a `Value`, so `data` is indented too (its JSON text is written as stored).
        let record = serde_json::to_value(&record)?;
        writeln!(out, "{}", serde_json::to_string_pretty(&record)?)?;
    }
    writeln!(
        out,
        "\nexplore: gwi records list --store {url} --connector github --type issue\n         gwi state show github --store {url}"
    )?;
    store.close().await;
    sandbox.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
