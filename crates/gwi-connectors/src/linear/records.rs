//! Linear objects to [`ConnectorRecord`]s: the one place record ids and `data` fields are decided.
//!
//! Ids are Linear's UUIDs; `updated_at` is Linear's `updatedAt`. A query and a webhook give one
//! object the same row: related objects are kept by id (`assignee_id`), which both carry, and
//! dates as `YYYY-MM-DD` (a query gives `2024-02-14`, a webhook `2024-02-14T00:00:00.000Z`).
//! Archived objects stay records, flagged by `archived_at`; a removed one becomes a tombstone.

use chrono::{DateTime, SecondsFormat, Utc};
use gwi_core::error::ConnectorError;
use gwi_core::record::{ConnectorRecord, Envelope};
use schemars::JsonSchema;
use serde::Serialize;

use super::config::RecordType;
use super::models::{Comment, Cycle, Issue, Project, State, Team, User};

/// The `source` of every record, and the connector's name.
pub(crate) const SOURCE: &str = "linear";

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

/// A time as every record writes it: RFC 3339, UTC, milliseconds.
fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A calendar date, whether given as `2024-02-14` or as midnight of it.
fn date(text: Option<&String>) -> Option<&str> {
    text.map(|t| t.get(..10).unwrap_or(t))
}

#[derive(Serialize, JsonSchema)]
struct IssueData<'a> {
    identifier: String,
    number: u64,
    title: &'a str,
    description: Option<&'a str>,
    priority: Option<f64>,
    estimate: Option<f64>,
    due_date: Option<&'a str>,
    state: &'a State,
    team_id: &'a str,
    team_key: Option<&'a str>,
    assignee_id: Option<String>,
    creator_id: Option<String>,
    project_id: Option<String>,
    cycle_id: Option<String>,
    parent_id: Option<String>,
    labels: Vec<&'a str>,
    archived_at: Option<String>,
    canceled_at: Option<String>,
    completed_at: Option<String>,
    started_at: Option<String>,
}

/// An issue.
pub(crate) fn issue(issue: &Issue) -> RecordResult {
    let [assignee_id, creator_id, project_id, cycle_id, parent_id] = issue.related();
    let mut labels: Vec<&str> = issue.labels.iter().map(|l| l.name.as_str()).collect();
    labels.sort_unstable();
    let data = IssueData {
        identifier: issue.identifier(),
        number: issue.number,
        title: &issue.title,
        description: issue.description.as_deref(),
        priority: issue.priority,
        estimate: issue.estimate,
        due_date: date(issue.due_date.as_ref()),
        state: &issue.state,
        team_id: &issue.team.id,
        team_key: issue.team.key.as_deref(),
        assignee_id,
        creator_id,
        project_id,
        cycle_id,
        parent_id,
        labels,
        archived_at: time(issue.archived_at),
        canceled_at: time(issue.canceled_at),
        completed_at: time(issue.completed_at),
        started_at: time(issue.started_at),
    };
    record(
        RecordType::Issue,
        &issue.id,
        issue.created_at,
        issue.updated_at,
        &data,
    )
}

#[derive(Serialize, JsonSchema)]
struct CommentData<'a> {
    body: &'a str,
    issue_id: Option<String>,
    user_id: Option<String>,
    edited_at: Option<String>,
    archived_at: Option<String>,
}

/// A comment.
pub(crate) fn comment(comment: &Comment) -> RecordResult {
    let data = CommentData {
        body: &comment.body,
        issue_id: comment.issue_id(),
        user_id: comment.user_id(),
        edited_at: time(comment.edited_at),
        archived_at: time(comment.archived_at),
    };
    record(
        RecordType::Comment,
        &comment.id,
        comment.created_at,
        comment.updated_at,
        &data,
    )
}

#[derive(Serialize, JsonSchema)]
struct ProjectData<'a> {
    name: &'a str,
    description: Option<&'a str>,
    state: Option<&'a str>,
    lead_id: Option<String>,
    creator_id: Option<String>,
    team_ids: Vec<String>,
    start_date: Option<&'a str>,
    target_date: Option<&'a str>,
    archived_at: Option<String>,
    canceled_at: Option<String>,
    completed_at: Option<String>,
    started_at: Option<String>,
}

/// A project.
pub(crate) fn project(project: &Project) -> RecordResult {
    let [lead_id, creator_id] = project.people();
    let data = ProjectData {
        name: &project.name,
        description: project.description.as_deref(),
        state: project.state.as_deref(),
        lead_id,
        creator_id,
        team_ids: project.team_ids(),
        start_date: date(project.start_date.as_ref()),
        target_date: date(project.target_date.as_ref()),
        archived_at: time(project.archived_at),
        canceled_at: time(project.canceled_at),
        completed_at: time(project.completed_at),
        started_at: time(project.started_at),
    };
    record(
        RecordType::Project,
        &project.id,
        project.created_at,
        project.updated_at,
        &data,
    )
}

#[derive(Serialize, JsonSchema)]
struct CycleData<'a> {
    number: u64,
    name: Option<&'a str>,
    team_id: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    completed_at: Option<String>,
    archived_at: Option<String>,
}

/// A cycle.
pub(crate) fn cycle(cycle: &Cycle) -> RecordResult {
    let data = CycleData {
        number: cycle.number,
        name: cycle.name.as_deref(),
        team_id: cycle.team_id(),
        starts_at: time(cycle.starts_at),
        ends_at: time(cycle.ends_at),
        completed_at: time(cycle.completed_at),
        archived_at: time(cycle.archived_at),
    };
    record(
        RecordType::Cycle,
        &cycle.id,
        cycle.created_at,
        cycle.updated_at,
        &data,
    )
}

#[derive(Serialize, JsonSchema)]
struct TeamData<'a> {
    key: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    private: bool,
    archived_at: Option<String>,
}

/// A team.
pub(crate) fn team(team: &Team) -> RecordResult {
    let data = TeamData {
        key: &team.key,
        name: &team.name,
        description: team.description.as_deref(),
        private: team.private,
        archived_at: time(team.archived_at),
    };
    record(
        RecordType::Team,
        &team.id,
        team.created_at,
        team.updated_at,
        &data,
    )
}

#[derive(Serialize, JsonSchema)]
struct UserData<'a> {
    name: &'a str,
    display_name: Option<&'a str>,
    email: Option<&'a str>,
    active: bool,
    admin: bool,
    archived_at: Option<String>,
}

/// A user; a deactivated one has `active: false` (Linear keeps listing it).
pub(crate) fn user(user: &User) -> RecordResult {
    let data = UserData {
        name: &user.name,
        display_name: user.display_name.as_deref(),
        email: user.email.as_deref(),
        active: user.active,
        admin: user.admin,
        archived_at: time(user.archived_at),
    };
    record(
        RecordType::User,
        &user.id,
        user.created_at,
        user.updated_at,
        &data,
    )
}

/// Each record type's `data` schema, generated from the struct its records are serialized from.
pub(crate) fn data_schemas() -> Vec<(&'static str, schemars::Schema)> {
    use gwi_core::schema::data_schema;
    vec![
        (
            RecordType::Team.as_str(),
            data_schema::<TeamData<'static>>(),
        ),
        (
            RecordType::User.as_str(),
            data_schema::<UserData<'static>>(),
        ),
        (
            RecordType::Project.as_str(),
            data_schema::<ProjectData<'static>>(),
        ),
        (
            RecordType::Cycle.as_str(),
            data_schema::<CycleData<'static>>(),
        ),
        (
            RecordType::Issue.as_str(),
            data_schema::<IssueData<'static>>(),
        ),
        (
            RecordType::Comment.as_str(),
            data_schema::<CommentData<'static>>(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_queried_issue_and_a_webhooks_issue_give_one_row() {
        let queried: Issue = serde_json::from_value(json!({
            "id": "i1", "number": 7, "title": "T", "description": null, "priority": 2,
            "estimate": 3, "dueDate": "2024-02-14", "createdAt": "2024-01-01T00:00:00.000Z",
            "updatedAt": "2024-01-02T00:00:00.000Z", "archivedAt": null, "canceledAt": null,
            "completedAt": null, "startedAt": null,
            "state": {"id": "s1", "name": "Todo", "type": "unstarted"},
            "team": {"id": "t1", "key": "ENG"}, "assignee": {"id": "u1"}, "creator": null,
            "project": null, "cycle": {"id": "c1"}, "parent": null,
            "labels": {"nodes": [{"id": "l2", "name": "bug"}, {"id": "l1", "name": "api"}]}
        }))
        .unwrap();
        let hooked: Issue = serde_json::from_value(json!({
            "id": "i1", "number": 7, "title": "T", "description": null, "priority": 2,
            "estimate": 3, "dueDate": "2024-02-14T00:00:00.000Z",
            "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-02T00:00:00.000Z",
            "state": {"id": "s1", "name": "Todo", "type": "unstarted", "color": "#e2e2e2"},
            "team": {"id": "t1", "key": "ENG", "name": "Engineering"}, "teamId": "t1",
            "assigneeId": "u1", "creatorId": null, "cycleId": "c1", "labelIds": ["l1", "l2"],
            "labels": [{"id": "l1", "name": "api", "color": "#fff"}, {"id": "l2", "name": "bug", "color": "#000"}]
        }))
        .unwrap();
        let (a, b) = (issue(&queried).unwrap(), issue(&hooked).unwrap());
        assert_eq!(a, b);
        let data = a.data.to_value();
        assert_eq!(data["identifier"], "ENG-7");
        assert_eq!(data["labels"], json!(["api", "bug"]));
        assert_eq!(data["due_date"], "2024-02-14");
    }
}
