//! `gwi`: sync SaaS data, check connectors, serve webhooks, run the local sandbox.

mod commands;
mod config_file;
mod logging;
mod protocol;

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
    /// Receive webhooks: verify, deduplicate, store durably, process in the background.
    Serve(commands::serve::ServeArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Connectors(cmd) => commands::connectors::run(cmd),
        Command::Serve(args) => {
            logging::init(false);
            commands::serve::run(args).await
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
