//! Data outputs on stdout: NDJSON records, or Singer / Airbyte protocol messages, and the state
//! a later run resumes from.
//!
//! Singer and Airbyte streams are record types: one typed, flat row per record
//! ([`gwi_core::schema`]). gwi's own streams (`resource/type`) keep a cursor each; a protocol
//! state carries all of them, so a run resumes every stream where it stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Write};
use std::sync::Mutex;

use async_trait::async_trait;
use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use gwi_core::schema::{StreamSchema, write_row, write_row_selected};
use gwi_core::store::{Scope, StoreError, StreamState, UpsertOutcome};
use gwi_core::stream::{Checkpoint, StreamDescriptor};
use gwi_core::sync::RecordSink;
use serde_json::{Value, json};

/// Which message format goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// One `ConnectorRecord` JSON object per line.
    Ndjson,
    /// Singer tap messages: SCHEMA, RECORD, STATE.
    Singer,
    /// Airbyte source messages: RECORD, STATE, LOG, TRACE.
    Airbyte,
}

/// One protocol stream a run sends: its schema and the fields chosen (`None`: all).
#[derive(Debug, Clone)]
pub struct Selected {
    /// The stream's row schema.
    pub stream: StreamSchema,
    /// The row fields sent, when not all are.
    pub fields: Option<BTreeSet<String>>,
}

impl Selected {
    /// The stream's schema with only the chosen fields.
    pub fn schema(&self) -> Value {
        match &self.fields {
            None => self.stream.schema.clone(),
            Some(fields) => self.stream.select(|f| fields.contains(f)),
        }
    }
}

/// gwi stream cursors, and the record type of each stream whose type is known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// Cursor by gwi stream (`resource/type`).
    pub cursors: BTreeMap<String, Value>,
    /// Record type by gwi stream, where the state said it (Airbyte's per-type states).
    pub types: BTreeMap<String, String>,
}

impl State {
    /// Forgets the cursors of every stream of `record_type` (a full refresh of that type).
    pub fn forget_type(&mut self, record_type: &str) {
        let suffix = format!("/{record_type}");
        self.cursors
            .retain(|stream, _| match self.types.get(stream) {
                Some(t) => t != record_type,
                None => !stream.ends_with(&suffix),
            });
    }
}

/// Writes records and state as protocol messages, one JSON object per line.
pub struct ProtocolWriter<W: Write> {
    protocol: Protocol,
    out: W,
    /// The streams sent, by record type; records of other types are not written.
    streams: BTreeMap<String, Selected>,
    state: State,
    /// Records per Airbyte stream since its last STATE (Airbyte's `sourceStats`).
    since_state: BTreeMap<String, u64>,
    /// Airbyte streams that have sent a record (and so their RUNNING status).
    running: BTreeSet<String>,
    line: Vec<u8>,
}

impl<W: Write> ProtocolWriter<W> {
    /// A writer for `protocol` onto `out`, resuming from `state`, sending `streams` (NDJSON
    /// sends every record and needs none).
    pub fn new(protocol: Protocol, out: W, state: State, streams: Vec<Selected>) -> Self {
        Self {
            protocol,
            out,
            streams: streams
                .into_iter()
                .map(|s| (s.stream.name.clone(), s))
                .collect(),
            state,
            since_state: BTreeMap::new(),
            running: BTreeSet::new(),
            line: Vec::with_capacity(4096),
        }
    }

    /// Opens the run: Singer's SCHEMA of every stream, Airbyte's STARTED status of each.
    pub fn begin(&mut self) -> std::io::Result<()> {
        let messages: Vec<Value> = match self.protocol {
            Protocol::Ndjson => Vec::new(),
            Protocol::Singer => self
                .streams
                .values()
                .map(|s| {
                    json!({
                        "type": "SCHEMA",
                        "stream": s.stream.name,
                        "schema": s.schema(),
                        "key_properties": [gwi_core::schema::KEY_FIELD],
                        "bookmark_properties": [gwi_core::schema::REPLICATION_KEY],
                    })
                })
                .collect(),
            Protocol::Airbyte => self
                .streams
                .keys()
                .map(|name| stream_status(name, "STARTED"))
                .collect(),
        };
        for message in &messages {
            self.write_line(message)?;
        }
        Ok(())
    }

    /// Closes the run: Airbyte's COMPLETE (or, after a failure, INCOMPLETE) status of each stream.
    pub fn end(&mut self, succeeded: bool) -> std::io::Result<()> {
        if self.protocol == Protocol::Airbyte {
            let status = if succeeded { "COMPLETE" } else { "INCOMPLETE" };
            let names: Vec<String> = self.streams.keys().cloned().collect();
            for name in names {
                self.write_line(&stream_status(&name, status))?;
            }
        }
        self.out.flush()
    }

    /// Writes records as the protocol's record messages.
    pub fn records(&mut self, records: &[ConnectorRecord]) -> std::io::Result<()> {
        let extracted = chrono::Utc::now();
        let time_extracted = serde_json::to_string(&extracted.to_rfc3339())?;
        let emitted_at = extracted.timestamp_millis().to_string();
        for record in records {
            self.line.clear();
            let fields = match self.protocol {
                Protocol::Ndjson => {
                    serde_json::to_writer(&mut self.line, record)?;
                    self.line.push(b'\n');
                    self.out.write_all(&self.line)?;
                    continue;
                }
                _ => match self.streams.get(&record.record_type) {
                    Some(selected) => selected.fields.clone(),
                    None => continue,
                },
            };
            if self.protocol == Protocol::Airbyte && self.running.insert(record.record_type.clone())
            {
                self.write_line(&stream_status(&record.record_type, "RUNNING"))?;
                self.line.clear();
            }
            let stream = serde_json::to_string(&record.record_type)?;
            match self.protocol {
                Protocol::Singer => {
                    self.line
                        .extend_from_slice(b"{\"type\":\"RECORD\",\"stream\":");
                    self.line.extend_from_slice(stream.as_bytes());
                    self.line.extend_from_slice(b",\"record\":");
                    self.row(record, fields.as_ref())?;
                    self.line.extend_from_slice(b",\"time_extracted\":");
                    self.line.extend_from_slice(time_extracted.as_bytes());
                    self.line.extend_from_slice(b"}\n");
                }
                _ => {
                    self.line
                        .extend_from_slice(b"{\"type\":\"RECORD\",\"record\":{\"stream\":");
                    self.line.extend_from_slice(stream.as_bytes());
                    self.line.extend_from_slice(b",\"data\":");
                    self.row(record, fields.as_ref())?;
                    self.line.extend_from_slice(b",\"emitted_at\":");
                    self.line.extend_from_slice(emitted_at.as_bytes());
                    self.line.extend_from_slice(b"}}\n");
                    *self
                        .since_state
                        .entry(record.record_type.clone())
                        .or_default() += 1;
                }
            }
            self.out.write_all(&self.line)?;
        }
        Ok(())
    }

    fn row(
        &mut self,
        record: &ConnectorRecord,
        fields: Option<&BTreeSet<String>>,
    ) -> Result<(), serde_json::Error> {
        match fields {
            None => write_row(record, &mut self.line),
            Some(fields) => write_row_selected(record, |f| fields.contains(f), &mut self.line),
        }
    }

    /// Records gwi stream `stream`'s (of `record_type`) new cursor and writes the protocol's
    /// STATE: Singer's holds every cursor, Airbyte's those of the record type's streams.
    pub fn checkpoint(
        &mut self,
        stream: &str,
        record_type: &str,
        cursor: &Value,
    ) -> std::io::Result<()> {
        self.state.cursors.insert(stream.to_owned(), cursor.clone());
        self.state
            .types
            .insert(stream.to_owned(), record_type.to_owned());
        let message = match self.protocol {
            Protocol::Ndjson => return Ok(()),
            Protocol::Singer => {
                json!({"type": "STATE", "value": {"bookmarks": self.state.cursors}})
            }
            Protocol::Airbyte => {
                let cursors: BTreeMap<&String, &Value> = self
                    .state
                    .cursors
                    .iter()
                    .filter(|(s, _)| {
                        self.state.types.get(*s).map(String::as_str) == Some(record_type)
                    })
                    .collect();
                let count = self.since_state.remove(record_type).unwrap_or(0);
                json!({
                    "type": "STATE",
                    "state": {
                        "type": "STREAM",
                        "stream": {
                            "stream_descriptor": {"name": record_type},
                            "stream_state": {"cursors": cursors},
                        },
                        "sourceStats": {"recordCount": count},
                    }
                })
            }
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

/// An Airbyte TRACE message with a stream's status.
fn stream_status(stream: &str, status: &str) -> Value {
    json!({
        "type": "TRACE",
        "trace": {
            "type": "STREAM_STATUS",
            "emitted_at": chrono::Utc::now().timestamp_millis(),
            "stream_status": {"stream_descriptor": {"name": stream}, "status": status},
        }
    })
}

/// An Airbyte TRACE error for `error`: a config error is the user's to fix, a temporary one may
/// pass on a retry.
pub fn error_trace(error: &ConnectorError) -> Value {
    let failure_type = match error {
        ConnectorError::Config { .. } | ConnectorError::Authentication { .. } => "config_error",
        e if e.is_temporary() => "transient_error",
        _ => "system_error",
    };
    failure_trace(&error.to_string(), failure_type)
}

/// An Airbyte TRACE error saying `message`, of Airbyte's `failure_type` (`config_error`,
/// `transient_error` or `system_error`).
pub fn failure_trace(message: &str, failure_type: &str) -> Value {
    json!({
        "type": "TRACE",
        "trace": {
            "type": "ERROR",
            "emitted_at": chrono::Utc::now().timestamp_millis(),
            "error": {"message": message, "failure_type": failure_type},
        }
    })
}

/// A [`RecordSink`] writing protocol messages to stdout: each batch's records, then the STATE
/// its checkpoint makes, so a target that stores a STATE has stored every record before it.
pub struct ProtocolSink {
    writer: Mutex<ProtocolWriter<BufWriter<std::io::Stdout>>>,
    state: BTreeMap<String, Value>,
}

impl ProtocolSink {
    /// A sink for `protocol` resuming from `state`, sending `streams`.
    pub fn new(protocol: Protocol, state: State, streams: Vec<Selected>) -> Self {
        let out = BufWriter::with_capacity(256 * 1024, std::io::stdout());
        Self {
            state: state.cursors.clone(),
            writer: Mutex::new(ProtocolWriter::new(protocol, out, state, streams)),
        }
    }

    /// Runs `f` on the writer.
    pub fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut ProtocolWriter<BufWriter<std::io::Stdout>>) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| std::io::Error::other("output writer poisoned"))?;
        f(&mut writer)
    }
}

#[async_trait]
impl RecordSink for ProtocolSink {
    async fn load_state(&self, _scope: &Scope) -> Result<Vec<StreamState>, StoreError> {
        let now = chrono::Utc::now();
        Ok(self
            .state
            .iter()
            .map(|(stream, cursor)| StreamState {
                stream: stream.clone(),
                cursor: cursor.clone(),
                updated_at: now,
            })
            .collect())
    }

    async fn commit(
        &self,
        _scope: &Scope,
        stream: &StreamDescriptor,
        records: &[ConnectorRecord],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<UpsertOutcome, StoreError> {
        // Writes to stdout are quick next to a network page; a blocking write here keeps the
        // records and their STATE message in order without another task.
        self.with_writer(|w| {
            w.records(records)?;
            if let Some(checkpoint) = checkpoint {
                w.checkpoint(&checkpoint.stream, &stream.record_type, &checkpoint.cursor)?;
                w.flush()?;
            }
            Ok(())
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot write to stdout: {e}")))?;
        Ok(UpsertOutcome {
            written: records.len() as u64,
            unchanged: 0,
        })
    }
}

/// Reads a state: `{"stream": cursor}`, Singer's `{"bookmarks": {...}}` or a whole Singer
/// STATE message (`{"type": "STATE", "value": {"bookmarks": ...}}`), or Airbyte STREAM states:
/// one STATE message, one `{"type": "STREAM", ...}` state, or a list of either. A protocol
/// message gwi cannot read is an error, never an empty state (which would silently read
/// everything again).
pub fn parse_state(text: &str) -> anyhow::Result<State> {
    let mut state = State::default();
    read_state(serde_json::from_str(text)?, &mut state, 0)?;
    Ok(state)
}

/// Adds the cursors `value` holds to `state`.
fn read_state(value: Value, state: &mut State, depth: u8) -> anyhow::Result<()> {
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
                match map.pointer("/stream/stream_state") {
                    // One record type's gwi streams.
                    Some(Value::Object(s)) if s.contains_key("cursors") => {
                        let Some(Value::Object(cursors)) = s.get("cursors") else {
                            anyhow::bail!(
                                "the STREAM state of {name} has cursors that are not an object"
                            );
                        };
                        for (stream, cursor) in cursors {
                            state.cursors.insert(stream.clone(), cursor.clone());
                            state.types.insert(stream.clone(), name.clone());
                        }
                        Ok(())
                    }
                    // One gwi stream, as `gwi sync --output airbyte` wrote it before record
                    // types became the streams.
                    Some(Value::Object(s)) if s.contains_key("cursor") => {
                        state.cursors.insert(name, s["cursor"].clone());
                        Ok(())
                    }
                    _ => anyhow::bail!(
                        "the STREAM state of {name} has no stream_state.cursors (or .cursor)"
                    ),
                }
            }
            Some(other) => anyhow::bail!(
                "a {other:?} state gwi does not read; give the last STATE message gwi wrote"
            ),
            None => match map.remove("bookmarks") {
                Some(bookmarks) => read_state(bookmarks, state, depth + 1),
                None => {
                    state.cursors.extend(map);
                    Ok(())
                }
            },
        },
        _ => anyhow::bail!("a state holds a JSON object of cursors by stream"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use gwi_core::schema::data_schema;

    fn record(kind: &str, id: &str) -> ConnectorRecord {
        let t = Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap();
        let mut r = ConnectorRecord::new(id, kind, "github", t, t);
        r.data = json!({"n": 1, "title": "t"}).into();
        r
    }

    #[allow(dead_code)]
    #[derive(schemars::JsonSchema)]
    struct Data {
        n: u32,
        title: String,
    }

    fn selected(name: &str, fields: Option<&[&str]>) -> Selected {
        Selected {
            stream: StreamSchema::new(name, &data_schema::<Data>()).unwrap(),
            fields: fields.map(|f| f.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn lines(
        protocol: Protocol,
        streams: Vec<Selected>,
        f: impl FnOnce(&mut ProtocolWriter<&mut Vec<u8>>),
    ) -> Vec<Value> {
        let mut out = Vec::new();
        let mut writer = ProtocolWriter::new(protocol, &mut out, State::default(), streams);
        f(&mut writer);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn singer_sends_schemas_then_flat_records_then_state() {
        let msgs = lines(
            Protocol::Singer,
            vec![selected("issue", None), selected("review", None)],
            |w| {
                w.begin().unwrap();
                w.records(&[record("issue", "issue-1"), record("issue", "issue-2")])
                    .unwrap();
                w.checkpoint("acme/w/issue", "issue", &json!("2024-05-01T00:00:00Z"))
                    .unwrap();
            },
        );
        let kinds: Vec<_> = msgs.iter().map(|m| m["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["SCHEMA", "SCHEMA", "RECORD", "RECORD", "STATE"]);
        assert_eq!(msgs[0]["stream"], "issue");
        assert_eq!(msgs[0]["key_properties"], json!(["id"]));
        assert_eq!(
            msgs[0]["schema"]["properties"]["n"]["type"],
            json!(["integer", "null"])
        );
        assert_eq!(msgs[2]["record"]["id"], "issue-1");
        assert_eq!(msgs[2]["record"]["title"], "t", "data fields are top-level");
        assert_eq!(
            msgs[4]["value"]["bookmarks"]["acme/w/issue"],
            "2024-05-01T00:00:00Z"
        );
    }

    #[test]
    fn only_chosen_fields_and_streams_are_sent() {
        let msgs = lines(
            Protocol::Singer,
            vec![selected("issue", Some(&["id", "updated_at", "n"]))],
            |w| {
                w.begin().unwrap();
                w.records(&[record("issue", "issue-1"), record("review", "r-1")])
                    .unwrap();
            },
        );
        assert_eq!(msgs.len(), 2);
        let props: Vec<_> = msgs[0]["schema"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(props, ["id", "n", "updated_at"]);
        assert_eq!(
            msgs[1]["record"],
            json!({"id": "issue-1", "n": 1, "updated_at": "2024-05-01T00:00:00Z"})
        );
    }

    #[test]
    fn airbyte_sends_statuses_records_and_per_type_states() {
        let msgs = lines(
            Protocol::Airbyte,
            vec![selected("pull_request", None)],
            |w| {
                w.begin().unwrap();
                w.records(&[
                    record("pull_request", "pr-1"),
                    record("pull_request", "pr-2"),
                ])
                .unwrap();
                w.checkpoint("acme/w/pull_request", "pull_request", &json!("c"))
                    .unwrap();
                w.checkpoint("acme/x/pull_request", "pull_request", &json!("d"))
                    .unwrap();
                w.end(false).unwrap();
            },
        );
        let status = |m: &Value| {
            m["trace"]["stream_status"]["status"]
                .as_str()
                .map(str::to_owned)
        };
        assert_eq!(status(&msgs[0]).as_deref(), Some("STARTED"));
        assert_eq!(status(&msgs[1]).as_deref(), Some("RUNNING"));
        assert_eq!(msgs[2]["record"]["stream"], "pull_request");
        assert_eq!(msgs[2]["record"]["data"]["id"], "pr-1");
        assert_eq!(msgs[2]["record"]["data"]["n"], 1);
        assert!(msgs[2]["record"]["emitted_at"].is_i64());
        let state = &msgs[4]["state"];
        assert_eq!(state["stream"]["stream_descriptor"]["name"], "pull_request");
        assert_eq!(
            state["stream"]["stream_state"]["cursors"]["acme/w/pull_request"],
            "c"
        );
        assert_eq!(state["sourceStats"]["recordCount"], 2);
        let second = &msgs[5]["state"];
        assert_eq!(
            second["stream"]["stream_state"]["cursors"]
                .as_object()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(second["sourceStats"]["recordCount"], 0);
        assert_eq!(status(&msgs[6]).as_deref(), Some("INCOMPLETE"));
        let trace = error_trace(&ConnectorError::Cancelled {
            connector: "github".into(),
        });
        assert_eq!(trace["trace"]["type"], "ERROR");
        assert_eq!(trace["trace"]["error"]["failure_type"], "system_error");
    }

    #[test]
    fn ndjson_is_just_records() {
        let msgs = lines(Protocol::Ndjson, Vec::new(), |w| {
            w.begin().unwrap();
            w.records(&[record("issue", "issue-1")]).unwrap();
            w.checkpoint("s", "issue", &json!(1)).unwrap();
            w.log("hello").unwrap();
            w.end(true).unwrap();
        });
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0]["type"], "issue");
        assert_eq!(msgs[0]["data"]["n"], 1);
    }

    #[test]
    fn states_of_every_protocol_parse() {
        let plain = parse_state(r#"{"a/b/issue": "t1"}"#).unwrap().cursors;
        let singer = parse_state(r#"{"bookmarks": {"a/b/issue": "t1"}}"#)
            .unwrap()
            .cursors;
        let legacy_airbyte = parse_state(
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a/b/issue"},"stream_state":{"cursor":"t1"}}}]"#,
        )
        .unwrap()
        .cursors;
        assert_eq!(plain, singer);
        assert_eq!(plain, legacy_airbyte);
        let singer_message =
            parse_state(r#"{"type":"STATE","value":{"bookmarks":{"a/b/issue":"t1"}}}"#).unwrap();
        assert_eq!(plain, singer_message.cursors);
        let airbyte = parse_state(
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"issue"},"stream_state":{"cursors":{"a/b/issue":"t1"}}}}]"#,
        )
        .unwrap();
        assert_eq!(plain, airbyte.cursors);
        assert_eq!(airbyte.types["a/b/issue"], "issue");
        for unread in [
            "[1",
            r#"{"type":"GLOBAL","global":{}}"#,
            r#"{"type":"STATE"}"#,
            r#"{"type":"STREAM","stream":{}}"#,
            r#"{"type":"STREAM","stream":{"stream_descriptor":{"name":"issue"},"stream_state":{"cursors":7}}}"#,
            "7",
        ] {
            assert!(parse_state(unread).is_err(), "{unread}");
        }
    }

    #[test]
    fn a_full_refresh_forgets_one_types_cursors() {
        let mut state = parse_state(
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"issue"},"stream_state":{"cursors":{"a/b/issue":"t1"}}}},
                {"type":"STREAM","stream":{"stream_descriptor":{"name":"review"},"stream_state":{"cursors":{"a/b/review":"t2"}}}}]"#,
        )
        .unwrap();
        state.cursors.insert("c/d/issue".into(), json!("t3"));
        state.forget_type("issue");
        assert_eq!(state.cursors.keys().collect::<Vec<_>>(), ["a/b/review"]);
    }
}
