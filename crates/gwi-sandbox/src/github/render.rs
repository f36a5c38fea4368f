//! GitHub's JSON, rendered from the recorded payloads in `templates/github/`.
//!
//! The recorded payloads point at `Codertocat/Hello-World` on github.com. When loaded, their
//! roots, repository, numbers and ids become `{{api}}`, `{{html}}`, `{{repo}}`, `{{n}}`,
//! `{{id}}`... (GitHub's own URI templates use single braces), so each URL keeps its recorded
//! form and a render only fills in the values.

use base64::Engine as _;
use serde_json::{Value, json};

use super::data::{
    Data, LABELS, LOGINS, ORG_ID, OWNER, REPO_CREATED, REPO_NAMES, WORKFLOWS, flag, indices,
    is_pull,
};
use crate::core::table::Row;
use crate::core::template::{Template, set};
use crate::core::time::{Iso, Secs};
use crate::error::SandboxError;

/// One template per object shape GitHub sends.
#[derive(Debug)]
pub struct Templates {
    user: Template,
    org: Template,
    repo: Template,
    repo_min: Template,
    label: Template,
    issue: Template,
    pull: Template,
    issue_comment: Template,
    review: Template,
    review_comment: Template,
    run: Template,
    workflow: Template,
    push_commit: Template,
    issues_hook: Template,
    pull_hook: Template,
    comment_hook: Template,
    review_hook: Template,
    review_comment_hook: Template,
    run_hook: Template,
    push_hook: Template,
}

const ISSUE_SUBS: &[(&str, &str)] = &[
    (
        "{{html}}/Codertocat/Hello-World/issues/1",
        "{{html}}/{{repo}}/{{web}}/{{n}}",
    ),
    ("Codertocat/Hello-World/issues/1", "{{repo}}/issues/{{n}}"),
    ("Codertocat/Hello-World", "{{repo}}"),
    ("Codertocat", "{{login}}"),
];
const PULL_SUBS: &[(&str, &str)] = &[
    ("Codertocat/Hello-World/pull/2", "{{repo}}/pull/{{n}}"),
    ("Codertocat/Hello-World/pulls/2", "{{repo}}/pulls/{{n}}"),
    ("Codertocat/Hello-World/issues/2", "{{repo}}/issues/{{n}}"),
    ("ec26c3e57ca3a959ca5aad62de7213c562f8c821", "{{sha}}"),
    ("Codertocat/Hello-World", "{{repo}}"),
    ("github.com", "{{host}}"),
];
const COMMENT_SUBS: &[(&str, &str)] = &[
    (
        "{{html}}/Codertocat/Hello-World/issues/1#",
        "{{html}}/{{repo}}/{{web}}/{{n}}#",
    ),
    ("issuecomment-492700400", "issuecomment-{{id}}"),
    ("comments/492700400", "comments/{{id}}"),
    ("Codertocat/Hello-World/issues/1", "{{repo}}/issues/{{n}}"),
    ("Codertocat/Hello-World", "{{repo}}"),
];
const REVIEW_SUBS: &[(&str, &str)] = &[
    ("pullrequestreview-237895671", "pullrequestreview-{{id}}"),
    ("discussion_r284312630", "discussion_r{{id}}"),
    ("comments/284312630", "comments/{{id}}"),
    ("Codertocat/Hello-World/pull/2", "{{repo}}/pull/{{n}}"),
    ("Codertocat/Hello-World/pulls/2", "{{repo}}/pulls/{{n}}"),
    ("Codertocat/Hello-World", "{{repo}}"),
];
const RUN_SUBS: &[(&str, &str)] = &[
    ("runs/289782451", "runs/{{id}}"),
    ("check-suites/1291536064", "check-suites/{{cs}}"),
    ("workflows/2823525", "workflows/{{wf}}"),
    ("workflows/test/badge.svg", "workflows/{{name}}/badge.svg"),
    (
        "blob/master/.github/workflows/test.yml",
        "blob/main/{{path}}",
    ),
    ("octo-org/octo-repo", "{{repo}}"),
    ("octo-org", "{{login}}"),
];
const PUSH_SUBS: &[(&str, &str)] = &[("Codertocat/Hello-World", "{{repo}}")];

macro_rules! template {
    ($file:literal, $pointer:literal, $subs:expr) => {
        load(
            concat!("github/", $file),
            include_str!(concat!("../../templates/github/", $file)),
            $pointer,
            $subs,
        )
    };
}

/// Parses the object at `pointer` of a recorded payload after turning its github.com roots and
/// then each `subs` pair into placeholders.
fn load(
    name: &str,
    json: &str,
    pointer: &str,
    subs: &[(&str, &str)],
) -> Result<Template, SandboxError> {
    let mut text = json
        .replace("https://api.github.com", "{{api}}")
        .replace("https://github.com", "{{html}}");
    for (from, to) in subs {
        text = text.replace(from, to);
    }
    Template::parse(name, &text, pointer)
}

impl Templates {
    /// Parses every template (they are compiled in; a failure means a broken build).
    pub fn load() -> Result<Self, SandboxError> {
        Ok(Self {
            user: template!("issues_opened.json", "/issue/user", ISSUE_SUBS)?,
            org: template!("workflow_run_completed.json", "/organization", RUN_SUBS)?,
            repo: template!("pull_request_opened.json", "/repository", PULL_SUBS)?,
            repo_min: template!(
                "workflow_run_completed.json",
                "/workflow_run/repository",
                RUN_SUBS
            )?,
            label: template!("issues_opened.json", "/issue/labels/0", ISSUE_SUBS)?,
            issue: template!("issues_opened.json", "/issue", ISSUE_SUBS)?,
            pull: template!("pull_request_opened.json", "/pull_request", PULL_SUBS)?,
            issue_comment: template!("issue_comment_created.json", "/comment", COMMENT_SUBS)?,
            review: template!("pull_request_review_submitted.json", "/review", REVIEW_SUBS)?,
            review_comment: template!(
                "pull_request_review_comment_created.json",
                "/comment",
                REVIEW_SUBS
            )?,
            run: template!("workflow_run_completed.json", "/workflow_run", RUN_SUBS)?,
            workflow: template!("workflow_run_completed.json", "/workflow", RUN_SUBS)?,
            push_commit: template!("push_with_new_branch.json", "/commits/0", PUSH_SUBS)?,
            issues_hook: template!("issues_opened.json", "", ISSUE_SUBS)?,
            pull_hook: template!("pull_request_opened.json", "", PULL_SUBS)?,
            comment_hook: template!("issue_comment_created.json", "", COMMENT_SUBS)?,
            review_hook: template!("pull_request_review_submitted.json", "", REVIEW_SUBS)?,
            review_comment_hook: template!(
                "pull_request_review_comment_created.json",
                "",
                REVIEW_SUBS
            )?,
            run_hook: template!("workflow_run_completed.json", "", RUN_SUBS)?,
            push_hook: template!("push_with_new_branch.json", "", PUSH_SUBS)?,
        })
    }
}

/// Writes each `(placeholder, value)` into every string of `v` that holds a placeholder.
fn fill(v: &mut Value, vars: &[(&str, &str)]) {
    match v {
        Value::String(s) if s.contains("{{") => {
            for (name, value) in vars {
                if s.contains(name) {
                    *s = s.replace(name, value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| fill(x, vars)),
        Value::Object(map) => map.values_mut().for_each(|x| fill(x, vars)),
        _ => {}
    }
}

/// GitHub's legacy global node id: base64 of `0<len>:<Type><id>`.
pub fn node_id(kind: &str, id: impl std::fmt::Display) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("0{}:{kind}{id}", kind.len()))
}

/// `author_association` of a user in these repositories.
fn association(user: u64) -> &'static str {
    match user {
        0..=3 => "MEMBER",
        4..=8 => "CONTRIBUTOR",
        _ => "NONE",
    }
}

fn iso(t: Secs) -> Value {
    Value::String(Iso(t).to_string())
}

fn opt_iso(v: &Value) -> Value {
    v.as_i64().map_or(Value::Null, iso)
}

/// The user `i`'s display name.
pub fn name_of(i: usize) -> String {
    LOGINS
        .get(i)
        .copied()
        .unwrap_or(LOGINS[0])
        .replace('-', " ")
}

fn login(i: u64) -> &'static str {
    usize::try_from(i)
        .ok()
        .and_then(|i| LOGINS.get(i))
        .copied()
        .unwrap_or(LOGINS[0])
}

/// Renders objects for the API served at `api` (and its web pages at `html`), with the people
/// and repositories rendered once.
pub struct View<'a> {
    t: &'a Templates,
    data: &'a Data,
    api: &'a str,
    html: &'a str,
    users: Vec<Value>,
    org: Value,
    repos: Vec<Value>,
    repos_min: Vec<Value>,
}

impl<'a> View<'a> {
    /// A view of `data` under the roots `api` and `html` (no trailing slash).
    pub fn new(t: &'a Templates, data: &'a Data, api: &'a str, html: &'a str) -> Self {
        let mut view = Self {
            t,
            data,
            api,
            html,
            users: Vec::new(),
            org: Value::Null,
            repos: Vec::new(),
            repos_min: Vec::new(),
        };
        view.users = (0..LOGINS.len())
            .map(|i| view.account(LOGINS[i], 10_001 + i as u64, "User"))
            .collect();
        view.org = view.account(OWNER, ORG_ID, "Organization");
        view.repos = (0..REPO_NAMES.len()).map(|s| view.repo_full(s)).collect();
        view.repos_min = (0..REPO_NAMES.len()).map(|s| view.repo_min(s)).collect();
        view
    }

    fn make<'f>(
        &self,
        t: &Template,
        vars: &[(&str, &str)],
        fields: impl IntoIterator<Item = (&'f str, Value)>,
    ) -> Value {
        let mut v = t.render(std::iter::empty());
        let host = self.html.split("://").nth(1).unwrap_or("github.com");
        let roots = [
            ("{{api}}", self.api),
            ("{{html}}", self.html),
            ("{{host}}", host),
        ];
        fill(&mut v, &[vars, &roots[..]].concat());
        for (pointer, value) in fields {
            set(&mut v, pointer, value);
        }
        v
    }

    fn full(scope: usize) -> String {
        format!("{OWNER}/{}", REPO_NAMES.get(scope).copied().unwrap_or(""))
    }

    fn account(&self, login: &str, id: u64, kind: &str) -> Value {
        self.make(
            &self.t.user,
            &[("{{login}}", login)],
            [
                ("/login", json!(login)),
                ("/id", json!(id)),
                ("/node_id", json!(node_id(kind, id))),
                (
                    "/avatar_url",
                    json!(format!("https://avatars.githubusercontent.com/u/{id}?v=4")),
                ),
                ("/type", json!(kind)),
                ("/user_view_type", json!("public")),
            ],
        )
    }

    /// The user `i` (0 owns the token).
    pub fn user(&self, i: u64) -> Value {
        let i = usize::try_from(i).unwrap_or(0);
        self.users
            .get(i)
            .or(self.users.first())
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn users(&self, row: &Row, key: &str) -> Value {
        Value::Array(
            indices(row, key)
                .into_iter()
                .map(|i| self.user(i as u64))
                .collect(),
        )
    }

    /// The authenticated user (`GET /user`): a user plus profile fields. No recorded payload of
    /// this answer is kept, so the profile fields are written here.
    pub fn me(&self) -> Value {
        let mut v = self.user(0);
        let created = iso(self.data.user_created.first().copied().unwrap_or(0));
        let profile = [
            ("name", json!(name_of(0))),
            ("company", json!("@acme")),
            ("blog", json!("")),
            ("location", Value::Null),
            ("email", json!(format!("{}@example.com", LOGINS[0]))),
            ("hireable", Value::Null),
            ("bio", json!("Owner of the gwi sandbox token")),
            ("twitter_username", Value::Null),
            ("public_repos", json!(0)),
            ("public_gists", json!(0)),
            ("followers", json!(0)),
            ("following", json!(0)),
            ("created_at", created.clone()),
            ("updated_at", created),
        ];
        if let Some(obj) = v.as_object_mut() {
            obj.extend(profile.into_iter().map(|(k, x)| (k.to_owned(), x)));
        }
        v
    }

    /// The organisation as webhooks show it.
    pub fn organization(&self) -> Value {
        self.make(
            &self.t.org,
            &[("{{login}}", OWNER)],
            [
                ("/login", json!(OWNER)),
                ("/id", json!(ORG_ID)),
                ("/node_id", json!(node_id("Organization", ORG_ID))),
                (
                    "/avatar_url",
                    json!(format!(
                        "https://avatars.githubusercontent.com/u/{ORG_ID}?v=4"
                    )),
                ),
                ("/description", json!("")),
            ],
        )
    }

    fn repo_min(&self, scope: usize) -> Value {
        let id = self.data.repos.get(scope).map_or(0, |r| r.id);
        let name = REPO_NAMES.get(scope).copied().unwrap_or("");
        self.make(
            &self.t.repo_min,
            &[("{{repo}}", &Self::full(scope))],
            [
                ("/id", json!(id)),
                ("/node_id", json!(node_id("Repository", id))),
                ("/name", json!(name)),
                ("/full_name", json!(Self::full(scope))),
                ("/owner", self.org.clone()),
                ("/private", json!(false)),
                (
                    "/description",
                    json!(format!("The {name} service of the gwi sandbox")),
                ),
            ],
        )
    }

    fn repo_full(&self, scope: usize) -> Value {
        let pushed = self.data.repos.get(scope).map_or(0, |r| r.pushed_at);
        let open = self
            .data
            .issues
            .live()
            .filter(|r| r.scope == scope && flag(r, "open"))
            .count();
        let size = self
            .data
            .commits
            .live()
            .filter(|r| r.scope == scope)
            .count()
            * 12;
        let mut fields = vec![
            ("/created_at", iso(REPO_CREATED)),
            ("/updated_at", iso(pushed)),
            ("/pushed_at", iso(pushed)),
            ("/size", json!(size)),
            ("/stargazers_count", json!(42)),
            ("/watchers_count", json!(42)),
            ("/watchers", json!(42)),
            ("/language", json!("Rust")),
            ("/has_pages", json!(false)),
            ("/has_discussions", json!(false)),
            ("/forks_count", json!(3)),
            ("/forks", json!(3)),
            ("/open_issues_count", json!(open)),
            ("/open_issues", json!(open)),
            ("/allow_forking", json!(true)),
            ("/default_branch", json!("main")),
        ];
        let mut v = self.repo_min(scope);
        let mut full = self.make(&self.t.repo, &[("{{repo}}", &Self::full(scope))], []);
        if let (Some(obj), Some(min)) = (full.as_object_mut(), v.as_object_mut()) {
            obj.extend(std::mem::take(min));
        }
        for (pointer, value) in fields.drain(..) {
            set(&mut full, pointer, value);
        }
        v = full;
        v
    }

    /// A repository as `GET /repos/{o}/{r}`, pull request heads and webhooks show it.
    pub fn repo(&self, scope: usize) -> Value {
        self.repos.get(scope).cloned().unwrap_or(Value::Null)
    }

    fn labels(&self, row: &Row) -> Value {
        let full = Self::full(row.scope);
        let labels = indices(row, "labels").into_iter().filter_map(|i| {
            let (name, url_name, color, description, default) = LABELS.get(i)?;
            let id = 7_000_000_001 + (row.scope * LABELS.len() + i) as u64;
            Some(self.make(
                &self.t.label,
                &[],
                [
                    ("/id", json!(id)),
                    ("/node_id", json!(node_id("Label", id))),
                    (
                        "/url",
                        json!(format!("{}/repos/{full}/labels/{url_name}", self.api)),
                    ),
                    ("/name", json!(name)),
                    ("/color", json!(color)),
                    ("/default", json!(default)),
                    ("/description", json!(description)),
                ],
            ))
        });
        Value::Array(labels.collect())
    }

    fn reactions(&self, url: String) -> Value {
        json!({"url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
               "confused": 0, "heart": 0, "rocket": 0, "eyes": 0})
    }

    /// The fields issues and pull requests share.
    fn issue_fields(&self, row: &Row) -> Vec<(&'static str, Value)> {
        let user = row.u64("user");
        let locked = flag(row, "locked");
        vec![
            ("/number", row.field("number")),
            ("/title", row.field("title")),
            ("/user", self.user(user)),
            ("/labels", self.labels(row)),
            (
                "/state",
                json!(if flag(row, "open") { "open" } else { "closed" }),
            ),
            ("/locked", json!(locked)),
            (
                "/assignee",
                indices(row, "assignees")
                    .first()
                    .map_or(Value::Null, |i| self.user(*i as u64)),
            ),
            ("/assignees", self.users(row, "assignees")),
            ("/milestone", Value::Null),
            ("/body", row.field("body")),
            ("/created_at", iso(row.created)),
            ("/updated_at", iso(row.updated)),
            ("/closed_at", opt_iso(&row.field("closed_at"))),
            ("/author_association", json!(association(user))),
            ("/active_lock_reason", json!(locked.then_some("resolved"))),
        ]
    }

    /// An issue as `GET /repos/{o}/{r}/issues` lists it (pull requests carry `pull_request`).
    pub fn issue(&self, row: &Row) -> Value {
        let full = Self::full(row.scope);
        let n = row.u64("number").to_string();
        let pull = is_pull(row);
        let web = if pull { "pull" } else { "issues" };
        let mut fields = self.issue_fields(row);
        fields.extend([
            ("/id", json!(row.id)),
            ("/node_id", json!(node_id("Issue", row.id))),
            ("/comments", row.field("comments")),
            (
                "/reactions",
                self.reactions(format!("{}/repos/{full}/issues/{n}/reactions", self.api)),
            ),
            (
                "/timeline_url",
                json!(format!("{}/repos/{full}/issues/{n}/timeline", self.api)),
            ),
            ("/performed_via_github_app", Value::Null),
            (
                "/state_reason",
                json!((!flag(row, "open") && !pull).then_some("completed")),
            ),
        ]);
        if pull {
            fields.push(("/draft", row.field("draft")));
            fields.push((
                "/pull_request",
                json!({
                    "url": format!("{}/repos/{full}/pulls/{n}", self.api),
                    "html_url": format!("{}/{full}/pull/{n}", self.html),
                    "diff_url": format!("{}/{full}/pull/{n}.diff", self.html),
                    "patch_url": format!("{}/{full}/pull/{n}.patch", self.html),
                    "merged_at": opt_iso(&row.field("merged_at")),
                }),
            ));
        }
        let vars = [("{{repo}}", full.as_str()), ("{{n}}", &n), ("{{web}}", web)];
        let mut v = self.make(&self.t.issue, &vars, fields);
        if let (false, Some(obj)) = (pull, v.as_object_mut()) {
            obj.remove("draft");
        }
        v
    }

    fn branch(&self, row: &Row, name: &str, sha: &str) -> Value {
        json!({"label": format!("{OWNER}:{name}"), "ref": name, "sha": sha,
               "user": self.org.clone(), "repo": self.repo(row.scope)})
    }

    /// A pull request: GitHub's "pull request simple" as `/pulls` lists it, or with `full` the
    /// whole object as `GET /pulls/{n}` and webhooks show it.
    pub fn pull(&self, row: &Row, full: bool) -> Value {
        let name = Self::full(row.scope);
        let n = row.u64("number").to_string();
        let head = row.str("head_sha");
        let pull_id = row.u64("pull_id");
        let open = flag(row, "open");
        let mut fields = self.issue_fields(row);
        fields.extend([
            ("/id", json!(pull_id)),
            ("/node_id", json!(node_id("PullRequest", pull_id))),
            ("/merged_at", opt_iso(&row.field("merged_at"))),
            ("/merge_commit_sha", row.field("merge_commit_sha")),
            (
                "/requested_reviewers",
                self.users(row, "requested_reviewers"),
            ),
            ("/requested_teams", json!([])),
            ("/draft", row.field("draft")),
            ("/head", self.branch(row, row.str("head_ref"), head)),
            ("/base", self.branch(row, "main", row.str("base_sha"))),
            ("/auto_merge", Value::Null),
            ("/merged", json!(!row.field("merged_at").is_null())),
            ("/mergeable", json!(open.then_some(true))),
            ("/rebaseable", json!(open.then_some(true))),
            (
                "/mergeable_state",
                json!(if open { "clean" } else { "unknown" }),
            ),
            (
                "/merged_by",
                row.field("merged_by")
                    .as_u64()
                    .map_or(Value::Null, |u| self.user(u)),
            ),
            ("/comments", row.field("comments")),
            ("/review_comments", row.field("review_comments")),
            ("/maintainer_can_modify", json!(false)),
            ("/commits", row.field("commits")),
            ("/additions", row.field("additions")),
            ("/deletions", row.field("deletions")),
            ("/changed_files", row.field("changed_files")),
        ]);
        let vars = [
            ("{{repo}}", name.as_str()),
            ("{{n}}", &n),
            ("{{sha}}", head),
        ];
        let mut v = self.make(&self.t.pull, &vars, fields);
        if let (false, Some(obj)) = (full, v.as_object_mut()) {
            for key in [
                "merged",
                "mergeable",
                "rebaseable",
                "mergeable_state",
                "merged_by",
                "comments",
                "review_comments",
                "maintainer_can_modify",
                "commits",
                "additions",
                "deletions",
                "changed_files",
            ] {
                obj.remove(key);
            }
        }
        v
    }

    /// An issue comment.
    pub fn issue_comment(&self, row: &Row) -> Value {
        let full = Self::full(row.scope);
        let (n, id) = (row.u64("number").to_string(), row.id.to_string());
        let web = if flag(row, "on_pull") {
            "pull"
        } else {
            "issues"
        };
        let user = row.u64("user");
        let vars = [
            ("{{repo}}", full.as_str()),
            ("{{n}}", &n),
            ("{{id}}", &id),
            ("{{web}}", web),
        ];
        self.make(
            &self.t.issue_comment,
            &vars,
            [
                ("/id", json!(row.id)),
                ("/node_id", json!(node_id("IssueComment", row.id))),
                ("/user", self.user(user)),
                ("/created_at", iso(row.created)),
                ("/updated_at", iso(row.updated)),
                ("/author_association", json!(association(user))),
                ("/body", row.field("body")),
                ("/performed_via_github_app", Value::Null),
                (
                    "/reactions",
                    self.reactions(format!(
                        "{}/repos/{full}/issues/comments/{id}/reactions",
                        self.api
                    )),
                ),
            ],
        )
    }

    /// A review; `hook` gives the webhook's lower-case `state` and null empty body.
    pub fn review(&self, row: &Row, hook: bool) -> Value {
        let full = Self::full(row.scope);
        let (n, id) = (row.u64("number").to_string(), row.id.to_string());
        let user = row.u64("user");
        let (body, state) = match (hook, row.str("body")) {
            (true, "") => (Value::Null, json!(row.str("state").to_ascii_lowercase())),
            (true, _) => (
                row.field("body"),
                json!(row.str("state").to_ascii_lowercase()),
            ),
            (false, _) => (row.field("body"), row.field("state")),
        };
        let vars = [("{{repo}}", full.as_str()), ("{{n}}", &n), ("{{id}}", &id)];
        self.make(
            &self.t.review,
            &vars,
            [
                ("/id", json!(row.id)),
                ("/node_id", json!(node_id("PullRequestReview", row.id))),
                ("/user", self.user(user)),
                ("/body", body),
                ("/commit_id", row.field("commit_id")),
                ("/submitted_at", iso(row.created)),
                ("/state", state),
                ("/author_association", json!(association(user))),
            ],
        )
    }

    /// A review comment (a comment on the diff).
    pub fn review_comment(&self, row: &Row) -> Value {
        let full = Self::full(row.scope);
        let (n, id) = (row.u64("number").to_string(), row.id.to_string());
        let user = row.u64("user");
        let line = row.u64("line");
        let start = line.saturating_sub(3).max(1);
        let vars = [("{{repo}}", full.as_str()), ("{{n}}", &n), ("{{id}}", &id)];
        self.make(
            &self.t.review_comment,
            &vars,
            [
                ("/pull_request_review_id", json!(row.parent)),
                ("/id", json!(row.id)),
                (
                    "/node_id",
                    json!(node_id("PullRequestReviewComment", row.id)),
                ),
                (
                    "/diff_hunk",
                    json!(format!(
                        "@@ -{start},6 +{start},7 @@\n context\n+changed line {line}"
                    )),
                ),
                ("/path", row.field("path")),
                ("/position", json!(4)),
                ("/original_position", json!(4)),
                ("/commit_id", row.field("commit_id")),
                ("/original_commit_id", row.field("commit_id")),
                ("/user", self.user(user)),
                ("/body", row.field("body")),
                ("/created_at", iso(row.created)),
                ("/updated_at", iso(row.updated)),
                ("/author_association", json!(association(user))),
                ("/line", json!(line)),
                ("/original_line", json!(line)),
                ("/subject_type", json!("line")),
            ],
        )
    }

    fn person(&self, i: u64, with_username: bool) -> Value {
        let login = login(i);
        let mut v = json!({"name": name_of(i as usize),
                           "email": format!("{login}@users.noreply.github.com")});
        if with_username {
            set(&mut v, "/username", json!(login));
        }
        v
    }

    /// A commit as `GET /repos/{o}/{r}/commits` lists it. No recorded payload of this answer is
    /// kept (see `templates/github/SOURCES.md`), so its shape is written here.
    pub fn commit(&self, row: &Row) -> Value {
        let (api, html) = (self.api, self.html);
        let full = Self::full(row.scope);
        let repo = self.data.repos.get(row.scope).map_or(0, |r| r.id);
        let sha = row.str("sha");
        let author = row.u64("author");
        let mut person = self.person(author, false);
        set(&mut person, "/date", iso(row.created));
        let parents: Vec<Value> = row
            .fields
            .get("parent")
            .and_then(Value::as_str)
            .map(|p| {
                json!({"sha": p, "url": format!("{api}/repos/{full}/commits/{p}"),
                       "html_url": format!("{html}/{full}/commit/{p}")})
            })
            .into_iter()
            .collect();
        let tree = row.str("tree_sha");
        json!({
            "sha": sha,
            "node_id": node_id("Commit", format!("{repo}:{sha}")),
            "commit": {
                "author": person, "committer": person, "message": row.field("message"),
                "tree": {"sha": tree, "url": format!("{api}/repos/{full}/git/trees/{tree}")},
                "url": format!("{api}/repos/{full}/git/commits/{sha}"), "comment_count": 0,
                "verification": {"verified": false, "reason": "unsigned", "signature": null,
                                 "payload": null, "verified_at": null},
            },
            "url": format!("{api}/repos/{full}/commits/{sha}"),
            "html_url": format!("{html}/{full}/commit/{sha}"),
            "comments_url": format!("{api}/repos/{full}/commits/{sha}/comments"),
            "author": self.user(author),
            "committer": self.user(author),
            "parents": parents,
        })
    }

    /// The workflow `index` of repository `scope`.
    pub fn workflow(&self, scope: usize, index: usize) -> Value {
        let Some((name, path)) = WORKFLOWS.get(index) else {
            return Value::Null;
        };
        let id = 8_000_001 + (scope * WORKFLOWS.len() + index) as u64;
        let at = iso(REPO_CREATED + 30 * 86_400);
        let vars = [
            ("{{repo}}", Self::full(scope)),
            ("{{wf}}", id.to_string()),
            ("{{name}}", (*name).to_owned()),
            ("{{path}}", (*path).to_owned()),
        ];
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.make(
            &self.t.workflow,
            &vars,
            [
                ("/id", json!(id)),
                ("/name", json!(name)),
                ("/node_id", json!(node_id("Workflow", id))),
                ("/path", json!(path)),
                ("/state", json!("active")),
                ("/created_at", at.clone()),
                ("/updated_at", at),
            ],
        )
    }

    /// A workflow run.
    pub fn run(&self, row: &Row) -> Value {
        let full = Self::full(row.scope);
        let index = row.u64("workflow") as usize;
        let (name, path) = WORKFLOWS.get(index).copied().unwrap_or(("CI", ""));
        let wf = 8_000_001 + (row.scope * WORKFLOWS.len() + index) as u64;
        let suite = row.id + 1_000_000_000;
        let attempt = row.u64("run_attempt");
        let commit = self.data.commits.get(row.u64("commit"));
        let head_commit = commit.map_or(Value::Null, |c| {
            let person = self.person(c.u64("author"), false);
            json!({"id": c.str("sha"), "tree_id": c.str("tree_sha"), "message": c.field("message"),
                   "timestamp": iso(c.created), "author": person, "committer": person})
        });
        let (id, wf_id, suite_id) = (row.id.to_string(), wf.to_string(), suite.to_string());
        let vars = [
            ("{{repo}}", full.as_str()),
            ("{{id}}", &id),
            ("{{wf}}", &wf_id),
            ("{{cs}}", &suite_id),
        ];
        let actor = self.user(row.u64("actor"));
        let run_url = format!("{}/repos/{full}/actions/runs/{id}", self.api);
        self.make(
            &self.t.run,
            &vars,
            [
                ("/id", json!(row.id)),
                ("/name", json!(name)),
                ("/node_id", json!(node_id("WorkflowRun", row.id))),
                ("/head_branch", row.field("head_branch")),
                ("/head_sha", json!(commit.map_or("", |c| c.str("sha")))),
                ("/path", json!(path)),
                (
                    "/display_title",
                    commit.map_or(json!(""), |c| c.field("message")),
                ),
                ("/run_number", row.field("run_number")),
                ("/event", row.field("event")),
                ("/status", row.field("status")),
                ("/conclusion", row.field("conclusion")),
                ("/workflow_id", json!(wf)),
                ("/check_suite_id", json!(suite)),
                ("/check_suite_node_id", json!(node_id("CheckSuite", suite))),
                ("/pull_requests", json!([])),
                ("/created_at", iso(row.created)),
                ("/updated_at", iso(row.updated)),
                ("/actor", actor.clone()),
                ("/triggering_actor", actor),
                ("/run_attempt", json!(attempt)),
                ("/referenced_workflows", json!([])),
                ("/run_started_at", opt_iso(&row.field("run_started_at"))),
                (
                    "/previous_attempt_url",
                    json!((attempt > 1).then(|| format!("{run_url}/attempts/{}", attempt - 1))),
                ),
                ("/head_commit", head_commit),
                (
                    "/repository",
                    self.repos_min.get(row.scope).cloned().unwrap_or_default(),
                ),
                (
                    "/head_repository",
                    self.repos_min.get(row.scope).cloned().unwrap_or_default(),
                ),
            ],
        )
    }

    /// The webhook body of `event` about repository `scope`, from its recorded delivery with
    /// `fields` written in; `sender` is the user who acted.
    pub fn hook<'f>(
        &self,
        event: &str,
        scope: usize,
        sender: u64,
        fields: impl IntoIterator<Item = (&'f str, Value)>,
    ) -> Value {
        let t = match event {
            "issues" => &self.t.issues_hook,
            "issue_comment" => &self.t.comment_hook,
            "pull_request_review" => &self.t.review_hook,
            "pull_request_review_comment" => &self.t.review_comment_hook,
            "workflow_run" => &self.t.run_hook,
            "push" => &self.t.push_hook,
            _ => &self.t.pull_hook,
        };
        let mut v = t.render(std::iter::empty());
        if let Some(obj) = v.as_object_mut() {
            // The sandbox sends repository webhooks, which carry no App installation.
            obj.remove("installation");
            obj.remove("changes");
        }
        let common = [
            ("/repository", self.repo(scope)),
            ("/organization", self.organization()),
            ("/sender", self.user(sender)),
        ];
        for (pointer, value) in common.into_iter().chain(fields) {
            set(&mut v, pointer, value);
        }
        v
    }

    /// The `push` of the commits `rows` (oldest first) to the default branch.
    pub fn push(&self, scope: usize, rows: &[&Row]) -> Value {
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return json!({});
        };
        let full = Self::full(scope);
        let commits: Vec<Value> = rows
            .iter()
            .map(|c| {
                let person = self.person(c.u64("author"), true);
                let sha = c.str("sha");
                self.make(
                    &self.t.push_commit,
                    &[("{{repo}}", &full)],
                    [
                        ("/id", json!(sha)),
                        ("/tree_id", c.field("tree_sha")),
                        ("/distinct", json!(true)),
                        ("/message", c.field("message")),
                        ("/timestamp", iso(c.created)),
                        ("/url", json!(format!("{}/{full}/commit/{sha}", self.html))),
                        ("/author", person.clone()),
                        ("/committer", person),
                        ("/added", json!([])),
                        ("/removed", json!([])),
                        ("/modified", json!(["src/lib.rs"])),
                    ],
                )
            })
            .collect();
        let before = first
            .fields
            .get("parent")
            .and_then(Value::as_str)
            .map_or_else(|| "0".repeat(40), str::to_owned);
        let after = last.str("sha");
        let short = |s: &str| s.get(..12).unwrap_or(s).to_owned();
        let pusher_login = login(last.u64("author"));
        let pusher = json!({"name": pusher_login,
                            "email": format!("{pusher_login}@users.noreply.github.com")});
        let mut repository = self.repo(scope);
        // Push payloads carry the repository's `created_at`/`pushed_at` as Unix seconds,
        // unlike every other payload.
        let pushed = self.data.repos.get(scope).map_or(0, |r| r.pushed_at);
        set(&mut repository, "/created_at", json!(REPO_CREATED));
        set(&mut repository, "/pushed_at", json!(pushed));
        self.hook(
            "push",
            scope,
            1,
            [
                ("/ref", json!("refs/heads/main")),
                ("/before", json!(before)),
                ("/after", json!(after)),
                ("/created", json!(false)),
                ("/deleted", json!(false)),
                ("/forced", json!(false)),
                ("/base_ref", Value::Null),
                (
                    "/compare",
                    json!(format!(
                        "{}/{full}/compare/{}...{}",
                        self.html,
                        short(&before),
                        short(after)
                    )),
                ),
                ("/head_commit", commits.last().cloned().unwrap_or_default()),
                ("/commits", Value::Array(commits)),
                ("/pusher", pusher),
                ("/repository", repository),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_match_githubs_legacy_format() {
        assert_eq!(node_id("User", 21_031_067), "MDQ6VXNlcjIxMDMxMDY3");
        assert_eq!(
            node_id("Repository", 186_853_002),
            "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI="
        );
    }

    #[test]
    fn rendered_objects_keep_no_recorded_names_or_placeholders() {
        let t = Templates::load().unwrap_or_else(|e| panic!("{e}"));
        let data = Data::generate(1, 1);
        let view = View::new(&t, &data, "http://h/api/v3", "http://h");
        let pull = data
            .issues
            .live()
            .find(|r| is_pull(r))
            .map(|r| view.pull(r, true));
        let comment = data
            .review_comments
            .live()
            .next()
            .map(|r| view.review_comment(r));
        let run = data.runs.live().next().map(|r| view.run(r));
        for v in [pull, comment, run, Some(view.workflow(0, 1))] {
            let text = v.map(|v| v.to_string()).unwrap_or_default();
            assert!(
                text.contains("http://h/api/v3/repos/acme/widgets"),
                "{text}"
            );
            for stale in ["{{", "Codertocat", "octo-", "github.com/", "Hello-World"] {
                assert!(!text.contains(stale), "{stale} in {text}");
            }
        }
    }
}
