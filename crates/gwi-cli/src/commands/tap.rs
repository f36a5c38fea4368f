//! `gwi tap`: every gwi connector as a Singer tap (discovery, catalogs, typed streams, state).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use gwi_core::schema::{KEY_FIELD, REPLICATION_KEY, StreamSchema};
use gwi_core::stream::SyncOptions;
use serde_json::{Value, json};

use super::common::{bad_usage, build_from_json_file, context_for, stream_schemas};
use super::sync::{Tuning, drive, read_state_file};
use crate::protocol::{Protocol, ProtocolSink, Selected, State};

/// Arguments of `gwi tap`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  gwi tap github --config github.json --discover > catalog.json
  gwi tap github --config github.json --catalog catalog.json | target-jsonl
  gwi tap github --config github.json --catalog catalog.json --state state.json | target-postgres --config pg.json

The config is a JSON object of the keys of a [connectors.NAME] table (`gwi connectors schema NAME`
lists them), e.g. {\"repositories\": [\"acme/widgets\"], \"auth\": {\"type\": \"bearer\", \"token\": \"env:GITHUB_TOKEN\"}}.
Each record type is a stream keyed by `id` and replicated by `updated_at`; its rows are the record's
id, created_at, updated_at, the fields of its data at the top level, deleted and metadata.
A catalog selects streams and fields (Singer `selected` metadata; `selected-by-default` otherwise).
STATE messages carry every gwi stream's cursor; give the last one back with --state, bare or whole.
Records go to stdout, logs to stderr. Exit code: 0 success, 1 the sync failed, 2 bad usage or config.")]
pub struct TapArgs {
    /// Connector name (see `gwi connectors list`).
    pub connector: String,
    /// The connector's settings: a JSON object of its config table's keys.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Print the catalog (one stream per record type, with metadata) and exit; --catalog and
    /// --state are then ignored, as runners such as Meltano may pass them along.
    #[arg(long)]
    discover: bool,
    /// Sync the streams and fields this catalog selects (default: every stream).
    #[arg(long, value_name = "FILE", conflicts_with = "properties")]
    catalog: Option<PathBuf>,
    /// The older name of --catalog.
    #[arg(long, value_name = "FILE")]
    properties: Option<PathBuf>,
    /// Resume from this state: a STATE message's value, or the whole message.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
}

/// Runs `gwi tap`.
pub async fn run(args: TapArgs) -> anyhow::Result<ExitCode> {
    let connector = build_from_json_file(&args.connector, &args.config)?;
    let streams = stream_schemas(&args.connector)?;
    let incremental = connector.metadata.capabilities.incremental;
    if args.discover {
        println!(
            "{}",
            serde_json::to_string_pretty(&catalog(&streams, incremental))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let selected = match args.catalog.as_ref().or(args.properties.as_ref()) {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read catalog {}", path.display()))
                .map_err(bad_usage)?;
            let catalog: Value = serde_json::from_str(&text)
                .with_context(|| format!("catalog {} is not JSON", path.display()))
                .map_err(bad_usage)?;
            selection(&catalog, &streams)
                .with_context(|| format!("catalog {}", path.display()))
                .map_err(bad_usage)?
        }
        None => streams
            .into_iter()
            .map(|stream| Selected {
                stream,
                fields: None,
            })
            .collect(),
    };
    if selected.is_empty() {
        tracing::warn!("the catalog selects no stream: nothing to sync");
        return Ok(ExitCode::SUCCESS);
    }
    let state = match &args.state {
        Some(path) => read_state_file(path)?,
        None => State::default(),
    };
    let options = SyncOptions {
        types: Some(selected.iter().map(|s| s.stream.name.clone()).collect()),
        ..SyncOptions::default()
    };
    let sink = Arc::new(ProtocolSink::new(Protocol::Singer, state, selected));
    sink.with_writer(|w| w.begin())?;
    let ctx = context_for(&connector, None, None)?;
    let result = drive(
        &args.connector,
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

/// The Singer catalog of `streams`: each with its schema, key, replication key and metadata.
fn catalog(streams: &[StreamSchema], incremental: bool) -> Value {
    let method = if incremental {
        "INCREMENTAL"
    } else {
        "FULL_TABLE"
    };
    let entries: Vec<Value> = streams
        .iter()
        .map(|stream| {
            let mut metadata = vec![json!({
                "breadcrumb": [],
                "metadata": {
                    "inclusion": "available",
                    "selected-by-default": true,
                    "table-key-properties": [KEY_FIELD],
                    "valid-replication-keys": [REPLICATION_KEY],
                    "forced-replication-method": method,
                }
            })];
            metadata.extend(stream.fields().map(|field| {
                let inclusion = if field == KEY_FIELD || field == REPLICATION_KEY {
                    "automatic"
                } else {
                    "available"
                };
                json!({
                    "breadcrumb": ["properties", field],
                    "metadata": {"inclusion": inclusion, "selected-by-default": true},
                })
            }));
            let mut entry = json!({
                "tap_stream_id": stream.name,
                "stream": stream.name,
                "schema": stream.schema,
                "key_properties": [KEY_FIELD],
                "replication_method": method,
                "metadata": metadata,
            });
            if incremental {
                entry["replication_key"] = json!(REPLICATION_KEY);
            }
            entry
        })
        .collect();
    json!({"streams": entries})
}

/// The streams and fields a catalog selects. A stream is selected by its `selected` metadata,
/// else its `selected-by-default` (else the older `schema.selected`); a field likewise, and
/// always when its inclusion is `automatic`.
fn selection(catalog: &Value, streams: &[StreamSchema]) -> anyhow::Result<Vec<Selected>> {
    let entries = catalog
        .get("streams")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow::anyhow!("a catalog is an object with a `streams` list"))?;
    let mut selected = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let name = entry
            .get("tap_stream_id")
            .or_else(|| entry.get("stream"))
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("streams[{i}] has no tap_stream_id"))?;
        let stream = streams.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<_> = streams.iter().map(|s| s.name.as_str()).collect();
            anyhow::anyhow!(
                "streams[{i}]: {name:?} is not a stream of this tap (its streams: {})",
                known.join(", ")
            )
        })?;
        anyhow::ensure!(seen.insert(name), "streams[{i}]: {name:?} is listed twice");
        let metadata = entry
            .get("metadata")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let at = |breadcrumb: &[&str]| {
            metadata
                .iter()
                .find(|m| {
                    m.get("breadcrumb")
                        .and_then(Value::as_array)
                        .is_some_and(|b| {
                            b.len() == breadcrumb.len()
                                && b.iter().zip(breadcrumb).all(|(x, y)| x == *y)
                        })
                })
                .and_then(|m| m.get("metadata"))
        };
        let flag =
            |m: Option<&Value>, key: &str| m.and_then(|m| m.get(key)).and_then(Value::as_bool);
        let top = at(&[]);
        let legacy = entry.pointer("/schema/selected").and_then(Value::as_bool);
        let on = flag(top, "selected")
            .or_else(|| flag(top, "selected-by-default"))
            .or(legacy)
            .unwrap_or(false);
        if !on {
            continue;
        }
        let mut fields = BTreeSet::new();
        let mut all = true;
        for field in stream.fields() {
            let m = at(&["properties", field]);
            let inclusion = m.and_then(|m| m.get("inclusion")).and_then(Value::as_str);
            let keep = match inclusion {
                Some("automatic") => true,
                Some("unsupported") => false,
                _ => {
                    field == KEY_FIELD
                        || field == REPLICATION_KEY
                        || flag(m, "selected")
                            .or_else(|| flag(m, "selected-by-default"))
                            .unwrap_or(true)
                }
            };
            if keep {
                fields.insert(field.to_owned());
            } else {
                all = false;
            }
        }
        selected.push(Selected {
            stream: stream.clone(),
            fields: (!all).then_some(fields),
        });
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streams() -> Vec<StreamSchema> {
        #[allow(dead_code)]
        #[derive(schemars::JsonSchema)]
        struct Data {
            title: String,
            body: Option<String>,
        }
        let schema = gwi_core::schema::data_schema::<Data>();
        vec![
            StreamSchema::new("issue", &schema).unwrap(),
            StreamSchema::new("review", &schema).unwrap(),
        ]
    }

    #[test]
    fn discovery_lists_each_type_with_keys_and_metadata() {
        let catalog = catalog(&streams(), true);
        let issue = &catalog["streams"][0];
        assert_eq!(issue["tap_stream_id"], "issue");
        assert_eq!(issue["key_properties"], json!(["id"]));
        assert_eq!(issue["replication_key"], "updated_at");
        let top = &issue["metadata"][0];
        assert_eq!(top["breadcrumb"], json!([]));
        assert_eq!(top["metadata"]["forced-replication-method"], "INCREMENTAL");
        let id = issue["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["breadcrumb"] == json!(["properties", "id"]))
            .unwrap();
        assert_eq!(id["metadata"]["inclusion"], "automatic");
        // The discovered catalog as it is selects everything.
        let all = selection(&catalog, &streams()).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|s| s.fields.is_none()));
    }

    #[test]
    fn a_catalog_selects_streams_and_fields() {
        let mut catalog = catalog(&streams(), true);
        catalog["streams"][0]["metadata"][0]["metadata"]["selected"] = json!(true);
        catalog["streams"][1]["metadata"][0]["metadata"]["selected"] = json!(false);
        for m in catalog["streams"][0]["metadata"].as_array_mut().unwrap() {
            let field = m["breadcrumb"]
                .get(1)
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(field) = field {
                // Deselecting everything leaves the automatic fields.
                m["metadata"]["selected"] = json!(field == "title");
            }
        }
        let chosen = selection(&catalog, &streams()).unwrap();
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].stream.name, "issue");
        let fields: Vec<_> = chosen[0]
            .fields
            .iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(fields, ["id", "title", "updated_at"]);
    }

    #[test]
    fn a_catalog_naming_an_unknown_stream_says_which() {
        let catalog = json!({"streams": [{"tap_stream_id": "pull_requests"}]});
        let error = selection(&catalog, &streams()).unwrap_err().to_string();
        assert!(
            error.contains("pull_requests") && error.contains("issue, review"),
            "{error}"
        );
        let error = selection(&json!({}), &streams()).unwrap_err().to_string();
        assert!(error.contains("`streams`"), "{error}");
    }
}
