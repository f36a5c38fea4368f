//! Data outputs on stdout: NDJSON records, or Singer / Airbyte protocol messages.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use serde_json::{Value, json};

/// Which message format `gwi sync --output` writes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// One `ConnectorRecord` JSON object per line.
    Ndjson,
    /// Singer tap messages: SCHEMA, RECORD, STATE.
    Singer,
    /// Airbyte source messages: RECORD, STATE, LOG, TRACE.
    Airbyte,
}

/// Writes records and state as protocol messages, one JSON object per line.
///
/// Streams in both protocols are record types (one table each); state carries the cursor of every
/// gwi stream (`owner/repo/type`) so a later run can resume from it (`--state-file`).
pub struct ProtocolWriter<W: Write> {
    protocol: Protocol,
    out: W,
    schemas_sent: BTreeSet<String>,
    state: BTreeMap<String, Value>,
    line: Vec<u8>,
}

impl<W: Write> ProtocolWriter<W> {
    /// A writer for `protocol` onto `out`, resuming from `state` (cursors by gwi stream).
    pub fn new(protocol: Protocol, out: W, state: BTreeMap<String, Value>) -> Self {
        Self {
            protocol,
            out,
            schemas_sent: BTreeSet::new(),
            state,
            line: Vec::with_capacity(4096),
        }
    }

    /// Writes records (and, for Singer, each record type's SCHEMA before its first record).
    pub fn records(&mut self, records: &[ConnectorRecord]) -> std::io::Result<()> {
        let extracted = chrono::Utc::now();
        for record in records {
            self.line.clear();
            match self.protocol {
                Protocol::Ndjson => serde_json::to_writer(&mut self.line, record)?,
                Protocol::Singer => {
                    if self.schemas_sent.insert(record.record_type.clone()) {
                        let schema = json!({
                            "type": "SCHEMA",
                            "stream": record.record_type,
                            "schema": ConnectorRecord::json_schema(),
                            "key_properties": ["id"],
                            "bookmark_properties": ["updated_at"],
                        });
                        serde_json::to_writer(&mut self.line, &schema)?;
                        self.line.push(b'\n');
                    }
                    serde_json::to_writer(
                        &mut self.line,
                        &json!({
                            "type": "RECORD",
                            "stream": record.record_type,
                            "record": record,
                            "time_extracted": extracted.to_rfc3339(),
                        }),
                    )?;
                }
                Protocol::Airbyte => serde_json::to_writer(
                    &mut self.line,
                    &json!({
                        "type": "RECORD",
                        "record": {
                            "stream": record.record_type,
                            "data": record,
                            "emitted_at": extracted.timestamp_millis(),
                        }
                    }),
                )?,
            }
            self.line.push(b'\n');
            self.out.write_all(&self.line)?;
        }
        Ok(())
    }

    /// Records a stream's new cursor and writes a STATE message holding every cursor.
    pub fn checkpoint(&mut self, stream: &str, cursor: &Value) -> std::io::Result<()> {
        self.state.insert(stream.to_owned(), cursor.clone());
        let message = match self.protocol {
            Protocol::Ndjson => return Ok(()),
            Protocol::Singer => json!({"type": "STATE", "value": {"bookmarks": self.state}}),
            Protocol::Airbyte => json!({
                "type": "STATE",
                "state": {
                    "type": "STREAM",
                    "stream": {
                        "stream_descriptor": {"name": stream},
                        "stream_state": {"cursor": cursor},
                    }
                }
            }),
        };
        self.write_line(&message)
    }

    /// Writes an informational message where the protocol has one (Airbyte LOG).
    pub fn log(&mut self, message: &str) -> std::io::Result<()> {
        if self.protocol == Protocol::Airbyte {
            self.write_line(&json!({"type": "LOG", "log": {"level": "INFO", "message": message}}))?;
        }
        Ok(())
    }

    /// Reports a failed sync where the protocol has a way to (Airbyte TRACE error).
    pub fn error(&mut self, error: &ConnectorError) -> std::io::Result<()> {
        if self.protocol == Protocol::Airbyte {
            let failure_type = match error {
                ConnectorError::Config { .. } | ConnectorError::Authentication { .. } => {
                    "config_error"
                }
                e if e.is_temporary() => "transient_error",
                _ => "system_error",
            };
            self.write_line(&json!({
                "type": "TRACE",
                "trace": {
                    "type": "ERROR",
                    "emitted_at": chrono::Utc::now().timestamp_millis(),
                    "error": {
                        "message": error.to_string(),
                        "failure_type": failure_type,
                    }
                }
            }))?;
        }
        Ok(())
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn write_line(&mut self, message: &Value) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, message)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }
}

/// Reads a state file: `{"stream": cursor}`, Singer's `{"bookmarks": {...}}` or a whole Singer
/// STATE message (`{"type": "STATE", "value": {"bookmarks": ...}}`), or Airbyte STREAM states: one
/// STATE message, one `{"type": "STREAM", ...}` state, or a list of either. A protocol message gwi
/// cannot read is an error, never an empty state (which would silently read everything again).
pub fn parse_state(text: &str) -> anyhow::Result<BTreeMap<String, Value>> {
    let mut state = BTreeMap::new();
    read_state(serde_json::from_str(text)?, &mut state, 0)?;
    Ok(state)
}

/// Adds the cursors `value` holds to `state`.
fn read_state(value: Value, state: &mut BTreeMap<String, Value>, depth: u8) -> anyhow::Result<()> {
    anyhow::ensure!(
        depth < 4,
        "the state nests deeper than any protocol's STATE message"
    );
    match value {
        Value::Array(items) => {
            for item in items {
                read_state(item, state, depth + 1)?;
            }
            Ok(())
        }
        Value::Object(mut map) => match map.get("type").and_then(Value::as_str) {
            Some("STATE") => {
                // Singer keeps its state in `value`, Airbyte in `state`.
                let inner = map
                    .remove("value")
                    .or_else(|| map.remove("state"))
                    .ok_or_else(|| anyhow::anyhow!("a STATE message without `value` or `state`"))?;
                read_state(inner, state, depth + 1)
            }
            Some("STREAM") => {
                let map = Value::Object(map);
                let name = map
                    .pointer("/stream/stream_descriptor/name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        anyhow::anyhow!("a STREAM state without stream.stream_descriptor.name")
                    })?
                    .to_owned();
                let cursor = map
                    .pointer("/stream/stream_state/cursor")
                    .cloned()
                    .ok_or_else(|| {
                        anyhow::anyhow!("the STREAM state of {name} has no stream_state.cursor")
                    })?;
                state.insert(name, cursor);
                Ok(())
            }
            Some(other) => anyhow::bail!(
                "a {other:?} state gwi does not read; give the last STATE message gwi wrote"
            ),
            None => match map.remove("bookmarks") {
                Some(bookmarks) => read_state(bookmarks, state, depth + 1),
                None => {
                    state.extend(map);
                    Ok(())
                }
            },
        },
        _ => anyhow::bail!("a state file holds a JSON object of cursors by stream"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn record(kind: &str, id: &str) -> ConnectorRecord {
        let t = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
        let mut r = ConnectorRecord::new(id, kind, "github", t, t);
        r.data = json!({"n": 1}).into();
        r
    }

    fn lines(protocol: Protocol, f: impl FnOnce(&mut ProtocolWriter<&mut Vec<u8>>)) -> Vec<Value> {
        let mut out = Vec::new();
        let mut writer = ProtocolWriter::new(protocol, &mut out, BTreeMap::new());
        f(&mut writer);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn singer_sends_one_schema_per_stream_then_records_then_state() {
        let msgs = lines(Protocol::Singer, |w| {
            w.records(&[record("issue", "issue-1"), record("issue", "issue-2")])
                .unwrap();
            w.checkpoint("acme/w/issue", &json!("2024-05-01T00:00:00Z"))
                .unwrap();
        });
        let kinds: Vec<_> = msgs.iter().map(|m| m["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["SCHEMA", "RECORD", "RECORD", "STATE"]);
        assert_eq!(msgs[0]["stream"], "issue");
        assert_eq!(msgs[0]["key_properties"], json!(["id"]));
        assert_eq!(msgs[1]["record"]["id"], "issue-1");
        assert_eq!(
            msgs[3]["value"]["bookmarks"]["acme/w/issue"],
            "2024-05-01T00:00:00Z"
        );
    }

    #[test]
    fn airbyte_wraps_records_state_and_errors() {
        let msgs = lines(Protocol::Airbyte, |w| {
            w.records(&[record("pull_request", "pr-1")]).unwrap();
            w.checkpoint("acme/w/pull_request", &json!("c")).unwrap();
            w.error(&ConnectorError::Cancelled {
                connector: "github".into(),
            })
            .unwrap();
        });
        assert_eq!(msgs[0]["record"]["stream"], "pull_request");
        assert_eq!(msgs[0]["record"]["data"]["id"], "pr-1");
        assert!(msgs[0]["record"]["emitted_at"].is_i64());
        assert_eq!(
            msgs[1]["state"]["stream"]["stream_descriptor"]["name"],
            "acme/w/pull_request"
        );
        assert_eq!(msgs[2]["trace"]["type"], "ERROR");
        assert_eq!(msgs[2]["trace"]["error"]["failure_type"], "system_error");
    }

    #[test]
    fn ndjson_is_just_records() {
        let msgs = lines(Protocol::Ndjson, |w| {
            w.records(&[record("issue", "issue-1")]).unwrap();
            w.checkpoint("s", &json!(1)).unwrap();
            w.log("hello").unwrap();
        });
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0]["type"], "issue");
    }

    #[test]
    fn state_files_of_every_protocol_parse() {
        let plain = parse_state(r#"{"a/b/issue": "t1"}"#).unwrap();
        let singer = parse_state(r#"{"bookmarks": {"a/b/issue": "t1"}}"#).unwrap();
        let airbyte = parse_state(
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a/b/issue"},"stream_state":{"cursor":"t1"}}}]"#,
        )
        .unwrap();
        assert_eq!(plain, singer);
        assert_eq!(plain, airbyte);
        // The STATE messages gwi writes, as they come: each one whole.
        let singer_message =
            parse_state(r#"{"type":"STATE","value":{"bookmarks":{"a/b/issue":"t1"}}}"#).unwrap();
        assert_eq!(plain, singer_message);
        let airbyte_message = parse_state(
            r#"{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a/b/issue"},"stream_state":{"cursor":"t1"}}}}"#,
        )
        .unwrap();
        assert_eq!(plain, airbyte_message);
        let one_stream = parse_state(
            r#"{"type":"STREAM","stream":{"stream_descriptor":{"name":"a/b/issue"},"stream_state":{"cursor":"t1"}}}"#,
        )
        .unwrap();
        assert_eq!(plain, one_stream);
        for unread in [
            "[1",
            r#"{"type":"GLOBAL","global":{}}"#,
            r#"{"type":"STATE"}"#,
            r#"{"type":"STREAM","stream":{}}"#,
            "7",
        ] {
            assert!(parse_state(unread).is_err(), "{unread}");
        }
    }
}
