//! `gwi connectors list|info|schema`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

/// What to show about connectors.
#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// List the connectors this build includes.
    List,
    /// Show a connector's metadata: record types, auth methods, rate limits, capabilities.
    #[command(after_help = "Example:\n  gwi connectors info github")]
    Info {
        /// Connector name, as `gwi connectors list` shows it.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of a connector's config (the `[connectors.NAME]` table), or with
    /// --records the schema of each record type's rows as `gwi tap` and `gwi airbyte` send them.
    #[command(after_help = "Examples:
  gwi connectors schema github > github.schema.json
  gwi connectors schema gitlab --records     # {\"merge_request\": {...}, \"issue\": {...}, ...}

A row is the record's id, created_at and updated_at, the fields of its data at the top level,
deleted (true for a record deleted upstream) and metadata. Every data field may be null.")]
    Schema {
        /// Connector name.
        name: String,
        /// Print the record types' row schemas instead of the config's.
        #[arg(long)]
        records: bool,
    },
}

/// Runs a `gwi connectors` command.
pub fn run(command: ConnectorsCommand) -> anyhow::Result<ExitCode> {
    let registry = gwi_connectors::registry();
    let mut out = std::io::stdout().lock();
    let lookup = |name: &str| {
        registry.get(name).cloned().with_context(|| {
            let known: Vec<_> = registry.names().collect();
            format!("no connector named {name:?}; known: {}", known.join(", "))
        })
    };
    match command {
        ConnectorsCommand::List => {
            for factory in registry.iter() {
                let meta = factory.metadata();
                writeln!(
                    out,
                    "{:<12} {:<8} {}",
                    meta.name, meta.version, meta.description
                )?;
            }
        }
        ConnectorsCommand::Info { name, json } => {
            let meta = lookup(&name)?.metadata();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&meta)?)?;
            } else {
                writeln!(out, "{} {}", meta.name, meta.version)?;
                writeln!(out, "  {}", meta.description)?;
                writeln!(out, "  record types:  {}", meta.record_types.join(", "))?;
                let auth = meta.capabilities.auth_names().join(", ");
                writeln!(out, "  auth types:    {auth}")?;
                writeln!(
                    out,
                    "  incremental:   {}",
                    if meta.capabilities.incremental {
                        "yes"
                    } else {
                        "no"
                    }
                )?;
                let webhooks = match meta.capabilities.webhooks {
                    Some(kind) => format!("yes, signed the {} way", kind.as_str()),
                    None => "no".to_owned(),
                };
                writeln!(out, "  webhooks:      {webhooks}")?;
                if let Some(rps) = meta.rate_limits.requests_per_second {
                    writeln!(out, "  rate limit:    {rps} requests/s")?;
                }
                if let Some(rph) = meta.rate_limits.requests_per_hour {
                    writeln!(out, "  rate limit:    {rph} requests/hour")?;
                }
                if let Some(url) = meta.documentation_url {
                    writeln!(out, "  docs:          {url}")?;
                }
            }
        }
        ConnectorsCommand::Schema {
            name,
            records: false,
        } => {
            let schema = lookup(&name)?.config_schema();
            writeln!(out, "{}", serde_json::to_string_pretty(&schema)?)?;
        }
        ConnectorsCommand::Schema {
            name,
            records: true,
        } => {
            let streams: serde_json::Map<_, _> = lookup(&name)?
                .stream_schemas()?
                .into_iter()
                .map(|s| (s.name, s.schema))
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&streams)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
