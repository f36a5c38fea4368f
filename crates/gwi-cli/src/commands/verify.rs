//! `gwi verify`: the production-readiness check of a connector, against the local sandbox or,
//! read-only, against the API a config points at.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use gwi_core::http::ReqwestClient;
use gwi_testing::behaviour::{CASES, Subject, Verdict, verify_live};

use super::common::{ConfigArgs, bad_usage, build_connector};

/// Arguments of `gwi verify`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --config, runs the connector behaviour suite against the local sandbox: a full sync \
stores exactly the sandbox's records, also under injected faults; an unchanged upstream costs one request per \
stream; an incremental sync picks up changes and deletions (as tombstones); an interrupted sync resumes to the \
same records; the webhook the provider sends for each change, deletions included, writes the row the next sync \
writes; bad credentials and a bad config fail \
clearly, with no secret in the output.\n\n\
With --config FILE, runs read-only checks against the API that config points at: the credentials, the health \
checks, and the first page of every stream, each record checked against the record schema. Nothing is stored.\n\n\
Examples:\n  gwi verify github\n  gwi verify gitlab\n  gwi verify github --config gwi.toml\n\n\
Exit code: 0 every check passed, 1 a check failed, 2 bad usage or config."
)]
pub struct VerifyArgs {
    /// Connector name (see `gwi connectors list`).
    pub connector: String,
    /// Check the API this config file points at (read-only) instead of the local sandbox.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `gwi verify`.
pub async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let registry = gwi_connectors::registry();
    if registry.get(&args.connector).is_none() {
        let known: Vec<_> = registry.names().collect();
        return Err(bad_usage(anyhow::anyhow!(
            "no connector named {:?}; known: {}",
            args.connector,
            known.join(", ")
        )));
    }
    let mut results: Vec<(String, Verdict, Duration)> = Vec::new();
    match &args.config {
        Some(path) => {
            let flags = ConfigArgs {
                config: Some(path.clone()),
                store: None,
            };
            let connector = build_connector(&flags.load()?, &args.connector)?;
            let timeout = Duration::from_secs(connector.common.http.timeout_secs);
            let transport = Arc::new(ReqwestClient::new(timeout).context("cannot set up HTTP")?);
            for live in verify_live(&connector, transport).await {
                results.push((live.check, live.verdict, live.took));
            }
        }
        None => {
            let subject = Subject::new(registry, args.connector.clone());
            for (check, case) in CASES {
                let started = Instant::now();
                let verdict = case(&subject).await;
                results.push(((*check).to_owned(), verdict, started.elapsed()));
            }
        }
    }
    print(&args, &results)?;
    let passed = results.iter().all(|(_, verdict, _)| verdict.is_ok());
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print(args: &VerifyArgs, results: &[(String, Verdict, Duration)]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        let checks: Vec<_> = results
            .iter()
            .map(|(check, verdict, took)| {
                serde_json::json!({
                    "check": check,
                    "passed": verdict.is_ok(),
                    "detail": match verdict { Ok(d) | Err(d) => d },
                    "duration_ms": took.as_millis() as u64,
                })
            })
            .collect();
        let passed = results.iter().all(|(_, v, _)| v.is_ok());
        let report =
            serde_json::json!({"connector": args.connector, "passed": passed, "checks": checks});
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    let width = results
        .iter()
        .map(|(c, _, _)| c.len())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        out,
        "{:<width$}  {:<6} {:>8}  detail",
        "check", "result", "time"
    )?;
    for (check, verdict, took) in results {
        let (result, detail) = match verdict {
            Ok(detail) => ("pass", detail),
            Err(reason) => ("FAIL", reason),
        };
        writeln!(
            out,
            "{check:<width$}  {result:<6} {:>6}ms  {detail}",
            took.as_millis()
        )?;
    }
    let failed = results.iter().filter(|(_, v, _)| v.is_err()).count();
    writeln!(out, "\n{} passed, {failed} failed", results.len() - failed)?;
    Ok(())
}
