//! The GitLab objects the connector reads, REST and webhook: only the fields it uses.
//!
//! REST objects and webhook bodies describe the same things with different shapes (an author
//! object against an `author_id`, label titles against label objects, `web_url` against `url`),
//! so each has its own struct here and `records.rs` brings both to one set of fields. `Option`
//! (with `default`) marks what GitLab sends as `null` or what older versions leave out.
//!
//! Free text that is only passed through (descriptions, note bodies) stays as the JSON string it
//! came as (`RawValue`): copied into the record as is, never unescaped and escaped again.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use gwi_core::time;
use serde::de::{Error, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Number;
use serde_json::value::RawValue;

use super::config::RecordType;

/// Parses a webhook time: ISO 8601 as newer GitLab sends it (and REST always does), or
/// `2017-12-10 17:01:11 UTC` as older webhook payloads do (also with a numeric offset).
pub(crate) fn parse_hook_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = time::parse(text) {
        return Some(time);
    }
    if let Some(utc) = text.strip_suffix(" UTC") {
        return NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|t| t.and_utc());
    }
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f %z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

struct HookTime;

impl Visitor<'_> for HookTime {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a time as 2024-03-01T10:00:00Z or 2024-03-01 10:00:00 UTC")
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<Self::Value, E> {
        parse_hook_time(text).ok_or_else(|| E::custom("not a time GitLab sends"))
    }
}

/// `#[serde(deserialize_with = "hook_time")]`: a webhook time in either of GitLab's forms.
fn hook_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(HookTime)
}

/// `hook_time` for a field that may be `null` or absent (with `default`).
fn hook_time_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| {
            parse_hook_time(&text).ok_or_else(|| D::Error::custom("not a time GitLab sends"))
        })
        .transpose()
}

/// A project, as `GET /projects/:id` and `GET /groups/:id/projects` list it (and as a stream
/// stores it beside its cursor).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct Project {
    pub id: u64,
    pub path_with_namespace: String,
    /// `null` for a project with an empty repository.
    #[serde(default)]
    pub default_branch: Option<String>,
    /// `disabled`, `private` or `enabled`; absent where the token may not see project settings.
    #[serde(default)]
    pub merge_requests_access_level: Option<String>,
    #[serde(default)]
    pub issues_access_level: Option<String>,
    /// CI/CD, hence pipelines.
    #[serde(default)]
    pub builds_access_level: Option<String>,
    #[serde(default)]
    pub repository_access_level: Option<String>,
}

impl Project {
    /// Whether the project has the feature `record_type` lives in: GitLab answers 403 for the
    /// listings of a feature a project turned off, which is no failure of the sync.
    pub(crate) fn offers(&self, record_type: RecordType) -> bool {
        let level = match record_type {
            RecordType::MergeRequest => &self.merge_requests_access_level,
            RecordType::Issue => &self.issues_access_level,
            RecordType::Pipeline => &self.builds_access_level,
            RecordType::Commit => &self.repository_access_level,
            // Notes live on merge requests and issues: offered when either is.
            RecordType::Note => {
                return self.offers(RecordType::MergeRequest) || self.offers(RecordType::Issue);
            }
        };
        level.as_deref() != Some("disabled")
    }
}

/// A user as REST objects nest one (author, assignees, reviewers).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub id: u64,
    pub username: String,
}

/// A milestone as REST objects nest one.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Milestone {
    pub id: u64,
}

/// `GET /projects/:id/merge_requests` items.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MergeRequest {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    #[serde(default)]
    pub description: Option<Box<RawValue>>,
    pub state: String,
    /// GitLab 13.x and later; older versions say `work_in_progress`.
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub work_in_progress: Option<bool>,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub assignees: Vec<User>,
    #[serde(default)]
    pub reviewers: Vec<User>,
    /// Titles (the default, without `with_labels_details`).
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub milestone: Option<Milestone>,
    pub source_branch: String,
    pub target_branch: String,
    /// Deprecated in favour of `detailed_merge_status`, which webhooks of older versions lack.
    #[serde(default)]
    pub merge_status: Option<String>,
    pub web_url: String,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
}

/// `GET /projects/:id/issues` items.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Issue {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    #[serde(default)]
    pub description: Option<Box<RawValue>>,
    pub state: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub assignees: Vec<User>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub milestone: Option<Milestone>,
    #[serde(default)]
    pub confidential: bool,
    pub web_url: String,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
}

/// A merge request or issue as the `note` stream reads the listings: only what finds its notes.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Noteable {
    pub id: u64,
    pub iid: u64,
    pub web_url: String,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
}

/// `GET /projects/:id/{merge_requests|issues}/:iid/notes` items.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Note {
    pub id: u64,
    pub body: Box<RawValue>,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub system: bool,
    pub noteable_type: String,
    #[serde(default)]
    pub noteable_id: Option<u64>,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
}

/// `GET /projects/:id/pipelines` items.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Pipeline {
    pub id: u64,
    /// GitLab 12.3 and later.
    #[serde(default)]
    pub iid: Option<u64>,
    pub status: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    /// Seconds; the list endpoint of newer versions leaves it out (only a single pipeline's
    /// answer and the webhook carry it).
    #[serde(default)]
    pub duration: Option<Number>,
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(deserialize_with = "time::deserialize")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "time::deserialize")]
    pub updated_at: DateTime<Utc>,
}

impl Pipeline {
    /// Whether the pipeline has ended, so GitLab knows its `duration`.
    pub(crate) fn is_finished(&self) -> bool {
        matches!(
            self.status.as_str(),
            "success" | "failed" | "canceled" | "skipped"
        )
    }
}

/// `GET /projects/:id/repository/commits` items.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Commit {
    /// The sha.
    pub id: String,
    pub title: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    #[serde(deserialize_with = "time::deserialize")]
    pub committed_date: DateTime<Utc>,
    pub web_url: String,
}

/// The authenticated user, `GET /user`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AuthenticatedUser {
    pub username: String,
}

/// The instance's version, `GET /version`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Version {
    pub version: String,
}

/// The project of a webhook body.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HookProject {
    pub id: u64,
    pub path_with_namespace: String,
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// A user in a webhook's `assignees` or `reviewers`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HookUser {
    pub username: String,
}

/// A label object of a webhook body.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HookLabel {
    pub title: String,
}

/// A `Merge Request Hook`'s `object_attributes`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MergeRequestAttributes {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    #[serde(default)]
    pub description: Option<Box<RawValue>>,
    pub state: String,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub work_in_progress: Option<bool>,
    #[serde(default)]
    pub author_id: Option<u64>,
    #[serde(default)]
    pub milestone_id: Option<u64>,
    pub source_branch: String,
    pub target_branch: String,
    #[serde(default)]
    pub merge_status: Option<String>,
    /// Older payloads carry the labels here only.
    #[serde(default)]
    pub labels: Option<Vec<HookLabel>>,
    pub url: String,
    #[serde(deserialize_with = "hook_time")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "hook_time")]
    pub updated_at: DateTime<Utc>,
}

/// A `Merge Request Hook` body.
#[derive(Debug, Deserialize)]
pub(crate) struct MergeRequestHook {
    pub project: HookProject,
    pub object_attributes: MergeRequestAttributes,
    #[serde(default)]
    pub labels: Option<Vec<HookLabel>>,
    /// Absent from payloads older than GitLab 11.x; then no usernames are known.
    #[serde(default)]
    pub assignees: Vec<HookUser>,
    #[serde(default)]
    pub reviewers: Vec<HookUser>,
}

/// An `Issue Hook`'s `object_attributes`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IssueAttributes {
    pub id: u64,
    pub iid: u64,
    pub title: String,
    #[serde(default)]
    pub description: Option<Box<RawValue>>,
    pub state: String,
    #[serde(default)]
    pub author_id: Option<u64>,
    #[serde(default)]
    pub milestone_id: Option<u64>,
    #[serde(default)]
    pub confidential: bool,
    #[serde(default)]
    pub labels: Option<Vec<HookLabel>>,
    pub url: String,
    #[serde(deserialize_with = "hook_time")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "hook_time")]
    pub updated_at: DateTime<Utc>,
}

/// An `Issue Hook` body.
#[derive(Debug, Deserialize)]
pub(crate) struct IssueHook {
    pub project: HookProject,
    pub object_attributes: IssueAttributes,
    #[serde(default)]
    pub labels: Option<Vec<HookLabel>>,
    #[serde(default)]
    pub assignees: Vec<HookUser>,
}

/// A `Note Hook`'s `object_attributes`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct NoteAttributes {
    pub id: u64,
    pub note: Box<RawValue>,
    pub noteable_type: String,
    #[serde(default)]
    pub noteable_id: Option<u64>,
    #[serde(default)]
    pub author_id: Option<u64>,
    #[serde(default)]
    pub system: Option<bool>,
    pub url: String,
    #[serde(deserialize_with = "hook_time")]
    pub created_at: DateTime<Utc>,
    #[serde(deserialize_with = "hook_time")]
    pub updated_at: DateTime<Utc>,
}

/// The merge request or issue a `Note Hook` is about.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HookNoteable {
    pub iid: u64,
}

/// A `Note Hook` body.
#[derive(Debug, Deserialize)]
pub(crate) struct NoteHook {
    pub project: HookProject,
    pub object_attributes: NoteAttributes,
    #[serde(default)]
    pub merge_request: Option<HookNoteable>,
    #[serde(default)]
    pub issue: Option<HookNoteable>,
}

/// A git identity in a `Push Hook` commit.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HookCommitAuthor {
    pub name: String,
    pub email: String,
}

/// A commit of a `Push Hook`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HookCommit {
    /// The sha.
    pub id: String,
    pub message: String,
    /// Absent from older payloads.
    #[serde(default)]
    pub title: Option<String>,
    /// The committed date.
    #[serde(deserialize_with = "hook_time")]
    pub timestamp: DateTime<Utc>,
    pub url: String,
    pub author: HookCommitAuthor,
}

/// A `Push Hook` body.
#[derive(Debug, Deserialize)]
pub(crate) struct PushHook {
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// All zeros when the push deleted the branch.
    pub after: String,
    pub project: HookProject,
    #[serde(default)]
    pub commits: Vec<HookCommit>,
}

/// A `Pipeline Hook`'s `object_attributes`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PipelineAttributes {
    pub id: u64,
    #[serde(default)]
    pub iid: Option<u64>,
    pub status: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    #[serde(default)]
    pub duration: Option<Number>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(deserialize_with = "hook_time")]
    pub created_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "hook_time_option")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// A `Pipeline Hook` body.
#[derive(Debug, Deserialize)]
pub(crate) struct PipelineHook {
    pub project: HookProject,
    pub object_attributes: PipelineAttributes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_times_come_in_both_of_gitlabs_forms() {
        let at = time::parse("2017-12-10T17:01:11Z").unwrap();
        for text in [
            "2017-12-10 17:01:11 UTC",
            "2017-12-10T17:01:11Z",
            "2017-12-10T18:01:11+01:00",
            "2017-12-10 18:01:11 +0100",
        ] {
            assert_eq!(parse_hook_time(text), Some(at), "{text}");
        }
        assert_eq!(parse_hook_time("yesterday"), None);
        assert_eq!(parse_hook_time("2017-12-10 17:01:11"), None);
    }

    #[test]
    fn a_null_or_missing_finished_at_is_none() {
        let attrs = |extra: &str| {
            serde_json::from_str::<PipelineAttributes>(&format!(
                r#"{{"id":1,"status":"running","ref":"main","sha":"a","created_at":"2024-01-01 00:00:00 UTC"{extra}}}"#
            ))
        };
        assert_eq!(attrs("").unwrap().finished_at, None);
        assert_eq!(attrs(r#","finished_at":null"#).unwrap().finished_at, None);
        assert!(
            attrs(r#","finished_at":"2024-01-01 00:01:00 UTC""#)
                .unwrap()
                .finished_at
                .is_some()
        );
        assert!(attrs(r#","finished_at":"soon""#).is_err());
    }
}
