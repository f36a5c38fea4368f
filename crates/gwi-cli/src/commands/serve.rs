//! `gwi serve`: the webhook service for the connectors in the config file.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gwi_core::registry::ConfiguredConnector;
use gwi_server::{Server, ServerConfig};

use super::common::{ConfigArgs, bad_usage, build_connector, build_for_tenant, open_store};
use crate::config_file::ConfigFile;

/// Address used when neither `--listen` nor `[server] listen` names one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Run the service: receive webhooks (verify, deduplicate, store durably, then process in the
/// background) and run the scheduled syncs.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  gwi serve --config gwi.toml
  gwi serve --listen 0.0.0.0:8080 --store sqlite:///var/lib/gwi/gwi.db
  GWI_STORE=postgres://gwi@db/gwi gwi serve --listen 0.0.0.0:8080 --instance web-1

Endpoints: POST /webhooks/{connector}[/{tenant}] (a tenant of [connectors.NAME.tenants.TENANT],
verified with its own secret), GET /healthz, /readyz, /metrics.

Scheduled syncs: a connector (or tenant) table with `schedule = \"every 15m\"` (s, m, h, d) or a
cron expression in UTC (`schedule = \"*/15 * * * *\"`) is synced in the background, webhooks and
polling side by side. `gwi status` shows last and next runs.

Several processes may share one PostgreSQL store (behind one load balancer): each scheduled sync
and each webhook event is leased to one process at a time, renewed by its heartbeat. A process
that dies loses its leases after --lease-secs and another takes its work over from the last
commit; a restarted process (same --instance) hands back its old leases at once. Give each process
its own --instance (default: host name and port).

Ctrl-C or SIGTERM stops accepting, finishes requests and events in flight, stops running syncs
after their complete batches, hands back every lease, then exits.")]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Address to listen on [default: `[server] listen`, else 127.0.0.1:8080].
    #[arg(long, env = "GWI_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Events processed at once (their records are committed together) [default: 16]; 0 stores
    /// events without processing them.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Largest accepted webhook body, in bytes [default: 25 MiB].
    #[arg(long)]
    pub body_limit: Option<usize>,
    /// Seconds a webhook request may take before it is answered 503 [default: 30].
    #[arg(long)]
    pub request_timeout_secs: Option<u64>,
    /// Verified webhook requests being stored at once; more wait for a slot [default: 256].
    #[arg(long)]
    pub concurrency_limit: Option<usize>,
    /// Processing attempts per event before it is dead-lettered [default: 8].
    #[arg(long)]
    pub max_attempts: Option<u32>,
    /// This process's name in the store's leases [default: `[server] instance`, else host name
    /// and port]. Each process sharing a store needs its own; keep it across restarts.
    #[arg(long, env = "GWI_INSTANCE", value_name = "NAME")]
    pub instance: Option<String>,
    /// Seconds a lease lasts unless renewed (how long a dead process's work waits for another)
    /// [default: `[server] lease_secs`, else 20].
    #[arg(long, value_name = "SECS")]
    pub lease_secs: Option<u64>,
    /// Scheduled syncs this process runs at once; more wait, or go to another process
    /// [default: `[server] max_syncs`, else 4].
    #[arg(long, value_name = "N")]
    pub max_syncs: Option<usize>,
    /// Serve only this connector (repeat for several) [default: every configured one].
    #[arg(long = "connector", value_name = "NAME")]
    pub connectors: Vec<String>,
}

/// Runs the service until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = args.config.load()?;
    let mut config = server_config(&args, &file).map_err(bad_usage)?;
    let connectors = build_connectors(&file, &args.connectors)?;
    let scheduled = connectors
        .iter()
        .filter(|c| c.common.schedule.is_some())
        .count();
    let store_url = file.store_url(args.config.store.as_deref());
    let store = open_store(&store_url).await?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let local = listener.local_addr().unwrap_or(config.listen);
    if args.instance.is_none() && file.server.instance.is_none() {
        // The port bound, not the one asked for: `--listen 127.0.0.1:0` picks a free one.
        config.instance = gwi_server::default_instance(local);
    }
    let server = Server::new(connectors, store.clone(), config.clone()).map_err(bad_usage)?;
    let webhooks = server.webhook_connectors();
    if webhooks.is_empty() && scheduled == 0 {
        tracing::warn!(
            "no configured connector takes webhooks (none has a webhook secret) or has a schedule: every POST will be answered 404 and nothing is synced"
        );
    }
    tracing::info!(
        listen = %local,
        instance = %config.instance,
        workers = config.workers,
        scheduled,
        webhooks = %webhooks.iter().map(|n| format!("/webhooks/{n}")).collect::<Vec<_>>().join(" "),
        "gwi serve ready"
    );
    let served = server.serve(listener, shutdown_signal()).await;
    store.close().await;
    served?;
    tracing::info!("gwi serve stopped");
    Ok(ExitCode::SUCCESS)
}

/// The server settings: flags first, then `[server]`, then the defaults.
pub fn server_config(args: &ServeArgs, file: &ConfigFile) -> anyhow::Result<ServerConfig> {
    let section = &file.server;
    let defaults = ServerConfig::default();
    let listen = match (args.listen, section.listen.as_deref()) {
        (Some(addr), _) => addr,
        (None, Some(text)) => text.parse().with_context(|| {
            format!("[server] listen = {text:?} is not an address like {DEFAULT_LISTEN}")
        })?,
        (None, None) => DEFAULT_LISTEN.parse()?,
    };
    let mut retry = defaults.retry;
    if let Some(max_attempts) = args.max_attempts.or(section.max_attempts) {
        retry.max_attempts = max_attempts;
    }
    Ok(ServerConfig {
        listen,
        body_limit: args
            .body_limit
            .or(section.body_limit_bytes)
            .unwrap_or(defaults.body_limit),
        request_timeout: args
            .request_timeout_secs
            .or(section.request_timeout_secs)
            .map_or(defaults.request_timeout, Duration::from_secs),
        concurrency_limit: args
            .concurrency_limit
            .or(section.concurrency_limit)
            .unwrap_or(defaults.concurrency_limit),
        workers: args.workers.or(section.workers).unwrap_or(defaults.workers),
        max_connections: section.max_connections.unwrap_or(defaults.max_connections),
        header_read_timeout: section
            .header_read_timeout_secs
            .map_or(defaults.header_read_timeout, Duration::from_secs),
        body_bytes_in_flight: section
            .body_bytes_in_flight
            .unwrap_or(defaults.body_bytes_in_flight),
        body_retention: section
            .body_retention_days
            .map_or(defaults.body_retention, days),
        dedupe_window: section
            .dedupe_window_days
            .map_or(defaults.dedupe_window, days),
        tenant_routes: section.tenant_routes.unwrap_or(defaults.tenant_routes),
        token_key: file.token_key()?,
        retry,
        instance: args
            .instance
            .clone()
            .or_else(|| section.instance.clone())
            .unwrap_or_else(|| gwi_server::default_instance(listen)),
        lease_ttl: args
            .lease_secs
            .or(section.lease_secs)
            .map_or(defaults.lease_ttl, Duration::from_secs),
        max_syncs: args
            .max_syncs
            .or(section.max_syncs)
            .unwrap_or(defaults.max_syncs),
        ..defaults
    })
}

fn days(n: u64) -> Duration {
    Duration::from_secs(n.saturating_mul(24 * 3600))
}

/// Builds every `[connectors.NAME]` of the config (or only those in `only`).
fn build_connectors(
    file: &ConfigFile,
    only: &[String],
) -> anyhow::Result<Vec<ConfiguredConnector>> {
    let names: Vec<String> = if only.is_empty() {
        file.connectors.keys().cloned().collect()
    } else {
        only.to_vec()
    };
    if names.is_empty() {
        return Err(bad_usage(anyhow::anyhow!(
            "no connectors configured: add a [connectors.NAME] table with its webhook secret or schedule to the config file (--config or GWI_CONFIG)"
        )));
    }
    // The connector's own table first: `/webhooks/NAME` serves its tenant.
    let mut built = Vec::new();
    for name in &names {
        built.push(build_connector(file, name)?);
        for tenant in file.tenants(name) {
            built.push(build_for_tenant(file, name, Some(&tenant))?);
        }
    }
    Ok(built)
}

/// Completes on Ctrl-C or SIGTERM; a second Ctrl-C exits at once.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!(
        "shutting down: no new connections; finishing requests and events in flight (Ctrl-C again to exit now)"
    );
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            // Events not yet processed stay pending in the store and are picked up next start.
            std::process::exit(130);
        }
    });
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn args(flags: &[&str]) -> ServeArgs {
        Cli::try_parse_from(std::iter::once("serve").chain(flags.iter().copied()))
            .unwrap()
            .serve
    }

    const FILE: &str = r#"
[server]
listen = "0.0.0.0:9000"
workers = 6
body_limit_bytes = 1024
max_attempts = 3
"#;

    #[test]
    fn defaults_apply_without_flags_or_config() {
        let config = server_config(&args(&[]), &ConfigFile::default()).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config, ServerConfig::default());
        assert!(config.instance.ends_with(":8080"), "{}", config.instance);
    }

    #[test]
    fn the_server_section_overrides_defaults() {
        let file = ConfigFile::parse(FILE).unwrap();
        let config = server_config(&args(&[]), &file).unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
        assert!(config.instance.ends_with(":9000"), "{}", config.instance);
        assert_eq!(config.workers, 6);
        assert_eq!(config.body_limit, 1024);
        assert_eq!(config.retry.max_attempts, 3);
    }

    #[test]
    fn flags_override_the_server_section() {
        let file = ConfigFile::parse(FILE).unwrap();
        let config = server_config(
            &args(&[
                "--listen",
                "127.0.0.1:0",
                "--workers",
                "0",
                "--max-attempts",
                "9",
            ]),
            &file,
        )
        .unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:0");
        assert_eq!(config.workers, 0);
        assert_eq!(config.retry.max_attempts, 9);
        assert_eq!(config.body_limit, 1024);
    }

    #[test]
    fn a_bad_listen_address_is_named() {
        let file = ConfigFile::parse("[server]\nlisten = \"localhost\"\n").unwrap();
        let err = server_config(&args(&[]), &file).unwrap_err().to_string();
        assert!(err.contains("[server] listen"), "{err}");
    }

    #[test]
    fn serving_without_connectors_says_how_to_configure_them() {
        let err = build_connectors(&ConfigFile::default(), &[])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("[connectors.NAME]"), "{err}");
    }

    #[test]
    fn an_unknown_connector_table_is_reported_by_name() {
        let file = ConfigFile::parse("[connectors.nosuch]\nx = 1\n").unwrap();
        let err = build_connectors(&file, &[]).err().unwrap();
        assert!(format!("{err:#}").contains("nosuch"), "{err:#}");
    }
}
