//! `gwi sync`: run a connector's sync into the store, or as NDJSON on stdout; and the run with
//! progress and Ctrl-C handling that `gwi tap` and `gwi airbyte read` share.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use gwi_core::context::ConnectorContext;
use gwi_core::error::ConnectorError;
use gwi_core::progress::ProgressSnapshot;
use gwi_core::registry::ConfiguredConnector;
use gwi_core::store::Store;
use gwi_core::stream::SyncOptions;
use gwi_core::sync::{RecordSink, StoreSink, SyncEngine, SyncEvent, SyncResult};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::common::{ConfigArgs, bad_usage, build_for_tenant, context_for, open_store};
use crate::protocol::{Protocol, ProtocolSink, State, parse_state};

/// Where synced records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Upsert into the store, with checkpoints (incremental next time).
    Store,
    /// One record JSON per line on stdout.
    Ndjson,
}

/// Arguments of `gwi sync`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gwi sync github --config gwi.toml
  gwi sync github --types pull_request,issue --resources acme/widgets --limit 500
  gwi sync github --full-refresh --concurrency 8
  gwi sync gitlab --reconcile
  gwi sync github --tenant globex     # its [connectors.github.tenants.globex] table
  gwi sync github --output ndjson --state-file state.json > records.jsonl
  GWI_STORE=postgres://postgres@127.0.0.1/gwi gwi sync github

With --output store (the default) every batch of records is committed together with the checkpoint
that covers it: interrupt the sync at any time and the next run resumes from the last commit.
--output ndjson writes records to stdout and resumes from --state-file (a JSON object of cursors
by stream, or a Singer or Airbyte state). For Singer targets and Airbyte destinations use
`gwi tap` and `gwi airbyte`, which send typed streams.
--reconcile compares a complete read with the store, so it needs --output store and every
resource; run it now and then for a provider whose webhooks and API never report deletions.
The store then mirrors what the config reads: records of a project dropped from the config
are marked deleted too. Records written (by gwi serve) after the run began are left alone.

Exit code: 0 success, 1 the sync failed, 2 bad usage or config.")]
pub struct SyncArgs {
    /// Connector name (see `gwi connectors list`).
    pub connector: String,
    #[command(flatten)]
    config: ConfigArgs,
    /// Where records go.
    #[arg(long, short, value_enum, default_value_t = Output::Store)]
    output: Output,
    /// Only these record types (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "TYPE,...")]
    types: Option<Vec<String>>,
    /// Only these resources, e.g. repositories (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "RESOURCE,...")]
    resources: Option<Vec<String>>,
    /// Stop after this many records in total.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Ignore stored cursors and read everything again (records are upserted, not duplicated).
    #[arg(long)]
    full_refresh: bool,
    /// Read everything, then mark deleted the stored records the provider no longer lists.
    /// For providers that never announce deletions (GitLab); costs a full read.
    #[arg(long, conflicts_with_all = ["resources", "limit"])]
    reconcile: bool,
    /// Start point for streams with no stored cursor (e.g. 2024-01-01T00:00:00Z).
    #[arg(long, value_name = "CURSOR")]
    since: Option<String>,
    /// Streams read at once (they share one rate limiter).
    #[arg(long, default_value_t = 4, value_name = "N")]
    concurrency: usize,
    /// Records per committed batch (larger is faster; each stream holds two batches in memory).
    #[arg(long, default_value_t = gwi_core::sync::DEFAULT_BATCH_SIZE, value_name = "N")]
    batch_size: usize,
    /// Bytes of record JSON per committed batch, whatever the count (bounds memory for large records).
    #[arg(long, default_value_t = gwi_core::sync::DEFAULT_BATCH_BYTES, value_name = "BYTES")]
    batch_bytes: usize,
    /// With --output ndjson: resume from this state (plain, Singer or Airbyte form).
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Sync this tenant: its [connectors.NAME.tenants.TENANT] table over the connector's
    /// (default: the connector's own table and tenant_id).
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
}

/// Runs `gwi sync`.
pub async fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let connector = build_for_tenant(&config, &args.connector, args.tenant.as_deref())?;
    let protocol = match args.output {
        Output::Store => None,
        Output::Ndjson => Some(Protocol::Ndjson),
    };
    if protocol.is_some() && args.reconcile {
        return Err(bad_usage(anyhow::anyhow!(
            "--reconcile compares with the records in the store; drop --output or use --output store"
        )));
    }
    if protocol.is_none() && args.state_file.is_some() {
        return Err(bad_usage(anyhow::anyhow!(
            "--state-file goes with --output ndjson; the store keeps its own state"
        )));
    }
    type Sinks = (
        Arc<dyn RecordSink>,
        Option<Arc<ProtocolSink>>,
        Option<Arc<dyn Store>>,
    );
    let (sink, writer, store): Sinks = match protocol {
        None => {
            let store = open_store(&config.store_url(args.config.store.as_deref())).await?;
            (Arc::new(StoreSink::new(store.clone())), None, Some(store))
        }
        Some(protocol) => {
            let state = match &args.state_file {
                Some(path) => read_state_file(path)?,
                None => State::default(),
            };
            let sink = Arc::new(ProtocolSink::new(protocol, state, Vec::new()));
            (sink.clone(), Some(sink), None)
        }
    };
    let key = config.token_key().map_err(bad_usage)?;
    let ctx = context_for(&connector, store.as_ref(), key.as_ref())?;

    let options = SyncOptions {
        resources: args.resources,
        types: args.types,
        limit: args.limit,
        start_cursor: args.since,
        full_refresh: args.full_refresh,
        reconcile: args.reconcile,
        state: BTreeMap::new(),
    };
    let tuning = Tuning {
        concurrency: args.concurrency,
        batch_size: args.batch_size,
        batch_bytes: args.batch_bytes,
    };
    let result = drive(&args.connector, &connector, ctx, sink, options, &tuning).await;
    if let Some(store) = &store {
        store.close().await;
    }
    if let Some(writer) = &writer {
        writer.with_writer(|w| w.flush())?;
    }
    result.map(|_| ExitCode::SUCCESS).map_err(Into::into)
}

/// How a run is cut into concurrent streams and committed batches.
#[derive(Debug, Clone)]
pub(crate) struct Tuning {
    /// Streams read at once.
    pub concurrency: usize,
    /// Records per committed batch.
    pub batch_size: usize,
    /// Bytes of record JSON per committed batch.
    pub batch_bytes: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            concurrency: 4,
            batch_size: gwi_core::sync::DEFAULT_BATCH_SIZE,
            batch_bytes: gwi_core::sync::DEFAULT_BATCH_BYTES,
        }
    }
}

/// Runs `connector`'s sync into `sink` with progress on stderr; Ctrl-C commits the complete
/// batches and stops. Prints a summary on stderr when it succeeds.
pub(crate) async fn drive(
    name: &str,
    connector: &ConfiguredConnector,
    ctx: ConnectorContext,
    sink: Arc<dyn RecordSink>,
    options: SyncOptions,
    tuning: &Tuning,
) -> Result<SyncResult, ConnectorError> {
    let display = Display::new(name);
    let display_for_events = display.clone();
    let cancel = CancellationToken::new();
    let engine = SyncEngine::with_sink(connector.connector.clone(), ctx, sink)
        .concurrency(tuning.concurrency)
        .batch_size(tuning.batch_size)
        .batch_bytes(tuning.batch_bytes)
        .cancel_token(cancel.clone())
        .on_event(move |event| display_for_events.event(event));
    let ctrl_c = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::warn!("interrupted: committing complete batches, then stopping");
                cancel.cancel();
            }
        })
    };
    let result = engine.run(options).await;
    ctrl_c.abort();
    display.finish();
    if let Ok(result) = &result {
        summary(name, result, &engine.context().progress.snapshot());
    }
    result
}

/// Reads the state a protocol run resumes from (see [`parse_state`]); a state that cannot be
/// read is a usage error naming the file.
pub(crate) fn read_state_file(path: &Path) -> anyhow::Result<State> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read state file {}", path.display()))
        .map_err(bad_usage)?;
    parse_state(&text)
        .with_context(|| format!("state file {}", path.display()))
        .map_err(bad_usage)
}

fn summary(connector: &str, result: &SyncResult, progress: &ProgressSnapshot) {
    let secs = result.duration.as_secs_f64().max(1e-9);
    #[allow(clippy::cast_precision_loss)]
    let rate = result.records as f64 / secs;
    eprintln!(
        "{connector}: synced {} records ({} new or changed, {} unchanged) in {:.2}s ({rate:.0} records/s); {} requests, {} pages, {} retries, {} rate-limit waits{}",
        result.records,
        result.written,
        result.unchanged,
        secs,
        progress.requests,
        progress.pages,
        progress.retries,
        progress.rate_limit_waits,
        if result.limit_reached {
            "; stopped at --limit"
        } else {
            ""
        },
    );
    if result.deleted > 0 {
        eprintln!(
            "  marked {} stored records deleted: the provider lists them no more",
            result.deleted
        );
    }
    for (stream, count) in &result.streams {
        eprintln!("  {stream:<40} {count:>8} records");
    }
}

/// Progress on stderr: a bar on a terminal, a log line every few seconds otherwise.
#[derive(Clone)]
struct Display {
    bar: Option<ProgressBar>,
    last_line: Arc<Mutex<Instant>>,
    started: Instant,
}

impl Display {
    fn new(connector: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(connector.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            bar,
            last_line: Arc::new(Mutex::new(Instant::now())),
            started: Instant::now(),
        }
    }

    fn event(&self, event: &SyncEvent) {
        let progress = match event {
            SyncEvent::Progress(p) => *p,
            SyncEvent::BatchCommitted { progress, .. } => *progress,
            _ => return,
        };
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-9);
        #[allow(clippy::cast_precision_loss)]
        let rate = progress.records as f64 / elapsed;
        let eta = (progress.total_hint > progress.records && rate > 0.0).then(|| {
            #[allow(clippy::cast_precision_loss)]
            let left = (progress.total_hint - progress.records) as f64 / rate;
            format!(", ETA {left:.0}s")
        });
        let line = format!(
            "{} records ({rate:.0}/s), {} pages, {} requests, {} retries, {} rate-limit waits{}",
            progress.records,
            progress.pages,
            progress.requests,
            progress.retries,
            progress.rate_limit_waits,
            eta.unwrap_or_default()
        );
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None => {
                let Ok(mut last) = self.last_line.lock() else {
                    return;
                };
                if last.elapsed() >= Duration::from_secs(5) {
                    *last = Instant::now();
                    tracing::info!("{line}");
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
