//! Jira objects to [`ConnectorRecord`]s: the one place record ids and `data` fields are decided.
//!
//! | record | id | `updated_at` |
//! |---|---|---|
//! | `project` | the project id | `insight.lastIssueUpdateTime` (Jira keeps no change time for a project) |
//! | `issue` | the issue id (a key changes when the issue moves) | `updated` |
//! | `comment` | the comment id | `updated` |
//! | `changelog` | the history id | `created` (history entries never change) |
//!
//! Descriptions and comment bodies keep their ADF (`description`, `body`) beside a plain-text
//! rendering (`description_text`, `body_text`). Custom fields go under `custom`, by the
//! readable keys the config gives them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::record::{ConnectorRecord, Envelope};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::adf::plain_text;
use super::config::RecordType;
use super::models::{Comment, History, HistoryItem, Issue, Named, Project, User};

/// The `source` of every record, and the connector's name.
pub(crate) const SOURCE: &str = "jira";

/// What the record functions return: a record, or why its fields could not be encoded.
pub(crate) type RecordResult = Result<ConnectorRecord, ConnectorError>;

fn record(
    record_type: RecordType,
    id: &str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    data: &impl Serialize,
) -> RecordResult {
    Envelope {
        source: SOURCE,
        record_type: record_type.as_str(),
        id: id.to_owned(),
        created_at,
        updated_at,
    }
    .encode_data(data)
}

/// A person as records keep one.
#[derive(Serialize, JsonSchema)]
struct Person<'a> {
    account_id: Option<&'a str>,
    display_name: Option<&'a str>,
}

fn person(user: Option<&User>) -> Option<Person<'_>> {
    user.map(|u| Person {
        account_id: u.account_id.as_deref(),
        display_name: u.display_name.as_deref(),
    })
}

fn name(named: Option<&Named>) -> Option<&str> {
    named.and_then(|n| n.name.as_deref())
}

fn names(named: &[Named]) -> Vec<&str> {
    named.iter().filter_map(|n| n.name.as_deref()).collect()
}

#[derive(Serialize, JsonSchema)]
struct IssueData<'a> {
    key: &'a str,
    project_key: Option<&'a str>,
    summary: Option<&'a str>,
    description: &'a Value,
    description_text: String,
    status: Option<&'a str>,
    status_category: Option<&'a str>,
    issue_type: Option<&'a str>,
    priority: Option<&'a str>,
    assignee: Option<Person<'a>>,
    reporter: Option<Person<'a>>,
    labels: &'a [String],
    components: Vec<&'a str>,
    fix_versions: Vec<&'a str>,
    parent: Option<ParentData<'a>>,
    sprints: Vec<&'a str>,
    resolution: Option<&'a str>,
    resolution_date: Option<DateTime<Utc>>,
    custom: BTreeMap<&'a str, &'a Value>,
}

#[derive(Serialize, JsonSchema)]
struct ParentData<'a> {
    id: &'a str,
    key: Option<&'a str>,
}

/// Which custom fields a record keeps: readable key → field id, and the Sprint field's id.
#[derive(Debug, Clone)]
pub(crate) struct CustomFields {
    /// Readable key → field id.
    pub keep: BTreeMap<String, String>,
    /// The Sprint field's id.
    pub sprint: String,
}

impl Default for CustomFields {
    /// None kept, and the Sprint field where Jira Cloud puts it.
    fn default() -> Self {
        Self {
            keep: BTreeMap::new(),
            sprint: super::config::SPRINT_FIELD.to_owned(),
        }
    }
}

impl CustomFields {
    /// Every field id a query must ask for beyond the standard ones.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.sprint.as_str()).chain(self.keep.values().map(String::as_str))
    }
}

/// An issue.
pub(crate) fn issue(issue: &Issue, custom: &CustomFields) -> RecordResult {
    let f = &issue.fields;
    let sprints = f
        .extra
        .get(&custom.sprint)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("name").and_then(Value::as_str))
        .collect();
    let data = IssueData {
        key: &issue.key,
        project_key: f.project.as_ref().and_then(|p| p.key.as_deref()),
        summary: f.summary.as_deref(),
        description: &f.description,
        description_text: plain_text(&f.description),
        status: f.status.as_ref().and_then(|s| s.name.as_deref()),
        status_category: f
            .status
            .as_ref()
            .and_then(|s| s.status_category.as_ref())
            .and_then(|c| c.name.as_deref().or(c.key.as_deref())),
        issue_type: name(f.issuetype.as_ref()),
        priority: name(f.priority.as_ref()),
        assignee: person(f.assignee.as_ref()),
        reporter: person(f.reporter.as_ref()),
        labels: &f.labels,
        components: names(&f.components),
        fix_versions: names(&f.fix_versions),
        parent: f.parent.as_ref().map(|p| ParentData {
            id: &p.id,
            key: p.key.as_deref(),
        }),
        sprints,
        resolution: name(f.resolution.as_ref()),
        resolution_date: f.resolutiondate,
        custom: custom
            .keep
            .iter()
            .map(|(key, id)| (key.as_str(), f.extra.get(id).unwrap_or(&Value::Null)))
            .collect(),
    };
    let created = f.created.unwrap_or(f.updated);
    record(RecordType::Issue, &issue.id, created, f.updated, &data)
}

/// The issue a comment or history entry belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OnIssue<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its key.
    pub key: &'a str,
}

#[derive(Serialize, JsonSchema)]
struct CommentData<'a> {
    issue_id: &'a str,
    issue_key: &'a str,
    author: Option<Person<'a>>,
    update_author: Option<Person<'a>>,
    body: &'a Value,
    body_text: String,
    jsd_public: Option<bool>,
}

/// A comment on `on`.
pub(crate) fn comment(comment: &Comment, on: OnIssue<'_>) -> RecordResult {
    let data = CommentData {
        issue_id: on.id,
        issue_key: on.key,
        author: person(comment.author.as_ref()),
        update_author: person(comment.update_author.as_ref()),
        body: &comment.body,
        body_text: plain_text(&comment.body),
        jsd_public: comment.jsd_public,
    };
    record(
        RecordType::Comment,
        &comment.id,
        comment.created,
        comment.updated,
        &data,
    )
}

#[derive(Serialize, JsonSchema)]
struct ChangelogData<'a> {
    issue_id: &'a str,
    issue_key: &'a str,
    author: Option<Person<'a>>,
    items: &'a [HistoryItem],
}

/// One history entry of `on`.
pub(crate) fn changelog(history: &History, on: OnIssue<'_>) -> RecordResult {
    let data = ChangelogData {
        issue_id: on.id,
        issue_key: on.key,
        author: person(history.author.as_ref()),
        items: &history.items,
    };
    record(
        RecordType::Changelog,
        &history.id,
        history.created,
        history.created,
        &data,
    )
}

#[derive(Serialize, JsonSchema)]
struct ProjectData<'a> {
    key: &'a str,
    name: Option<&'a str>,
    description: Option<&'a str>,
    project_type: Option<&'a str>,
    style: Option<&'a str>,
    lead: Option<Person<'a>>,
}

/// A project; Jira keeps no creation or change time for one, so both are its newest issue's.
pub(crate) fn project(project: &Project) -> RecordResult {
    let at = project
        .insight
        .as_ref()
        .and_then(|i| i.last_issue_update_time)
        .unwrap_or_default();
    let data = ProjectData {
        key: &project.key,
        name: project.name.as_deref(),
        description: project.description.as_deref(),
        project_type: project.project_type_key.as_deref(),
        style: project.style.as_deref(),
        lead: person(project.lead.as_ref()),
    };
    record(RecordType::Project, &project.id, at, at, &data)
}

/// Each record type's `data` schema, generated from the struct its records are serialized from.
pub(crate) fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
    use gwi_core::schema::data_schema;
    vec![
        (
            RecordType::Project.as_str(),
            data_schema::<ProjectData<'static>>(),
        ),
        (
            RecordType::Issue.as_str(),
            data_schema::<IssueData<'static>>(),
        ),
        (
            RecordType::Comment.as_str(),
            data_schema::<CommentData<'static>>(),
        ),
        (
            RecordType::Changelog.as_str(),
            data_schema::<ChangelogData<'static>>(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::models::{CommentPage, HistoryPage, SearchPage};

    fn custom() -> CustomFields {
        CustomFields {
            keep: BTreeMap::new(),
            sprint: crate::jira::config::SPRINT_FIELD.to_owned(),
        }
    }

    #[test]
    fn recorded_answers_become_records() {
        let issue: Issue = serde_json::from_str(include_str!(
            "../../tests/fixtures/jira/rest/issue_get_adf.json"
        ))
        .unwrap();
        let record = super::issue(&issue, &custom()).unwrap();
        assert_eq!(record.id, issue.id);
        let data = record.data.to_value();
        assert_eq!(data["key"], issue.key.as_str());
        assert!(data["description"].is_object(), "the ADF is kept");
        assert!(
            data["description_text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        let page: SearchPage<Issue> = serde_json::from_str(include_str!(
            "../../tests/fixtures/jira/rest/search_jql.json"
        ))
        .unwrap();
        assert!(!page.issues.is_empty());
        let on = OnIssue {
            id: "10001",
            key: "EX-1",
        };
        let comments: CommentPage = serde_json::from_str(include_str!(
            "../../tests/fixtures/jira/rest/issue_comments.json"
        ))
        .unwrap();
        for c in &comments.comments {
            let data = comment(c, on).unwrap().data.to_value();
            assert_eq!(data["issue_key"], "EX-1");
        }
        let histories: HistoryPage = serde_json::from_str(include_str!(
            "../../tests/fixtures/jira/rest/issue_changelog.json"
        ))
        .unwrap();
        let entry = changelog(&histories.values[0], on).unwrap();
        assert_eq!(entry.created_at, entry.updated_at);
        assert!(entry.data.to_value()["items"][0]["field"].is_string());
    }
}
