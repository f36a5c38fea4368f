//! Sync: one stream per (project, record type), paged by GitLab's `x-next-page` header and
//! resumed from its own cursor.
//!
//! | stream          | strategy and request                                                    | cursor |
//! |-----------------|-------------------------------------------------------------------------|--------|
//! | `merge_request` | ascending, keyset re-query on `updated_after`, `order_by=updated_at&sort=asc`, `state=all` | newest `updated_at` read |
//! | `issue`         | the same on `/issues`, by keyset (`pagination=keyset`, GitLab 18.3+; older instances answer by offset and get the re-query) | newest `updated_at` read |
//! | `note`          | merge requests, then issues, as above; each one's notes newest first down to the cursor | `{merge_requests, issues}`: a parent time each |
//! | `pipeline`      | ascending, `updated_after`, `order_by=updated_at&sort=asc`; a finished one's detail | newest `updated_at` read |
//! | `commit`        | newest first, `ref_name=<default branch>&since=<cursor>`                | newest `committed_date`, once the walk ends |
//!
//! `updated_after` and `since` are inclusive, so the items at the cursor's own time come again
//! on the next run (an upsert absorbs them) and nothing sharing that time is skipped. No cursor
//! moves past the response's `Date`.
//!
//! Requests when nothing changed upstream: one per stream, and none for `note` when the
//! `merge_request` and `issue` streams run too (its parent listings are those streams' answers,
//! shared within the run; alone it costs two). A project's settings are kept beside each
//! stream's cursor for an hour (`projects.rs`), so no project is read. `updated_after` is
//! inclusive, so the items at the cursor's own time are listed again, but the cursor (a `Mark`)
//! names them and they are skipped, with their notes and pipeline details.
//!
//! Known limits: GitLab announces no deletion of these objects, by listing or by webhook, so
//! deleted merge requests, issues and notes become tombstones only in a reconciling run
//! (`gwi sync gitlab --reconcile`, which reads everything and compares with the store). `since` filters commits by
//! committed date, so a merged branch's older commits are missed by incremental runs (push
//! hooks carry them). Merge requests and pipelines have no keyset pagination, so their offset
//! walks keep the strategy's known limit for a page sharing one time; issues on 18.3+ do not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use gwi_core::error::ConnectorError;
use gwi_core::http::{ApiClient, HttpRequest};
use gwi_core::incremental::{
    Listed, Listing, Mark, NewestFirst, Paging, PairCursor, PairNames, Step, Steps, StoredCursor,
    ascending, listing, newest_first, read_cursor, remember, sync_items,
};
use gwi_core::pagination::{Page, PaginateOptions, paginate_json};
use gwi_core::record::ConnectorRecord;
use gwi_core::stream::{Catalog, Checkpoint, StreamDescriptor, SyncItem, SyncOptions};
use serde::de::DeserializeOwned;

use super::auth;
use super::config::{GitlabConfig, ProjectRef, RecordType};
use super::core::{GitlabApi, next_page, paged, query_time};
use super::models::{Commit, Issue, MergeRequest, Note, Noteable, Pipeline, Project};
use super::projects::{Directory, FACTS_MAX_AGE};
use super::records::{self, InProject, Parent, SOURCE};

/// Read-ahead for listings that are always read to their end.
const WALK_TO_END: usize = 1;

/// The parameters of the oldest-change-first listings of merge requests and issues.
const BY_UPDATE_ALL_STATES: &[(&str, &str)] = &[
    ("state", "all"),
    ("order_by", "updated_at"),
    ("sort", "asc"),
];

/// The streams a run with `options` reads: selected projects x enabled, selected types.
pub(crate) fn streams(
    config: &GitlabConfig,
    directory: &Directory,
    options: &SyncOptions,
) -> Result<Vec<StreamDescriptor>, ConnectorError> {
    let catalog = Catalog {
        resources: directory.resources(config),
        known_types: RecordType::NAMES,
        enabled_types: config
            .enabled_types()
            .into_iter()
            .map(RecordType::as_str)
            .collect(),
    };
    catalog.select(SOURCE, options, |name| ProjectRef::parse(name).map(drop))
}

/// Reads one stream; refusals come out saying what to fix.
pub(crate) fn sync<'a>(
    api: &'a GitlabApi,
    directory: &'a Directory,
    client: &'a ApiClient,
    stream: &'a StreamDescriptor,
    options: &'a SyncOptions,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    let items = async_stream::try_stream! {
        let record_type = RecordType::parse(&stream.record_type).ok_or_else(|| {
            ConnectorError::validation(
                SOURCE,
                "stream.record_type",
                format!("unknown record type {:?}", stream.record_type),
            )
        })?;
        ProjectRef::parse(&stream.resource)
            .map_err(|e| ConnectorError::validation(SOURCE, "stream.resource", e))?;
        // Cursors are read before any request, so a bad stored one fails at no cost.
        let note_start = match record_type {
            RecordType::Note => read_cursor::<NoteCursor>(SOURCE, stream, options)?.unwrap_or_default(),
            _ => NoteCursor::default(),
        };
        let mark = match record_type {
            RecordType::Note | RecordType::Commit => Mark::default(),
            _ => read_cursor::<Mark>(SOURCE, stream, options)?.unwrap_or_default(),
        };
        let since = match record_type {
            RecordType::Commit => read_cursor::<DateTime<Utc>>(SOURCE, stream, options)?,
            _ => None,
        };
        let stored = options.facts_for::<Project>(&stream.name, FACTS_MAX_AGE, Utc::now());
        let mut known = directory.project(api, client, &stream.resource, stored.clone()).await?;
        let start = options.cursor_for(&stream.name).cloned();
        let mut fresh = known.is_news_to(stored.as_ref());
        // At most twice: with the facts as known, then, after a 403 they may explain, with the
        // project as GitLab describes it now.
        loop {
            let run = StreamRun {
                api,
                client,
                keyset: &directory.keyset_refused,
                project: Arc::clone(&known.project),
                name: &stream.name,
            };
            let walk = walk(run, record_type, mark.clone(), note_start.clone(), since);
            let mut items = remember(walk, &stream.name, start.clone(), known.remembered(), fresh);
            let mut refused = None;
            while let Some(item) = items.next().await {
                match item {
                    Err(error) if is_forbidden(&error) && !known.read_now => {
                        refused = Some(error);
                        break;
                    }
                    item => yield item?,
                }
            }
            drop(items);
            let Some(error) = refused else { break };
            // The stored facts may predate a feature being turned off (merge requests, say,
            // while the note stream still reads issues): read the project and walk again from
            // the stream's start with what it says now; the same facts leave the 403 standing.
            let now = directory.reread(api, client, &stream.resource).await?;
            if now.project == known.project {
                Err(error)?;
            }
            known = now;
            fresh = true;
        }
    };
    Box::pin(items.map(|item| item.map_err(auth::explain)))
}

/// The stream's walk from its cursor; nothing when the project has the feature turned off.
fn walk<'a>(
    run: StreamRun<'a>,
    record_type: RecordType,
    mark: Mark,
    note_start: NoteCursor,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
    if !run.project.offers(record_type) {
        tracing::debug!(
            connector = SOURCE,
            stream = %run.name,
            "the project has this feature turned off: nothing to read"
        );
        return Box::pin(futures::stream::empty());
    }
    match record_type {
        RecordType::MergeRequest => merge_requests(run, mark),
        RecordType::Issue => issues(run, mark),
        RecordType::Note => notes(run, note_start),
        RecordType::Pipeline => pipelines(run, mark),
        RecordType::Commit => commits(run, since),
    }
}

/// Whether GitLab refused a request with 403 (a feature turned off answers so).
fn is_forbidden(error: &ConnectorError) -> bool {
    matches!(
        error,
        ConnectorError::Authentication {
            status: Some(403),
            ..
        } | ConnectorError::Api { status: 403, .. }
    )
}

/// What one stream's functions need.
#[derive(Clone)]
struct StreamRun<'a> {
    api: &'a GitlabApi,
    client: &'a ApiClient,
    /// Set once the instance refused a keyset request (see [`Directory::keyset_refused`]).
    keyset: &'a AtomicBool,
    project: Arc<Project>,
    name: &'a str,
}

impl<'a> StreamRun<'a> {
    /// A first-page request for `/projects/{id}/{path...}`, by numeric id (read once, so no
    /// path needs encoding).
    fn list(&self, path: &[&str], params: &[(&str, &str)]) -> HttpRequest {
        paged(self.get(path), params)
    }

    /// A GET of `/projects/{id}/{path...}`.
    fn get(&self, path: &[&str]) -> HttpRequest {
        let id = self.project.id.to_string();
        let mut segments = vec!["projects", id.as_str()];
        segments.extend_from_slice(path);
        self.api.get(&segments)
    }

    /// The pages of a listing, decoded as `T`, `read_ahead` pages ahead.
    fn pages<T: DeserializeOwned + Send + 'static>(
        &self,
        first: HttpRequest,
        read_ahead: usize,
    ) -> BoxStream<'a, Result<(Page, T), ConnectorError>> {
        let options = PaginateOptions {
            read_ahead,
            ..PaginateOptions::default()
        };
        paginate_json(self.client, first, next_page(), options)
    }

    /// The pages of `first` asked for by keyset, or by offset where the instance refuses that
    /// with a 405 (GitLab 12.7 to 13.x answered so for listings without keyset support, where
    /// later versions before 18.3 ignore the parameter); remembered for the rest of the sync.
    fn keyset_or_offset<T: DeserializeOwned + Send + 'static>(
        &self,
        first: HttpRequest,
    ) -> BoxStream<'a, Result<(Page, T), ConnectorError>> {
        let run = self.clone();
        Box::pin(async_stream::try_stream! {
            let mut pages = run.pages::<T>(first.clone().query(&[("pagination", "keyset")]), 0);
            match pages.next().await {
                Some(Err(ConnectorError::Api { status: 405, .. })) => {
                    run.keyset.store(true, Ordering::Relaxed);
                    pages = run.pages::<T>(first, 0);
                }
                Some(page) => yield page?,
                None => {}
            }
            while let Some(page) = pages.next().await {
                yield page?;
            }
        })
    }

    /// Items of `path` changed at or after `since`, oldest change first, as the `ascending`
    /// strategy with keyset re-queries (GitLab pages these listings by offset).
    fn ascending<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &'static [&'static str],
        params: &'static [(&'static str, &'static str)],
        since: Mark,
        key: fn(&T) -> (DateTime<Utc>, u64),
    ) -> Steps<'a, T, Mark> {
        let run = self.clone();
        // The note stream walks the merge request and issue listings too, from the same
        // cursor on an unchanged upstream: one answer serves both streams.
        let shared = NOTE_PARENTS.iter().any(|(parent, _)| *parent == path);
        // GitLab pages project issues by keyset from 18.3, ordered by `updated_at` and id, so
        // the walk follows them as they are; merge requests and pipelines have no keyset.
        let keyset = path == ["issues"];
        ascending(since, Paging::Offset, key, move |since| {
            let mut first = run.list(path, params);
            if shared {
                first = first.share();
            }
            if let Some(since) = since {
                first = first.query(&[("updated_after", &query_time(since))]);
            }
            // Each offset page is a new query, so pages read ahead would be wasted.
            let pages = if keyset && !run.keyset.load(Ordering::Relaxed) {
                run.keyset_or_offset::<Vec<T>>(first)
            } else {
                run.pages::<Vec<T>>(first, 0)
            };
            Box::pin(pages.map_ok(move |(page, items)| {
                let listed = Listed::from_page(&page, items);
                // A keyset answer has no page numbers; an instance before 18.3 ignores the
                // request and answers by offset, which the walk must re-query around.
                if keyset && page.response.header("x-page").is_none() {
                    listed.paged_by(Paging::Cursor)
                } else {
                    listed
                }
            }))
        })
    }

    /// The strategy's steps as this stream's sync items, with a plain time cursor.
    fn items<T: Send + 'a, C: StoredCursor + Send + 'a>(
        &self,
        steps: Steps<'a, T, C>,
        map: fn(&T, InProject<'_>) -> Result<ConnectorRecord, ConnectorError>,
    ) -> BoxStream<'a, Result<SyncItem, ConnectorError>> {
        let project = Arc::clone(&self.project);
        sync_items(
            steps,
            self.name,
            move |item| map(&item, InProject::from(&*project)).map(Some),
            |cursor| cursor.stored(),
        )
    }
}

/// Merge requests changed since the cursor.
fn merge_requests(
    run: StreamRun<'_>,
    since: Mark,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let steps = run.ascending(
        &["merge_requests"],
        BY_UPDATE_ALL_STATES,
        since,
        |m: &MergeRequest| (m.updated_at, m.id),
    );
    run.items(steps, records::merge_request)
}

/// Issues changed since the cursor.
fn issues(run: StreamRun<'_>, since: Mark) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let steps = run.ascending(&["issues"], BY_UPDATE_ALL_STATES, since, |i: &Issue| {
        (i.updated_at, i.id)
    });
    run.items(steps, records::issue)
}

/// Pipelines changed since the cursor.
fn pipelines(run: StreamRun<'_>, since: Mark) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    const PARAMS: &[(&str, &str)] = &[("order_by", "updated_at"), ("sort", "asc")];
    let listed = run.ascending(&["pipelines"], PARAMS, since, |p: &Pipeline| {
        (p.updated_at, p.id)
    });
    let detail = run.clone();
    // Listings leave out `duration` (GitLab's basic pipeline entity); a finished pipeline's
    // own answer has it, so each finished one listed costs a request more. The listing's
    // checkpoints stand: the detail is the same pipeline, at most newer.
    let steps: Steps<'_, Pipeline, Mark> = Box::pin(listed.and_then(move |step| {
        let run = detail.clone();
        async move {
            match step {
                Step::Item(pipeline) if pipeline.duration.is_none() && pipeline.is_finished() => {
                    let id = pipeline.id.to_string();
                    let request = run.get(&["pipelines", id.as_str()]);
                    let (_, pipeline) = run.client.execute_json::<Pipeline>(&request).await?;
                    Ok(Step::Item(pipeline))
                }
                other => Ok(other),
            }
        }
    }));
    run.items(steps, records::pipeline)
}

/// Commits of the default branch with a committed date from the cursor on, newest first. A
/// project without a default branch (an empty repository) has none.
fn commits(
    run: StreamRun<'_>,
    since: Option<DateTime<Utc>>,
) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    let Some(branch) = run.project.default_branch.clone() else {
        return Box::pin(futures::stream::empty());
    };
    // Without a cursor the walk reads every page; with one it stops early, where pages read
    // ahead would be requests wasted.
    let read_ahead = if since.is_none() { WALK_TO_END } else { 0 };
    let mut first = run.list(&["repository", "commits"], &[("ref_name", branch.as_str())]);
    if let Some(since) = since {
        first = first.query(&[("since", &query_time(since))]);
    }
    let pages: Listing<'_, Commit> = listing(run.pages::<Vec<Commit>>(first, read_ahead));
    let steps = newest_first(
        since,
        NewestFirst::by(|c: &Commit| c.committed_date),
        move |_| pages,
    );
    run.items(steps, records::commit)
}

/// The `note` stream's parent listings: merge requests, then issues.
struct NoteParents;

impl PairNames for NoteParents {
    const NAMES: [&'static str; 2] = ["merge_requests", "issues"];
}

/// The `note` stream's parent listings, in the order of [`NoteParents::NAMES`], with the type
/// of their items.
const NOTE_PARENTS: [(&[&str], RecordType); 2] = [
    (&["merge_requests"], RecordType::MergeRequest),
    (&["issues"], RecordType::Issue),
];

/// The `note` stream's cursor: a parent time per parent listing.
type NoteCursor = PairCursor<NoteParents>;

/// Notes of merge requests and issues.
///
/// GitLab lists notes only per merge request or issue, and creating or editing a note touches
/// its parent's `updated_at`. So the stream walks the parents changed since the cursor, oldest
/// change first, and lists each one's notes, keeping those changed since the cursor. A parent
/// page's checkpoint comes only after the notes of all its parents are yielded, so a run
/// stopped after any commit resumes at a parent whose notes are all stored.
fn notes(run: StreamRun<'_>, start: NoteCursor) -> BoxStream<'_, Result<SyncItem, ConnectorError>> {
    Box::pin(async_stream::try_stream! {
        let mut cursor = start.clone();
        for (part, (path, parent_type)) in NOTE_PARENTS.into_iter().enumerate() {
            if !run.project.offers(parent_type) {
                continue;
            }
            let kind = path[0];
            let since = start.marks[part].clone();
            let key = |p: &Noteable| (p.updated_at, p.id);
            let notes_since = since.time;
            let mut parents = run.ascending(path, BY_UPDATE_ALL_STATES, since, key);
            while let Some(step) = parents.next().await {
                match step? {
                    Step::Item(parent) => {
                        let iid = parent.iid.to_string();
                        // Newest change first: a note edited or added during the walk moves to
                        // the front, onto a page already read, so none still unread is pushed
                        // back past the walk; and the walk stops at the cursor.
                        let first = run.list(
                            &[kind, iid.as_str(), "notes"],
                            &[("order_by", "updated_at"), ("sort", "desc")],
                        );
                        let pages: Listing<'_, Note> = listing(run.pages::<Vec<Note>>(first, 0));
                        let mut notes = newest_first(
                            notes_since,
                            NewestFirst::by(|n: &Note| n.updated_at),
                            move |_| pages,
                        );
                        while let Some(step) = notes.next().await {
                            // The parent's checkpoint covers its notes; theirs add nothing.
                            let Step::Item(note) = step? else { continue };
                            let at = Parent { iid: parent.iid, web_url: &parent.web_url };
                            yield SyncItem::Record(records::note(&note, at, InProject::from(&*run.project))?);
                        }
                    }
                    Step::Checkpoint(time) => {
                        cursor.marks[part] = time;
                        yield SyncItem::Checkpoint(Checkpoint {
                            stream: run.name.to_owned(),
                            cursor: cursor.value(),
                        });
                    }
                    Step::Total(_) => {}
                }
            }
        }
    })
}
