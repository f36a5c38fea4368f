//! `gwi airbyte`: every gwi connector as an Airbyte source (spec, check, discover, read).
//!
//! Airbyte reads a source's answers from stdout only, so every outcome is a message there: a
//! check that fails is a FAILED connection status (exit 0, as the protocol asks), and any other
//! failure a TRACE error before the non-zero exit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use gwi_core::error::ConnectorError;
use gwi_core::schema::{KEY_FIELD, REPLICATION_KEY, StreamSchema, portable};
use gwi_core::stream::SyncOptions;
use serde_json::{Value, json};

use super::common::{bad_usage, build_from_json_file, context_for, exit_code_for, stream_schemas};
use super::sync::{Tuning, drive, read_state_file};
use crate::protocol::{Protocol, ProtocolSink, Selected, State, error_trace, failure_trace};

/// Arguments of `gwi airbyte`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gwi airbyte github spec
  gwi airbyte github check --config github.json
  gwi airbyte github discover --config github.json
  gwi airbyte github read --config github.json --catalog configured_catalog.json --state state.json

The config is a JSON object of the keys of a [connectors.NAME] table (`spec` gives its schema).
Each record type is a stream with primary key `id` and cursor field `updated_at`, in full_refresh
or incremental mode. A stream's STATE carries the cursors of its gwi streams and comes after each
committed batch; TRACE messages report stream status and errors.")]
pub struct AirbyteArgs {
    /// Connector name (see `gwi connectors list`).
    pub connector: String,
    #[command(subcommand)]
    command: AirbyteCommand,
}

/// An Airbyte source command.
#[derive(Debug, Subcommand)]
enum AirbyteCommand {
    /// Print the source's specification: the JSON Schema of its config.
    Spec,
    /// Check the config and the credentials: a CONNECTION_STATUS message.
    Check {
        /// The source's config (JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print the catalog: one stream per record type.
    Discover {
        /// The source's config (JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Read the streams of a configured catalog.
    Read {
        /// The source's config (JSON).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The configured catalog: the streams to read and their sync modes.
        #[arg(long, value_name = "FILE")]
        catalog: PathBuf,
        /// The state to resume from: a list of STREAM states, or one.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
}

/// Runs `gwi airbyte`.
pub async fn run(args: AirbyteArgs) -> anyhow::Result<ExitCode> {
    let result = match &args.command {
        AirbyteCommand::Spec => spec(&args.connector),
        AirbyteCommand::Check { config } => check(&args.connector, config).await,
        AirbyteCommand::Discover { config } => discover(&args.connector, config),
        AirbyteCommand::Read {
            config,
            catalog,
            state,
        } => read(&args.connector, config, catalog, state.as_deref()).await,
    };
    if let Err(error) = &result {
        // Airbyte shows TRACE errors; stderr is only logged.
        let connector_error = error
            .chain()
            .find_map(|e| e.downcast_ref::<ConnectorError>());
        let trace = match connector_error {
            Some(e) => error_trace(e),
            None if exit_code_for(error) == 2 => {
                failure_trace(&format!("{error:#}"), "config_error")
            }
            None => failure_trace(&format!("{error:#}"), "system_error"),
        };
        println!("{trace}");
    }
    result
}

fn spec(name: &str) -> anyhow::Result<ExitCode> {
    let registry = gwi_connectors::registry();
    let factory = registry
        .get(name)
        .ok_or_else(|| bad_usage(anyhow::anyhow!("no connector named {name:?}")))?;
    let meta = factory.metadata();
    let mut schema = portable(factory.config_schema().as_value());
    mark_secrets(&mut schema);
    schema["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    let mut spec = json!({
        "connectionSpecification": schema,
        "supportsIncremental": meta.capabilities.incremental,
        "supported_destination_sync_modes": ["overwrite", "append", "append_dedup"],
    });
    if let Some(url) = meta.documentation_url {
        spec["documentationUrl"] = json!(url);
    }
    println!("{}", json!({"type": "SPEC", "spec": spec}));
    Ok(ExitCode::SUCCESS)
}

/// Marks secret fields (`writeOnly`) the way Airbyte hides them in its UI and logs.
fn mark_secrets(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.get("writeOnly") == Some(&Value::Bool(true)) {
                map.insert("airbyte_secret".into(), Value::Bool(true));
            }
            map.values_mut().for_each(mark_secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(mark_secrets),
        _ => {}
    }
}

async fn check(name: &str, config: &Path) -> anyhow::Result<ExitCode> {
    let status = match build_from_json_file(name, config) {
        Err(e) => json!({"status": "FAILED", "message": format!("{e:#}")}),
        Ok(connector) => {
            let ctx = context_for(&connector, None, None)?;
            match connector.authenticate(&ctx).await {
                Ok(_) => json!({"status": "SUCCEEDED"}),
                Err(e) => json!({"status": "FAILED", "message": e.to_string()}),
            }
        }
    };
    println!(
        "{}",
        json!({"type": "CONNECTION_STATUS", "connectionStatus": status})
    );
    Ok(ExitCode::SUCCESS)
}

fn discover(name: &str, config: &Path) -> anyhow::Result<ExitCode> {
    let connector = build_from_json_file(name, config)?;
    let streams = stream_schemas(name)?;
    let incremental = connector.metadata.capabilities.incremental;
    println!(
        "{}",
        json!({"type": "CATALOG", "catalog": catalog(&streams, incremental)})
    );
    Ok(ExitCode::SUCCESS)
}

/// The Airbyte catalog of `streams`.
fn catalog(streams: &[StreamSchema], incremental: bool) -> Value {
    let modes: &[&str] = if incremental {
        &["full_refresh", "incremental"]
    } else {
        &["full_refresh"]
    };
    let entries: Vec<Value> = streams
        .iter()
        .map(|stream| {
            json!({
                "name": stream.name,
                "json_schema": stream.schema,
                "supported_sync_modes": modes,
                "source_defined_cursor": true,
                "default_cursor_field": [REPLICATION_KEY],
                "source_defined_primary_key": [[KEY_FIELD]],
                "is_resumable": true,
            })
        })
        .collect();
    json!({"streams": entries})
}

async fn read(
    name: &str,
    config: &Path,
    catalog_path: &Path,
    state_path: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let connector = build_from_json_file(name, config)?;
    let streams = stream_schemas(name)?;
    let text = std::fs::read_to_string(catalog_path)
        .with_context(|| format!("cannot read catalog {}", catalog_path.display()))
        .map_err(bad_usage)?;
    let configured: Value = serde_json::from_str(&text)
        .with_context(|| format!("catalog {} is not JSON", catalog_path.display()))
        .map_err(bad_usage)?;
    let mut state = match state_path {
        Some(path) => read_state_file(path)?,
        None => State::default(),
    };
    let (selected, full_refresh) = configured_streams(&configured, &streams)
        .with_context(|| format!("catalog {}", catalog_path.display()))
        .map_err(bad_usage)?;
    for record_type in &full_refresh {
        state.forget_type(record_type);
    }
    let options = SyncOptions {
        types: Some(selected.iter().map(|s| s.stream.name.clone()).collect()),
        ..SyncOptions::default()
    };
    let sink = Arc::new(ProtocolSink::new(Protocol::Airbyte, state, selected));
    sink.with_writer(|w| {
        w.log(&format!("gwi {} reading {name}", env!("CARGO_PKG_VERSION")))?;
        w.begin()
    })?;
    let ctx = context_for(&connector, None, None)?;
    let result = drive(
        name,
        &connector,
        ctx,
        sink.clone(),
        options,
        &Tuning::default(),
    )
    .await;
    sink.with_writer(|w| w.end(result.is_ok()))?;
    result.map(|_| ExitCode::SUCCESS).map_err(Into::into)
}

/// The streams a configured catalog reads, with their fields (those its `json_schema` keeps),
/// and the record types it reads in full_refresh mode.
fn configured_streams(
    configured: &Value,
    streams: &[StreamSchema],
) -> anyhow::Result<(Vec<Selected>, Vec<String>)> {
    let entries = configured
        .get("streams")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            anyhow::anyhow!("a configured catalog is an object with a `streams` list")
        })?;
    let mut selected = Vec::new();
    let mut full_refresh = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let name = entry
            .pointer("/stream/name")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("streams[{i}] has no stream.name"))?;
        let stream = streams.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<_> = streams.iter().map(|s| s.name.as_str()).collect();
            anyhow::anyhow!(
                "streams[{i}]: {name:?} is not a stream of this source (its streams: {})",
                known.join(", ")
            )
        })?;
        anyhow::ensure!(seen.insert(name), "streams[{i}]: {name:?} is listed twice");
        match entry.get("sync_mode").and_then(Value::as_str) {
            Some("incremental") => {
                let cursor = entry.get("cursor_field").and_then(Value::as_array);
                if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
                    anyhow::ensure!(
                        cursor.len() == 1 && cursor[0] == REPLICATION_KEY,
                        "streams[{i}] ({name}): the cursor field is {REPLICATION_KEY}, which the source defines; not {}",
                        Value::Array(cursor.clone())
                    );
                }
            }
            Some("full_refresh") => full_refresh.push(name.to_owned()),
            other => anyhow::bail!(
                "streams[{i}] ({name}): sync_mode must be full_refresh or incremental, not {other:?}"
            ),
        }
        let kept: Option<BTreeSet<String>> = entry
            .pointer("/stream/json_schema/properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect());
        let fields = kept.and_then(|kept| {
            let chosen: BTreeSet<String> = stream
                .fields()
                .filter(|f| kept.contains(*f) || *f == KEY_FIELD || *f == REPLICATION_KEY)
                .map(str::to_owned)
                .collect();
            (chosen.len() < stream.fields().count()).then_some(chosen)
        });
        selected.push(Selected {
            stream: stream.clone(),
            fields,
        });
    }
    Ok((selected, full_refresh))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streams() -> Vec<StreamSchema> {
        #[allow(dead_code)]
        #[derive(schemars::JsonSchema)]
        struct Data {
            title: String,
        }
        let schema = gwi_core::schema::data_schema::<Data>();
        vec![
            StreamSchema::new("issue", &schema).unwrap(),
            StreamSchema::new("review", &schema).unwrap(),
        ]
    }

    #[test]
    fn a_configured_catalog_gives_streams_modes_and_fields() {
        let catalog = json!({"streams": [
            {"stream": {"name": "issue", "json_schema": {"properties": {"title": {}}}},
             "sync_mode": "incremental", "cursor_field": ["updated_at"], "destination_sync_mode": "append_dedup"},
            {"stream": {"name": "review", "json_schema": {}}, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"},
        ]});
        let (selected, full) = configured_streams(&catalog, &streams()).unwrap();
        assert_eq!(full, ["review"]);
        let fields: Vec<_> = selected[0]
            .fields
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, ["id", "title", "updated_at"]);
        assert!(selected[1].fields.is_none());
    }

    #[test]
    fn a_configured_catalog_with_another_cursor_or_mode_is_refused() {
        let cursor = json!({"streams": [{"stream": {"name": "issue"}, "sync_mode": "incremental", "cursor_field": ["title"]}]});
        let error = configured_streams(&cursor, &streams())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("updated_at") && error.contains("title"),
            "{error}"
        );
        let mode = json!({"streams": [{"stream": {"name": "issue"}, "sync_mode": "cdc"}]});
        let error = configured_streams(&mode, &streams())
            .unwrap_err()
            .to_string();
        assert!(error.contains("cdc"), "{error}");
        let unknown = json!({"streams": [{"stream": {"name": "prs"}, "sync_mode": "incremental"}]});
        let error = configured_streams(&unknown, &streams())
            .unwrap_err()
            .to_string();
        assert!(error.contains("issue, review"), "{error}");
    }

    #[test]
    fn the_catalog_offers_incremental_only_where_the_connector_does() {
        let catalog = catalog(&streams(), false);
        assert_eq!(
            catalog["streams"][0]["supported_sync_modes"],
            json!(["full_refresh"])
        );
        assert_eq!(
            catalog["streams"][0]["source_defined_primary_key"],
            json!([["id"]])
        );
    }

    #[test]
    fn secret_fields_are_marked_for_airbyte() {
        let mut schema = json!({"properties": {"auth": {"oneOf": [{"properties": {"token": {"type": "string", "writeOnly": true}}}]}}});
        mark_secrets(&mut schema);
        assert_eq!(
            schema.pointer("/properties/auth/oneOf/0/properties/token/airbyte_secret"),
            Some(&json!(true))
        );
    }
}
