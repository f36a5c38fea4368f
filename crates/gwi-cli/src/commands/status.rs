//! `gwi status`: what the service is doing, read from the store every `gwi serve` shares.

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use gwi_core::store::{InboxBacklog, Scope, StreamState, SyncRun, sync_lease_name};
use serde::Serialize;

use super::common::{ConfigArgs, open_store};

/// Show the scheduled syncs (last run, next run, records, errors, lag per stream) and the
/// webhook backlog.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  gwi status --config gwi.toml
  gwi status --json | jq '.syncs[] | select(.error != null)'

A sync runs in one `gwi serve` process at a time (its holder); \"running\" means a process holds
its lease now, \"stopped\" that its process stopped or died before the end (another process
resumes it from its last checkpoint). A stream's lag is the time since it last committed a checkpoint.")]
pub struct StatusArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One scheduled sync with its streams, as printed.
#[derive(Debug, Serialize)]
struct SyncStatus {
    #[serde(flatten)]
    run: SyncRun,
    /// `running`, `done`, `failed` or `stopped`.
    status: &'static str,
    /// Seconds the latest finished run took.
    duration_secs: Option<f64>,
    streams: Vec<StreamLag>,
}

/// A stream's last checkpoint and how long ago it was.
#[derive(Debug, Serialize)]
struct StreamLag {
    stream: String,
    committed_at: DateTime<Utc>,
    lag_secs: f64,
}

/// Everything `gwi status` prints.
#[derive(Debug, Serialize)]
struct Status {
    syncs: Vec<SyncStatus>,
    webhooks_pending: u64,
    webhooks_dead: u64,
}

/// Runs `gwi status`.
pub async fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let file = args.config.load()?;
    let store = open_store(&file.store_url(args.config.store.as_deref())).await?;
    let read = async {
        let runs = store.sync_runs().await?;
        let leases = store.leases().await?;
        let backlog = store.inbox_backlog().await?;
        let mut states = Vec::with_capacity(runs.len());
        for run in &runs {
            states.push(
                store
                    .load_state(&Scope::new(run.tenant.clone(), run.connector.clone()))
                    .await?,
            );
        }
        Ok::<_, gwi_core::store::StoreError>((runs, leases, states, backlog))
    };
    let read = read.await;
    store.close().await;
    let (runs, leases, states, backlog) = read?;
    let held: Vec<String> = leases.into_iter().map(|(name, _)| name).collect();
    let status = status(runs, &held, states, backlog, Utc::now());
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&status)?)?;
    } else {
        print(&mut out, &status)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What to print: `held` names the live leases, which tell a run in progress from one whose
/// process stopped or died.
fn status(
    runs: Vec<SyncRun>,
    held: &[String],
    states: Vec<Vec<StreamState>>,
    backlog: InboxBacklog,
    now: DateTime<Utc>,
) -> Status {
    let syncs = runs
        .into_iter()
        .zip(states)
        .map(|(run, states)| {
            let leased = held.contains(&sync_lease_name(&run.connector, &run.tenant));
            let status = match (&run.finished_at, &run.error) {
                (Some(_), None) => "done",
                (Some(_), Some(_)) => "failed",
                (None, _) if leased => "running",
                (None, _) => "stopped",
            };
            let duration_secs = run.finished_at.map(|end| seconds(end - run.started_at));
            let streams = states
                .into_iter()
                .map(|s| StreamLag {
                    lag_secs: seconds(now - s.updated_at).max(0.0),
                    stream: s.stream,
                    committed_at: s.updated_at,
                })
                .collect();
            SyncStatus {
                run,
                status,
                duration_secs,
                streams,
            }
        })
        .collect();
    Status {
        syncs,
        webhooks_pending: backlog.pending,
        webhooks_dead: backlog.dead,
    }
}

#[allow(clippy::cast_precision_loss)] // Durations of a run fit an f64's 2^53 microseconds.
fn seconds(d: chrono::Duration) -> f64 {
    d.num_microseconds().map_or(f64::MAX, |us| us as f64 / 1e6)
}

fn print(out: &mut impl Write, status: &Status) -> std::io::Result<()> {
    if status.syncs.is_empty() {
        writeln!(
            out,
            "no scheduled sync has run: give a connector `schedule = \"every 15m\"` and run `gwi serve`"
        )?;
    }
    for sync in &status.syncs {
        let run = &sync.run;
        writeln!(
            out,
            "{}/{}: {} (by {}), started {}{}, {} records",
            run.connector,
            run.tenant,
            sync.status,
            run.holder,
            run.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
            sync.duration_secs
                .map(|s| format!(", took {s:.1}s"))
                .unwrap_or_default(),
            run.records,
        )?;
        if let Some(next) = run.next_run_at {
            writeln!(out, "  next run {}", next.format("%Y-%m-%d %H:%M:%S UTC"))?;
        }
        if let Some(error) = &run.error {
            writeln!(out, "  error: {error}")?;
        }
        for stream in &sync.streams {
            writeln!(
                out,
                "  {:<48} last checkpoint {:.0}s ago",
                stream.stream, stream.lag_secs
            )?;
        }
    }
    writeln!(
        out,
        "webhooks: {} pending, {} dead-lettered",
        status.webhooks_pending, status.webhooks_dead
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
    }

    fn run(finished: Option<i64>, error: Option<&str>) -> SyncRun {
        SyncRun {
            tenant: "default".into(),
            connector: "github".into(),
            holder: "host-a:8080".into(),
            started_at: at(0),
            finished_at: finished.map(at),
            records: 42,
            error: error.map(Into::into),
            next_run_at: finished.map(|f| at(f + 900)),
        }
    }

    #[test]
    fn each_run_is_named_by_how_it_ended_with_its_streams_lag() {
        let state = StreamState {
            stream: "acme/widgets/issue".into(),
            cursor: serde_json::json!("2026-12-06T00:00:00Z"),
            updated_at: at(30),
        };
        let status = status(
            vec![
                run(Some(60), None),
                run(Some(60), Some("GitHub answered 502")),
                run(None, None),
                SyncRun {
                    tenant: "globex".into(),
                    ..run(None, None)
                },
                SyncRun {
                    tenant: "initech".into(),
                    ..run(None, Some("stopped before the end"))
                },
            ],
            // globex's run has no live lease: its process died.
            &[sync_lease_name("github", "default")],
            vec![vec![state], vec![], vec![], vec![], vec![]],
            InboxBacklog {
                pending: 3,
                dead: 1,
            },
            at(90),
        );
        let names: Vec<_> = status.syncs.iter().map(|s| s.status).collect();
        assert_eq!(names, ["done", "failed", "running", "stopped", "stopped"]);
        assert_eq!(status.syncs[0].duration_secs, Some(60.0));
        assert_eq!(status.syncs[0].streams[0].lag_secs, 60.0);
        let mut text = Vec::new();
        print(&mut text, &status).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("github/default: done (by host-a:8080)"),
            "{text}"
        );
        assert!(text.contains("took 60.0s, 42 records"), "{text}");
        assert!(text.contains("error: GitHub answered 502"), "{text}");
        assert!(text.contains("acme/widgets/issue"), "{text}");
        assert!(
            text.contains("webhooks: 3 pending, 1 dead-lettered"),
            "{text}"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["syncs"][1]["error"], "GitHub answered 502");
        assert_eq!(json["syncs"][0]["connector"], "github");
    }
}
