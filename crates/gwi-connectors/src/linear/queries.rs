//! The GraphQL queries, each written once with only the fields gwi keeps, and the filter each
//! record type's stream sends.

use chrono::{DateTime, SecondsFormat, Utc};
use gwi_core::graphql::GraphQl;
use gwi_core::http::ApiRoot;
use serde_json::{Value, json};

use super::config::RecordType;

/// `viewer`: who the credentials are (authentication and health).
pub(crate) const VIEWER: &str = "query Viewer { viewer { id name email } }";

/// The root connection a record type is listed from, and the query listing it: newest change
/// first (`orderBy: updatedAt`), archived objects too, narrowed by `$filter`.
pub(crate) fn listing(record_type: RecordType) -> (&'static str, &'static str) {
    match record_type {
        RecordType::Team => ("teams", TEAMS),
        RecordType::User => ("users", USERS),
        RecordType::Project => ("projects", PROJECTS),
        RecordType::Cycle => ("cycles", CYCLES),
        RecordType::Issue => ("issues", ISSUES),
        RecordType::Comment => ("comments", COMMENTS),
    }
}

const TEAMS: &str = "query Teams($first: Int!, $after: String, $filter: TeamFilter) {
  teams(first: $first, after: $after, orderBy: updatedAt, includeArchived: true, filter: $filter) {
    nodes { id key name description private createdAt updatedAt archivedAt }
    pageInfo { hasNextPage endCursor }
  }
}";

const USERS: &str = "query Users($first: Int!, $after: String, $filter: UserFilter) {
  users(first: $first, after: $after, orderBy: updatedAt, includeArchived: true, filter: $filter) {
    nodes { id name displayName email active admin createdAt updatedAt archivedAt }
    pageInfo { hasNextPage endCursor }
  }
}";

const PROJECTS: &str = "query Projects($first: Int!, $after: String, $filter: ProjectFilter) {
  projects(first: $first, after: $after, orderBy: updatedAt, includeArchived: true, filter: $filter) {
    nodes {
      id name description state startDate targetDate
      createdAt updatedAt archivedAt canceledAt completedAt startedAt
      lead { id } creator { id } teams { nodes { id } }
    }
    pageInfo { hasNextPage endCursor }
  }
}";

const CYCLES: &str = "query Cycles($first: Int!, $after: String, $filter: CycleFilter) {
  cycles(first: $first, after: $after, orderBy: updatedAt, includeArchived: true, filter: $filter) {
    nodes { id number name startsAt endsAt completedAt createdAt updatedAt archivedAt team { id } }
    pageInfo { hasNextPage endCursor }
  }
}";

const ISSUES: &str = "query Issues($first: Int!, $after: String, $filter: IssueFilter) {
  issues(first: $first, after: $after, orderBy: updatedAt, includeArchived: true, filter: $filter) {
    nodes {
      id number title description priority estimate dueDate
      createdAt updatedAt archivedAt canceledAt completedAt startedAt
      state { id name type } team { id key }
      assignee { id } creator { id } project { id } cycle { id } parent { id }
      labels { nodes { name } }
    }
    pageInfo { hasNextPage endCursor }
  }
}";

const COMMENTS: &str = "query Comments($first: Int!, $after: String, $filter: CommentFilter) {
  comments(first: $first, after: $after, orderBy: updatedAt, includeArchived: true, filter: $filter) {
    nodes { id body createdAt updatedAt editedAt archivedAt issue { id } user { id } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// The team of one issue (a comment's webhook names its issue, not its team).
pub(crate) const ISSUE_TEAM: &str =
    "query IssueTeam($id: String!) { issue(id: $id) { team { key } } }";

/// The ids of the teams with the given keys (a cycle's or project's webhook names team ids).
pub(crate) const TEAM_IDS: &str = "query TeamIds($filter: TeamFilter) {
  teams(first: 250, includeArchived: true, filter: $filter) { nodes { id key } }
}";

/// A time as Linear's filters take it: RFC 3339 in UTC with milliseconds.
pub(crate) fn query_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The `$filter` of `record_type`'s listing: changed at or after `since` (the objects at the
/// cursor come again, which an upsert absorbs; nothing sharing that millisecond is skipped),
/// of the configured teams; `null` when neither applies.
pub(crate) fn filter(
    record_type: RecordType,
    since: Option<DateTime<Utc>>,
    teams: Option<&[String]>,
) -> Value {
    let mut filter = serde_json::Map::new();
    if let Some(since) = since {
        filter.insert("updatedAt".into(), json!({ "gte": query_time(since) }));
    }
    if let Some(teams) = teams {
        let keys = json!({ "key": { "in": teams } });
        match record_type {
            RecordType::Team => {
                filter.insert("key".into(), json!({ "in": teams }));
            }
            RecordType::Issue | RecordType::Cycle => {
                filter.insert("team".into(), keys);
            }
            RecordType::Comment => {
                filter.insert("issue".into(), json!({ "team": keys }));
            }
            RecordType::Project => {
                filter.insert("accessibleTeams".into(), json!({ "some": keys }));
            }
            RecordType::User => {}
        }
    }
    if filter.is_empty() {
        Value::Null
    } else {
        Value::Object(filter)
    }
}

/// The GraphQL endpoint under the API root.
pub(crate) fn endpoint(root: &ApiRoot) -> GraphQl {
    GraphQl::new(root.url(&["graphql"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_narrow_by_time_and_team_as_each_type_is_related_to_teams() {
        let since = gwi_core::time::parse("2024-05-01T10:00:00.5Z").ok();
        let teams = ["ENG".to_owned()];
        assert_eq!(
            filter(RecordType::Comment, since, Some(&teams)),
            json!({"updatedAt": {"gte": "2024-05-01T10:00:00.500Z"},
                   "issue": {"team": {"key": {"in": ["ENG"]}}}})
        );
        assert_eq!(
            filter(RecordType::Project, None, Some(&teams)),
            json!({"accessibleTeams": {"some": {"key": {"in": ["ENG"]}}}})
        );
        assert_eq!(filter(RecordType::User, None, Some(&teams)), Value::Null);
        for t in RecordType::ALL {
            let (field, query) = listing(*t);
            assert!(
                query.contains(&format!("{field}(first: $first, after: $after")),
                "{t}"
            );
            assert!(query.contains("includeArchived: true") && query.contains("pageInfo"));
        }
    }
}
