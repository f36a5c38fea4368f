//! `gwi connectors list|info|schema`.

use std::process::ExitCode;

use clap::Subcommand;

/// What to show about connectors.
#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// List the connectors this build includes.
    List,
}

/// Runs a `gwi connectors` command.
pub fn run(command: ConnectorsCommand) -> anyhow::Result<ExitCode> {
    let registry = gwi_connectors::registry();
    match command {
        ConnectorsCommand::List => {
            for factory in registry.iter() {
                let meta = factory.metadata();
                println!("{:<12} {:<8} {}", meta.name, meta.version, meta.description);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
