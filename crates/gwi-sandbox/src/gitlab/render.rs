//! GitLab's JSON, rendered from the recorded payloads in `templates/gitlab/`.

use serde_json::{Value, json};

use super::data::{Data, GROUPS, PROJECTS, USERNAMES};
use crate::core::table::Row;
use crate::core::template::Template;
use crate::core::time::{Iso, Secs};
use crate::error::SandboxError;

/// One template per object shape GitLab sends.
#[derive(Debug)]
pub struct Templates {
    merge_request: Template,
    issue: Template,
    note: Template,
    pipeline: Template,
    user: Template,
    project: Template,
    mr_hook: Template,
    issue_hook: Template,
    note_hook_mr: Template,
    note_hook_issue: Template,
    push_hook: Template,
}

macro_rules! template {
    ($file:literal, $pointer:literal) => {
        Template::parse(
            concat!("gitlab/", $file),
            include_str!(concat!("../../templates/gitlab/", $file)),
            $pointer,
        )
    };
}

impl Templates {
    /// Parses every template (they are compiled in; a failure means a broken build).
    pub fn load() -> Result<Self, SandboxError> {
        Ok(Self {
            merge_request: template!("merge_requests_list.json", "/0")?,
            issue: template!("issues_list.json", "/0")?,
            note: template!("issue_notes_list.json", "/0")?,
            pipeline: template!("pipelines_list.json", "/0")?,
            user: template!("merge_requests_list.json", "/0/author")?,
            project: template!("merge_request_open.json", "/project")?,
            mr_hook: template!("merge_request_open.json", "")?,
            issue_hook: template!("issue_open.json", "")?,
            note_hook_mr: template!("note_merge_request.json", "")?,
            note_hook_issue: template!("note_issue.json", "")?,
            push_hook: template!("push.json", "")?,
        })
    }
}

/// REST times: `2024-03-01T10:00:00.000Z`.
fn rest_time(t: Secs) -> Value {
    let iso = Iso(t).to_string();
    Value::String(format!("{}.000Z", iso.trim_end_matches('Z')))
}

/// Webhook times: `2024-03-01 10:00:00 UTC`.
fn hook_time(t: Secs) -> Value {
    let iso = Iso(t).to_string();
    Value::String(format!(
        "{} UTC",
        iso.trim_end_matches('Z').replacen('T', " ", 1)
    ))
}

fn opt_time(v: &Value, f: fn(Secs) -> Value) -> Value {
    v.as_i64().map_or(Value::Null, f)
}

fn ids(row: &Row, key: &str) -> Vec<u64> {
    row.fields
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Renders objects for the instance served at `root` (`http://host/gitlab`).
pub struct View<'a> {
    /// The instance root, without a trailing slash.
    pub root: &'a str,
    /// The templates.
    pub t: &'a Templates,
    /// The data.
    pub data: &'a Data,
}

impl View<'_> {
    fn username(id: u64) -> &'static str {
        usize::try_from(id.saturating_sub(1))
            .ok()
            .and_then(|i| USERNAMES.get(i))
            .copied()
            .unwrap_or("ghost")
    }

    /// A user as the REST API shows one.
    pub fn user(&self, id: u64) -> Value {
        let name = Self::username(id);
        self.t.user.render([
            ("/id", json!(id)),
            ("/username", json!(name)),
            ("/name", json!(name.replace('-', " "))),
            ("/avatar_url", Value::Null),
            ("/web_url", json!(format!("{}/{name}", self.root))),
        ])
    }

    fn users(&self, row: &Row, key: &str) -> Value {
        Value::Array(ids(row, key).into_iter().map(|id| self.user(id)).collect())
    }

    /// A user as webhooks show one (no state or web URL; with an email).
    fn hook_user(&self, id: u64) -> Value {
        let name = Self::username(id);
        json!({"id": id, "name": name.replace('-', " "), "username": name, "avatar_url": null,
               "email": "[REDACTED]"})
    }

    fn hook_users(&self, row: &Row, key: &str) -> Value {
        Value::Array(
            ids(row, key)
                .into_iter()
                .map(|id| self.hook_user(id))
                .collect(),
        )
    }

    fn project_url(&self, scope: usize) -> String {
        let path = PROJECTS.get(scope).map_or("", |p| p.1);
        format!("{}/{path}", self.root)
    }

    /// A project (REST and webhooks share the shape of the webhook's `project`).
    pub fn project(&self, scope: usize) -> Value {
        let Some(&(id, path, group)) = PROJECTS.get(scope) else {
            return Value::Null;
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        let namespace = GROUPS.iter().find(|g| g.0 == group).map_or("", |g| g.1);
        let web = self.project_url(scope);
        let host = self.root.split("://").nth(1).unwrap_or(self.root);
        self.t.project.render([
            ("/id", json!(id)),
            ("/name", json!(name)),
            ("/path", json!(name)),
            ("/description", json!(format!("The {name} project"))),
            ("/web_url", json!(web)),
            ("/homepage", json!(web)),
            ("/namespace", json!(namespace)),
            ("/path_with_namespace", json!(path)),
            ("/default_branch", json!("main")),
            ("/git_http_url", json!(format!("{web}.git"))),
            ("/http_url", json!(format!("{web}.git"))),
            ("/git_ssh_url", json!(format!("git@{host}:{path}.git"))),
            ("/ssh_url", json!(format!("git@{host}:{path}.git"))),
            ("/url", json!(format!("git@{host}:{path}.git"))),
        ])
    }

    fn labels(row: &Row) -> Value {
        row.field("labels")
    }

    fn hook_labels(row: &Row) -> Value {
        let titles = row.field("labels");
        let list = titles.as_array().cloned().unwrap_or_default();
        Value::Array(
            list.iter()
                .enumerate()
                .map(|(i, title)| {
                    json!({"id": i + 1, "title": title, "color": "#428BCA",
                                          "type": "ProjectLabel", "group_id": null})
                })
                .collect(),
        )
    }

    fn mr_url(&self, row: &Row) -> String {
        format!(
            "{}/-/merge_requests/{}",
            self.project_url(row.scope),
            row.u64("iid")
        )
    }

    fn issue_url(&self, row: &Row) -> String {
        format!(
            "{}/-/issues/{}",
            self.project_url(row.scope),
            row.u64("iid")
        )
    }

    fn project_id(row: &Row) -> u64 {
        PROJECTS.get(row.scope).map_or(0, |p| p.0)
    }

    /// A merge request as `GET /projects/:id/merge_requests` lists it.
    pub fn merge_request(&self, row: &Row) -> Value {
        let pid = Self::project_id(row);
        let iid = row.u64("iid");
        let merged = row.str("state") == "merged";
        let first_assignee = ids(row, "assignees").first().map(|&id| self.user(id));
        let milestone = row.field("milestone_id").as_u64().map(|m| {
            json!({"id": m, "iid": m, "project_id": pid, "title": format!("v{m}.0"), "state": "active"})
        });
        self.t.merge_request.render([
            ("/id", json!(row.id)),
            ("/iid", json!(iid)),
            ("/project_id", json!(pid)),
            ("/title", row.field("title")),
            ("/description", row.field("description")),
            ("/state", row.field("state")),
            ("/created_at", rest_time(row.created)),
            ("/updated_at", rest_time(row.updated)),
            ("/merged_at", opt_time(&row.field("merged_at"), rest_time)),
            (
                "/closed_at",
                if merged {
                    Value::Null
                } else {
                    opt_time(&row.field("closed_at"), rest_time)
                },
            ),
            (
                "/merged_by",
                if merged {
                    self.user(row.u64("author"))
                } else {
                    Value::Null
                },
            ),
            (
                "/merge_user",
                if merged {
                    self.user(row.u64("author"))
                } else {
                    Value::Null
                },
            ),
            ("/closed_by", Value::Null),
            ("/target_branch", row.field("target_branch")),
            ("/source_branch", row.field("source_branch")),
            ("/user_notes_count", json!(self.notes_of(row.id).len())),
            ("/author", self.user(row.u64("author"))),
            ("/assignee", first_assignee.unwrap_or(Value::Null)),
            ("/assignees", self.users(row, "assignees")),
            ("/reviewers", self.users(row, "reviewers")),
            ("/source_project_id", json!(pid)),
            ("/target_project_id", json!(pid)),
            ("/labels", Self::labels(row)),
            ("/draft", row.field("draft")),
            ("/work_in_progress", row.field("draft")),
            ("/milestone", milestone.unwrap_or(Value::Null)),
            ("/merge_status", row.field("merge_status")),
            ("/detailed_merge_status", json!("mergeable")),
            ("/sha", row.field("sha")),
            ("/reference", json!(format!("!{iid}"))),
            ("/web_url", json!(self.mr_url(row))),
        ])
    }

    /// An issue as `GET /projects/:id/issues` lists it.
    pub fn issue(&self, row: &Row) -> Value {
        let pid = Self::project_id(row);
        let first_assignee = ids(row, "assignees").first().map(|&id| self.user(id));
        let milestone = row.field("milestone_id").as_u64().map(|m| {
            json!({"id": m, "iid": m, "project_id": pid, "title": format!("v{m}.0"), "state": "active",
                   "description": "", "due_date": null, "created_at": rest_time(row.created),
                   "updated_at": rest_time(row.created)})
        });
        self.t.issue.render([
            ("/id", json!(row.id)),
            ("/iid", row.field("iid")),
            ("/project_id", json!(pid)),
            ("/title", row.field("title")),
            ("/description", row.field("description")),
            ("/state", row.field("state")),
            ("/created_at", rest_time(row.created)),
            ("/updated_at", rest_time(row.updated)),
            ("/closed_at", opt_time(&row.field("closed_at"), rest_time)),
            ("/author", self.user(row.u64("author"))),
            ("/assignee", first_assignee.unwrap_or(Value::Null)),
            ("/assignees", self.users(row, "assignees")),
            ("/labels", Self::labels(row)),
            ("/milestone", milestone.unwrap_or(Value::Null)),
            ("/user_notes_count", json!(self.notes_of(row.id).len())),
            ("/due_date", Value::Null),
            ("/confidential", row.field("confidential")),
            ("/web_url", json!(self.issue_url(row))),
        ])
    }

    fn notes_of(&self, parent: u64) -> Vec<&Row> {
        self.data
            .notes
            .live()
            .filter(|n| n.parent == Some(parent))
            .collect()
    }

    fn parent_of(&self, note: &Row) -> Option<&Row> {
        let table = if note.str("noteable_type") == "Issue" {
            &self.data.issues
        } else {
            &self.data.merge_requests
        };
        note.parent.and_then(|p| table.get(p))
    }

    /// A note as `GET .../notes` lists it.
    pub fn note(&self, row: &Row) -> Value {
        let parent_iid = self.parent_of(row).map_or(0, |p| p.u64("iid"));
        self.t.note.render([
            ("/id", json!(row.id)),
            ("/type", Value::Null),
            ("/body", row.field("body")),
            ("/author", self.user(row.u64("author"))),
            ("/created_at", rest_time(row.created)),
            ("/updated_at", rest_time(row.updated)),
            ("/system", row.field("system")),
            ("/noteable_id", json!(row.parent)),
            ("/noteable_type", row.field("noteable_type")),
            ("/noteable_iid", json!(parent_iid)),
            ("/project_id", json!(Self::project_id(row))),
            ("/resolvable", json!(false)),
            ("/confidential", json!(false)),
            ("/internal", json!(false)),
        ])
    }

    /// A pipeline as `GET /projects/:id/pipelines` lists it: GitLab's basic entity, without
    /// `duration`, people or start and end times.
    pub fn listed_pipeline(&self, row: &Row) -> Value {
        const BASIC: [&str; 10] = [
            "id",
            "iid",
            "project_id",
            "sha",
            "ref",
            "status",
            "source",
            "created_at",
            "updated_at",
            "web_url",
        ];
        let mut pipeline = self.pipeline(row);
        if let Value::Object(fields) = &mut pipeline {
            fields.retain(|key, _| BASIC.contains(&key.as_str()));
        }
        pipeline
    }

    /// A pipeline as `GET /projects/:id/pipelines/:pipeline_id` answers it.
    pub fn pipeline(&self, row: &Row) -> Value {
        self.t.pipeline.render([
            ("/id", json!(row.id)),
            ("/iid", row.field("iid")),
            ("/project_id", json!(Self::project_id(row))),
            ("/status", row.field("status")),
            ("/source", row.field("source")),
            ("/ref", row.field("ref")),
            ("/sha", row.field("sha")),
            ("/before_sha", row.field("sha")),
            ("/user", self.user(row.u64("user"))),
            ("/created_at", rest_time(row.created)),
            ("/updated_at", rest_time(row.updated)),
            ("/started_at", opt_time(&row.field("started_at"), rest_time)),
            (
                "/finished_at",
                opt_time(&row.field("finished_at"), rest_time),
            ),
            ("/committed_at", Value::Null),
            ("/duration", row.field("duration")),
            (
                "/web_url",
                json!(format!(
                    "{}/-/pipelines/{}",
                    self.project_url(row.scope),
                    row.id
                )),
            ),
        ])
    }

    /// A commit as `GET /projects/:id/repository/commits` lists it. No recorded payload of
    /// this answer is kept (see `templates/gitlab/SOURCES.md`), so its shape is written here.
    pub fn commit(&self, row: &Row) -> Value {
        let sha = row.str("sha");
        let name = Self::username(row.u64("author"));
        let email = format!("{name}@example.com");
        let title = row.str("title");
        json!({
            "id": sha, "short_id": sha.get(..8).unwrap_or(sha), "title": title,
            "message": format!("{title}\n"), "parent_ids": [],
            "author_name": name, "author_email": email, "authored_date": rest_time(row.created),
            "committer_name": name, "committer_email": email,
            "committed_date": rest_time(row.created), "created_at": rest_time(row.created),
            "trailers": {}, "extended_trailers": {},
            "web_url": format!("{}/-/commit/{sha}", self.project_url(row.scope)),
        })
    }

    fn repository(&self, scope: usize) -> Value {
        let project = self.project(scope);
        json!({"name": project["name"], "url": project["url"], "description": project["description"],
               "homepage": project["homepage"]})
    }

    fn mr_attributes(&self, row: &Row) -> Vec<(&'static str, Value)> {
        let pid = Self::project_id(row);
        vec![
            ("id", json!(row.id)),
            ("iid", row.field("iid")),
            ("title", row.field("title")),
            ("description", row.field("description")),
            ("state", row.field("state")),
            ("draft", row.field("draft")),
            ("work_in_progress", row.field("draft")),
            ("source_branch", row.field("source_branch")),
            ("target_branch", row.field("target_branch")),
            ("source_project_id", json!(pid)),
            ("target_project_id", json!(pid)),
            ("merge_status", row.field("merge_status")),
            ("detailed_merge_status", json!("mergeable")),
            ("url", json!(self.mr_url(row))),
            ("author_id", row.field("author")),
            ("assignee_id", json!(ids(row, "assignees").first())),
            ("assignee_ids", json!(ids(row, "assignees"))),
            ("reviewer_ids", json!(ids(row, "reviewers"))),
            ("milestone_id", row.field("milestone_id")),
            ("labels", Self::hook_labels(row)),
            ("created_at", hook_time(row.created)),
            ("updated_at", hook_time(row.updated)),
            ("merged_at", opt_time(&row.field("merged_at"), hook_time)),
            ("closed_at", opt_time(&row.field("closed_at"), hook_time)),
            ("last_commit", json!({"id": row.field("sha")})),
            ("source", self.project(row.scope)),
            ("target", self.project(row.scope)),
        ]
    }

    fn issue_attributes(&self, row: &Row) -> Vec<(&'static str, Value)> {
        vec![
            ("id", json!(row.id)),
            ("iid", row.field("iid")),
            ("project_id", json!(Self::project_id(row))),
            ("title", row.field("title")),
            ("description", row.field("description")),
            ("state", row.field("state")),
            ("author_id", row.field("author")),
            ("assignee_id", json!(ids(row, "assignees").first())),
            ("assignee_ids", json!(ids(row, "assignees"))),
            ("milestone_id", row.field("milestone_id")),
            ("labels", Self::hook_labels(row)),
            ("confidential", row.field("confidential")),
            ("due_date", Value::Null),
            ("url", json!(self.issue_url(row))),
            ("created_at", hook_time(row.created)),
            ("updated_at", hook_time(row.updated)),
            ("closed_at", opt_time(&row.field("closed_at"), hook_time)),
        ]
    }

    fn with_attributes(
        base: &Template,
        top: Vec<(&str, Value)>,
        attrs: Vec<(&str, Value)>,
    ) -> Value {
        let mut out = base.render(top);
        for (key, value) in attrs {
            crate::core::template::set(&mut out, &format!("/object_attributes/{key}"), value);
        }
        out
    }

    /// The `Merge Request Hook` for `row` with `action` (`open`, `update`, `merge`, ...).
    pub fn merge_request_hook(&self, row: &Row, action: &str) -> Value {
        let mut attrs = self.mr_attributes(row);
        attrs.push(("action", json!(action)));
        let top = vec![
            ("/user", self.hook_user(row.u64("author"))),
            ("/project", self.project(row.scope)),
            ("/repository", self.repository(row.scope)),
            ("/labels", Self::hook_labels(row)),
            ("/assignees", self.hook_users(row, "assignees")),
            ("/reviewers", self.hook_users(row, "reviewers")),
            (
                "/changes",
                json!({"updated_at": {"previous": null, "current": hook_time(row.updated)}}),
            ),
        ];
        Self::with_attributes(&self.t.mr_hook, top, attrs)
    }

    /// The `Issue Hook` for `row` with `action` (`open`, `update`, `close`, `reopen`).
    pub fn issue_hook(&self, row: &Row, action: &str) -> Value {
        let mut attrs = self.issue_attributes(row);
        attrs.push(("action", json!(action)));
        let top = vec![
            ("/user", self.hook_user(row.u64("author"))),
            ("/project", self.project(row.scope)),
            ("/repository", self.repository(row.scope)),
            ("/labels", Self::hook_labels(row)),
            ("/assignees", self.hook_users(row, "assignees")),
            (
                "/changes",
                json!({"updated_at": {"previous": null, "current": hook_time(row.updated)}}),
            ),
        ];
        Self::with_attributes(&self.t.issue_hook, top, attrs)
    }

    /// The `Note Hook` for the note `row`, with its merge request or issue.
    pub fn note_hook(&self, row: &Row) -> Option<Value> {
        let parent = self.parent_of(row)?;
        let on_issue = row.str("noteable_type") == "Issue";
        let (template, parent_key, parent_attrs) = if on_issue {
            (
                &self.t.note_hook_issue,
                "/issue",
                self.issue_attributes(parent),
            )
        } else {
            (
                &self.t.note_hook_mr,
                "/merge_request",
                self.mr_attributes(parent),
            )
        };
        let parent_value = Value::Object(
            parent_attrs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        );
        let url = if on_issue {
            self.issue_url(parent)
        } else {
            self.mr_url(parent)
        };
        let attrs = vec![
            ("id", json!(row.id)),
            ("note", row.field("body")),
            ("noteable_type", row.field("noteable_type")),
            ("noteable_id", json!(parent.id)),
            ("author_id", row.field("author")),
            ("system", row.field("system")),
            ("project_id", json!(Self::project_id(row))),
            ("commit_id", Value::Null),
            ("created_at", hook_time(row.created)),
            ("updated_at", hook_time(row.updated)),
            ("url", json!(format!("{url}#note_{}", row.id))),
            (
                "action",
                json!(if row.created == row.updated {
                    "create"
                } else {
                    "update"
                }),
            ),
        ];
        let top = vec![
            ("/user", self.hook_user(row.u64("author"))),
            ("/project_id", json!(Self::project_id(row))),
            ("/project", self.project(row.scope)),
            ("/repository", self.repository(row.scope)),
            (parent_key, parent_value),
        ];
        Some(Self::with_attributes(template, top, attrs))
    }

    /// The `Push Hook` that added the commit `row` to the default branch.
    pub fn push_hook(&self, row: &Row) -> Value {
        let author = row.u64("author");
        let name = Self::username(author);
        let commit = self.commit(row);
        let sha = row.str("sha");
        let hook_commit = json!({
            "id": sha, "message": commit["message"], "title": commit["title"],
            "timestamp": Iso(row.created).to_string().replace('Z', "+00:00"),
            "url": commit["web_url"], "author": {"name": name, "email": commit["author_email"]},
            "added": [], "modified": ["README.md"], "removed": [],
        });
        let project = self.project(row.scope);
        self.t.push_hook.render([
            ("/before", json!("0".repeat(40))),
            ("/after", json!(sha)),
            ("/ref", json!("refs/heads/main")),
            ("/checkout_sha", json!(sha)),
            ("/user_id", json!(author)),
            ("/user_name", json!(name)),
            ("/user_username", json!(name)),
            ("/user_email", json!("")),
            ("/user_avatar", Value::Null),
            ("/project_id", project["id"].clone()),
            ("/project", project),
            ("/commits", json!([hook_commit])),
            ("/total_commits_count", json!(1)),
            ("/repository", self.repository(row.scope)),
        ])
    }
}
