//! Jira's objects as REST v3 and webhooks give them: only the fields gwi keeps.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Jira's timestamps: `2024-05-01T10:00:00.000+0000` (no colon in the offset); RFC 3339 too.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(text).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// A time as Jira writes it, or as epoch milliseconds (some of Atlassian's own examples).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawTime {
    Text(String),
    Millis(i64),
}

impl RawTime {
    fn parse<E: serde::de::Error>(self) -> Result<DateTime<Utc>, E> {
        match self {
            Self::Text(text) => parse_time(&text),
            Self::Millis(ms) => DateTime::from_timestamp_millis(ms),
        }
        .ok_or_else(|| E::custom("expected a time such as 2024-05-01T10:00:00.000+0000"))
    }
}

fn time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    RawTime::deserialize(d)?.parse()
}

fn optional_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<RawTime>::deserialize(d)?
        .map(RawTime::parse)
        .transpose()
}

/// A user as Jira names one.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Something with a name (`issuetype`, `priority`, `resolution`, `components[]`, ...).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Named {
    #[serde(default)]
    pub name: Option<String>,
}

/// A status and its category (`To Do`, `In Progress`, `Done`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Status {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status_category: Option<StatusCategory>,
}

/// A status category.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StatusCategory {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A parent issue (or epic).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IssueRef {
    pub id: String,
    #[serde(default)]
    pub key: Option<String>,
}

/// A project as an issue names it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProjectRef {
    #[serde(default)]
    pub key: Option<String>,
}

/// An issue's fields; `extra` holds the custom fields asked for.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fields {
    #[serde(default)]
    pub summary: Option<String>,
    /// ADF in REST v3, a plain string in REST v2 and webhooks.
    #[serde(default)]
    pub description: Value,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub issuetype: Option<Named>,
    #[serde(default)]
    pub priority: Option<Named>,
    #[serde(default)]
    pub assignee: Option<User>,
    #[serde(default)]
    pub reporter: Option<User>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub components: Vec<Named>,
    #[serde(default)]
    pub fix_versions: Vec<Named>,
    #[serde(default)]
    pub parent: Option<IssueRef>,
    #[serde(default)]
    pub resolution: Option<Named>,
    #[serde(default, deserialize_with = "optional_time")]
    pub resolutiondate: Option<DateTime<Utc>>,
    /// Always sent by Jira; some of Atlassian's examples leave it out.
    #[serde(default, deserialize_with = "optional_time")]
    pub created: Option<DateTime<Utc>>,
    #[serde(deserialize_with = "time")]
    pub updated: DateTime<Utc>,
    #[serde(default)]
    pub project: Option<ProjectRef>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// An issue.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Issue {
    pub id: String,
    pub key: String,
    pub fields: Fields,
}

/// An issue as a listing of changed issues gives it (comments and changelogs walk these).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IssueStamp {
    pub id: String,
    pub key: String,
    pub fields: StampFields,
}

/// The one field an issue stamp carries.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StampFields {
    #[serde(deserialize_with = "time")]
    pub updated: DateTime<Utc>,
}

/// A page of `search/jql`.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchPage<T> {
    #[serde(default = "Vec::new")]
    pub issues: Vec<T>,
}

/// A comment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comment {
    pub id: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(default)]
    pub update_author: Option<User>,
    /// ADF in REST v3, a plain string in webhooks.
    #[serde(default)]
    pub body: Value,
    #[serde(deserialize_with = "time")]
    pub created: DateTime<Utc>,
    #[serde(deserialize_with = "time")]
    pub updated: DateTime<Utc>,
    #[serde(default)]
    pub jsd_public: Option<bool>,
}

/// A page of an issue's comments.
#[derive(Debug, Deserialize)]
pub(crate) struct CommentPage {
    #[serde(default)]
    pub comments: Vec<Comment>,
}

/// One entry of an issue's history.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct History {
    pub id: String,
    #[serde(default)]
    pub author: Option<User>,
    #[serde(deserialize_with = "time")]
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub items: Vec<HistoryItem>,
}

/// One field's change in a history entry.
#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HistoryItem {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default, rename(serialize = "field_id"))]
    pub field_id: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default, rename(serialize = "from_string"))]
    pub from_string: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default, rename(serialize = "to_string"))]
    pub to_string: Option<String>,
}

/// A page of an issue's history.
#[derive(Debug, Deserialize)]
pub(crate) struct HistoryPage {
    #[serde(default)]
    pub values: Vec<History>,
}

/// A project.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Project {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub project_type_key: Option<String>,
    #[serde(default)]
    pub style: Option<String>,
    #[serde(default)]
    pub lead: Option<User>,
    #[serde(default)]
    pub insight: Option<Insight>,
}

/// A project's activity (`expand=insight`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Insight {
    #[serde(default, deserialize_with = "optional_time")]
    pub last_issue_update_time: Option<DateTime<Utc>>,
}

/// A page of projects.
#[derive(Debug, Deserialize)]
pub(crate) struct ProjectPage {
    #[serde(default)]
    pub values: Vec<Project>,
}

/// `myself`: who the credentials are, and the time zone JQL dates are read in.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Myself {
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A field of the site (`/field`), to find custom fields by name.
#[derive(Debug, Deserialize)]
pub(crate) struct FieldInfo {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}
