//! `gwi records list|count|export`: read what the store holds.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use futures::TryStreamExt;
use gwi_core::store::{RecordQuery, Store};

use super::common::{ConfigArgs, bad_usage, open_store, tenant_for};

/// Filters shared by the records commands.
#[derive(Debug, Args)]
pub struct RecordFilter {
    /// Only this connector's records.
    #[arg(long)]
    connector: Option<String>,
    /// Only this record type (e.g. pull_request).
    #[arg(long = "type", value_name = "TYPE")]
    record_type: Option<String>,
    /// Only records updated at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    updated_since: Option<String>,
    /// Tenant (default: the connector config's tenant_id, else \"default\").
    #[arg(long)]
    tenant: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

/// What to read.
#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// Show the newest records, one line each.
    #[command(
        after_help = "Example:\n  gwi records list --connector github --type pull_request --limit 20"
    )]
    List {
        #[command(flatten)]
        filter: RecordFilter,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Count records, by type.
    #[command(after_help = "Example:\n  gwi records count --connector github")]
    Count {
        #[command(flatten)]
        filter: RecordFilter,
    },
    /// Write matching records as NDJSON to stdout (newest first).
    #[command(
        after_help = "The export is one consistent snapshot of the store, taken when it starts: each record it\nholds is written once, and changes made meanwhile (by a running `gwi serve` or sync) are left\nfor the next export.\n\nExample:\n  gwi records export --connector github --type issue > issues.jsonl"
    )]
    Export {
        #[command(flatten)]
        filter: RecordFilter,
    },
}

impl RecordFilter {
    fn query(&self, file: &crate::config_file::ConfigFile) -> anyhow::Result<RecordQuery> {
        let updated_since = match &self.updated_since {
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|e| bad_usage(anyhow::anyhow!("--updated-since {text:?}: {e}")))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let tenant = match &self.connector {
            Some(c) => tenant_for(file, c, self.tenant.clone()),
            None => self.tenant.clone().unwrap_or_else(|| "default".to_owned()),
        };
        Ok(RecordQuery {
            tenant,
            connector: self.connector.clone(),
            record_type: self.record_type.clone(),
            updated_since,
            ..RecordQuery::default()
        })
    }
}

/// Runs a `gwi records` command.
pub async fn run(command: RecordsCommand) -> anyhow::Result<ExitCode> {
    let filter = match &command {
        RecordsCommand::List { filter, .. }
        | RecordsCommand::Count { filter }
        | RecordsCommand::Export { filter } => filter,
    };
    let file = filter.config.load()?;
    let query = filter.query(&file)?;
    let store = open_store(&file.store_url(filter.config.store.as_deref())).await?;
    // Closed whatever the outcome, so a SQLite file is left whole.
    let written = write(command, store.as_ref(), query).await;
    store.close().await;
    written?;
    Ok(ExitCode::SUCCESS)
}

/// Writes what `command` asks for to stdout.
async fn write(
    command: RecordsCommand,
    store: &dyn Store,
    mut query: RecordQuery,
) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    match command {
        RecordsCommand::List { limit, .. } => {
            query.limit = Some(limit);
            for r in store.query_records(&query).await? {
                let data = r.data.to_value();
                let title = ["title", "message", "name"]
                    .iter()
                    .find_map(|key| data.get(key).and_then(|t| t.as_str()))
                    .unwrap_or("");
                let title: String = title
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(60)
                    .collect();
                writeln!(
                    out,
                    "{:<14} {:<28} {}  {}",
                    r.record_type,
                    r.id,
                    r.updated_at.format("%Y-%m-%d %H:%M"),
                    title
                )?;
            }
        }
        RecordsCommand::Count { .. } => {
            let types: Vec<String> = match &query.record_type {
                Some(t) => vec![t.clone()],
                None => match &query.connector {
                    Some(c) => gwi_connectors::registry()
                        .get(c)
                        .map(|f| f.metadata().record_types)
                        .unwrap_or_default(),
                    None => Vec::new(),
                },
            };
            let mut total_query = query.clone();
            total_query.record_type = query.record_type.clone();
            for t in &types {
                let mut q = query.clone();
                q.record_type = Some(t.clone());
                writeln!(out, "{:<16} {:>10}", t, store.count_records(&q).await?)?;
            }
            writeln!(
                out,
                "{:<16} {:>10}",
                "total",
                store.count_records(&total_query).await?
            )?;
        }
        RecordsCommand::Export { .. } => {
            let mut records = store.stream_records(&query);
            while let Some(record) = records.try_next().await? {
                serde_json::to_writer(&mut out, &record)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
