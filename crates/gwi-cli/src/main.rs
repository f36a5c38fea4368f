//! `gwi`: sync SaaS data, check connectors, serve webhooks, run the local sandbox.

mod commands;
mod config_file;
mod logging;
mod protocol;

use clap::{Parser, Subcommand};

// jemalloc instead of the system allocator: a sync allocates page and record buffers on one
// thread and frees them on another, which cost glibc's malloc about 9 % of a 200k-record sync
// (median 2.29 s vs 2.09 s, five interleaved runs; peak RSS 49 vs 53 MiB). It also serves the
// bundled SQLite's `malloc`/`free` (the `unprefixed_malloc` feature): SQLite copies every bound
// value, and glibc's malloc on its writer thread cost a 20k-record sync 1.3 % of its instructions
// (callgrind: 1,867M -> 1,842M).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// gwi moves data from SaaS APIs into your store, by polling and by webhooks, without losing or
/// duplicating a record.
#[derive(Debug, Parser)]
#[command(name = "gwi", version, about, long_about = None)]
struct Cli {
    /// Log debug details to stderr (same as GWI_LOG=debug).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sync a connector into the store (incremental, resumable) or to stdout as NDJSON.
    Sync(Box<commands::sync::SyncArgs>),
    /// Run a connector as a Singer tap: --discover, --catalog, --state; typed streams on stdout.
    Tap(commands::tap::TapArgs),
    /// Run a connector as an Airbyte source: spec, check, discover, read.
    Airbyte(commands::airbyte::AirbyteArgs),
    /// Check a connector's credentials and health (auth, reachability, rate-limit headroom).
    Check(commands::check::CheckArgs),
    /// Try gwi without tokens: sync the local GitHub sandbox into ./gwi-demo.db and show it.
    Demo(commands::demo::DemoArgs),
    /// List connectors and show their metadata and config schema.
    #[command(subcommand)]
    Connectors(commands::connectors::ConnectorsCommand),
    /// Show or reset the stored sync cursors of a connector.
    #[command(subcommand)]
    State(commands::state::StateCommand),
    /// List, count or export stored records.
    #[command(subcommand)]
    Records(commands::records::RecordsCommand),
    /// Run the service: receive webhooks (verify, deduplicate, store durably, process in the
    /// background) and run the scheduled syncs; many processes may share one store.
    Serve(commands::serve::ServeArgs),
    /// Show the scheduled syncs (last and next run, records, errors, lag) and the webhook backlog.
    Status(commands::status::StatusArgs),
    /// Check that a connector is ready for production: the behaviour suite against the local
    /// sandbox, or read-only checks against the API a config points at.
    Verify(commands::verify::VerifyArgs),
    /// Run local simulated provider APIs (GitHub, GitLab, Jira, Linear, Slack) with fault injection, or send signed test
    /// webhooks. Point a connector's base URL at it to try gwi without real tokens.
    Sandbox(Box<commands::sandbox::SandboxArgs>),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `gwi verify` starts gwi again as the sync it kills (its "interrupted sync" check).
    let registry = gwi_connectors::registry();
    if let Some(code) = gwi_testing::behaviour::run_dying_run_if_asked(&registry).await {
        return std::process::ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let cli = Cli::parse_from(multicall(std::env::args_os().collect()));
    // `gwi verify` prints a report; the sandboxes and syncs it runs would only add noise.
    logging::init(cli.verbose, matches!(cli.command, Command::Verify(_)));
    let result = match cli.command {
        Command::Sync(args) => commands::sync::run(*args).await,
        Command::Tap(args) => commands::tap::run(args).await,
        Command::Airbyte(args) => commands::airbyte::run(args).await,
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Connectors(cmd) => commands::connectors::run(cmd),
        Command::State(cmd) => commands::state::run(cmd).await,
        Command::Records(cmd) => commands::records::run(cmd).await,
        Command::Check(args) => commands::check::run(args).await,
        Command::Serve(args) => commands::serve::run(args).await,
        Command::Status(args) => commands::status::run(args).await,
        Command::Sandbox(args) => commands::sandbox::run(*args).await,
        Command::Verify(args) => commands::verify::run(args).await,
    };
    match result {
        Ok(code) => code,
        // `gwi ... | head` closing the pipe early is not a failure.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(commands::common::exit_code_for(&e))
        }
    }
}

/// `tap-gwi-NAME ARGS` runs `gwi tap NAME ARGS` and `source-gwi-NAME ARGS` runs `gwi airbyte
/// NAME ARGS`: Meltano calls a tap by one executable name with Singer's flags only, so a link
/// named after the connector makes gwi that tap.
fn multicall(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let called = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .map(str::to_owned);
    let Some(called) = called else { return args };
    for (prefix, command) in [("tap-gwi-", "tap"), ("source-gwi-", "airbyte")] {
        if let Some(connector) = called.strip_prefix(prefix).filter(|c| !c.is_empty()) {
            args.splice(1..1, [command.into(), connector.into()]);
            break;
        }
    }
    args
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::multicall;

    fn call(args: &[&str]) -> Vec<String> {
        multicall(args.iter().map(Into::into).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn links_named_after_a_connector_run_it_as_a_tap_or_source() {
        assert_eq!(
            call(&[
                "/usr/bin/tap-gwi-github",
                "--config",
                "c.json",
                "--discover"
            ]),
            [
                "/usr/bin/tap-gwi-github",
                "tap",
                "github",
                "--config",
                "c.json",
                "--discover"
            ]
        );
        assert_eq!(
            call(&["source-gwi-slack", "spec"]),
            ["source-gwi-slack", "airbyte", "slack", "spec"]
        );
        assert_eq!(call(&["gwi", "sync", "github"]), ["gwi", "sync", "github"]);
        assert_eq!(call(&["tap-gwi-"]), ["tap-gwi-"]);
    }
}
