//! Sync: one stream per record type, all in the workspace (`workspace/issue`, ...).
//!
//! Every stream runs one query of its own (`queries.rs`): `orderBy: updatedAt`,
//! `includeArchived: true`, and `filter: { updatedAt: { gte: <cursor> } }` plus the configured
//! teams, paged by `pageInfo.endCursor` at `page_size` nodes. The walk is the SDK's
//! `newest_first`: the cursor moves only once the listing is read to its end, to the newest
//! `updatedAt` read, never past the answer's `Date`. That holds whichever way Linear orders
//! (its documentation leaves the direction open): an object changed during the walk either
//! comes later in it or, newer than anything read, comes again in the next run; a run that
//! stops early keeps the old cursor and reads again from it.
//!
//! Requests when nothing changed: one per stream (the objects at the cursor's own time come
//! again, one page). Each answer's `X-Complexity` is logged at debug level, to tune `page_size`.
//!
//! Known limit: a deleted (not archived) object vanishes from every listing; only the
//! `remove` webhook tells of it, and it becomes a tombstone then.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use gwi_core::error::ConnectorError;
use gwi_core::graphql::GraphQl;
use gwi_core::http::ApiClient;
use gwi_core::incremental::{
    Listed, Listing, NewestFirst, newest_first, read_cursor, sync_items, time_value,
};
use gwi_core::pagination::PaginateOptions;
use gwi_core::stream::{Catalog, StreamDescriptor, SyncItem, SyncOptions};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::config::{LinearConfig, RecordType};
use super::models::{Comment, Cycle, Issue, Project, Team, User};
use super::queries;
use super::records::{self, RecordResult, SOURCE};

/// The resource of every stream: Linear's objects belong to the workspace.
pub(crate) const WORKSPACE: &str = "workspace";

/// The streams a run with `options` reads: one per enabled record type.
pub(crate) fn streams(
    config: &LinearConfig,
    options: &SyncOptions,
) -> Result<Vec<StreamDescriptor>, ConnectorError> {
    let catalog = Catalog {
        resources: vec![WORKSPACE.to_owned()],
        known_types: RecordType::NAMES,
        enabled_types: config
            .enabled_types()
            .into_iter()
            .map(RecordType::as_str)
            .collect(),
    };
    catalog.select(SOURCE, options, |name| {
        if name == WORKSPACE {
            Ok(())
        } else {
            Err(format!(
                "{name:?} is not a Linear resource; every stream is in `{WORKSPACE}` (narrow by team with `teams` in the config)"
            ))
        }
    })
}

/// What one stream's walk needs.
#[derive(Clone, Copy)]
pub(crate) struct Run<'a> {
    pub api: &'a GraphQl,
    pub config: &'a LinearConfig,
    pub client: &'a ApiClient,
    pub stream: &'a StreamDescriptor,
    pub options: &'a SyncOptions,
}

/// Reads one stream.
pub(crate) fn sync(run: Run<'_>) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let Some(record_type) = RecordType::parse(&run.stream.record_type) else {
        let error = ConnectorError::validation(
            SOURCE,
            "stream.record_type",
            format!("unknown record type {:?}", run.stream.record_type),
        );
        return Box::pin(futures::stream::once(async { Err(error) }));
    };
    match record_type {
        RecordType::Team => walk::<Team>(run, record_type, |t| t.updated_at, records::team),
        RecordType::User => walk::<User>(run, record_type, |u| u.updated_at, records::user),
        RecordType::Project => {
            walk::<Project>(run, record_type, |p| p.updated_at, records::project)
        }
        RecordType::Cycle => walk::<Cycle>(run, record_type, |c| c.updated_at, records::cycle),
        RecordType::Issue => walk::<Issue>(run, record_type, |i| i.updated_at, records::issue),
        RecordType::Comment => {
            walk::<Comment>(run, record_type, |c| c.updated_at, records::comment)
        }
    }
}

/// The objects of `record_type` changed since the stream's cursor.
fn walk<'a, T: DeserializeOwned + Send + 'static>(
    run: Run<'a>,
    record_type: RecordType,
    time: fn(&T) -> DateTime<Utc>,
    map: fn(&T) -> RecordResult,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    let since = match read_cursor::<DateTime<Utc>>(SOURCE, run.stream, run.options) {
        Ok(since) => since,
        Err(e) => return Box::pin(futures::stream::once(async { Err(e) })),
    };
    let (field, query) = queries::listing(record_type);
    let steps = newest_first(
        since,
        NewestFirst::by(time),
        move |since| -> Listing<'a, T> {
            let variables = json!({
                "first": run.config.page_size,
                "filter": queries::filter(record_type, since, run.config.teams.as_deref()),
            });
            let pages = run.api.connection::<T>(
                run.client,
                query,
                field,
                variables,
                PaginateOptions::default(),
            );
            Box::pin(pages.map_ok(move |(page, nodes)| {
            if let Some(cost) = page.response.header("x-complexity") {
                tracing::debug!(
                    connector = SOURCE,
                    query = field,
                    complexity = cost,
                    nodes = nodes.len(),
                    "query complexity (lower page_size if Linear refuses queries as too complex)"
                );
            }
            Listed::from_page(&page, nodes)
        }))
        },
    );
    Box::pin(sync_items(
        steps,
        &run.stream.name,
        move |item| map(&item).map(Some),
        time_value,
    ))
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stream_is_in_the_workspace_and_other_resources_are_refused() {
        let config: LinearConfig =
            serde_json::from_value(json!({"types": ["issue", "team"]})).unwrap();
        let names: Vec<String> = streams(&config, &SyncOptions::default())
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["workspace/team", "workspace/issue"]);
        let options = SyncOptions {
            resources: Some(vec!["ENG".into()]),
            ..SyncOptions::default()
        };
        let text = streams(&config, &options).unwrap_err().to_string();
        assert!(
            text.contains("resources[0]") && text.contains("teams"),
            "{text}"
        );
    }
}
