//! `gwi`: sync SaaS data, check connectors, serve webhooks, run the local sandbox.

mod commands;

use clap::{Parser, Subcommand};

/// gwi moves data from SaaS APIs into your store, by polling and by webhooks, without losing or
/// duplicating a record.
#[derive(Debug, Parser)]
#[command(name = "gwi", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List connectors and show their metadata and config schema.
    #[command(subcommand)]
    Connectors(commands::connectors::ConnectorsCommand),
    /// Run local simulated provider APIs (GitHub) with fault injection, or send signed test
    /// webhooks. Point a connector's base URL at it to try gwi without real tokens.
    Sandbox(Box<commands::sandbox::SandboxArgs>),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Connectors(cmd) => commands::connectors::run(cmd),
        Command::Sandbox(args) => commands::sandbox::run(*args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
