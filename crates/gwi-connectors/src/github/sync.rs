//! Sync: one stream per (repository, record type), each paginated through `Link` headers and
//! resumed from its own cursor.
//!
//! Each stream is one of gwi's incremental strategies (`gwi_core::incremental`); the table says
//! which, and what the stored cursor is (RFC 3339 times, UTC):
//!
//! | stream         | strategy and request                                   | cursor |
//! |----------------|--------------------------------------------------------|--------|
//! | `issue`        | ascending, keyset re-query on `since`, sort `updated`  | newest `updated_at` read |
//! | `comment`      | the same, issue comments then review comments          | `{issue_comments, review_comments}`, one time each |
//! | `pull_request` | newest first, sort `updated` descending, stop at the cursor | newest `updated_at`, once the walk ends |
//! | `review`       | pull requests as above, then each one's reviews        | newest pull request `updated_at` |
//! | `commit`       | newest first from `since`                              | newest committer date |
//! | `workflow_run` | newest first from `created>=`, in `created` windows past GitHub's 1,000 | newest `created_at`, held back to the oldest unfinished run |
//!
//! GitHub's `since` and `created>=` are inclusive, so the record at the cursor comes again on the
//! next run; upserts are idempotent, so that costs one record, never a loss. No cursor moves
//! past the response's `Date`.
//!
//! Known limit: `since` on commits filters by committer date, so commits merged from an older
//! branch are missed by incremental runs (`push` webhooks carry them).

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, SecondsFormat, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use gwi_core::error::ConnectorError;
use gwi_core::http::{ApiClient, HttpRequest};
use gwi_core::incremental::{
    Listed, Listing, Mark, NewestFirst, Paging, PairCursor, PairNames, Step, Steps, StoredCursor,
    Window, ascending, listing, newest_first, newest_first_in_windows, read_cursor, sync_items,
    time_value,
};
use gwi_core::pagination::{LinkHeader, Page, PaginateOptions, paginate_json};
use gwi_core::record::ConnectorRecord;
use gwi_core::stream::{Catalog, Checkpoint, StreamDescriptor, SyncItem, SyncOptions};
use serde::de::DeserializeOwned;

use super::config::{GithubConfig, RecordType, Repository};
use super::core::{GithubApi, PER_PAGE};
use super::models::{
    Commit, Issue, IssueComment, PullRequest, Review, ReviewComment, WorkflowRun, WorkflowRunsPage,
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
    let catalog = Catalog {
        resources: config
            .repositories
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        known_types: RecordType::NAMES,
        enabled_types: config
            .enabled_types()
            .into_iter()
            .map(RecordType::as_str)
            .collect(),
    };
    catalog.select(SOURCE, options, |name| Repository::parse(name).map(drop))
}

/// Reads one stream.
pub(crate) fn sync<'a>(
    api: &'a GithubApi,
    client: &'a ApiClient,
    stream: &'a StreamDescriptor,
    options: &'a SyncOptions,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    let setup = || -> Result<BoxStream<'a, Result<SyncItem, ConnectorError>>, ConnectorError> {
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
        let since = || read_cursor::<DateTime<Utc>>(SOURCE, stream, options);
        Ok(match record_type {
            RecordType::Issue => {
                let start = read_cursor::<Mark>(SOURCE, stream, options)?;
                issues(run, start.unwrap_or_default())
            }
            RecordType::Comment => {
                let start = read_cursor::<CommentCursor>(SOURCE, stream, options)?;
                comments(run, start.unwrap_or_default())
            }
            RecordType::PullRequest => pull_requests(run, since()?),
            RecordType::Review => reviews(run, since()?),
            RecordType::Commit => commits(run, since()?),
            RecordType::WorkflowRun => workflow_runs(run, since()?),
        })
    };
    setup().unwrap_or_else(|e| Box::pin(futures::stream::once(async { Err(e) })))
}

/// What one stream's functions need.
#[derive(Clone)]
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

    /// The listing at `path` with `params`, plus `since` when there is a cursor.
    fn listing<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &[&str],
        params: &[(&str, &str)],
        since: Option<DateTime<Utc>>,
        read_ahead: usize,
    ) -> Listing<'a, T> {
        let mut request = self.list(path, params);
        if let Some(since) = since {
            request = request.query(&[("since", &format_time(since))]);
        }
        listing(self.pages::<Vec<T>>(request, read_ahead))
    }

    /// The strategy's steps as this stream's sync items, with a plain time cursor.
    fn items<T: Send + 'a, C: StoredCursor + Send + 'a>(
        &self,
        steps: Steps<'a, T, C>,
        map: impl Fn(&T, &str) -> Result<Option<ConnectorRecord>, ConnectorError> + Send + 'a,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
        let repo = self.repo.clone();
        sync_items(
            steps,
            self.name,
            move |item| map(&item, repo.as_str()),
            |cursor| cursor.stored(),
        )
    }
}

/// A query time as GitHub takes it: whole seconds (truncating only moves it earlier).
fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The `comment` stream's listings: issue comments, then review comments.
struct CommentListings;

impl PairNames for CommentListings {
    const NAMES: [&'static str; 2] = ["issue_comments", "review_comments"];
}

/// The `comment` stream's cursor: a time per listing.
type CommentCursor = PairCursor<CommentListings>;

/// Oldest change first from `since` for the listings that have it (issues, comments), as keyset
/// re-queries: GitHub pages them by number.
fn ascending_by_update<'a, T: DeserializeOwned + Send + 'static>(
    run: &StreamRun<'a>,
    path: &'static [&'static str],
    params: &'static [(&'static str, &'static str)],
    since: Mark,
    key: fn(&T) -> (DateTime<Utc>, u64),
) -> Steps<'a, T, Mark> {
    let run = run.clone();
    ascending(since, Paging::Offset, key, move |since| {
        // Each page is a new query, so pages read ahead would be wasted.
        run.listing(path, params, since, 0)
    })
}

/// Issues, oldest change first; pull requests in the listing count for the cursor (the listing
/// is ordered over both) but are not issue records.
fn issues(run: StreamRun<'_>, since: Mark) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let params = &[("state", "all"), ("sort", "updated"), ("direction", "asc")];
    let steps = ascending_by_update(&run, &["issues"], params, since, |i: &Issue| {
        (i.updated_at, i.id)
    });
    run.items(steps, |issue, repo| {
        (!issue.is_pull_request())
            .then(|| records::issue(issue, repo))
            .transpose()
    })
}

/// Issue comments, then pull request review comments, each oldest change first from its own
/// part of the cursor.
fn comments(
    run: StreamRun<'_>,
    start: CommentCursor,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    const PARAMS: &[(&str, &str)] = &[("sort", "updated"), ("direction", "asc")];
    // Each endpoint's checkpoints carry the other's latest time.
    let [issue_start, review_start] = start.marks.clone();
    let cursor = Arc::new(Mutex::new(start));
    let part = move |listing: usize| {
        let cursor = Arc::clone(&cursor);
        move |mark| {
            let mut cursor = cursor.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(part) = cursor.marks.get_mut(listing) {
                *part = mark;
            }
            cursor.value()
        }
    };
    let (repo, name) = (run.repo.clone(), run.name);
    let issue_steps = ascending_by_update(
        &run,
        &["issues", "comments"],
        PARAMS,
        issue_start,
        |c: &IssueComment| (c.updated_at, c.id),
    );
    let review_steps = ascending_by_update(
        &run,
        &["pulls", "comments"],
        PARAMS,
        review_start,
        |c: &ReviewComment| (c.updated_at, c.id),
    );
    let issue_repo = repo.clone();
    let issue_part = sync_items(
        issue_steps,
        name,
        move |c| records::issue_comment(&c, issue_repo.as_str()).map(Some),
        part(0),
    );
    let review_part = sync_items(
        review_steps,
        name,
        move |c| records::review_comment(&c, repo.as_str()).map(Some),
        part(1),
    );
    Box::pin(issue_part.chain(review_part))
}

/// Pull requests changed since the cursor, newest change first (GitHub's pulls endpoint has no
/// `since`, so the walk stops where it reaches the cursor).
fn pulls_since<'a>(run: &StreamRun<'a>, since: Option<DateTime<Utc>>) -> Steps<'a, PullRequest> {
    // Without a cursor the walk reads every page; with one it stops early, and pages read
    // ahead would be requests wasted.
    let read_ahead = if since.is_none() { WALK_TO_END } else { 0 };
    let query = run.listing::<PullRequest>(
        &["pulls"],
        &[("state", "all"), ("sort", "updated"), ("direction", "desc")],
        None,
        read_ahead,
    );
    newest_first(
        since,
        NewestFirst::by(|p: &PullRequest| p.updated_at),
        move |_| query,
    )
}

/// Pull requests changed since the cursor.
fn pull_requests(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let steps = pulls_since(&run, since);
    run.items(steps, |pull, repo| {
        records::pull_request(pull, repo).map(Some)
    })
}

/// Reviews of the pull requests changed since the cursor (one request per pull request, so
/// only those), on the pull requests' cursor.
fn reviews(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut steps = pulls_since(&run, since);
        while let Some(step) = steps.next().await {
            match step? {
                Step::Item(pull) => {
                    let number = pull.number.to_string();
                    let mut review_pages = run.pages::<Vec<Review>>(run.list(&["pulls", &number, "reviews"], &[]), 0);
                    while let Some(review_page) = review_pages.next().await {
                        let (_, items) = review_page?;
                        for item in &items {
                            yield SyncItem::Record(records::review(item, pull.updated_at, run.repo.as_str())?);
                        }
                    }
                }
                Step::Checkpoint(time) => yield SyncItem::Checkpoint(Checkpoint { stream: run.name.to_owned(), cursor: time_value(time) }),
                Step::Total(_) => {}
            }
        }
    })
}

/// Commits of the default branch with a commit date from `since`, newest first. An empty
/// repository answers 409: no commits.
fn commits(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let pages = run.listing::<Commit>(&["commits"], &[], since, WALK_TO_END);
    let pages: Listing<'_, Commit> = Box::pin(pages.take_while(|page| {
        futures::future::ready(!matches!(
            page,
            Err(ConnectorError::Api { status: 409, .. })
        ))
    }));
    let walk = NewestFirst::by(|c: &Commit| c.commit.committer.date);
    let steps = newest_first(since, walk, move |_| pages);
    run.items(steps, |commit, repo| {
        records::commit(commit, repo).map(Some)
    })
}

/// Workflow runs created from the cursor on, newest first, with GitHub's `total_count`.
///
/// Runs change after they are created (queued, in progress, completed) but are filtered by
/// `created`, so the end cursor is held back to the oldest run not yet completed: the next run
/// fetches it again and sees its outcome. GitHub lists at most 1,000 runs for a `created`
/// filter (its `total_count` still counts all), so more since the cursor are read in windows
/// of `created`, newest first, until one is listed whole.
fn workflow_runs(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let lister = run.clone();
    let query = move |window: Window| -> Listing<'_, WorkflowRun> {
        let created = created_filter(window);
        let params: Vec<(&str, &str)> = created.iter().map(|c| ("created", c.as_str())).collect();
        let pages = lister
            .pages::<WorkflowRunsPage>(lister.list(&["actions", "runs"], &params), WALK_TO_END);
        Box::pin(pages.map_ok(|(page, body)| {
            Listed::from_page(&page, body.workflow_runs).with_total(body.total_count)
        }))
    };
    let walk = NewestFirst {
        time: |r: &WorkflowRun| r.created_at,
        hold_back: Some(|r: &WorkflowRun| {
            (r.status.as_deref() != Some("completed")).then_some(r.created_at)
        }),
    };
    let steps = newest_first_in_windows(since, walk, query);
    run.items(steps, |item, repo| {
        records::workflow_run(item, repo).map(Some)
    })
}

/// GitHub's `created` qualifier for `window` (both ends inclusive), if it has an end.
fn created_filter(window: Window) -> Option<String> {
    match (window.since, window.until) {
        (None, None) => None,
        (Some(since), None) => Some(format!(">={}", format_time(since))),
        (None, Some(until)) => Some(format!("<={}", format_time(until))),
        (Some(since), Some(until)) => {
            Some(format!("{}..{}", format_time(since), format_time(until)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        gwi_core::time::parse(text).unwrap()
    }

    #[test]
    fn query_times_are_whole_seconds() {
        assert_eq!(
            format_time(at("2024-05-06T07:08:09.999Z")),
            "2024-05-06T07:08:09Z"
        );
    }
}
