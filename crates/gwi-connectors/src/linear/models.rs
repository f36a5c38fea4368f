//! Linear's objects as the GraphQL queries select them and as webhooks carry them: only the
//! fields gwi keeps. A webhook names related objects by id (`assigneeId`), a query by a nested
//! object (`assignee { id }`); both read into the same struct.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// An object reference as a query selects it: `{ "id": ... }`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Ref {
    pub id: String,
}

/// A nested connection's nodes (`labels { nodes { ... } }`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Nodes<T> {
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

/// A related object's id from either shape: `assignee { id }` in a query, `assigneeId` in a
/// webhook.
fn id_of(object: Option<Ref>, id: Option<String>) -> Option<String> {
    object.map(|r| r.id).or(id)
}

/// A label: its name is what users search by.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Label {
    #[serde(default)]
    pub name: String,
}

/// A list of labels as a query (`{ "nodes": [...] }`) or a webhook (`[...]`) gives it.
fn labels<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Label>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Connection(Nodes<Label>),
        List(Vec<Label>),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        Some(Either::Connection(c)) => c.nodes,
        Some(Either::List(l)) => l,
        None => Vec::new(),
    })
}

/// A list of team ids as a query (`teams { nodes { id } }`) or a webhook (`teamIds`) gives it.
fn team_refs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<Nodes<Ref>>::deserialize(d)?.map(|n| n.nodes.into_iter().map(|r| r.id).collect()))
}

/// A workflow state.
#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
pub(crate) struct State {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A team as an issue names it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TeamRef {
    pub id: String,
    #[serde(default)]
    pub key: Option<String>,
}

/// An issue.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Issue {
    pub id: String,
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub priority: Option<f64>,
    #[serde(default)]
    pub estimate: Option<f64>,
    #[serde(default)]
    pub due_date: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub canceled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    pub state: State,
    pub team: TeamRef,
    #[serde(default)]
    assignee: Option<Ref>,
    #[serde(default)]
    assignee_id: Option<String>,
    #[serde(default)]
    creator: Option<Ref>,
    #[serde(default)]
    creator_id: Option<String>,
    #[serde(default)]
    project: Option<Ref>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    cycle: Option<Ref>,
    #[serde(default)]
    cycle_id: Option<String>,
    #[serde(default)]
    parent: Option<Ref>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default, deserialize_with = "labels")]
    pub labels: Vec<Label>,
}

impl Issue {
    /// `ENG-123`: the team's key and the issue's number.
    pub(crate) fn identifier(&self) -> String {
        format!(
            "{}-{}",
            self.team.key.as_deref().unwrap_or("?"),
            self.number
        )
    }

    /// The ids of the related objects: assignee, creator, project, cycle, parent.
    pub(crate) fn related(&self) -> [Option<String>; 5] {
        [
            id_of(self.assignee.clone(), self.assignee_id.clone()),
            id_of(self.creator.clone(), self.creator_id.clone()),
            id_of(self.project.clone(), self.project_id.clone()),
            id_of(self.cycle.clone(), self.cycle_id.clone()),
            id_of(self.parent.clone(), self.parent_id.clone()),
        ]
    }
}

/// A comment on an issue.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comment {
    pub id: String,
    #[serde(default)]
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub edited_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    #[serde(default)]
    issue: Option<Ref>,
    #[serde(default)]
    issue_id: Option<String>,
    #[serde(default)]
    user: Option<Ref>,
    #[serde(default)]
    user_id: Option<String>,
}

impl Comment {
    /// The issue it is on.
    pub(crate) fn issue_id(&self) -> Option<String> {
        id_of(self.issue.clone(), self.issue_id.clone())
    }

    /// Who wrote it (none for integrations).
    pub(crate) fn user_id(&self) -> Option<String> {
        id_of(self.user.clone(), self.user_id.clone())
    }
}

/// A project.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Project {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub target_date: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub canceled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    lead: Option<Ref>,
    #[serde(default)]
    lead_id: Option<String>,
    #[serde(default)]
    creator: Option<Ref>,
    #[serde(default)]
    creator_id: Option<String>,
    #[serde(default, deserialize_with = "team_refs")]
    teams: Option<Vec<String>>,
    #[serde(default)]
    team_ids: Option<Vec<String>>,
}

impl Project {
    /// The lead and the creator.
    pub(crate) fn people(&self) -> [Option<String>; 2] {
        [
            id_of(self.lead.clone(), self.lead_id.clone()),
            id_of(self.creator.clone(), self.creator_id.clone()),
        ]
    }

    /// The teams working on it, sorted.
    pub(crate) fn team_ids(&self) -> Vec<String> {
        let mut ids = self
            .teams
            .clone()
            .or_else(|| self.team_ids.clone())
            .unwrap_or_default();
        ids.sort();
        ids
    }
}

/// A cycle of a team.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Cycle {
    pub id: String,
    pub number: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    #[serde(default)]
    team: Option<Ref>,
    #[serde(default)]
    team_id: Option<String>,
}

impl Cycle {
    /// Its team.
    pub(crate) fn team_id(&self) -> Option<String> {
        id_of(self.team.clone(), self.team_id.clone())
    }
}

/// A team.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Team {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub private: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
}

/// A user.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub admin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
}

/// `viewer`: who the credentials are.
#[derive(Debug, Deserialize)]
pub(crate) struct Viewer {
    pub viewer: ViewerUser,
}

/// The credentials' user.
#[derive(Debug, Deserialize)]
pub(crate) struct ViewerUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}
