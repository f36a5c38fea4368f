//! Sync: the configured projects (or one JQL filter) times issues, comments and changelog
//! entries, plus the projects themselves.
//!
//! | stream | requests | cursor |
//! |---|---|---|
//! | `workspace/project` | `project/search` (`keys=` the configured projects, `expand=insight`) | none: every run lists them |
//! | `<KEY or jql>/issue` | `search/jql`, `<scope> AND updated >= "<cursor − window>" ORDER BY updated ASC, key ASC`, by `nextPageToken` | a `Mark`: the newest `updated` read and the issues read at it |
//! | `<KEY or jql>/comment` | the same search (`fields=updated`), then each changed issue's `comment` pages (`startAt`, with totals) | the issues' mark |
//! | `<KEY or jql>/changelog` | the same search, then each changed issue's `changelog` pages | the issues' mark |
//!
//! JQL dates are minutes in the user's time zone (read once from `myself`), and search is
//! eventually consistent, so each run reads again from `safety_window_minutes` before its
//! cursor, rounded down to the minute; issues read again are upserted unchanged, and those at
//! the cursor's own time are skipped by the mark. Nothing updated within the cursor's minute is
//! lost. The removed `/search` endpoint is never called.
//!
//! Requests when nothing changed: the user's time zone, the projects, and one search per
//! issue, comment and changelog stream, plus the comments and history of any issue changed in
//! the window before the cursor.
//!
//! Known limits: Jira lists no deleted issue or comment; their webhooks make the tombstones. A
//! deleted issue's changelog entries stay stored (the issue's tombstone says it is gone); a
//! reconciling sync (`gwi sync jira --reconcile`) tombstones them too.

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use gwi_core::error::ConnectorError;
use gwi_core::http::ApiClient;
use gwi_core::incremental::{
    Listed, Listing, Mark, Paging, Step, Steps, StoredCursor, ascending, read_cursor, sync_items,
};
use gwi_core::pagination::{Offset, PaginateOptions, paginate_json};
use gwi_core::stream::{Catalog, Checkpoint, StreamDescriptor, SyncItem, SyncOptions};
use serde::de::DeserializeOwned;

use super::api::{DETAIL_PAGE, JiraApi, Site, SiteCache, next_token};
use super::config::{JiraConfig, RecordType, is_project_key};
use super::models::{CommentPage, HistoryPage, Issue, IssueStamp, ProjectPage, SearchPage};
use super::records::{self, OnIssue, SOURCE};

/// The resource of the project stream.
pub(crate) const WORKSPACE: &str = "workspace";
/// The resource of a config's JQL filter.
pub(crate) const JQL: &str = "jql";

/// The scopes issues are read in: the configured projects, or the JQL filter.
fn scopes(config: &JiraConfig) -> Vec<String> {
    match &config.projects {
        Some(projects) => projects.clone(),
        None => vec![JQL.to_owned()],
    }
}

/// The JQL clause choosing `resource`'s issues.
pub(crate) fn scope_jql(config: &JiraConfig, resource: &str) -> String {
    match (&config.jql, resource) {
        (Some(jql), JQL) => jql.clone(),
        _ => format!("project = \"{resource}\""),
    }
}

/// The JQL clause choosing every issue the config syncs.
pub(crate) fn all_scopes_jql(config: &JiraConfig) -> String {
    match (&config.jql, &config.projects) {
        (Some(jql), _) => jql.clone(),
        (None, Some(projects)) => {
            let keys: Vec<String> = projects.iter().map(|k| format!("\"{k}\"")).collect();
            format!("project in ({})", keys.join(", "))
        }
        (None, None) => String::new(),
    }
}

/// The streams a run with `options` reads.
pub(crate) fn streams(
    config: &JiraConfig,
    options: &SyncOptions,
) -> Result<Vec<StreamDescriptor>, ConnectorError> {
    let mut resources = vec![WORKSPACE.to_owned()];
    resources.extend(scopes(config));
    let catalog = Catalog {
        resources,
        known_types: RecordType::NAMES,
        enabled_types: config
            .enabled_types()
            .into_iter()
            .map(RecordType::as_str)
            .collect(),
    };
    let jql = config.jql.is_some();
    let streams = catalog.select(SOURCE, options, |name| {
        if name == WORKSPACE || (jql && name == JQL) || (!jql && is_project_key(name)) {
            Ok(())
        } else if jql {
            Err(format!(
                "{name:?}: with `jql` configured, the resources are `{JQL}` and `{WORKSPACE}`"
            ))
        } else {
            Err(format!(
                "{name:?} is not a project key (ENG), nor `{WORKSPACE}` for the projects"
            ))
        }
    })?;
    Ok(streams
        .into_iter()
        .filter(|s| (s.resource == WORKSPACE) == (s.record_type == RecordType::Project.as_str()))
        .collect())
}

/// What one stream's walk needs.
#[derive(Clone, Copy)]
pub(crate) struct Run<'a> {
    pub api: &'a JiraApi,
    pub config: &'a JiraConfig,
    pub site: &'a SiteCache,
    pub client: &'a ApiClient,
    pub stream: &'a StreamDescriptor,
    pub options: &'a SyncOptions,
}

/// Reads one stream.
pub(crate) fn sync(run: Run<'_>) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let record_type = RecordType::parse(&run.stream.record_type).ok_or_else(|| {
            ConnectorError::validation(
                SOURCE,
                "stream.record_type",
                format!("unknown record type {:?}", run.stream.record_type),
            )
        })?;
        let mut items = match record_type {
            RecordType::Project => projects(run),
            _ => {
                let since = read_cursor::<Mark>(SOURCE, run.stream, run.options)?.unwrap_or_default();
                let site = run.site.get(run.config, run.api, run.client).await?;
                match record_type {
                    RecordType::Issue => issues(run, site, since),
                    RecordType::Comment => details(run, site, since, Detail::Comments),
                    _ => details(run, site, since, Detail::Changelog),
                }
            }
        };
        while let Some(item) = items.next().await {
            yield item?;
        }
    })
}

/// The configured projects (every project for a JQL filter), with their activity.
fn projects(run: Run<'_>) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let page = DETAIL_PAGE.to_string();
    let mut first = run
        .api
        .get(&["project", "search"])
        .query(&[("expand", "insight"), ("maxResults", page.as_str())]);
    for key in run.config.projects.iter().flatten() {
        first = first.query(&[("keys", key.as_str())]);
    }
    let paginator = Offset::new(DETAIL_PAGE).items_at("/values");
    let pages =
        paginate_json::<ProjectPage, _>(run.client, first, paginator, PaginateOptions::default());
    Box::pin(async_stream::try_stream! {
        let mut pages = pages;
        while let Some(page) = pages.next().await {
            for project in page?.1.values {
                yield SyncItem::Record(records::project(&project)?);
            }
        }
    })
}

/// The issues of the stream's scope changed since `since` (minus the window), oldest first.
fn changed<'a, T: DeserializeOwned + Send + 'static>(
    run: Run<'a>,
    site: Site,
    since: Mark,
    fields: String,
    key: fn(&T) -> (DateTime<Utc>, String),
) -> Steps<'a, T, Mark> {
    let scope = scope_jql(run.config, &run.stream.resource);
    let window = Duration::minutes(i64::from(run.config.safety_window_minutes));
    ascending(since, Paging::Cursor, key, move |since| -> Listing<'a, T> {
        let jql = site.jql(&scope, since, window);
        let first = run.api.search(&jql, &fields);
        Box::pin(
            paginate_json::<SearchPage<T>, _>(
                run.client,
                first,
                next_token(),
                PaginateOptions::default(),
            )
            .map(|page| page.map(|(page, body)| Listed::from_page(&page, body.issues))),
        )
    })
}

fn issues(
    run: Run<'_>,
    site: Site,
    since: Mark,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let custom = site.custom.clone();
    let fields = site.fields();
    let steps = changed(run, site, since, fields, |i: &Issue| {
        (i.fields.updated, i.id.clone())
    });
    sync_items(
        steps,
        &run.stream.name,
        move |issue| records::issue(&issue, &custom).map(Some),
        |mark| mark.stored(),
    )
}

/// What a detail stream reads of each changed issue.
#[derive(Clone, Copy)]
enum Detail {
    Comments,
    Changelog,
}

/// Each changed issue's comments or history entries, all of them (an upsert absorbs those
/// read before). A page of issues is checkpointed only after its issues' details are yielded.
fn details(
    run: Run<'_>,
    site: Site,
    since: Mark,
    detail: Detail,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let mut steps = changed(run, site, since, "updated".to_owned(), |i: &IssueStamp| {
        (i.fields.updated, i.id.clone())
    });
    Box::pin(async_stream::try_stream! {
        while let Some(step) = steps.next().await {
            match step? {
                Step::Item(issue) => {
                    let on = OnIssue { id: &issue.id, key: &issue.key };
                    match detail {
                        Detail::Comments => {
                            let first = run.api.get(&["issue", &issue.id, "comment"]).query(&[("orderBy", "created")]);
                            let paginator = Offset::new(DETAIL_PAGE).items_at("/comments");
                            let mut pages = paginate_json::<CommentPage, _>(run.client, first, paginator, PaginateOptions::default());
                            while let Some(page) = pages.next().await {
                                for comment in page?.1.comments {
                                    yield SyncItem::Record(records::comment(&comment, on)?);
                                }
                            }
                        }
                        Detail::Changelog => {
                            let first = run.api.get(&["issue", &issue.id, "changelog"]);
                            let paginator = Offset::new(DETAIL_PAGE).items_at("/values");
                            let mut pages = paginate_json::<HistoryPage, _>(run.client, first, paginator, PaginateOptions::default());
                            while let Some(page) = pages.next().await {
                                for history in page?.1.values {
                                    yield SyncItem::Record(records::changelog(&history, on)?);
                                }
                            }
                        }
                    }
                }
                Step::Checkpoint(mark) => yield SyncItem::Checkpoint(Checkpoint {
                    stream: run.stream.name.clone(),
                    cursor: mark.stored(),
                }),
                Step::Total(total) => yield SyncItem::TotalHint(total),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projects_and_a_jql_filter_make_their_streams() {
        let config: JiraConfig = serde_json::from_value(
            json!({"projects": ["ENG", "OPS"], "types": ["project", "issue"]}),
        )
        .unwrap();
        let names: Vec<String> = streams(&config, &SyncOptions::default())
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["workspace/project", "ENG/issue", "OPS/issue"]);
        assert_eq!(all_scopes_jql(&config), "project in (\"ENG\", \"OPS\")");
        let jql: JiraConfig =
            serde_json::from_value(json!({"jql": "type != Epic", "types": ["comment"]})).unwrap();
        let names: Vec<String> = streams(&jql, &SyncOptions::default())
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["jql/comment"]);
        assert_eq!(scope_jql(&jql, JQL), "type != Epic");
    }
}
