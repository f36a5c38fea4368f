//! `gwi state show|reset`: the stored resume points of a connector's streams.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use gwi_core::incremental::stream_cursor;
use gwi_core::store::Scope;

use super::common::{ConfigArgs, open_store, tenant_for};

/// What to do with sync state.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Show each stream's stored cursor.
    #[command(after_help = "Example:\n  gwi state show github --config gwi.toml")]
    Show {
        /// Connector name.
        connector: String,
        #[command(flatten)]
        config: ConfigArgs,
        /// Tenant (default: the connector config's tenant_id, else \"default\").
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget stored cursors so the next sync reads everything again (records are kept).
    #[command(
        after_help = "Examples:\n  gwi state reset github\n  gwi state reset github --stream acme/widgets/issue"
    )]
    Reset {
        /// Connector name.
        connector: String,
        #[command(flatten)]
        config: ConfigArgs,
        /// Tenant (default: the connector config's tenant_id, else \"default\").
        #[arg(long)]
        tenant: Option<String>,
        /// Only this stream (as `gwi state show` names it).
        #[arg(long)]
        stream: Option<String>,
    },
}

/// Runs a `gwi state` command.
pub async fn run(command: StateCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        StateCommand::Show {
            connector,
            config,
            tenant,
            json,
        } => {
            let file = config.load()?;
            let store = open_store(&file.store_url(config.store.as_deref())).await?;
            let scope = Scope::new(tenant_for(&file, &connector, tenant), connector);
            let states = store.load_state(&scope).await;
            store.close().await;
            let states = states?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&states)?)?;
            } else if states.is_empty() {
                writeln!(
                    out,
                    "no stored state for {} (tenant {})",
                    scope.connector, scope.tenant
                )?;
            } else {
                // Facts a stream keeps beside its cursor are in `--json` only.
                writeln!(out, "{:<44} {:<28} committed", "stream", "cursor")?;
                for state in states {
                    writeln!(
                        out,
                        "{:<44} {:<28} {}",
                        state.stream,
                        stream_cursor(&state.cursor).to_string(),
                        state.updated_at.to_rfc3339()
                    )?;
                }
            }
        }
        StateCommand::Reset {
            connector,
            config,
            tenant,
            stream,
        } => {
            let file = config.load()?;
            let store = open_store(&file.store_url(config.store.as_deref())).await?;
            let scope = Scope::new(tenant_for(&file, &connector, tenant), connector);
            let removed = store.reset_state(&scope, stream.as_deref()).await;
            store.close().await;
            let removed = removed?;
            writeln!(
                out,
                "removed {removed} stream state(s) of {}; the next sync starts from the beginning",
                scope.connector
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
