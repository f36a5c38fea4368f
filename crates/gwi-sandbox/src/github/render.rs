//! GitHub's JSON, rendered from the recorded payloads in `templates/github/`.
//!
//! The recorded payloads point at `Codertocat/Hello-World` on github.com. When loaded, their
//! roots, repository, numbers and ids become `{{api}}`, `{{html}}`, `{{repo}}`, `{{n}}`,
//! `{{id}}`... (GitHub's own URI templates use single braces), so each URL keeps its recorded
//! form and a render only fills in the values.

use std::collections::HashMap;
use std::sync::Arc;

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

/// One template per object shape GitHub sends, by shape name.
#[derive(Debug)]
pub struct Templates(HashMap<&'static str, Template>);

/// A recorded delivery: its file name (for errors) and text.
type Recording = (&'static str, &'static str);

macro_rules! recording {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("../../templates/github/", $file)),
        )
    };
}

const ISSUES: Recording = recording!("issues_opened.json");
const PULL: Recording = recording!("pull_request_opened.json");
const COMMENT: Recording = recording!("issue_comment_created.json");
const REVIEW: Recording = recording!("pull_request_review_submitted.json");
const REVIEW_COMMENT: Recording = recording!("pull_request_review_comment_created.json");
const RUN: Recording = recording!("workflow_run_completed.json");
const PUSH: Recording = recording!("push_with_new_branch.json");

type Subs = &'static [(&'static str, &'static str)];

/// What each recording names that the sandbox generates, and its placeholder (replaced in this
/// order, after the github.com roots).
const ISSUE_SUBS: Subs = &[
    (
        "{{html}}/Codertocat/Hello-World/issues/1",
        "{{html}}/{{repo}}/{{web}}/{{n}}",
    ),
    ("Codertocat/Hello-World/issues/1", "{{repo}}/issues/{{n}}"),
    ("Codertocat/Hello-World", "{{repo}}"),
    ("Codertocat", "{{login}}"),
];
const PULL_SUBS: Subs = &[
    ("Codertocat/Hello-World/pull/2", "{{repo}}/pull/{{n}}"),
    ("Codertocat/Hello-World/pulls/2", "{{repo}}/pulls/{{n}}"),
    ("Codertocat/Hello-World/issues/2", "{{repo}}/issues/{{n}}"),
    ("ec26c3e57ca3a959ca5aad62de7213c562f8c821", "{{sha}}"),
    ("Codertocat/Hello-World", "{{repo}}"),
    ("github.com", "{{host}}"),
];
const COMMENT_SUBS: Subs = &[
    (
        "{{html}}/Codertocat/Hello-World/issues/1#",
        "{{html}}/{{repo}}/{{web}}/{{n}}#",
    ),
    ("issuecomment-492700400", "issuecomment-{{id}}"),
    ("comments/492700400", "comments/{{id}}"),
    ("Codertocat/Hello-World/issues/1", "{{repo}}/issues/{{n}}"),
    ("Codertocat/Hello-World", "{{repo}}"),
];
const REVIEW_SUBS: Subs = &[
    ("pullrequestreview-237895671", "pullrequestreview-{{id}}"),
    ("discussion_r284312630", "discussion_r{{id}}"),
    ("comments/284312630", "comments/{{id}}"),
    ("Codertocat/Hello-World/pull/2", "{{repo}}/pull/{{n}}"),
    ("Codertocat/Hello-World/pulls/2", "{{repo}}/pulls/{{n}}"),
    ("Codertocat/Hello-World", "{{repo}}"),
];
const RUN_SUBS: Subs = &[
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
const PUSH_SUBS: Subs = &[("Codertocat/Hello-World", "{{repo}}")];

/// `(shape, recording, object in it, substitutions)`; a shape ending in `_hook` is a whole
/// webhook delivery.
const SHAPES: [(&str, Recording, &str, Subs); 20] = [
    ("user", ISSUES, "/issue/user", ISSUE_SUBS),
    ("label", ISSUES, "/issue/labels/0", ISSUE_SUBS),
    ("issue", ISSUES, "/issue", ISSUE_SUBS),
    ("issues_hook", ISSUES, "", ISSUE_SUBS),
    ("repo", PULL, "/repository", PULL_SUBS),
    ("pull", PULL, "/pull_request", PULL_SUBS),
    ("pull_request_hook", PULL, "", PULL_SUBS),
    ("issue_comment", COMMENT, "/comment", COMMENT_SUBS),
    ("issue_comment_hook", COMMENT, "", COMMENT_SUBS),
    ("review", REVIEW, "/review", REVIEW_SUBS),
    ("pull_request_review_hook", REVIEW, "", REVIEW_SUBS),
    ("review_comment", REVIEW_COMMENT, "/comment", REVIEW_SUBS),
    (
        "pull_request_review_comment_hook",
        REVIEW_COMMENT,
        "",
        REVIEW_SUBS,
    ),
    ("org", RUN, "/organization", RUN_SUBS),
    ("repo_min", RUN, "/workflow_run/repository", RUN_SUBS),
    ("run", RUN, "/workflow_run", RUN_SUBS),
    ("workflow", RUN, "/workflow", RUN_SUBS),
    ("workflow_run_hook", RUN, "", RUN_SUBS),
    ("push_commit", PUSH, "/commits/0", PUSH_SUBS),
    ("push_hook", PUSH, "", PUSH_SUBS),
];

impl Templates {
    /// Parses every template (they are compiled in; a failure means a broken build).
    pub fn load() -> Result<Self, SandboxError> {
        let mut shapes = HashMap::new();
        for (shape, (file, json), pointer, subs) in SHAPES {
            let mut text = json
                .replace("https://api.github.com", "{{api}}")
                .replace("https://github.com", "{{html}}");
            for (from, to) in subs {
                text = text.replace(from, to);
            }
            let template = Template::parse(&format!("github/{file}"), &text, pointer)?;
            shapes.insert(shape, template);
        }
        Ok(Self(shapes))
    }

    /// A copy of the recorded object of `shape` (`null` for an unknown shape), without the
    /// values of the top-level keys in `replaced` (left `null` in their place): a render
    /// overwrites those, and copying the people and repositories nested there would cost more
    /// than the rest of the object.
    fn copy(&self, shape: &str, replaced: &[&str]) -> Value {
        match self.0.get(shape).and_then(|t| t.get("")) {
            Some(Value::Object(map)) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let keep = !replaced.contains(&k.as_str());
                        (k.clone(), if keep { v.clone() } else { Value::Null })
                    })
                    .collect(),
            ),
            _ => Value::Null,
        }
    }
}

/// Replaces each `{{name}}` in the strings of `v` by its `value`, in one pass per string.
fn fill<'a>(v: &mut Value, value: &dyn Fn(&str) -> Option<&'a str>) {
    match v {
        Value::String(s) if s.contains("{{") => {
            let mut out = String::with_capacity(s.len() + 64);
            let mut rest = s.as_str();
            while let Some(at) = rest.find("{{") {
                let Some(len) = rest[at..].find("}}").map(|end| end + 2) else {
                    break;
                };
                let placeholder = &rest[at..at + len];
                out.push_str(&rest[..at]);
                out.push_str(value(placeholder).unwrap_or(placeholder));
                rest = &rest[at + len..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|x| fill(x, value)),
        Value::Object(map) => map.values_mut().for_each(|x| fill(x, value)),
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

/// The login of user `i`.
fn login(i: u64) -> &'static str {
    LOGINS.get(i as usize).copied().unwrap_or(LOGINS[0])
}

/// The display name of user `i`.
fn name_of(i: u64) -> String {
    login(i).replace('-', " ")
}

/// `(pointer, the row's field of that name)` for each `/name` in `pointers`: fields GitHub shows
/// as the sandbox keeps them.
fn same<'p>(row: &Row, pointers: &[&'p str]) -> Vec<(&'p str, Value)> {
    let field = |p: &str| row.field(p.trim_start_matches('/'));
    pointers.iter().map(|p| (*p, field(p))).collect()
}

/// The id, node id and times of an object kept as `row`, GitHub type `kind`.
fn stamps(row: &Row, kind: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("/id", json!(row.id)),
        ("/node_id", json!(node_id(kind, row.id))),
        ("/created_at", iso(row.created)),
        ("/updated_at", iso(row.updated)),
    ]
}

fn full(scope: usize) -> String {
    format!("{OWNER}/{}", REPO_NAMES.get(scope).copied().unwrap_or(""))
}

/// The people, repositories and labels of one data generation rendered for one pair of roots:
/// every record embeds some, so a view renders them once and the server keeps them per
/// generation, also as JSON text to splice into list pages (see [`View::spliced`]).
#[derive(Debug, Default)]
pub struct Parts {
    users: Vec<Value>,
    org: Value,
    repos: Vec<(Value, Value)>,
    labels: Vec<Vec<Value>>,
    text: HashMap<String, String>,
}

/// Renders objects for the API served at `api` (and its web pages at `html`).
pub struct View<'a> {
    t: &'a Templates,
    data: &'a Data,
    api: &'a str,
    html: &'a str,
    parts: Arc<Parts>,
    splice: bool,
}

type Fields<'f> = Vec<(&'f str, Value)>;

impl<'a> View<'a> {
    /// A view of `data` under the roots `api` and `html` (no trailing slash), with `parts`
    /// rendered earlier for the same data and roots, or rendering them now.
    pub fn new(
        t: &'a Templates,
        data: &'a Data,
        (api, html): (&'a str, &'a str),
        parts: Option<Arc<Parts>>,
    ) -> Self {
        let mut view = Self {
            t,
            data,
            api,
            html,
            parts: Arc::default(),
            splice: false,
        };
        view.parts = match parts {
            Some(parts) => parts,
            None => {
                let org = view.account(OWNER, ORG_ID, "Organization");
                let users: Vec<Value> = (LOGINS.iter().enumerate())
                    .map(|(i, l)| view.account(l, 10_001 + i as u64, "User"))
                    .collect();
                let repos: Vec<(Value, Value)> = (0..REPO_NAMES.len())
                    .map(|s| view.repo_of(s, &org))
                    .collect();
                let mut text = HashMap::from([("o".to_owned(), org.to_string())]);
                text.extend(
                    users
                        .iter()
                        .enumerate()
                        .map(|(i, u)| (format!("u{i}"), u.to_string())),
                );
                for (s, (all, min)) in repos.iter().enumerate() {
                    text.insert(format!("r{s}"), all.to_string());
                    text.insert(format!("m{s}"), min.to_string());
                }
                let labels = (0..REPO_NAMES.len())
                    .map(|s| (0..LABELS.len()).map(|i| view.label(s, i)).collect())
                    .collect();
                Arc::new(Parts {
                    users,
                    org,
                    repos,
                    labels,
                    text,
                })
            }
        };
        view
    }

    /// The people and repositories this view renders with, to reuse.
    pub fn parts(&self) -> Arc<Parts> {
        Arc::clone(&self.parts)
    }

    /// The same view rendering people and repositories as markers that [`View::finish`]
    /// replaces with their JSON text: a page of pull requests holds each repository twice per
    /// record, and copying those trees would cost more than the rest of the page.
    pub fn spliced(mut self) -> Self {
        self.splice = true;
        self
    }

    /// `text` with the markers of a spliced view replaced by the JSON they stand for.
    pub fn finish(&self, text: &str) -> String {
        let (open, close) = ("\"\\u0001", "\\u0001\"");
        let mut out = String::with_capacity(text.len() * 2);
        let mut rest = text;
        while let Some(at) = rest.find(open) {
            out.push_str(&rest[..at]);
            let marker = &rest[at + open.len()..];
            let Some(end) = marker.find(close) else {
                rest = &rest[at..];
                break;
            };
            let json = self.parts.text.get(&marker[..end]);
            out.push_str(json.map_or("null", String::as_str));
            rest = &marker[end + close.len()..];
        }
        out.push_str(rest);
        out
    }

    /// `value`, or in a spliced view the marker of the part named `key`.
    fn shared(&self, key: impl FnOnce() -> String, value: Option<&Value>) -> Value {
        if self.splice {
            return Value::String(format!("\u{1}{}\u{1}", key()));
        }
        value.cloned().unwrap_or(Value::Null)
    }

    /// The recorded `shape` with its placeholders filled (those of `row`, `extra` and the
    /// roots) and then `fields` written in.
    fn make(
        &self,
        shape: &str,
        row: Option<&Row>,
        extra: &[(&str, &str)],
        fields: Fields<'_>,
    ) -> Value {
        let replaced: Vec<&str> = fields
            .iter()
            .filter_map(|(p, _)| p.strip_prefix('/').filter(|k| !k.contains('/')))
            .collect();
        let mut v = self.t.copy(shape, &replaced);
        let host = self.html.split("://").nth(1).unwrap_or("github.com");
        let (repo, n, id) = row.map_or_else(Default::default, |r| {
            (full(r.scope), r.u64("number").to_string(), r.id.to_string())
        });
        let value = |placeholder: &str| match placeholder {
            "{{api}}" => Some(self.api),
            "{{html}}" => Some(self.html),
            "{{host}}" => Some(host),
            "{{repo}}" if row.is_some() => Some(repo.as_str()),
            "{{n}}" if row.is_some() => Some(n.as_str()),
            "{{id}}" if row.is_some() => Some(id.as_str()),
            _ => extra
                .iter()
                .find(|(k, _)| *k == placeholder)
                .map(|(_, v)| *v),
        };
        fill(&mut v, &value);
        for (pointer, value) in fields {
            set(&mut v, pointer, value);
        }
        v
    }

    fn account(&self, login: &str, id: u64, kind: &str) -> Value {
        let avatar = format!("https://avatars.githubusercontent.com/u/{id}?v=4");
        let fields = vec![
            ("/login", json!(login)),
            ("/id", json!(id)),
            ("/node_id", json!(node_id(kind, id))),
            ("/avatar_url", json!(avatar)),
            ("/type", json!(kind)),
            ("/user_view_type", json!("public")),
        ];
        self.make("user", None, &[("{{login}}", login)], fields)
    }

    /// The user `i` (0 owns the token).
    pub fn user(&self, i: u64) -> Value {
        let i = usize::try_from(i)
            .ok()
            .filter(|i| *i < LOGINS.len())
            .unwrap_or(0);
        self.shared(|| format!("u{i}"), self.parts.users.get(i))
    }

    fn users(&self, row: &Row, key: &str) -> Value {
        let users = indices(row, key).into_iter().map(|i| self.user(i as u64));
        Value::Array(users.collect())
    }

    /// The authenticated user (`GET /user`): a user plus profile fields. No recorded payload of
    /// this answer is kept, so the profile fields are written here.
    pub fn me(&self) -> Value {
        let created = iso(self.data.user_created.first().copied().unwrap_or(0));
        let mut v = self.user(0);
        let profile = json!({
            "name": name_of(0), "company": "@acme", "blog": "", "location": null,
            "email": format!("{}@example.com", LOGINS[0]), "hireable": null,
            "bio": "Owner of the gwi sandbox token", "twitter_username": null, "public_repos": 0,
            "public_gists": 0, "followers": 0, "following": 0, "created_at": created,
            "updated_at": created,
        });
        if let (Some(obj), Value::Object(profile)) = (v.as_object_mut(), profile) {
            obj.extend(profile);
        }
        v
    }

    /// The organisation as webhooks show it.
    pub fn organization(&self) -> Value {
        let avatar = format!("https://avatars.githubusercontent.com/u/{ORG_ID}?v=4");
        let fields = vec![
            ("/login", json!(OWNER)),
            ("/id", json!(ORG_ID)),
            ("/node_id", json!(node_id("Organization", ORG_ID))),
            ("/avatar_url", json!(avatar)),
            ("/description", json!("")),
        ];
        self.make("org", None, &[("{{login}}", OWNER)], fields)
    }

    /// Repository `scope` in full and in GitHub's "minimal repository" form (workflow runs).
    fn repo_of(&self, scope: usize, org: &Value) -> (Value, Value) {
        let id = self.data.repos.get(scope).map_or(0, |r| r.id);
        let pushed = self.data.repos.get(scope).map_or(0, |r| r.pushed_at);
        let name = REPO_NAMES.get(scope).copied().unwrap_or("");
        let in_scope = |r: &&Row| r.scope == scope;
        let open = self
            .data
            .issues
            .live()
            .filter(in_scope)
            .filter(|r| flag(r, "open"));
        let open = json!(open.count());
        let size = self.data.commits.live().filter(in_scope).count() * 12;
        let repo = full(scope);
        let vars = [("{{repo}}", repo.as_str())];
        let fields = vec![
            ("/id", json!(id)),
            ("/node_id", json!(node_id("Repository", id))),
            ("/name", json!(name)),
            ("/full_name", json!(repo)),
            ("/owner", org.clone()),
            ("/private", json!(false)),
            (
                "/description",
                json!(format!("The {name} service of the gwi sandbox")),
            ),
        ];
        let min = self.make("repo_min", None, &vars, fields.clone());
        let mut all = fields;
        all.extend([
            ("/created_at", iso(REPO_CREATED)),
            ("/updated_at", iso(pushed)),
            ("/pushed_at", iso(pushed)),
            ("/size", json!(size)),
            ("/language", json!("Rust")),
            ("/has_pages", json!(false)),
            ("/open_issues_count", open.clone()),
            ("/open_issues", open),
            ("/default_branch", json!("main")),
        ]);
        (self.make("repo", None, &vars, all), min)
    }

    /// A repository as `GET /repos/{o}/{r}`, pull request heads and webhooks show it.
    pub fn repo(&self, scope: usize) -> Value {
        let repo = self.parts.repos.get(scope).map(|r| &r.0);
        self.shared(|| format!("r{scope}"), repo)
    }

    /// Label `i` of repository `scope`.
    fn label(&self, scope: usize, i: usize) -> Value {
        let Some((name, color, description, default)) = LABELS.get(i) else {
            return Value::Null;
        };
        let repo = full(scope);
        let url = format!(
            "{}/repos/{repo}/labels/{}",
            self.api,
            name.replace(' ', "%20")
        );
        let id = 7_000_000_001 + (scope * LABELS.len() + i) as u64;
        let fields = vec![
            ("/id", json!(id)),
            ("/node_id", json!(node_id("Label", id))),
            ("/url", json!(url)),
            ("/name", json!(name)),
            ("/color", json!(color)),
            ("/default", json!(default)),
            ("/description", json!(description)),
        ];
        self.make("label", None, &[], fields)
    }

    fn labels(&self, row: &Row) -> Value {
        let labels = indices(row, "labels").into_iter();
        Value::Array(
            labels
                .filter_map(|i| self.parts.labels.get(row.scope)?.get(i).cloned())
                .collect(),
        )
    }

    /// An empty reactions summary at `path` under the row's repository.
    fn reactions(&self, row: &Row, path: &str) -> Value {
        let url = format!("{}/repos/{}/{path}/reactions", self.api, full(row.scope));
        json!({"url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
               "confused": 0, "heart": 0, "rocket": 0, "eyes": 0})
    }

    /// The fields issues and pull requests share.
    fn issue_fields(&self, row: &Row) -> Fields<'static> {
        let user = row.u64("user");
        let locked = flag(row, "locked");
        let assignee = indices(row, "assignees")
            .first()
            .map(|i| self.user(*i as u64));
        let mut fields = same(row, &["/number", "/title", "/body", "/locked", "/comments"]);
        fields.extend([
            ("/created_at", iso(row.created)),
            ("/updated_at", iso(row.updated)),
            ("/user", self.user(user)),
            ("/labels", self.labels(row)),
            (
                "/state",
                json!(if flag(row, "open") { "open" } else { "closed" }),
            ),
            ("/assignee", assignee.unwrap_or(Value::Null)),
            ("/assignees", self.users(row, "assignees")),
            ("/milestone", Value::Null),
            ("/closed_at", opt_iso(&row.field("closed_at"))),
            ("/author_association", json!(association(user))),
            ("/active_lock_reason", json!(locked.then_some("resolved"))),
        ]);
        fields
    }

    /// An issue as `GET /repos/{o}/{r}/issues` lists it (pull requests carry `pull_request`).
    pub fn issue(&self, row: &Row) -> Value {
        let (repo, n, pull) = (full(row.scope), row.u64("number"), is_pull(row));
        let (api, html) = (self.api, self.html);
        let mut fields = self.issue_fields(row);
        fields.extend([
            ("/id", json!(row.id)),
            ("/node_id", json!(node_id("Issue", row.id))),
            ("/reactions", self.reactions(row, &format!("issues/{n}"))),
            (
                "/timeline_url",
                json!(format!("{api}/repos/{repo}/issues/{n}/timeline")),
            ),
            ("/performed_via_github_app", Value::Null),
            (
                "/state_reason",
                json!((!flag(row, "open") && !pull).then_some("completed")),
            ),
        ]);
        if pull {
            fields.push(("/draft", row.field("draft")));
            let link = json!({
                "url": format!("{api}/repos/{repo}/pulls/{n}"),
                "html_url": format!("{html}/{repo}/pull/{n}"),
                "diff_url": format!("{html}/{repo}/pull/{n}.diff"),
                "patch_url": format!("{html}/{repo}/pull/{n}.patch"),
                "merged_at": opt_iso(&row.field("merged_at")),
            });
            fields.push(("/pull_request", link));
        }
        let web = if pull { "pull" } else { "issues" };
        let mut v = self.make("issue", Some(row), &[("{{web}}", web)], fields);
        if let (false, Some(obj)) = (pull, v.as_object_mut()) {
            obj.remove("draft");
        }
        v
    }

    fn branch(&self, row: &Row, name: &str, sha: &str) -> Value {
        json!({"label": format!("{OWNER}:{name}"), "ref": name, "sha": sha,
               "user": self.shared(|| "o".to_owned(), Some(&self.parts.org)),
               "repo": self.repo(row.scope)})
    }

    /// A pull request: GitHub's "pull request simple" as `/pulls` lists it, or with `full` the
    /// whole object as `GET /pulls/{n}` and webhooks show it.
    pub fn pull(&self, row: &Row, full: bool) -> Value {
        let (head, pull_id, open) = (row.str("head_sha"), row.u64("pull_id"), flag(row, "open"));
        let merged_by = row.field("merged_by").as_u64().map(|u| self.user(u));
        let mut fields = self.issue_fields(row);
        fields.extend([
            ("/id", json!(pull_id)),
            ("/node_id", json!(node_id("PullRequest", pull_id))),
            ("/merged_at", opt_iso(&row.field("merged_at"))),
            (
                "/requested_reviewers",
                self.users(row, "requested_reviewers"),
            ),
            ("/requested_teams", json!([])),
            ("/head", self.branch(row, row.str("head_ref"), head)),
            ("/base", self.branch(row, "main", row.str("base_sha"))),
            ("/auto_merge", Value::Null),
        ]);
        let detail = [
            ("/merged", json!(!row.field("merged_at").is_null())),
            ("/mergeable", json!(open.then_some(true))),
            ("/rebaseable", json!(open.then_some(true))),
            (
                "/mergeable_state",
                json!(if open { "clean" } else { "unknown" }),
            ),
            ("/merged_by", merged_by.unwrap_or(Value::Null)),
            ("/maintainer_can_modify", json!(false)),
            ("/comments", row.field("comments")),
        ];
        let counts = ["/review_comments", "/commits", "/additions", "/deletions"];
        let detail = detail.into_iter().chain(same(row, &counts));
        let detail: Vec<_> = detail.chain(same(row, &["/changed_files"])).collect();
        let keys: Vec<&str> = detail.iter().map(|(k, _)| &k[1..]).collect();
        fields.extend(same(row, &["/merge_commit_sha", "/draft"]));
        fields.extend(detail);
        let mut v = self.make("pull", Some(row), &[("{{sha}}", head)], fields);
        if let (false, Some(obj)) = (full, v.as_object_mut()) {
            // The listing shows "pull request simple", without the detail fields.
            keys.iter().for_each(|k| drop(obj.remove(*k)));
        }
        v
    }

    /// An issue comment.
    pub fn issue_comment(&self, row: &Row) -> Value {
        let user = row.u64("user");
        let mut fields = stamps(row, "IssueComment");
        fields.extend(same(row, &["/body"]));
        fields.extend([
            ("/user", self.user(user)),
            ("/author_association", json!(association(user))),
            ("/performed_via_github_app", Value::Null),
            (
                "/reactions",
                self.reactions(row, &format!("issues/comments/{}", row.id)),
            ),
        ]);
        let web = if flag(row, "on_pull") {
            "pull"
        } else {
            "issues"
        };
        self.make("issue_comment", Some(row), &[("{{web}}", web)], fields)
    }

    /// A review; `hook` gives the webhook's lower-case `state` and null empty body.
    pub fn review(&self, row: &Row, hook: bool) -> Value {
        let user = row.u64("user");
        let (mut body, mut state) = (row.field("body"), row.field("state"));
        if hook {
            body = body
                .as_str()
                .filter(|b| !b.is_empty())
                .map_or(Value::Null, |b| json!(b));
            state = json!(row.str("state").to_ascii_lowercase());
        }
        let fields = vec![
            ("/id", json!(row.id)),
            ("/node_id", json!(node_id("PullRequestReview", row.id))),
            ("/user", self.user(user)),
            ("/body", body),
            ("/commit_id", row.field("commit_id")),
            ("/submitted_at", iso(row.created)),
            ("/state", state),
            ("/author_association", json!(association(user))),
        ];
        self.make("review", Some(row), &[], fields)
    }

    /// A review comment (a comment on the diff).
    pub fn review_comment(&self, row: &Row) -> Value {
        let user = row.u64("user");
        let line = row.u64("line");
        let start = line.saturating_sub(3).max(1);
        let hunk = format!("@@ -{start},6 +{start},7 @@\n context\n+changed line {line}");
        let mut fields = stamps(row, "PullRequestReviewComment");
        fields.extend(same(row, &["/path", "/commit_id", "/body"]));
        fields.extend([
            ("/pull_request_review_id", json!(row.parent)),
            ("/diff_hunk", json!(hunk)),
            ("/position", json!(4)),
            ("/original_position", json!(4)),
            ("/original_commit_id", row.field("commit_id")),
            ("/user", self.user(user)),
            ("/author_association", json!(association(user))),
            ("/line", json!(line)),
            ("/original_line", json!(line)),
            ("/subject_type", json!("line")),
        ]);
        self.make("review_comment", Some(row), &[], fields)
    }

    /// The git author of a commit: name and email, and with `username` the login too.
    fn person(&self, i: u64, username: bool) -> Value {
        let login = login(i);
        let email = format!("{login}@users.noreply.github.com");
        let mut v = json!({"name": name_of(i), "email": email});
        if username {
            set(&mut v, "/username", json!(login));
        }
        v
    }

    /// A commit as `GET /repos/{o}/{r}/commits` lists it. No recorded payload of this answer is
    /// kept (see `templates/github/SOURCES.md`), so its shape is written here.
    pub fn commit(&self, row: &Row) -> Value {
        let (api, html, repo) = (self.api, self.html, full(row.scope));
        let repo_id = self.data.repos.get(row.scope).map_or(0, |r| r.id);
        let (sha, tree, author) = (row.str("sha"), row.str("tree_sha"), row.u64("author"));
        let mut person = self.person(author, false);
        set(&mut person, "/date", iso(row.created));
        let parents: Vec<Value> = row
            .fields
            .get("parent")
            .and_then(Value::as_str)
            .map(|p| {
                json!({"sha": p, "url": format!("{api}/repos/{repo}/commits/{p}"),
                   "html_url": format!("{html}/{repo}/commit/{p}")})
            })
            .into_iter()
            .collect();
        json!({
            "sha": sha,
            "node_id": node_id("Commit", format!("{repo_id}:{sha}")),
            "commit": {
                "author": person, "committer": person, "message": row.field("message"),
                "tree": {"sha": tree, "url": format!("{api}/repos/{repo}/git/trees/{tree}")},
                "url": format!("{api}/repos/{repo}/git/commits/{sha}"), "comment_count": 0,
                "verification": {"verified": false, "reason": "unsigned", "signature": null,
                                 "payload": null, "verified_at": null},
            },
            "url": format!("{api}/repos/{repo}/commits/{sha}"),
            "html_url": format!("{html}/{repo}/commit/{sha}"),
            "comments_url": format!("{api}/repos/{repo}/commits/{sha}/comments"),
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
        let (repo, wf) = (full(scope), id.to_string());
        let vars = [
            ("{{repo}}", repo.as_str()),
            ("{{wf}}", &wf),
            ("{{name}}", name),
            ("{{path}}", path),
        ];
        let fields = vec![
            ("/id", json!(id)),
            ("/name", json!(name)),
            ("/node_id", json!(node_id("Workflow", id))),
            ("/path", json!(path)),
            ("/state", json!("active")),
            ("/created_at", at.clone()),
            ("/updated_at", at),
        ];
        self.make("workflow", None, &vars, fields)
    }

    /// A workflow run.
    pub fn run(&self, row: &Row) -> Value {
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
        let url = format!(
            "{}/repos/{}/actions/runs/{}",
            self.api,
            full(row.scope),
            row.id
        );
        let previous = (attempt > 1).then(|| format!("{url}/attempts/{}", attempt - 1));
        let actor = self.user(row.u64("actor"));
        let min = self.parts.repos.get(row.scope).map(|r| &r.1);
        let repo = self.shared(|| format!("m{}", row.scope), min);
        let mut fields = stamps(row, "WorkflowRun");
        let kept = [
            "/head_branch",
            "/run_number",
            "/event",
            "/status",
            "/conclusion",
        ];
        fields.extend(same(row, &kept));
        fields.extend([
            ("/name", json!(name)),
            ("/head_sha", json!(commit.map_or("", |c| c.str("sha")))),
            ("/path", json!(path)),
            (
                "/display_title",
                commit.map_or(json!(""), |c| c.field("message")),
            ),
            ("/workflow_id", json!(wf)),
            ("/check_suite_id", json!(suite)),
            ("/check_suite_node_id", json!(node_id("CheckSuite", suite))),
            ("/pull_requests", json!([])),
            ("/actor", actor.clone()),
            ("/triggering_actor", actor),
            ("/run_attempt", json!(attempt)),
            ("/referenced_workflows", json!([])),
            ("/run_started_at", opt_iso(&row.field("run_started_at"))),
            ("/previous_attempt_url", json!(previous)),
            ("/head_commit", head_commit),
            ("/repository", repo.clone()),
            ("/head_repository", repo),
        ]);
        let (wf, suite) = (wf.to_string(), suite.to_string());
        self.make(
            "run",
            Some(row),
            &[("{{wf}}", &wf), ("{{cs}}", &suite)],
            fields,
        )
    }

    /// The webhook body of `event` about repository `scope`, from its recorded delivery with
    /// `fields` written in; the sender is user 1, who makes every change.
    pub fn hook(&self, event: &str, scope: usize, fields: Fields<'_>) -> Value {
        let mut v = self
            .t
            .copy(&format!("{event}_hook"), &["repository", "sender"]);
        if let Some(obj) = v.as_object_mut() {
            // The sandbox sends repository webhooks, which carry no App installation.
            obj.remove("installation");
            obj.remove("changes");
        }
        let common = [
            ("/repository", self.repo(scope)),
            ("/organization", self.organization()),
            ("/sender", self.user(1)),
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
        let repo = full(scope);
        let commits: Vec<Value> = rows
            .iter()
            .map(|c| {
                let person = self.person(c.u64("author"), true);
                let url = format!("{}/{repo}/commit/{}", self.html, c.str("sha"));
                let fields = vec![
                    ("/id", c.field("sha")),
                    ("/tree_id", c.field("tree_sha")),
                    ("/distinct", json!(true)),
                    ("/message", c.field("message")),
                    ("/timestamp", iso(c.created)),
                    ("/url", json!(url)),
                    ("/author", person.clone()),
                    ("/committer", person),
                    ("/added", json!([])),
                    ("/removed", json!([])),
                    ("/modified", json!(["src/lib.rs"])),
                ];
                self.make("push_commit", None, &[("{{repo}}", &repo)], fields)
            })
            .collect();
        let parent = first.fields.get("parent").and_then(Value::as_str);
        let before = parent.map_or_else(|| "0".repeat(40), str::to_owned);
        let after = last.str("sha");
        let short = |s: &str| s.get(..12).unwrap_or(s).to_owned();
        let compare = format!(
            "{}/{repo}/compare/{}...{}",
            self.html,
            short(&before),
            short(after)
        );
        let pusher = login(last.u64("author"));
        let pusher = json!({"name": pusher, "email": format!("{pusher}@users.noreply.github.com")});
        // Push payloads carry the repository's `created_at`/`pushed_at` as Unix seconds,
        // unlike every other payload.
        let mut repository = self.repo(scope);
        let pushed = self.data.repos.get(scope).map_or(0, |r| r.pushed_at);
        set(&mut repository, "/created_at", json!(REPO_CREATED));
        set(&mut repository, "/pushed_at", json!(pushed));
        let fields = vec![
            ("/ref", json!("refs/heads/main")),
            ("/before", json!(before)),
            ("/after", json!(after)),
            ("/created", json!(false)),
            ("/deleted", json!(false)),
            ("/forced", json!(false)),
            ("/base_ref", Value::Null),
            ("/compare", json!(compare)),
            ("/head_commit", commits.last().cloned().unwrap_or_default()),
            ("/commits", Value::Array(commits)),
            ("/pusher", pusher),
            ("/repository", repository),
        ];
        self.hook("push", scope, fields)
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
        let view = View::new(&t, &data, ("http://h/api/v3", "http://h"), None);
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

    #[test]
    fn a_spliced_page_holds_the_same_json_as_a_plain_one() {
        let t = Templates::load().unwrap_or_else(|e| panic!("{e}"));
        let data = Data::generate(1, 1);
        let roots = ("http://h", "http://h");
        let plain = View::new(&t, &data, roots, None);
        let spliced = View::new(&t, &data, roots, Some(plain.parts())).spliced();
        let rows: Vec<&Row> = data.issues.live().filter(|r| is_pull(r)).take(3).collect();
        let runs: Vec<&Row> = data.runs.live().take(3).collect();
        let page = |v: &View<'_>| {
            let items = rows.iter().map(|r| v.pull(r, false));
            let items = items.chain(runs.iter().map(|r| v.run(r)));
            Value::Array(items.collect()).to_string()
        };
        let text = spliced.finish(&page(&spliced));
        assert!(!text.contains("\\u0001"), "{text}");
        let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        let want: Value = serde_json::from_str(&page(&plain)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed, want);
    }
}
