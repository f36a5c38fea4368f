//! Jira's JSON, rendered from the recorded payloads in `templates/jira/`.

use serde_json::{Map, Value, json};

use super::data::{
    COMPONENTS, Data, ISSUE_TYPES, PRIORITIES, PROJECTS, SITE_EMAIL, SITE_TZ, SPRINTS, STATUSES,
    USERS, VERSIONS, plain,
};
use crate::core::table::Row;
use crate::core::template::Template;
use crate::core::time::{Iso, Secs};
use crate::error::SandboxError;

/// Issue fields the sandbox renders, in the order `*all` lists them.
pub const FIELDS: [&str; 19] = [
    "summary",
    "description",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "reporter",
    "labels",
    "components",
    "fixVersions",
    "parent",
    "customfield_10020",
    "resolution",
    "resolutiondate",
    "created",
    "updated",
    "project",
    "comment",
    "subtasks",
];

/// One template per object shape Jira sends.
#[derive(Debug)]
pub struct Templates {
    issue: Template,
    project: Template,
    comment: Template,
    user: Template,
    history: Template,
    item: Template,
    changelog_page: Template,
    status: Template,
    issuetype: Template,
    priority: Template,
    component: Template,
    issue_created: Template,
    issue_updated: Template,
    issue_deleted: Template,
    comment_created: Template,
    comment_updated: Template,
    comment_deleted: Template,
}

macro_rules! template {
    ($file:literal, $pointer:literal) => {
        Template::parse(
            concat!("jira/", $file),
            include_str!(concat!("../../templates/jira/", $file)),
            $pointer,
        )
    };
}

impl Templates {
    /// Parses every template (they are compiled in; a failure means a broken build).
    pub fn load() -> Result<Self, SandboxError> {
        Ok(Self {
            issue: template!("search_jql.json", "/issues/0")?,
            project: template!("issue_get_adf.json", "/fields/project")?,
            comment: template!("issue_comments.json", "/comments/0")?,
            user: template!("issue_comments.json", "/comments/0/author")?,
            history: template!("issue_changelog.json", "/values/0")?,
            item: template!("issue_changelog.json", "/values/0/items/0")?,
            changelog_page: template!("issue_changelog.json", "")?,
            status: template!("jira_issue_updated_assigned.json", "/issue/fields/status")?,
            issuetype: template!(
                "jira_issue_updated_assigned.json",
                "/issue/fields/issuetype"
            )?,
            priority: template!("jira_issue_updated_assigned.json", "/issue/fields/priority")?,
            component: template!(
                "jira_issue_updated_assigned.json",
                "/issue/fields/components/0"
            )?,
            issue_created: template!("jira_issue_created.json", "")?,
            issue_updated: template!("jira_issue_updated_assigned.json", "")?,
            issue_deleted: template!("jira_issue_deleted.json", "")?,
            comment_created: template!("comment_created.json", "")?,
            comment_updated: template!("comment_updated.json", "")?,
            comment_deleted: template!("comment_deleted.json", "")?,
        })
    }
}

/// Jira's times: `2024-05-01T10:00:00.000+0000`.
pub fn jira_time(t: Secs) -> Value {
    let iso = Iso(t).to_string();
    Value::String(format!("{}.000+0000", iso.trim_end_matches('Z')))
}

fn idx(row: &Row, key: &str) -> usize {
    row.u64(key) as usize
}

fn indices(row: &Row, key: &str) -> Vec<usize> {
    row.fields
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .map(|n| n as usize)
                .collect()
        })
        .unwrap_or_default()
}

/// Renders objects for the site served at `root` (`http://host/jira`), REST `api` 2 or 3.
pub struct View<'a> {
    /// The site root, without a trailing slash.
    pub root: &'a str,
    /// The templates.
    pub t: &'a Templates,
    /// The data.
    pub data: &'a Data,
    /// `2` for webhooks (REST v2 shapes: plain-text bodies), `3` for the API.
    pub api: u8,
}

impl View<'_> {
    fn api_url(&self, path: &str) -> String {
        format!("{}/rest/api/{}/{path}", self.root, self.api)
    }

    /// A user as issues and comments show one.
    pub fn user(&self, u: usize) -> Value {
        let (id, name) = USERS.get(u).copied().unwrap_or(USERS[0]);
        self.t.user.render([
            ("/accountId", json!(id)),
            ("/displayName", json!(name)),
            ("/active", json!(true)),
            (
                "/self",
                json!(self.api_url(&format!("user?accountId={id}"))),
            ),
        ])
    }

    fn opt_user(&self, v: &Value) -> Value {
        v.as_u64().map_or(Value::Null, |u| self.user(u as usize))
    }

    /// `GET /myself`.
    pub fn myself(&self) -> Value {
        let mut me = self.user(0);
        if let Value::Object(map) = &mut me {
            map.insert("emailAddress".into(), json!(SITE_EMAIL));
            map.insert("timeZone".into(), json!(SITE_TZ));
            map.insert("accountType".into(), json!("atlassian"));
        }
        me
    }

    /// A project; `insight` adds `lastIssueUpdateTime` and `totalIssueCount`; `full` the
    /// project search's keys (description, lead, style).
    pub fn project(&self, scope: usize, insight: bool, full: bool) -> Value {
        let (id, key, name, lead) = PROJECTS[scope];
        let mut p = self.t.project.render([
            ("/id", json!(id)),
            ("/key", json!(key)),
            ("/name", json!(name)),
            ("/self", json!(self.api_url(&format!("project/{id}")))),
            ("/projectTypeKey", json!("software")),
            ("/style", json!("classic")),
            ("/description", json!(format!("The {name} team's work"))),
            ("/lead", self.user(lead)),
        ]);
        if let Value::Object(map) = &mut p {
            map.remove("projectCategory");
            if !full {
                for k in ["description", "lead", "style"] {
                    map.remove(k);
                }
            }
            if insight {
                let last = self.data.last_issue_update(scope).unwrap_or(0);
                let count = self.data.issues.live().filter(|r| r.scope == scope).count();
                map.insert(
                    "insight".into(),
                    json!({"lastIssueUpdateTime": jira_time(last), "totalIssueCount": count}),
                );
            } else {
                map.remove("insight");
            }
        }
        p
    }

    /// An issue's key (`ENG-12`).
    pub fn key(row: &Row) -> String {
        format!("{}-{}", PROJECTS[row.scope].1, row.u64("num"))
    }

    fn status(&self, s: usize) -> Value {
        let (id, name, cat, cat_key, cat_name) = STATUSES[s];
        self.t.status.render([
            ("/id", json!(id)),
            ("/name", json!(name)),
            ("/self", json!(self.api_url(&format!("status/{id}")))),
            ("/statusCategory/id", json!(cat)),
            ("/statusCategory/key", json!(cat_key)),
            ("/statusCategory/name", json!(cat_name)),
            (
                "/statusCategory/self",
                json!(self.api_url(&format!("statuscategory/{cat}"))),
            ),
        ])
    }

    /// One field of an issue, by name; `None` for a field the sandbox does not know.
    pub fn field(&self, row: &Row, name: &str) -> Option<Value> {
        let named = |list: &[(&str, &str)], ids: Vec<usize>, path: &str| -> Value {
            ids.into_iter()
                .filter_map(|i| list.get(i))
                .map(|(id, name)| {
                    self.t.component.render([
                        ("/id", json!(id)),
                        ("/name", json!(name)),
                        ("/self", json!(self.api_url(&format!("{path}/{id}")))),
                    ])
                })
                .collect()
        };
        Some(match name {
            "summary" => row.field("summary"),
            "description" if self.api == 2 => plain(&row.field("description")),
            "description" => row.field("description"),
            "status" => self.status(idx(row, "status")),
            "issuetype" => {
                let (id, name, subtask) = ISSUE_TYPES[idx(row, "type")];
                self.t.issuetype.render([
                    ("/id", json!(id)),
                    ("/name", json!(name)),
                    ("/subtask", json!(subtask)),
                    ("/self", json!(self.api_url(&format!("issuetype/{id}")))),
                ])
            }
            "priority" => {
                let (id, name) = PRIORITIES[idx(row, "priority")];
                self.t.priority.render([
                    ("/id", json!(id)),
                    ("/name", json!(name)),
                    ("/self", json!(self.api_url(&format!("priority/{id}")))),
                ])
            }
            "assignee" => self.opt_user(&row.field("assignee")),
            "reporter" => self.opt_user(&row.field("reporter")),
            "labels" => row.field("labels"),
            "components" => named(&COMPONENTS, indices(row, "components"), "component"),
            "fixVersions" => named(&VERSIONS, indices(row, "versions"), "version"),
            "parent" => match row
                .field("parent")
                .as_u64()
                .and_then(|p| self.data.issues.get(p))
            {
                Some(p) => json!({"id": p.id.to_string(), "key": Self::key(p),
                                  "self": self.api_url(&format!("issue/{}", p.id))}),
                None => Value::Null,
            },
            "customfield_10020" => match row.field("sprint").as_u64() {
                Some(s) => {
                    let (id, name, state) = SPRINTS[s as usize];
                    json!([{"id": id, "name": name, "state": state, "boardId": 1}])
                }
                None => Value::Null,
            },
            "resolution" => match row.field("resolved") {
                Value::Null => Value::Null,
                _ => {
                    json!({"id": "10000", "name": "Done", "self": self.api_url("resolution/10000")})
                }
            },
            "resolutiondate" => row
                .field("resolved")
                .as_i64()
                .map_or(Value::Null, jira_time),
            "created" => jira_time(row.created),
            "updated" => jira_time(row.updated),
            "project" => self.project(row.scope, false, false),
            "subtasks" => self
                .data
                .issues
                .live()
                .filter(|r| r.field("parent").as_u64() == Some(row.id))
                .map(|r| json!({"id": r.id.to_string(), "key": Self::key(r)}))
                .collect(),
            _ => return None,
        })
    }

    /// An issue with `fields` (none: just `id`, `key`, `self`), and its changelog when asked.
    pub fn issue(&self, row: &Row, fields: &[String], changelog: bool) -> Value {
        let mut map = Map::new();
        for name in fields {
            if let Some(v) = self.field(row, name) {
                map.insert(name.clone(), v);
            }
        }
        let mut out = self.t.issue.render([
            ("/id", json!(row.id.to_string())),
            ("/key", json!(Self::key(row))),
            ("/self", json!(self.api_url(&format!("issue/{}", row.id)))),
            ("/fields", Value::Object(map)),
        ]);
        if let Value::Object(m) = &mut out {
            if fields.is_empty() {
                m.remove("fields");
            }
            if changelog {
                let histories = self.histories(row.id);
                m.insert(
                    "changelog".into(),
                    json!({"startAt": 0, "maxResults": histories.len(), "total": histories.len(),
                           "histories": histories}),
                );
            }
        }
        out
    }

    /// The live histories of an issue, oldest first.
    pub fn histories(&self, issue: u64) -> Vec<Value> {
        let mut rows: Vec<&Row> = self
            .data
            .histories
            .live()
            .filter(|h| h.parent == Some(issue))
            .collect();
        rows.sort_by_key(|h| (h.created, h.id));
        rows.into_iter().map(|h| self.history(h)).collect()
    }

    /// One changelog history.
    pub fn history(&self, h: &Row) -> Value {
        self.t.history.render([
            ("/id", json!(h.id.to_string())),
            ("/author", self.user(idx(h, "author"))),
            ("/created", jira_time(h.created)),
            ("/items", self.items(h)),
        ])
    }

    fn items(&self, h: &Row) -> Value {
        h.field("items")
            .as_array()
            .into_iter()
            .flatten()
            .map(|it| {
                let pairs: Vec<(String, Value)> = it
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (format!("/{k}"), v.clone()))
                    .collect();
                self.t
                    .item
                    .render(pairs.iter().map(|(k, v)| (k.as_str(), v.clone())))
            })
            .collect()
    }

    /// A changelog page of `values` starting at `start`.
    pub fn changelog_page(
        &self,
        issue: &Row,
        values: Vec<Value>,
        start: usize,
        max: usize,
        total: usize,
    ) -> Value {
        let base = self.api_url(&format!("issue/{}/changelog", Self::key(issue)));
        let end = start + values.len();
        let mut page = self.t.changelog_page.render([
            (
                "/self",
                json!(format!("{base}?startAt={start}&maxResults={max}")),
            ),
            ("/startAt", json!(start)),
            ("/maxResults", json!(max)),
            ("/total", json!(total)),
            ("/isLast", json!(end >= total)),
            ("/values", Value::Array(values)),
            (
                "/nextPage",
                json!(format!("{base}?startAt={end}&maxResults={max}")),
            ),
        ]);
        if end >= total
            && let Value::Object(m) = &mut page
        {
            m.remove("nextPage");
        }
        page
    }

    /// A comment (body ADF in v3, plain text in v2).
    pub fn comment(&self, c: &Row) -> Value {
        let issue = c.parent.unwrap_or(0);
        let body = if self.api == 2 {
            plain(&c.field("body"))
        } else {
            c.field("body")
        };
        let mut out = self.t.comment.render([
            ("/id", json!(c.id.to_string())),
            (
                "/self",
                json!(self.api_url(&format!("issue/{issue}/comment/{}", c.id))),
            ),
            ("/author", self.user(idx(c, "author"))),
            ("/updateAuthor", self.user(idx(c, "update_author"))),
            ("/body", body),
            ("/created", jira_time(c.created)),
            ("/updated", jira_time(c.updated)),
            ("/jsdPublic", json!(true)),
        ]);
        if let Value::Object(m) = &mut out {
            m.remove("visibility");
        }
        out
    }

    /// The issue as a webhook shows it: the recorded issue with the generated fields written in.
    fn hook_issue(&self, base: &Value, row: &Row) -> Value {
        let mut issue = base.get("issue").cloned().unwrap_or(Value::Null);
        crate::core::template::set(&mut issue, "/id", json!(row.id.to_string()));
        crate::core::template::set(&mut issue, "/key", json!(Self::key(row)));
        crate::core::template::set(
            &mut issue,
            "/self",
            json!(self.api_url(&format!("issue/{}", row.id))),
        );
        for name in FIELDS
            .iter()
            .filter(|f| !matches!(**f, "comment" | "subtasks"))
        {
            if let Some(v) = self.field(row, name) {
                crate::core::template::set(&mut issue, &format!("/fields/{name}"), v);
            }
        }
        issue
    }

    /// A webhook body: `event` is `jira:issue_*` or `comment_*`; `at` its time.
    pub fn hook(
        &self,
        event: &str,
        type_name: Option<&str>,
        issue: &Row,
        comment: Option<&Row>,
        changelog: Option<&Row>,
        at: Secs,
    ) -> Value {
        let t = match event {
            "jira:issue_created" => &self.t.issue_created,
            "jira:issue_deleted" => &self.t.issue_deleted,
            "comment_created" => &self.t.comment_created,
            "comment_updated" => &self.t.comment_updated,
            "comment_deleted" => &self.t.comment_deleted,
            _ => &self.t.issue_updated,
        };
        let base = t.render([]);
        let mut user = self.user(0);
        if let Value::Object(m) = &mut user {
            m.insert("emailAddress".into(), json!(SITE_EMAIL));
            m.insert("timeZone".into(), json!(SITE_TZ));
        }
        let mut body = t.render([
            ("/timestamp", json!(at * 1000)),
            ("/webhookEvent", json!(event)),
            ("/issue", self.hook_issue(&base, issue)),
        ]);
        if let Value::Object(m) = &mut body {
            m.remove("changelog");
            m.remove("issue_event_type_name");
            if let Some(name) = type_name {
                m.insert("issue_event_type_name".into(), json!(name));
            }
            if !event.starts_with("comment_") {
                m.insert("user".into(), user);
            }
            if let Some(h) = changelog {
                m.insert(
                    "changelog".into(),
                    json!({"id": h.id.to_string(), "items": self.items(h)}),
                );
            }
            if let Some(c) = comment {
                m.insert("comment".into(), self.comment(c));
            }
        }
        body
    }
}
