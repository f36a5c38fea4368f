//! `gwi check`: authenticate and run a connector's health checks.

use std::io::Write;
use std::process::ExitCode;

use gwi_core::health::CheckStatus;

use super::common::{ConfigArgs, build_connector, context_for};

/// Arguments of `gwi check`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  gwi check github --config gwi.toml\n  gwi check github --json | jq .healthy\n\nExit code: 0 healthy, 1 a check failed, 2 bad usage or config."
)]
pub struct CheckArgs {
    /// Connector name (see `gwi connectors list`).
    pub connector: String,
    #[command(flatten)]
    config: ConfigArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `gwi check`.
pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let connector = build_connector(&config, &args.connector)?;
    let ctx = context_for(&connector, None, None)?;
    let auth = connector.authenticate(&ctx).await;
    let health = connector.health_check(&ctx).await;
    let healthy = health.healthy && auth.is_ok();
    let mut out = std::io::stdout().lock();
    if args.json {
        let report = serde_json::json!({
            "connector": connector.name(),
            "healthy": healthy,
            "authentication": match &auth {
                Ok(info) => serde_json::json!({"ok": true, "identity": info.identity, "scopes": info.scopes}),
                Err(e) => serde_json::json!({"ok": false, "error": e.to_string()}),
            },
            "checks": health.checks,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        match &auth {
            Ok(info) => writeln!(
                out,
                "authenticated as {}{}",
                info.identity.as_deref().unwrap_or("(unknown identity)"),
                if info.scopes.is_empty() {
                    String::new()
                } else {
                    format!(" (scopes: {})", info.scopes.join(", "))
                }
            )?,
            Err(e) => writeln!(out, "authentication failed: {e}")?,
        }
        writeln!(out)?;
        writeln!(out, "{:<18} {:<6} {:>8}  detail", "check", "status", "time")?;
        for check in &health.checks {
            let status = match check.status {
                CheckStatus::Pass => "pass",
                CheckStatus::Warn => "warn",
                CheckStatus::Fail => "FAIL",
            };
            let detail = check
                .error
                .clone()
                .or_else(|| (!check.metadata.is_null()).then(|| check.metadata.to_string()))
                .unwrap_or_default();
            writeln!(
                out,
                "{:<18} {:<6} {:>6}ms  {}",
                check.name,
                status,
                check.duration.as_millis(),
                detail
            )?;
        }
        writeln!(out)?;
        writeln!(out, "{}", if healthy { "healthy" } else { "UNHEALTHY" })?;
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
