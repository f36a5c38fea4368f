//! What a sync produces: streams, records, checkpoints and the options that shape a run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ConnectorError, FieldError};
use crate::record::ConnectorRecord;

/// One independently resumable unit of a sync, e.g. the pull requests of `acme/widgets`.
///
/// A stream has its own cursor; the engine may run several streams at once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamDescriptor {
    /// Stable name, used as the state key (e.g. `acme/widgets/pull_request`).
    pub name: String,
    /// The resource it reads (e.g. `acme/widgets`).
    pub resource: String,
    /// The record type it yields.
    pub record_type: String,
}

impl StreamDescriptor {
    /// Builds the descriptor for `record_type` of `resource`, named `resource/record_type`.
    pub fn new(resource: impl Into<String>, record_type: impl Into<String>) -> Self {
        let resource = resource.into();
        let record_type = record_type.into();
        Self {
            name: format!("{resource}/{record_type}"),
            resource,
            record_type,
        }
    }
}

/// A stream's resume point: everything before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The stream it belongs to.
    pub stream: String,
    /// Connector-defined cursor (a timestamp, a page token, ...), opaque to the engine.
    pub cursor: serde_json::Value,
}

/// An item of a connector's sync stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncItem {
    /// A record to store.
    Record(ConnectorRecord),
    /// Everything yielded before this item may be committed with this cursor.
    Checkpoint(Checkpoint),
    /// The provider told how many records the stream holds, for progress ETA.
    TotalHint(u64),
}

/// What to sync and from where.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Resources to read (e.g. repositories); `None` means the connector's configured set.
    pub resources: Option<Vec<String>>,
    /// Record types to read; `None` means all the connector supports.
    pub types: Option<Vec<String>>,
    /// Stop after this many records in total.
    pub limit: Option<u64>,
    /// Start point for streams with no stored cursor (connector-defined, e.g. an RFC 3339 time).
    pub start_cursor: Option<String>,
    /// Ignore stored cursors and read everything.
    pub full_refresh: bool,
    /// Read everything (as `full_refresh`), then mark as deleted the stored records of each
    /// type read that the provider no longer lists: for providers that never report deletions.
    /// Needs every resource and no `limit`, and a sink that keeps records.
    pub reconcile: bool,
    /// Stored cursors by stream name, filled in by the engine.
    pub state: BTreeMap<String, serde_json::Value>,
}

impl SyncOptions {
    /// The cursor a stream should resume from: stored state unless `full_refresh`.
    /// A cursor stored with facts beside it ([`facts_for`](Self::facts_for)) comes without them.
    pub fn cursor_for(&self, stream: &str) -> Option<&serde_json::Value> {
        if self.full_refresh {
            None
        } else {
            self.state
                .get(stream)
                .map(crate::incremental::stream_cursor)
        }
    }

    /// Whether `record_type` is selected by `types`.
    pub fn wants_type(&self, record_type: &str) -> bool {
        self.types
            .as_ref()
            .is_none_or(|t| t.iter().any(|x| x == record_type))
    }
}

/// The streams a connector can read: its resources times its record types. A run reads the
/// ones its [`SyncOptions`] select.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog<'a> {
    /// The resources the config names, read when `options.resources` is not set.
    pub resources: Vec<String>,
    /// Every record type the connector has, to name them when a run asks for another.
    pub known_types: &'a [&'a str],
    /// The record types the config enables, in the order streams are read.
    pub enabled_types: Vec<&'a str>,
}

impl Catalog<'_> {
    /// The streams `options` selects: its resources (each checked by `check_resource`) or the
    /// configured ones, times the enabled types it wants. Every unknown type and malformed
    /// resource is reported at once, by index.
    pub fn select(
        &self,
        connector: &str,
        options: &SyncOptions,
        check_resource: impl Fn(&str) -> Result<(), String>,
    ) -> Result<Vec<StreamDescriptor>, ConnectorError> {
        let mut errors = Vec::new();
        let resources = options.resources.as_ref().unwrap_or(&self.resources);
        if options.resources.is_some() {
            for (i, resource) in resources.iter().enumerate() {
                if let Err(message) = check_resource(resource) {
                    errors.push(FieldError::new(format!("resources[{i}]"), message));
                }
            }
        }
        for (i, name) in options.types.iter().flatten().enumerate() {
            if !self.known_types.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    format!("types[{i}]"),
                    format!(
                        "unknown record type {name:?}; {connector} has {}",
                        self.known_types.join(", ")
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ConnectorError::config(connector, errors));
        }
        Ok(resources
            .iter()
            .flat_map(|resource| {
                self.enabled_types
                    .iter()
                    .filter(|t| options.wants_type(t))
                    .map(move |t| StreamDescriptor::new(resource.as_str(), *t))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_refresh_hides_stored_cursors() {
        let mut opts = SyncOptions::default();
        opts.state.insert(
            "a/b/issue".into(),
            serde_json::json!("2024-01-01T00:00:00Z"),
        );
        assert!(opts.cursor_for("a/b/issue").is_some());
        opts.full_refresh = true;
        assert!(opts.cursor_for("a/b/issue").is_none());
    }

    #[test]
    fn types_filter_selects_only_named_types() {
        let opts = SyncOptions {
            types: Some(vec!["issue".into()]),
            ..Default::default()
        };
        assert!(opts.wants_type("issue"));
        assert!(!opts.wants_type("pull_request"));
        assert!(SyncOptions::default().wants_type("anything"));
    }

    fn catalog() -> Catalog<'static> {
        Catalog {
            resources: vec!["a/b".into(), "c/d".into()],
            known_types: &["issue", "commit", "review"],
            enabled_types: vec!["issue", "commit"],
        }
    }

    fn no_slash(resource: &str) -> Result<(), String> {
        if resource.contains('/') {
            Ok(())
        } else {
            Err(format!("{resource:?} is not owner/name"))
        }
    }

    #[test]
    fn a_catalog_selects_resources_times_enabled_wanted_types() {
        let names = |options: &SyncOptions| -> Vec<String> {
            catalog()
                .select("demo", options, no_slash)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        assert_eq!(
            names(&SyncOptions::default()),
            ["a/b/issue", "a/b/commit", "c/d/issue", "c/d/commit"]
        );
        let narrowed = SyncOptions {
            resources: Some(vec!["x/y".into()]),
            types: Some(vec!["commit".into(), "review".into()]),
            ..Default::default()
        };
        assert_eq!(
            names(&narrowed),
            ["x/y/commit"],
            "review is known but not enabled"
        );
    }

    #[test]
    fn unknown_types_and_malformed_resources_are_all_named_by_index() {
        let options = SyncOptions {
            resources: Some(vec!["x/y".into(), "bad".into()]),
            types: Some(vec!["issue".into(), "wiki".into()]),
            ..Default::default()
        };
        let err = catalog().select("demo", &options, no_slash).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("resources[1]: \"bad\" is not owner/name"),
            "{text}"
        );
        assert!(
            text.contains("types[1]: unknown record type \"wiki\"; demo has issue, commit, review"),
            "{text}"
        );
    }
}
