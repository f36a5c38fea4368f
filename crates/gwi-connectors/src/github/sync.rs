//! Sync: one stream per (repository, record type), each paginated through `Link` headers and
//! resumed from its own cursor.
//!
//! Cursor semantics per stream (all times RFC 3339, UTC, whole seconds):
//!
//! | stream         | request                                      | cursor after a page | cursor at the end      |
//! |----------------|----------------------------------------------|---------------------|------------------------|
//! | `issue`        | `since`, sorted by `updated` ascending       | page's max `updated_at` | same               |
//! | `comment`      | issue comments, then review comments, each `since` ascending; cursor `{issue_comments, review_comments}` | that endpoint's max `updated_at` | same |
//! | `pull_request` | sorted by `updated` descending, stop at cursor | the old cursor    | newest `updated_at` seen |
//! | `review`       | pull requests as above, then each one's reviews | the old cursor   | newest pull request `updated_at` |
//! | `commit`       | `since` (newest first)                       | the old cursor      | newest committer date  |
//! | `workflow_run` | `created>=` (newest first)                   | the old cursor      | newest `created_at`, held back to the oldest unfinished run |
//!
//! GitHub's `since` and `created>=` are inclusive, so the record at the cursor comes again on the
//! next run; upserts are idempotent, so that costs one record, never a loss.
//!
//! Known limits of GitHub's listings: an ascending listing is paged by offset, so an item
//! updated *during* a run moves to the end and can shift an unread item onto a page already
//! read (a `--full-refresh` run recovers it); and `since` on commits filters by committer date,
//! so commits merged from an older branch are missed by incremental runs (`push` webhooks
//! carry them).

use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use gwi_core::error::{ConnectorError, FieldError};
use gwi_core::http::{ApiClient, HttpRequest};
use gwi_core::pagination::{LinkHeader, Page, PaginateOptions, paginate_json};
use gwi_core::stream::{Checkpoint, StreamDescriptor, SyncItem, SyncOptions};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::config::{GithubConfig, RecordType, Repository};
use super::core::{GithubApi, PER_PAGE};
use super::models::{
    Commit, Issue, IssueComment, PullRequest, Review, ReviewComment, WorkflowRunsPage,
};
use super::records::{self, SOURCE};

/// Read-ahead for listings that are always read to their end: one page decoded while the
/// previous one is turned into records.
const WALK_TO_END: usize = 1;

/// The streams a run with `options` reads: selected repositories x enabled, selected types.
pub(crate) fn streams(
    config: &GithubConfig,
    options: &SyncOptions,
) -> Result<Vec<StreamDescriptor>, ConnectorError> {
    let mut errors = Vec::new();
    let repositories = match &options.resources {
        None => config.repositories.clone(),
        Some(names) => names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                Repository::parse(name)
                    .map_err(|e| errors.push(FieldError::new(format!("resources[{i}]"), e)))
                    .ok()
            })
            .collect(),
    };
    for (i, name) in options.types.iter().flatten().enumerate() {
        if RecordType::parse(name).is_none() {
            errors.push(FieldError::new(
                format!("types[{i}]"),
                format!(
                    "unknown record type {name:?}; GitHub has {}",
                    RecordType::ALL.map(RecordType::as_str).join(", ")
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ConnectorError::config(SOURCE, errors));
    }
    let types: Vec<RecordType> = config
        .enabled_types()
        .into_iter()
        .filter(|t| options.wants_type(t.as_str()))
        .collect();
    Ok(repositories
        .iter()
        .flat_map(|repo| {
            types
                .iter()
                .map(move |t| StreamDescriptor::new(repo.as_str(), t.as_str()))
        })
        .collect())
}

/// Reads one stream.
pub(crate) fn sync<'a>(
    api: &'a GithubApi,
    client: &'a ApiClient,
    stream: &'a StreamDescriptor,
    options: &'a SyncOptions,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    let setup = || -> Result<(StreamRun<'a>, RecordType), ConnectorError> {
        let repo = Repository::parse(&stream.resource)
            .map_err(|e| ConnectorError::validation(SOURCE, "stream.resource", e))?;
        let record_type = RecordType::parse(&stream.record_type).ok_or_else(|| {
            ConnectorError::validation(
                SOURCE,
                "stream.record_type",
                format!("unknown record type {:?}", stream.record_type),
            )
        })?;
        let run = StreamRun {
            api,
            client,
            repo,
            name: &stream.name,
        };
        Ok((run, record_type))
    };
    let (run, record_type) = match setup() {
        Ok(ok) => ok,
        Err(e) => return Box::pin(futures::stream::once(async { Err(e) })),
    };
    let cursor = match start_cursor(stream, options) {
        Ok(cursor) => cursor,
        Err(e) => return Box::pin(futures::stream::once(async { Err(e) })),
    };
    match record_type {
        RecordType::Issue => issues(run, cursor.single()),
        RecordType::Comment => comments(run, cursor),
        RecordType::PullRequest => pull_requests(run, cursor.single()),
        RecordType::Review => reviews(run, cursor.single()),
        RecordType::Commit => commits(run, cursor.single()),
        RecordType::WorkflowRun => workflow_runs(run, cursor.single()),
    }
}

/// What one stream's functions need.
struct StreamRun<'a> {
    api: &'a GithubApi,
    client: &'a ApiClient,
    repo: Repository,
    name: &'a str,
}

impl<'a> StreamRun<'a> {
    /// A first-page request for `base/repos/{repo}/{path}` at the maximum page size.
    fn list(&self, path: &[&str], params: &[(&str, &str)]) -> HttpRequest {
        super::core::request(self.api.repo_url(&self.repo, path))
            .query(&[("per_page", PER_PAGE)])
            .query(params)
    }

    /// The pages of a `Link`-paginated listing, decoded as `T`, `read_ahead` pages ahead.
    fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        first: HttpRequest,
        read_ahead: usize,
    ) -> BoxStream<'a, Result<(Page, T), ConnectorError>> {
        let options = PaginateOptions {
            read_ahead,
            ..PaginateOptions::default()
        };
        paginate_json(self.client, first, LinkHeader::new(), options)
    }

    fn checkpoint(&self, cursor: Value) -> SyncItem {
        SyncItem::Checkpoint(Checkpoint {
            stream: self.name.to_owned(),
            cursor,
        })
    }

    fn repository(&self) -> &str {
        self.repo.as_str()
    }
}

/// Where a stream starts: its stored cursor, else `options.start_cursor`, else the beginning.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct StartCursor {
    /// The time for single-cursor streams, and for issue comments.
    main: Option<DateTime<Utc>>,
    /// The time for pull request review comments (the `comment` stream's second endpoint).
    review_comments: Option<DateTime<Utc>>,
}

impl StartCursor {
    fn single(self) -> Option<DateTime<Utc>> {
        self.main
    }
}

fn start_cursor(
    stream: &StreamDescriptor,
    options: &SyncOptions,
) -> Result<StartCursor, ConnectorError> {
    let stored_error = |detail: String| {
        ConnectorError::validation(
            SOURCE,
            format!("state.{}", stream.name),
            format!(
                "the stored cursor is not one this connector wrote ({detail}); reset it with `gwi state reset github --stream {}`",
                stream.name
            ),
        )
    };
    match options.cursor_for(&stream.name) {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => {
            let time = parse_time(text).map_err(stored_error)?;
            return Ok(StartCursor {
                main: Some(time),
                review_comments: Some(time),
            });
        }
        Some(Value::Object(parts)) => {
            let part = |key: &str| match parts.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => parse_time(text).map(Some).map_err(stored_error),
                Some(other) => Err(stored_error(format!("{key} is {other}"))),
            };
            return Ok(StartCursor {
                main: part("issue_comments")?,
                review_comments: part("review_comments")?,
            });
        }
        Some(other) => return Err(stored_error(format!("found {other}"))),
    }
    match &options.start_cursor {
        None => Ok(StartCursor::default()),
        Some(text) => {
            let time = parse_time(text).map_err(|e| {
                ConnectorError::config(SOURCE, vec![FieldError::new("start_cursor", e)])
            })?;
            Ok(StartCursor {
                main: Some(time),
                review_comments: Some(time),
            })
        }
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2024-01-31T00:00:00Z: {e}"))
}

/// A cursor as stored: whole seconds (GitHub's precision; truncating only moves it earlier).
fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn time_value(time: Option<DateTime<Utc>>) -> Value {
    time.map_or(Value::Null, |t| Value::String(format_time(t)))
}

/// Issues, oldest change first, from `since`; pull requests in the listing are skipped.
fn issues(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut cursor = since;
        let since_text = since.map(format_time);
        let mut params = vec![("state", "all"), ("sort", "updated"), ("direction", "asc")];
        if let Some(text) = &since_text {
            params.push(("since", text));
        }
        let mut pages = run.pages::<Vec<Issue>>(run.list(&["issues"], &params), WALK_TO_END);
        while let Some(page) = pages.next().await {
            let (_, items) = page?;
            for item in &items {
                // Pull requests count for the cursor: the listing is ordered over both.
                cursor = cursor.max(Some(item.updated_at));
                if !item.is_pull_request() {
                    yield SyncItem::Record(records::issue(item, run.repository())?);
                }
            }
            // Ascending order: everything up to this page's newest change is yielded.
            yield run.checkpoint(time_value(cursor));
        }
    })
}

/// Issue comments, then pull request review comments, each oldest change first from its own
/// `since`; the cursor holds both times so neither endpoint skips the other's records.
fn comments(
    run: StreamRun<'_>,
    start: StartCursor,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut issue_cursor = start.main;
        let mut review_cursor = start.review_comments;
        let cursor = |issue: Option<DateTime<Utc>>, review: Option<DateTime<Utc>>| {
            json!({ "issue_comments": time_value(issue), "review_comments": time_value(review) })
        };

        let since_text = issue_cursor.map(format_time);
        let mut params = vec![("sort", "updated"), ("direction", "asc")];
        if let Some(text) = &since_text {
            params.push(("since", text));
        }
        let mut pages = run.pages::<Vec<IssueComment>>(run.list(&["issues", "comments"], &params), WALK_TO_END);
        while let Some(page) = pages.next().await {
            let (_, items) = page?;
            for item in &items {
                issue_cursor = issue_cursor.max(Some(item.updated_at));
                yield SyncItem::Record(records::issue_comment(item, run.repository())?);
            }
            yield run.checkpoint(cursor(issue_cursor, review_cursor));
        }

        let since_text = review_cursor.map(format_time);
        let mut params = vec![("sort", "updated"), ("direction", "asc")];
        if let Some(text) = &since_text {
            params.push(("since", text));
        }
        let mut pages = run.pages::<Vec<ReviewComment>>(run.list(&["pulls", "comments"], &params), WALK_TO_END);
        while let Some(page) = pages.next().await {
            let (_, items) = page?;
            for item in &items {
                review_cursor = review_cursor.max(Some(item.updated_at));
                yield SyncItem::Record(records::review_comment(item, run.repository())?);
            }
            yield run.checkpoint(cursor(issue_cursor, review_cursor));
        }
    })
}

/// The pulls listing newest change first; GitHub's pulls endpoint has no `since`.
fn pulls_request(run: &StreamRun<'_>) -> HttpRequest {
    run.list(
        &["pulls"],
        &[("state", "all"), ("sort", "updated"), ("direction", "desc")],
    )
}

/// Pages of pull requests changed at or after `since`, newest change first, each with whether
/// it was the last (the walk reached an older one: GitHub's pulls endpoint has no `since`).
fn pulls_since<'a>(
    run: &'a StreamRun<'a>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'a, Result<(Vec<PullRequest>, bool), ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        // Without a cursor the walk reads every page; with one it stops early, and pages read
        // ahead would be requests wasted.
        let read_ahead = if since.is_none() { WALK_TO_END } else { 0 };
        let mut pages = run.pages::<Vec<PullRequest>>(pulls_request(run), read_ahead);
        while let Some(page) = pages.next().await {
            let (_, mut pulls) = page?;
            let reached_cursor = since.and_then(|c| pulls.iter().position(|p| p.updated_at < c));
            if let Some(at) = reached_cursor {
                pulls.truncate(at);
            }
            yield (pulls, reached_cursor.is_some());
            if reached_cursor.is_some() {
                // Dropping the page stream stops fetching: older pages hold nothing new.
                break;
            }
        }
    })
}

/// Pull requests changed since the cursor, newest change first, stopping at the cursor.
///
/// The listing is newest first, so until it is finished the records not yet read are *older*
/// than those already yielded: a checkpoint saying "up to the newest seen" would skip them if
/// the run stopped now. Page checkpoints therefore repeat the old cursor (they only let the
/// engine commit the page), and the newest `updated_at` is saved once the listing reached the
/// old cursor or its end.
fn pull_requests(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut newest = since;
        let mut pages = pulls_since(&run, since);
        while let Some(page) = pages.next().await {
            let (pulls, last) = page?;
            for pull in pulls {
                newest = newest.max(Some(pull.updated_at));
                yield SyncItem::Record(records::pull_request(&pull, run.repository())?);
            }
            if !last {
                yield run.checkpoint(time_value(since));
            }
        }
        yield run.checkpoint(time_value(newest));
    })
}

/// Reviews of the pull requests changed since the cursor (one request per pull request, so
/// only those), with the same newest-first cursor rule as [`pull_requests`].
fn reviews(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut newest = since;
        let mut pages = pulls_since(&run, since);
        while let Some(page) = pages.next().await {
            let (pulls, last) = page?;
            for pull in pulls {
                newest = newest.max(Some(pull.updated_at));
                let number = pull.number.to_string();
                let mut review_pages = run.pages::<Vec<Review>>(run.list(&["pulls", &number, "reviews"], &[]), 0);
                while let Some(review_page) = review_pages.next().await {
                    let (_, items) = review_page?;
                    for item in &items {
                        yield SyncItem::Record(records::review(item, pull.updated_at, run.repository())?);
                    }
                }
            }
            if !last {
                yield run.checkpoint(time_value(since));
            }
        }
        yield run.checkpoint(time_value(newest));
    })
}

/// Commits of the default branch with a commit date from `since`, newest first.
///
/// Newest first, so the cursor advances only at the end (see [`pull_requests`]). An empty
/// repository answers 409: no commits.
fn commits(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut newest = since;
        let since_text = since.map(format_time);
        let params: Vec<(&str, &str)> = since_text.iter().map(|t| ("since", t.as_str())).collect();
        let mut pages = run.pages::<Vec<Commit>>(run.list(&["commits"], &params), WALK_TO_END);
        while let Some(page) = pages.next().await {
            let items = match page {
                Ok((_, items)) => items,
                Err(ConnectorError::Api { status: 409, .. }) => break,
                Err(e) => Err(e)?,
            };
            for item in &items {
                newest = newest.max(Some(item.commit.committer.date));
                yield SyncItem::Record(records::commit(item, run.repository())?);
            }
            yield run.checkpoint(time_value(since));
        }
        yield run.checkpoint(time_value(newest));
    })
}

/// Workflow runs created from the cursor on, newest first, with GitHub's `total_count` as a hint.
///
/// Runs change after they are created (queued, in progress, completed) but are filtered by
/// `created`, so the end cursor is held back to the oldest run not yet completed: the next run
/// fetches it again and sees its outcome.
fn workflow_runs(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut newest: Option<DateTime<Utc>> = None;
        let mut oldest_unfinished: Option<DateTime<Utc>> = None;
        let created = since.map(|t| format!(">={}", format_time(t)));
        let params: Vec<(&str, &str)> = created.iter().map(|c| ("created", c.as_str())).collect();
        let mut pages = run.pages::<WorkflowRunsPage>(run.list(&["actions", "runs"], &params), WALK_TO_END);
        let mut first = true;
        while let Some(page) = pages.next().await {
            let (_, body) = page?;
            if first {
                first = false;
                yield SyncItem::TotalHint(body.total_count);
            }
            for item in &body.workflow_runs {
                newest = newest.max(Some(item.created_at));
                if item.status.as_deref() != Some("completed") {
                    oldest_unfinished = Some(oldest_unfinished.map_or(item.created_at, |t| t.min(item.created_at)));
                }
                yield SyncItem::Record(records::workflow_run(item, run.repository())?);
            }
            yield run.checkpoint(time_value(since));
        }
        let end = match (newest, oldest_unfinished) {
            (Some(newest), Some(unfinished)) => Some(newest.min(unfinished)),
            (Some(newest), None) => Some(newest),
            (None, _) => since,
        };
        yield run.checkpoint(time_value(end.max(since)));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor() -> StreamDescriptor {
        StreamDescriptor::new("a/b", "comment")
    }

    #[test]
    fn stored_cursor_wins_over_start_cursor_unless_full_refresh() {
        let mut options = SyncOptions {
            start_cursor: Some("2020-01-01T00:00:00Z".into()),
            ..Default::default()
        };
        options.state.insert(
            "a/b/comment".into(),
            json!({"issue_comments": "2024-01-01T00:00:00Z", "review_comments": null}),
        );
        let cursor = start_cursor(&descriptor(), &options).unwrap();
        assert_eq!(
            cursor.main,
            Some(parse_time("2024-01-01T00:00:00Z").unwrap())
        );
        assert_eq!(cursor.review_comments, None);
        options.full_refresh = true;
        let cursor = start_cursor(&descriptor(), &options).unwrap();
        assert_eq!(
            cursor.main,
            Some(parse_time("2020-01-01T00:00:00Z").unwrap())
        );
    }

    #[test]
    fn a_foreign_stored_cursor_is_refused_with_the_fix() {
        let mut options = SyncOptions::default();
        options.state.insert("a/b/comment".into(), json!(42));
        let err = start_cursor(&descriptor(), &options).unwrap_err();
        assert!(err.to_string().contains("gwi state reset"), "{err}");
    }

    #[test]
    fn a_bad_start_cursor_is_a_config_error() {
        let options = SyncOptions {
            start_cursor: Some("yesterday".into()),
            ..Default::default()
        };
        let err = start_cursor(&descriptor(), &options).unwrap_err();
        assert_eq!(err.kind(), "config");
    }

    #[test]
    fn cursors_are_stored_in_whole_seconds() {
        let t = parse_time("2024-05-06T07:08:09.999Z").unwrap();
        assert_eq!(format_time(t), "2024-05-06T07:08:09Z");
    }
}
