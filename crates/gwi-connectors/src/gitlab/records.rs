//! GitLab objects to [`ConnectorRecord`]s: the one place record ids and `data` fields are decided.
//!
//! A sync reads REST objects and a webhook carries differently shaped bodies, yet a record made
//! from either must be the same row (type, id, `updated_at`, `data`, `metadata`), because the
//! store upserts by id and a webhook row must equal the one the next sync writes. So each record
//! type has one `data` struct, filled from either source, holding only fields both carry:
//!
//! | record | id | from REST | from the webhook |
//! |---|---|---|---|
//! | `merge_request` | `mr-<id>` | `author.id`, `assignees[].username`, `labels` (titles), `milestone.id`, `web_url` | `author_id`, top-level `assignees`/`reviewers`, `labels[].title`, `milestone_id`, `url` |
//! | `issue` | `issue-<id>` | as merge requests | as merge requests |
//! | `note` | `note-<id>` | `body`, the listed parent's iid, `{parent web_url}#note_<id>` | `note`, `merge_request.iid`/`issue.iid`, `url` |
//! | `pipeline` | `pipeline-<id>` | `updated_at` | no `updated_at`: `finished_at`, else `created_at` |
//! | `commit` | `commit-<project id>-<sha>` | `committed_date`, `author_name` | `timestamp` (the committed date), `author.name` |
//!
//! Label titles and usernames are sorted, since REST and webhooks need not list them in one
//! order. Times are cut to whole seconds: REST answers carry milliseconds, webhook bodies only
//! seconds, and a record must not differ by where it came from. `metadata` is the project's
//! numeric id, which both sources carry.

use chrono::{DateTime, SubsecRound, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::record::{ConnectorRecord, Envelope};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Number;
use serde_json::value::RawValue;

use super::config::RecordType;
use super::models::{
    Commit, HookCommit, HookLabel, HookProject, HookUser, Issue, IssueHook, MergeRequest,
    MergeRequestHook, Note, NoteHook, Pipeline, PipelineHook, Project, User,
};

/// The `source` of every record, and the connector's name.
pub(crate) const SOURCE: &str = "gitlab";

/// What the record functions return: a record, or why its fields could not be encoded.
pub(crate) type RecordResult = Result<ConnectorRecord, ConnectorError>;

/// The project a record belongs to, as both a sync and a webhook know it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InProject<'a> {
    /// The numeric id.
    pub id: u64,
    /// `path_with_namespace`.
    pub path: &'a str,
}

impl<'a> From<&'a Project> for InProject<'a> {
    fn from(project: &'a Project) -> Self {
        Self {
            id: project.id,
            path: &project.path_with_namespace,
        }
    }
}

impl<'a> From<&'a HookProject> for InProject<'a> {
    fn from(project: &'a HookProject) -> Self {
        Self {
            id: project.id,
            path: &project.path_with_namespace,
        }
    }
}

/// A record's `metadata`.
#[derive(Serialize)]
struct Metadata {
    project_id: u64,
}

/// Whole seconds, as webhook bodies give them.
fn secs(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(0)
}

fn record(
    id: String,
    record_type: RecordType,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    data: &impl Serialize,
    project: InProject<'_>,
) -> RecordResult {
    let envelope = Envelope {
        source: SOURCE,
        record_type: record_type.as_str(),
        id,
        created_at: secs(created_at),
        updated_at: secs(updated_at),
    };
    envelope.encode(
        data,
        &Metadata {
            project_id: project.id,
        },
    )
}

fn sorted<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.collect();
    names.sort_unstable();
    names
}

fn usernames(users: &[User]) -> Vec<&str> {
    sorted(users.iter().map(|u| u.username.as_str()))
}

fn hook_usernames(users: &[HookUser]) -> Vec<&str> {
    sorted(users.iter().map(|u| u.username.as_str()))
}

fn titles(labels: &[String]) -> Vec<&str> {
    sorted(labels.iter().map(String::as_str))
}

/// A webhook's labels: the top-level list, else (older payloads) the attributes' own.
fn hook_titles<'a>(
    top: Option<&'a [HookLabel]>,
    attributes: Option<&'a [HookLabel]>,
) -> Vec<&'a str> {
    sorted(
        top.or(attributes)
            .unwrap_or_default()
            .iter()
            .map(|l| l.title.as_str()),
    )
}

/// `data` of a merge request.
#[derive(Serialize, JsonSchema)]
struct MergeRequestData<'a> {
    iid: u64,
    title: &'a str,
    #[schemars(with = "Option<String>")]
    description: Option<&'a RawValue>,
    state: &'a str,
    draft: bool,
    author_id: Option<u64>,
    assignees: Vec<&'a str>,
    reviewers: Vec<&'a str>,
    labels: Vec<&'a str>,
    milestone_id: Option<u64>,
    source_branch: &'a str,
    target_branch: &'a str,
    merge_status: Option<&'a str>,
    web_url: &'a str,
    project: &'a str,
}

/// A merge request from the REST API: `mr-<id>`.
pub(crate) fn merge_request(mr: &MergeRequest, project: InProject<'_>) -> RecordResult {
    let data = MergeRequestData {
        iid: mr.iid,
        title: &mr.title,
        description: mr.description.as_deref(),
        state: &mr.state,
        draft: mr.draft.or(mr.work_in_progress).unwrap_or(false),
        author_id: mr.author.as_ref().map(|u| u.id),
        assignees: usernames(&mr.assignees),
        reviewers: usernames(&mr.reviewers),
        labels: titles(&mr.labels),
        milestone_id: mr.milestone.as_ref().map(|m| m.id),
        source_branch: &mr.source_branch,
        target_branch: &mr.target_branch,
        merge_status: mr.merge_status.as_deref(),
        web_url: &mr.web_url,
        project: project.path,
    };
    record(
        format!("mr-{}", mr.id),
        RecordType::MergeRequest,
        mr.created_at,
        mr.updated_at,
        &data,
        project,
    )
}

/// A merge request from a `Merge Request Hook`: the same record a sync makes of it.
pub(crate) fn merge_request_hook(hook: &MergeRequestHook) -> RecordResult {
    let mr = &hook.object_attributes;
    let project = InProject::from(&hook.project);
    let data = MergeRequestData {
        iid: mr.iid,
        title: &mr.title,
        description: mr.description.as_deref(),
        state: &mr.state,
        draft: mr.draft.or(mr.work_in_progress).unwrap_or(false),
        author_id: mr.author_id,
        assignees: hook_usernames(&hook.assignees),
        reviewers: hook_usernames(&hook.reviewers),
        labels: hook_titles(hook.labels.as_deref(), mr.labels.as_deref()),
        milestone_id: mr.milestone_id,
        source_branch: &mr.source_branch,
        target_branch: &mr.target_branch,
        merge_status: mr.merge_status.as_deref(),
        web_url: &mr.url,
        project: project.path,
    };
    record(
        format!("mr-{}", mr.id),
        RecordType::MergeRequest,
        mr.created_at,
        mr.updated_at,
        &data,
        project,
    )
}

/// `data` of an issue.
#[derive(Serialize, JsonSchema)]
struct IssueData<'a> {
    iid: u64,
    title: &'a str,
    #[schemars(with = "Option<String>")]
    description: Option<&'a RawValue>,
    state: &'a str,
    confidential: bool,
    author_id: Option<u64>,
    assignees: Vec<&'a str>,
    labels: Vec<&'a str>,
    milestone_id: Option<u64>,
    web_url: &'a str,
    project: &'a str,
}

/// An issue from the REST API: `issue-<id>`.
pub(crate) fn issue(issue: &Issue, project: InProject<'_>) -> RecordResult {
    let data = IssueData {
        iid: issue.iid,
        title: &issue.title,
        description: issue.description.as_deref(),
        state: &issue.state,
        confidential: issue.confidential,
        author_id: issue.author.as_ref().map(|u| u.id),
        assignees: usernames(&issue.assignees),
        labels: titles(&issue.labels),
        milestone_id: issue.milestone.as_ref().map(|m| m.id),
        web_url: &issue.web_url,
        project: project.path,
    };
    record(
        format!("issue-{}", issue.id),
        RecordType::Issue,
        issue.created_at,
        issue.updated_at,
        &data,
        project,
    )
}

/// An issue from an `Issue Hook`.
pub(crate) fn issue_hook(hook: &IssueHook) -> RecordResult {
    let issue = &hook.object_attributes;
    let project = InProject::from(&hook.project);
    let data = IssueData {
        iid: issue.iid,
        title: &issue.title,
        description: issue.description.as_deref(),
        state: &issue.state,
        confidential: issue.confidential,
        author_id: issue.author_id,
        assignees: hook_usernames(&hook.assignees),
        labels: hook_titles(hook.labels.as_deref(), issue.labels.as_deref()),
        milestone_id: issue.milestone_id,
        web_url: &issue.url,
        project: project.path,
    };
    record(
        format!("issue-{}", issue.id),
        RecordType::Issue,
        issue.created_at,
        issue.updated_at,
        &data,
        project,
    )
}

/// `data` of a note.
#[derive(Serialize, JsonSchema)]
struct NoteData<'a> {
    #[schemars(with = "String")]
    body: &'a RawValue,
    system: bool,
    author_id: Option<u64>,
    noteable_type: &'a str,
    noteable_id: Option<u64>,
    noteable_iid: u64,
    web_url: String,
    project: &'a str,
}

/// The merge request or issue a listed note belongs to, as the sync listed it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parent<'a> {
    /// Its iid.
    pub iid: u64,
    /// Its `web_url`; a note's web URL is this with `#note_<id>`, as GitLab's hooks give it.
    pub web_url: &'a str,
}

/// A note on a merge request or an issue, from the REST API: `note-<id>`.
pub(crate) fn note(note: &Note, parent: Parent<'_>, project: InProject<'_>) -> RecordResult {
    let data = NoteData {
        body: &note.body,
        system: note.system,
        author_id: note.author.as_ref().map(|u| u.id),
        noteable_type: &note.noteable_type,
        noteable_id: note.noteable_id,
        noteable_iid: parent.iid,
        web_url: format!("{}#note_{}", parent.web_url, note.id),
        project: project.path,
    };
    record(
        format!("note-{}", note.id),
        RecordType::Note,
        note.created_at,
        note.updated_at,
        &data,
        project,
    )
}

/// A note from a `Note Hook`; `None` for notes on commits and snippets, which a sync does not
/// read.
pub(crate) fn note_hook(hook: &NoteHook) -> Option<RecordResult> {
    let note = &hook.object_attributes;
    let parent = match note.noteable_type.as_str() {
        "MergeRequest" => hook.merge_request.as_ref()?,
        "Issue" => hook.issue.as_ref()?,
        _ => return None,
    };
    let project = InProject::from(&hook.project);
    let data = NoteData {
        body: &note.note,
        system: note.system.unwrap_or(false),
        author_id: note.author_id,
        noteable_type: &note.noteable_type,
        noteable_id: note.noteable_id,
        noteable_iid: parent.iid,
        web_url: note.url.clone(),
        project: project.path,
    };
    Some(record(
        format!("note-{}", note.id),
        RecordType::Note,
        note.created_at,
        note.updated_at,
        &data,
        project,
    ))
}

/// `data` of a pipeline.
#[derive(Serialize, JsonSchema)]
struct PipelineData<'a> {
    iid: Option<u64>,
    status: &'a str,
    source: Option<&'a str>,
    #[serde(rename = "ref")]
    git_ref: &'a str,
    sha: &'a str,
    duration: Option<&'a Number>,
    web_url: Option<&'a str>,
    project: &'a str,
}

/// A pipeline from the REST API: `pipeline-<id>`.
pub(crate) fn pipeline(pipeline: &Pipeline, project: InProject<'_>) -> RecordResult {
    let data = PipelineData {
        iid: pipeline.iid,
        status: &pipeline.status,
        source: pipeline.source.as_deref(),
        git_ref: &pipeline.git_ref,
        sha: &pipeline.sha,
        duration: pipeline.duration.as_ref(),
        web_url: pipeline.web_url.as_deref(),
        project: project.path,
    };
    record(
        format!("pipeline-{}", pipeline.id),
        RecordType::Pipeline,
        pipeline.created_at,
        pipeline.updated_at,
        &data,
        project,
    )
}

/// A pipeline from a `Pipeline Hook`.
///
/// The hook has no `updated_at`, so the record is stamped `finished_at`, else `created_at`.
/// GitLab moves `updated_at` at least that far, so the next sync's row is never older and wins
/// the upsert; until then the store holds the hook's status.
pub(crate) fn pipeline_hook(hook: &PipelineHook) -> RecordResult {
    let pipeline = &hook.object_attributes;
    let project = InProject::from(&hook.project);
    let data = PipelineData {
        iid: pipeline.iid,
        status: &pipeline.status,
        source: pipeline.source.as_deref(),
        git_ref: &pipeline.git_ref,
        sha: &pipeline.sha,
        duration: pipeline.duration.as_ref(),
        web_url: pipeline.url.as_deref(),
        project: project.path,
    };
    record(
        format!("pipeline-{}", pipeline.id),
        RecordType::Pipeline,
        pipeline.created_at,
        pipeline.finished_at.unwrap_or(pipeline.created_at),
        &data,
        project,
    )
}

/// `data` of a commit.
#[derive(Serialize, JsonSchema)]
struct CommitData<'a> {
    sha: &'a str,
    title: &'a str,
    message: &'a str,
    author_name: &'a str,
    author_email: &'a str,
    committed_date: DateTime<Utc>,
    web_url: &'a str,
    project: &'a str,
}

/// A commit of the default branch from the REST API: `commit-<project id>-<sha>`, created and
/// updated at its committed date (the one time a push hook gives).
pub(crate) fn commit(commit: &Commit, project: InProject<'_>) -> RecordResult {
    let data = CommitData {
        sha: &commit.id,
        title: &commit.title,
        message: &commit.message,
        author_name: &commit.author_name,
        author_email: &commit.author_email,
        committed_date: secs(commit.committed_date),
        web_url: &commit.web_url,
        project: project.path,
    };
    record(
        format!("commit-{}-{}", project.id, commit.id),
        RecordType::Commit,
        commit.committed_date,
        commit.committed_date,
        &data,
        project,
    )
}

/// A commit of a `Push Hook`. Older payloads have no `title`; it is then the message's first
/// line, which is GitLab's title unless that line is 100 characters or longer.
pub(crate) fn push_commit(commit: &HookCommit, project: InProject<'_>) -> RecordResult {
    let title = commit
        .title
        .as_deref()
        .unwrap_or_else(|| commit.message.lines().next().unwrap_or_default());
    let data = CommitData {
        sha: &commit.id,
        title,
        message: &commit.message,
        author_name: &commit.author.name,
        author_email: &commit.author.email,
        committed_date: secs(commit.timestamp),
        web_url: &commit.url,
        project: project.path,
    };
    record(
        format!("commit-{}-{}", project.id, commit.id),
        RecordType::Commit,
        commit.timestamp,
        commit.timestamp,
        &data,
        project,
    )
}

/// Each record type's `data` schema, generated from the struct its records are serialized from.
pub(crate) fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
    use gwi_core::schema::data_schema;
    vec![
        (
            RecordType::MergeRequest.as_str(),
            data_schema::<MergeRequestData<'static>>(),
        ),
        (
            RecordType::Issue.as_str(),
            data_schema::<IssueData<'static>>(),
        ),
        (
            RecordType::Note.as_str(),
            data_schema::<NoteData<'static>>(),
        ),
        (
            RecordType::Pipeline.as_str(),
            data_schema::<PipelineData<'static>>(),
        ),
        (
            RecordType::Commit.as_str(),
            data_schema::<CommitData<'static>>(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn project() -> Project {
        Project {
            id: 7,
            path_with_namespace: "acme/widgets".to_owned(),
            default_branch: Some("main".to_owned()),
            ..Project::default()
        }
    }

    #[test]
    fn merge_request_draft_falls_back_to_work_in_progress_and_lists_are_sorted() {
        let mr: MergeRequest = serde_json::from_value(json!({
            "id": 11, "iid": 3, "title": "t", "description": null, "state": "opened",
            "work_in_progress": true, "author": {"id": 5, "username": "z"},
            "assignees": [{"id": 2, "username": "zed"}, {"id": 1, "username": "amy"}],
            "labels": ["b", "a"], "milestone": {"id": 9}, "source_branch": "f",
            "target_branch": "main", "web_url": "https://gitlab.com/acme/widgets/-/merge_requests/3",
            "created_at": "2024-01-01T00:00:00.500Z", "updated_at": "2024-01-02T00:00:00.999Z",
        }))
        .unwrap();
        let project = project();
        let record = merge_request(&mr, InProject::from(&project)).unwrap();
        let data = record.data.to_value();
        assert_eq!(record.id, "mr-11");
        assert_eq!(data["draft"], true);
        assert_eq!(data["author_id"], 5);
        assert_eq!(data["assignees"], json!(["amy", "zed"]));
        assert_eq!(data["reviewers"], json!([]));
        assert_eq!(data["labels"], json!(["a", "b"]));
        assert_eq!(data["milestone_id"], 9);
        assert_eq!(data["merge_status"], Value::Null);
        assert_eq!(data["project"], "acme/widgets");
        assert_eq!(record.metadata.to_value(), json!({"project_id": 7}));
        assert_eq!(
            record.updated_at,
            gwi_core::time::parse("2024-01-02T00:00:00Z").unwrap()
        );
        assert!(record.validate().is_ok());
    }

    #[test]
    fn an_old_push_commit_takes_its_title_from_the_first_line() {
        let commit: HookCommit = serde_json::from_value(json!({
            "id": "abc", "message": "added readme\n\nbody\n",
            "timestamp": "2017-12-10T08:26:38+00:00", "url": "https://x/commit/abc",
            "author": {"name": "Sid", "email": "s@example.com"},
        }))
        .unwrap();
        let record = push_commit(&commit, InProject { id: 9, path: "a/b" }).unwrap();
        assert_eq!(record.id, "commit-9-abc");
        assert_eq!(record.data.to_value()["title"], "added readme");
    }
}
