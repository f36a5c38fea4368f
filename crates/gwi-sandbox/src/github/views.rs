//! GitHub's JSON shapes for the sandbox records, serialised straight from the data (no
//! intermediate `Value` trees: pages are rendered often and must be cheap).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::data::{
    Account, Commit, Dataset, Issue, IssueComment, Label, Pull, RepoData, Review, ReviewComment,
    Run, Workflow,
};
use crate::cat;
use crate::core::time::{Iso, OptIso};

/// Where URLs in the JSON point (the API root and the web root), plus sub-objects already
/// rendered for these roots.
#[derive(Debug, Clone, Default)]
pub struct Base {
    /// API root, e.g. `http://127.0.0.1:8787` or `http://127.0.0.1:8787/api/v3`.
    pub api: String,
    /// Web root, e.g. `http://127.0.0.1:8787`.
    pub html: String,
    /// Accounts and repositories rendered once and spliced in wherever they appear (a page of
    /// pull requests repeats the same repository twice per record).
    pub pre: Option<Arc<Prerendered>>,
}

impl Base {
    /// Roots without pre-rendered parts.
    pub fn new(api: String, html: String) -> Self {
        Self {
            api,
            html,
            pre: None,
        }
    }

    /// github.com's roots (webhook payloads).
    pub fn github_com() -> Self {
        Self::new("https://api.github.com".into(), "https://github.com".into())
    }
}

/// JSON of the accounts and repositories of one dataset generation, for one [`Base`].
#[derive(Debug, Default)]
pub struct Prerendered {
    accounts: HashMap<u64, Box<RawValue>>,
    repos_full: HashMap<u64, Box<RawValue>>,
    repos_minimal: HashMap<u64, Box<RawValue>>,
}

impl Prerendered {
    /// Renders every account and repository of `ds` for `b`'s roots.
    pub fn build(b: &Base, ds: &Dataset) -> Self {
        let plain = Base::new(b.api.clone(), b.html.clone());
        let raw = |v: &dyn to_json::Render| RawValue::from_string(v.render()).ok();
        let mut out = Self::default();
        for a in ds.users.iter().chain(std::iter::once(&ds.org)) {
            if let Some(r) = raw(&AccountView { b: &plain, a }) {
                out.accounts.insert(a.id, r);
            }
        }
        for rd in &ds.repos {
            if let Some(r) = raw(&RepoView {
                b: &plain,
                ds,
                rd,
                full: true,
            }) {
                out.repos_full.insert(rd.repo.id, r);
            }
            if let Some(r) = raw(&RepoView {
                b: &plain,
                ds,
                rd,
                full: false,
            }) {
                out.repos_minimal.insert(rd.repo.id, r);
            }
        }
        out
    }
}

mod to_json {
    /// Something rendered to a JSON string (object-safe stand-in for `Serialize`).
    pub trait Render {
        fn render(&self) -> String;
    }

    impl<T: serde::Serialize> Render for T {
        fn render(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// GitHub's legacy global node id: base64 of `0<len>:<Type><id>`.
pub fn node_id(kind: &str, id: impl std::fmt::Display) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("0{}:{kind}{id}", kind.len()))
}

/// `author_association` for an account in these repositories.
fn association(user: usize) -> &'static str {
    match user {
        0..=3 => "MEMBER",
        4..=8 => "CONTRIBUTOR",
        _ => "NONE",
    }
}

/// Serialises a list of views built on the fly.
struct SeqOf<I>(std::cell::Cell<Option<I>>);

impl<I, T> Serialize for SeqOf<I>
where
    I: Iterator<Item = T>,
    T: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        if let Some(items) = self.0.take() {
            for item in items {
                seq.serialize_element(&item)?;
            }
        }
        seq.end()
    }
}

fn seq<I, T>(items: I) -> SeqOf<I>
where
    I: Iterator<Item = T>,
    T: Serialize,
{
    SeqOf(std::cell::Cell::new(Some(items)))
}

/// `{"href": ...}`.
struct Href<T>(T);

impl<T: Serialize> Serialize for Href<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("href", &self.0)?;
        m.end()
    }
}

/// An empty reactions summary at `url_path` under the repository.
struct Reactions<'a> {
    b: &'a Base,
    full: &'a str,
    path: &'a str,
    id: u64,
}

impl Serialize for Reactions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "url",
            &cat!(
                self.b.api,
                "/repos/",
                self.full,
                self.path,
                self.id,
                "/reactions"
            ),
        )?;
        for k in [
            "total_count",
            "+1",
            "-1",
            "laugh",
            "hooray",
            "confused",
            "heart",
            "rocket",
            "eyes",
        ] {
            m.serialize_entry(k, &0)?;
        }
        m.end()
    }
}

/// A user or organisation (GitHub's "simple user").
pub struct AccountView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The account.
    pub a: &'a Account,
}

impl Serialize for AccountView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, a) = (self.b, self.a);
        if let Some(raw) = b.pre.as_ref().and_then(|p| p.accounts.get(&a.id)) {
            return raw.serialize(s);
        }
        let login = a.login.as_str();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("login", login)?;
        m.serialize_entry("id", &a.id)?;
        m.serialize_entry("node_id", &node_id(a.kind, a.id))?;
        m.serialize_entry(
            "avatar_url",
            &cat!("https://avatars.githubusercontent.com/u/", a.id, "?v=4"),
        )?;
        m.serialize_entry("gravatar_id", "")?;
        m.serialize_entry("url", &cat!(b.api, "/users/", login))?;
        m.serialize_entry("html_url", &cat!(b.html, "/", login))?;
        for (k, suffix) in [
            ("followers_url", "/followers"),
            ("following_url", "/following{/other_user}"),
            ("gists_url", "/gists{/gist_id}"),
            ("starred_url", "/starred{/owner}{/repo}"),
            ("subscriptions_url", "/subscriptions"),
            ("organizations_url", "/orgs"),
            ("repos_url", "/repos"),
            ("events_url", "/events{/privacy}"),
            ("received_events_url", "/received_events"),
        ] {
            m.serialize_entry(k, &cat!(b.api, "/users/", login, suffix))?;
        }
        m.serialize_entry("type", a.kind)?;
        m.serialize_entry("user_view_type", "public")?;
        m.serialize_entry("site_admin", &false)?;
        m.end()
    }
}

/// The authenticated user (`GET /user`): the simple user plus profile fields.
pub struct AuthenticatedUserView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data (user 0 is the authenticated one).
    pub ds: &'a Dataset,
}

impl Serialize for AuthenticatedUserView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.ds.user(0);
        let mut v = serde_json::to_value(AccountView { b: self.b, a })
            .map_err(serde::ser::Error::custom)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("name".into(), a.name.clone().into());
            obj.insert("company".into(), "@acme".into());
            obj.insert("blog".into(), "".into());
            obj.insert("location".into(), serde_json::Value::Null);
            obj.insert("email".into(), format!("{}@example.com", a.login).into());
            obj.insert("hireable".into(), serde_json::Value::Null);
            obj.insert("bio".into(), "Owner of the gwi sandbox token".into());
            obj.insert("twitter_username".into(), serde_json::Value::Null);
            obj.insert("public_repos".into(), 0.into());
            obj.insert("public_gists".into(), 0.into());
            obj.insert("followers".into(), 0.into());
            obj.insert("following".into(), 0.into());
            obj.insert("created_at".into(), Iso(a.created_at).to_string().into());
            obj.insert("updated_at".into(), Iso(a.created_at).to_string().into());
        }
        v.serialize(s)
    }
}

/// A label.
struct LabelView<'a> {
    b: &'a Base,
    full: &'a str,
    l: &'a Label,
}

impl Serialize for LabelView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let l = self.l;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &l.id)?;
        m.serialize_entry("node_id", &node_id("Label", l.id))?;
        m.serialize_entry(
            "url",
            &cat!(self.b.api, "/repos/", self.full, "/labels/", l.url_name),
        )?;
        m.serialize_entry("name", l.name)?;
        m.serialize_entry("color", l.color)?;
        m.serialize_entry("default", &l.default)?;
        m.serialize_entry("description", l.description)?;
        m.end()
    }
}

const REPO_URLS: [(&str, &str); 42] = [
    ("forks_url", "/forks"),
    ("keys_url", "/keys{/key_id}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("teams_url", "/teams"),
    ("hooks_url", "/hooks"),
    ("issue_events_url", "/issues/events{/number}"),
    ("events_url", "/events"),
    ("assignees_url", "/assignees{/user}"),
    ("branches_url", "/branches{/branch}"),
    ("tags_url", "/tags"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("trees_url", "/git/trees{/sha}"),
    ("statuses_url", "/statuses/{sha}"),
    ("languages_url", "/languages"),
    ("stargazers_url", "/stargazers"),
    ("contributors_url", "/contributors"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("commits_url", "/commits{/sha}"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("comments_url", "/comments{/number}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("contents_url", "/contents/{+path}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("merges_url", "/merges"),
    ("archive_url", "/{archive_format}{/ref}"),
    ("downloads_url", "/downloads"),
    ("issues_url", "/issues{/number}"),
    ("pulls_url", "/pulls{/number}"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("labels_url", "/labels{/name}"),
    ("releases_url", "/releases{/id}"),
    ("deployments_url", "/deployments"),
    ("git_url", ""),
    ("ssh_url", ""),
    ("clone_url", ".git"),
    ("svn_url", ""),
    ("homepage", ""),
    ("mirror_url", ""),
];

/// A repository: GitHub's "minimal repository" (`full = false`, as in workflow runs) or the full
/// object (pull request heads/bases, webhooks, `GET /repos/{o}/{r}`).
pub struct RepoView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data (for the owner).
    pub ds: &'a Dataset,
    /// The repository.
    pub rd: &'a RepoData,
    /// Include timestamps, counts and settings.
    pub full: bool,
}

impl Serialize for RepoView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, r) = (self.b, &self.rd.repo);
        if let Some(raw) = b.pre.as_ref().and_then(|p| {
            if self.full {
                p.repos_full.get(&r.id)
            } else {
                p.repos_minimal.get(&r.id)
            }
        }) {
            return raw.serialize(s);
        }
        let full = r.full_name.as_str();
        let host = b.html.split("://").nth(1).unwrap_or("github.com");
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &r.id)?;
        m.serialize_entry("node_id", &node_id("Repository", r.id))?;
        m.serialize_entry("name", &r.name)?;
        m.serialize_entry("full_name", full)?;
        m.serialize_entry("private", &false)?;
        m.serialize_entry("owner", &AccountView { b, a: &self.ds.org })?;
        m.serialize_entry("html_url", &cat!(b.html, "/", full))?;
        m.serialize_entry("description", &r.description)?;
        m.serialize_entry("fork", &false)?;
        m.serialize_entry("url", &cat!(b.api, "/repos/", full))?;
        for (k, suffix) in REPO_URLS {
            match k {
                "git_url" | "ssh_url" | "clone_url" | "svn_url" | "homepage" | "mirror_url"
                    if !self.full => {}
                "git_url" => m.serialize_entry(k, &cat!("git://", host, "/", full, ".git"))?,
                "ssh_url" => m.serialize_entry(k, &cat!("git@", host, ":", full, ".git"))?,
                "clone_url" => m.serialize_entry(k, &cat!(b.html, "/", full, suffix))?,
                "svn_url" => m.serialize_entry(k, &cat!(b.html, "/", full))?,
                "homepage" | "mirror_url" => m.serialize_entry(k, &None::<&str>)?,
                _ => m.serialize_entry(k, &cat!(b.api, "/repos/", full, suffix))?,
            }
        }
        if self.full {
            m.serialize_entry("created_at", &Iso(r.created_at))?;
            m.serialize_entry("updated_at", &Iso(r.updated_at))?;
            m.serialize_entry("pushed_at", &Iso(r.pushed_at))?;
            m.serialize_entry("size", &(self.rd.commits.len() * 12))?;
            m.serialize_entry("stargazers_count", &42)?;
            m.serialize_entry("watchers_count", &42)?;
            m.serialize_entry("language", "Rust")?;
            for k in ["has_issues", "has_projects", "has_downloads", "has_wiki"] {
                m.serialize_entry(k, &true)?;
            }
            m.serialize_entry("has_pages", &false)?;
            m.serialize_entry("has_discussions", &false)?;
            m.serialize_entry("forks_count", &3)?;
            m.serialize_entry("archived", &false)?;
            m.serialize_entry("disabled", &false)?;
            m.serialize_entry("open_issues_count", &r.open_issues)?;
            m.serialize_entry("license", &None::<&str>)?;
            m.serialize_entry("allow_forking", &true)?;
            m.serialize_entry("is_template", &false)?;
            m.serialize_entry("web_commit_signoff_required", &false)?;
            m.serialize_entry("topics", &[] as &[&str])?;
            m.serialize_entry("visibility", "public")?;
            m.serialize_entry("forks", &3)?;
            m.serialize_entry("open_issues", &r.open_issues)?;
            m.serialize_entry("watchers", &42)?;
            m.serialize_entry("default_branch", "main")?;
        }
        m.end()
    }
}

/// An issue as `GET /repos/{o}/{r}/issues` lists it (pull requests carry `pull_request`).
pub struct IssueView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data.
    pub ds: &'a Dataset,
    /// The repository.
    pub rd: &'a RepoData,
    /// The issue.
    pub i: &'a Issue,
}

impl Serialize for IssueView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, ds, rd, i) = (self.b, self.ds, self.rd, self.i);
        let full = rd.repo.full_name.as_str();
        let n = i.number;
        let web_kind = if i.pull.is_some() {
            "/pull/"
        } else {
            "/issues/"
        };
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("url", &cat!(b.api, "/repos/", full, "/issues/", n))?;
        m.serialize_entry("repository_url", &cat!(b.api, "/repos/", full))?;
        m.serialize_entry(
            "labels_url",
            &cat!(b.api, "/repos/", full, "/issues/", n, "/labels{/name}"),
        )?;
        m.serialize_entry(
            "comments_url",
            &cat!(b.api, "/repos/", full, "/issues/", n, "/comments"),
        )?;
        m.serialize_entry(
            "events_url",
            &cat!(b.api, "/repos/", full, "/issues/", n, "/events"),
        )?;
        m.serialize_entry("html_url", &cat!(b.html, "/", full, web_kind, n))?;
        m.serialize_entry("id", &i.id)?;
        m.serialize_entry("node_id", &node_id("Issue", i.id))?;
        m.serialize_entry("number", &n)?;
        m.serialize_entry("title", &i.title)?;
        m.serialize_entry(
            "user",
            &AccountView {
                b,
                a: ds.user(i.user),
            },
        )?;
        m.serialize_entry("labels", &labels(b, rd, &i.labels))?;
        m.serialize_entry("state", if i.open { "open" } else { "closed" })?;
        m.serialize_entry("locked", &i.locked)?;
        m.serialize_entry(
            "assignee",
            &i.assignees
                .first()
                .map(|u| AccountView { b, a: ds.user(*u) }),
        )?;
        m.serialize_entry("assignees", &accounts(b, ds, &i.assignees))?;
        m.serialize_entry("milestone", &None::<u8>)?;
        m.serialize_entry("comments", &i.comments)?;
        m.serialize_entry("created_at", &Iso(i.created_at))?;
        m.serialize_entry("updated_at", &Iso(i.updated_at))?;
        m.serialize_entry("closed_at", &OptIso(i.closed_at))?;
        m.serialize_entry("author_association", association(i.user))?;
        m.serialize_entry("active_lock_reason", &i.locked.then_some("resolved"))?;
        if let Some(p) = &i.pull {
            m.serialize_entry("draft", &p.draft)?;
            m.serialize_entry("pull_request", &IssuePullLink { b, full, n, p })?;
        }
        m.serialize_entry("body", &i.body)?;
        m.serialize_entry(
            "reactions",
            &Reactions {
                b,
                full,
                path: "/issues/",
                id: n,
            },
        )?;
        m.serialize_entry(
            "timeline_url",
            &cat!(b.api, "/repos/", full, "/issues/", n, "/timeline"),
        )?;
        m.serialize_entry("performed_via_github_app", &None::<u8>)?;
        m.serialize_entry(
            "state_reason",
            &match (i.open, &i.pull) {
                (true, _) | (false, Some(_)) => None,
                (false, None) => Some("completed"),
            },
        )?;
        m.end()
    }
}

struct IssuePullLink<'a> {
    b: &'a Base,
    full: &'a str,
    n: u64,
    p: &'a Pull,
}

impl Serialize for IssuePullLink<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, full, n) = (self.b, self.full, self.n);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("url", &cat!(b.api, "/repos/", full, "/pulls/", n))?;
        m.serialize_entry("html_url", &cat!(b.html, "/", full, "/pull/", n))?;
        m.serialize_entry("diff_url", &cat!(b.html, "/", full, "/pull/", n, ".diff"))?;
        m.serialize_entry("patch_url", &cat!(b.html, "/", full, "/pull/", n, ".patch"))?;
        m.serialize_entry("merged_at", &OptIso(self.p.merged_at))?;
        m.end()
    }
}

fn labels<'a>(b: &'a Base, rd: &'a RepoData, idx: &'a [usize]) -> impl Serialize + 'a {
    let full = rd.repo.full_name.as_str();
    seq(idx
        .iter()
        .filter_map(move |li| rd.labels.get(*li).map(|l| LabelView { b, full, l })))
}

fn accounts<'a>(b: &'a Base, ds: &'a Dataset, idx: &'a [usize]) -> impl Serialize + 'a {
    seq(idx.iter().map(move |u| AccountView { b, a: ds.user(*u) }))
}

/// A pull request: GitHub's "pull request simple" as listed, or the full object (`full`) as
/// `GET /pulls/{n}` and webhooks show it.
pub struct PullView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data.
    pub ds: &'a Dataset,
    /// The repository.
    pub rd: &'a RepoData,
    /// The issue half.
    pub i: &'a Issue,
    /// The pull half.
    pub p: &'a Pull,
    /// Include merge state and diff statistics.
    pub full: bool,
}

struct BranchView<'a> {
    b: &'a Base,
    ds: &'a Dataset,
    rd: &'a RepoData,
    r#ref: &'a str,
    sha: &'a str,
}

impl Serialize for BranchView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("label", &cat!(self.ds.org.login, ":", self.r#ref))?;
        m.serialize_entry("ref", self.r#ref)?;
        m.serialize_entry("sha", self.sha)?;
        m.serialize_entry(
            "user",
            &AccountView {
                b: self.b,
                a: &self.ds.org,
            },
        )?;
        m.serialize_entry(
            "repo",
            &RepoView {
                b: self.b,
                ds: self.ds,
                rd: self.rd,
                full: true,
            },
        )?;
        m.end()
    }
}

impl Serialize for PullView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, ds, rd, i, p) = (self.b, self.ds, self.rd, self.i, self.p);
        let full = rd.repo.full_name.as_str();
        let n = i.number;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("url", &cat!(b.api, "/repos/", full, "/pulls/", n))?;
        m.serialize_entry("id", &p.id)?;
        m.serialize_entry("node_id", &node_id("PullRequest", p.id))?;
        m.serialize_entry("html_url", &cat!(b.html, "/", full, "/pull/", n))?;
        m.serialize_entry("diff_url", &cat!(b.html, "/", full, "/pull/", n, ".diff"))?;
        m.serialize_entry("patch_url", &cat!(b.html, "/", full, "/pull/", n, ".patch"))?;
        m.serialize_entry("issue_url", &cat!(b.api, "/repos/", full, "/issues/", n))?;
        m.serialize_entry("number", &n)?;
        m.serialize_entry("state", if i.open { "open" } else { "closed" })?;
        m.serialize_entry("locked", &i.locked)?;
        m.serialize_entry("title", &i.title)?;
        m.serialize_entry(
            "user",
            &AccountView {
                b,
                a: ds.user(i.user),
            },
        )?;
        m.serialize_entry("body", &i.body)?;
        m.serialize_entry("created_at", &Iso(i.created_at))?;
        m.serialize_entry("updated_at", &Iso(i.updated_at))?;
        m.serialize_entry("closed_at", &OptIso(i.closed_at))?;
        m.serialize_entry("merged_at", &OptIso(p.merged_at))?;
        m.serialize_entry("merge_commit_sha", &p.merge_commit_sha)?;
        m.serialize_entry(
            "assignee",
            &i.assignees
                .first()
                .map(|u| AccountView { b, a: ds.user(*u) }),
        )?;
        m.serialize_entry("assignees", &accounts(b, ds, &i.assignees))?;
        m.serialize_entry(
            "requested_reviewers",
            &accounts(b, ds, &p.requested_reviewers),
        )?;
        m.serialize_entry("requested_teams", &[] as &[u8])?;
        m.serialize_entry("labels", &labels(b, rd, &i.labels))?;
        m.serialize_entry("milestone", &None::<u8>)?;
        m.serialize_entry("draft", &p.draft)?;
        let commits_url = cat!(b.api, "/repos/", full, "/pulls/", n, "/commits");
        let review_comments_url = cat!(b.api, "/repos/", full, "/pulls/", n, "/comments");
        let review_comment_url = cat!(b.api, "/repos/", full, "/pulls/comments{/number}");
        let comments_url = cat!(b.api, "/repos/", full, "/issues/", n, "/comments");
        let statuses_url = cat!(b.api, "/repos/", full, "/statuses/", p.head_sha);
        m.serialize_entry("commits_url", &commits_url)?;
        m.serialize_entry("review_comments_url", &review_comments_url)?;
        m.serialize_entry("review_comment_url", &review_comment_url)?;
        m.serialize_entry("comments_url", &comments_url)?;
        m.serialize_entry("statuses_url", &statuses_url)?;
        m.serialize_entry(
            "head",
            &BranchView {
                b,
                ds,
                rd,
                r#ref: &p.head_ref,
                sha: &p.head_sha,
            },
        )?;
        m.serialize_entry(
            "base",
            &BranchView {
                b,
                ds,
                rd,
                r#ref: p.base_ref,
                sha: &p.base_sha,
            },
        )?;
        m.serialize_entry(
            "_links",
            &PullLinks {
                b,
                full,
                n,
                commits_url: &commits_url,
                review_comments_url: &review_comments_url,
                review_comment_url: &review_comment_url,
                comments_url: &comments_url,
                statuses_url: &statuses_url,
            },
        )?;
        m.serialize_entry("author_association", association(i.user))?;
        m.serialize_entry("auto_merge", &None::<u8>)?;
        m.serialize_entry("active_lock_reason", &i.locked.then_some("resolved"))?;
        if self.full {
            m.serialize_entry("merged", &p.merged_at.is_some())?;
            m.serialize_entry("mergeable", &i.open.then_some(true))?;
            m.serialize_entry("rebaseable", &i.open.then_some(true))?;
            m.serialize_entry("mergeable_state", if i.open { "clean" } else { "unknown" })?;
            m.serialize_entry(
                "merged_by",
                &p.merged_by.map(|u| AccountView { b, a: ds.user(u) }),
            )?;
            m.serialize_entry("comments", &i.comments)?;
            m.serialize_entry("review_comments", &p.review_comments)?;
            m.serialize_entry("maintainer_can_modify", &false)?;
            m.serialize_entry("commits", &p.commits)?;
            m.serialize_entry("additions", &p.additions)?;
            m.serialize_entry("deletions", &p.deletions)?;
            m.serialize_entry("changed_files", &p.changed_files)?;
        }
        m.end()
    }
}

struct PullLinks<'a, 'u> {
    b: &'a Base,
    full: &'a str,
    n: u64,
    commits_url: &'u dyn erased::Url,
    review_comments_url: &'u dyn erased::Url,
    review_comment_url: &'u dyn erased::Url,
    comments_url: &'u dyn erased::Url,
    statuses_url: &'u dyn erased::Url,
}

mod erased {
    /// Something that prints as a URL.
    pub trait Url: std::fmt::Display {}
    impl<T: std::fmt::Display> Url for T {}
}

struct DisplayStr<'a>(&'a dyn erased::Url);

impl Serialize for DisplayStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

impl Serialize for PullLinks<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, full, n) = (self.b, self.full, self.n);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("self", &Href(cat!(b.api, "/repos/", full, "/pulls/", n)))?;
        m.serialize_entry("html", &Href(cat!(b.html, "/", full, "/pull/", n)))?;
        m.serialize_entry("issue", &Href(cat!(b.api, "/repos/", full, "/issues/", n)))?;
        m.serialize_entry("comments", &Href(DisplayStr(self.comments_url)))?;
        m.serialize_entry(
            "review_comments",
            &Href(DisplayStr(self.review_comments_url)),
        )?;
        m.serialize_entry("review_comment", &Href(DisplayStr(self.review_comment_url)))?;
        m.serialize_entry("commits", &Href(DisplayStr(self.commits_url)))?;
        m.serialize_entry("statuses", &Href(DisplayStr(self.statuses_url)))?;
        m.end()
    }
}

/// An issue comment.
pub struct IssueCommentView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data.
    pub ds: &'a Dataset,
    /// The repository.
    pub rd: &'a RepoData,
    /// The comment.
    pub c: &'a IssueComment,
}

impl Serialize for IssueCommentView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, c) = (self.b, self.c);
        let full = self.rd.repo.full_name.as_str();
        let web_kind = if c.on_pull { "/pull/" } else { "/issues/" };
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "url",
            &cat!(b.api, "/repos/", full, "/issues/comments/", c.id),
        )?;
        m.serialize_entry(
            "html_url",
            &cat!(
                b.html,
                "/",
                full,
                web_kind,
                c.issue_number,
                "#issuecomment-",
                c.id
            ),
        )?;
        m.serialize_entry(
            "issue_url",
            &cat!(b.api, "/repos/", full, "/issues/", c.issue_number),
        )?;
        m.serialize_entry("id", &c.id)?;
        m.serialize_entry("node_id", &node_id("IssueComment", c.id))?;
        m.serialize_entry(
            "user",
            &AccountView {
                b,
                a: self.ds.user(c.user),
            },
        )?;
        m.serialize_entry("created_at", &Iso(c.created_at))?;
        m.serialize_entry("updated_at", &Iso(c.updated_at))?;
        m.serialize_entry("author_association", association(c.user))?;
        m.serialize_entry("body", &c.body)?;
        m.serialize_entry(
            "reactions",
            &Reactions {
                b,
                full,
                path: "/issues/comments/",
                id: c.id,
            },
        )?;
        m.serialize_entry("performed_via_github_app", &None::<u8>)?;
        m.end()
    }
}

/// A pull request review (`webhook` uses the webhook's lower-case `state`).
pub struct ReviewView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data.
    pub ds: &'a Dataset,
    /// The repository.
    pub rd: &'a RepoData,
    /// The review.
    pub r: &'a Review,
    /// Webhook flavour.
    pub webhook: bool,
}

impl Serialize for ReviewView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, r) = (self.b, self.r);
        let full = self.rd.repo.full_name.as_str();
        let html = cat!(
            b.html,
            "/",
            full,
            "/pull/",
            r.pr_number,
            "#pullrequestreview-",
            r.id
        );
        let pr_url = cat!(b.api, "/repos/", full, "/pulls/", r.pr_number);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &r.id)?;
        m.serialize_entry("node_id", &node_id("PullRequestReview", r.id))?;
        m.serialize_entry(
            "user",
            &AccountView {
                b,
                a: self.ds.user(r.user),
            },
        )?;
        if self.webhook && r.body.is_empty() {
            m.serialize_entry("body", &None::<&str>)?;
        } else {
            m.serialize_entry("body", &r.body)?;
        }
        if self.webhook {
            m.serialize_entry("state", &r.state.to_ascii_lowercase())?;
        } else {
            m.serialize_entry("state", r.state)?;
        }
        m.serialize_entry("html_url", &html)?;
        m.serialize_entry("pull_request_url", &pr_url)?;
        m.serialize_entry("author_association", association(r.user))?;
        m.serialize_entry(
            "_links",
            &ReviewLinks {
                html: &html,
                pull_request: &pr_url,
            },
        )?;
        m.serialize_entry("submitted_at", &Iso(r.submitted_at))?;
        m.serialize_entry("commit_id", &r.commit_id)?;
        m.end()
    }
}

struct ReviewLinks<'a> {
    html: &'a dyn erased::Url,
    pull_request: &'a dyn erased::Url,
}

impl Serialize for ReviewLinks<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("html", &Href(DisplayStr(self.html)))?;
        m.serialize_entry("pull_request", &Href(DisplayStr(self.pull_request)))?;
        m.end()
    }
}

/// A pull request review comment (a comment on the diff).
pub struct ReviewCommentView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data.
    pub ds: &'a Dataset,
    /// The repository.
    pub rd: &'a RepoData,
    /// The comment.
    pub c: &'a ReviewComment,
}

impl Serialize for ReviewCommentView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, c) = (self.b, self.c);
        let full = self.rd.repo.full_name.as_str();
        let url = cat!(b.api, "/repos/", full, "/pulls/comments/", c.id);
        let html = cat!(
            b.html,
            "/",
            full,
            "/pull/",
            c.pr_number,
            "#discussion_r",
            c.id
        );
        let pr_url = cat!(b.api, "/repos/", full, "/pulls/", c.pr_number);
        let start = c.line.saturating_sub(3).max(1);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("url", &url)?;
        m.serialize_entry("pull_request_review_id", &c.review_id)?;
        m.serialize_entry("id", &c.id)?;
        m.serialize_entry("node_id", &node_id("PullRequestReviewComment", c.id))?;
        m.serialize_entry(
            "diff_hunk",
            &format!(
                "@@ -{start},6 +{start},7 @@\n context\n+changed line {}",
                c.line
            ),
        )?;
        m.serialize_entry("path", c.path)?;
        m.serialize_entry("position", &4)?;
        m.serialize_entry("original_position", &4)?;
        m.serialize_entry("commit_id", &c.commit_id)?;
        m.serialize_entry("original_commit_id", &c.commit_id)?;
        m.serialize_entry(
            "user",
            &AccountView {
                b,
                a: self.ds.user(c.user),
            },
        )?;
        m.serialize_entry("body", &c.body)?;
        m.serialize_entry("created_at", &Iso(c.created_at))?;
        m.serialize_entry("updated_at", &Iso(c.updated_at))?;
        m.serialize_entry("html_url", &html)?;
        m.serialize_entry("pull_request_url", &pr_url)?;
        m.serialize_entry("author_association", association(c.user))?;
        m.serialize_entry(
            "_links",
            &CommentLinks {
                this: &url,
                html: &html,
                pull_request: &pr_url,
            },
        )?;
        m.serialize_entry(
            "reactions",
            &Reactions {
                b,
                full,
                path: "/pulls/comments/",
                id: c.id,
            },
        )?;
        m.serialize_entry("start_line", &None::<u32>)?;
        m.serialize_entry("original_start_line", &None::<u32>)?;
        m.serialize_entry("start_side", &None::<&str>)?;
        m.serialize_entry("line", &c.line)?;
        m.serialize_entry("original_line", &c.line)?;
        m.serialize_entry("side", "RIGHT")?;
        m.serialize_entry("subject_type", "line")?;
        m.end()
    }
}

struct CommentLinks<'a> {
    this: &'a dyn erased::Url,
    html: &'a dyn erased::Url,
    pull_request: &'a dyn erased::Url,
}

impl Serialize for CommentLinks<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("self", &Href(DisplayStr(self.this)))?;
        m.serialize_entry("html", &Href(DisplayStr(self.html)))?;
        m.serialize_entry("pull_request", &Href(DisplayStr(self.pull_request)))?;
        m.end()
    }
}

struct GitPerson<'a> {
    a: &'a Account,
    date: i64,
}

impl Serialize for GitPerson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("name", &self.a.name)?;
        m.serialize_entry("email", &cat!(self.a.login, "@users.noreply.github.com"))?;
        m.serialize_entry("date", &Iso(self.date))?;
        m.end()
    }
}

/// A commit as `GET /repos/{o}/{r}/commits` lists it.
pub struct CommitView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data.
    pub ds: &'a Dataset,
    /// The repository.
    pub rd: &'a RepoData,
    /// The commit.
    pub c: &'a Commit,
}

impl Serialize for CommitView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, c) = (self.b, self.c);
        let full = self.rd.repo.full_name.as_str();
        let author = self.ds.user(c.author);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("sha", &c.sha)?;
        m.serialize_entry(
            "node_id",
            &node_id("Commit", cat!(self.rd.repo.id, ":", c.sha)),
        )?;
        m.serialize_entry("commit", &GitCommit { b, full, c, author })?;
        m.serialize_entry("url", &cat!(b.api, "/repos/", full, "/commits/", c.sha))?;
        m.serialize_entry("html_url", &cat!(b.html, "/", full, "/commit/", c.sha))?;
        m.serialize_entry(
            "comments_url",
            &cat!(b.api, "/repos/", full, "/commits/", c.sha, "/comments"),
        )?;
        m.serialize_entry("author", &AccountView { b, a: author })?;
        m.serialize_entry("committer", &AccountView { b, a: author })?;
        m.serialize_entry(
            "parents",
            &seq(c.parents.iter().map(|p| ParentView { b, full, sha: p })),
        )?;
        m.end()
    }
}

struct GitCommit<'a> {
    b: &'a Base,
    full: &'a str,
    c: &'a Commit,
    author: &'a Account,
}

impl Serialize for GitCommit<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, full, c) = (self.b, self.full, self.c);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "author",
            &GitPerson {
                a: self.author,
                date: c.date,
            },
        )?;
        m.serialize_entry(
            "committer",
            &GitPerson {
                a: self.author,
                date: c.date,
            },
        )?;
        m.serialize_entry("message", &c.message)?;
        m.serialize_entry(
            "tree",
            &TreeRef {
                b,
                full,
                sha: &c.tree_sha,
            },
        )?;
        m.serialize_entry("url", &cat!(b.api, "/repos/", full, "/git/commits/", c.sha))?;
        m.serialize_entry("comment_count", &0)?;
        m.serialize_entry("verification", &Verification)?;
        m.end()
    }
}

struct Verification;

impl Serialize for Verification {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("verified", &false)?;
        m.serialize_entry("reason", "unsigned")?;
        m.serialize_entry("signature", &None::<&str>)?;
        m.serialize_entry("payload", &None::<&str>)?;
        m.serialize_entry("verified_at", &None::<&str>)?;
        m.end()
    }
}

struct TreeRef<'a> {
    b: &'a Base,
    full: &'a str,
    sha: &'a str,
}

impl Serialize for TreeRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("sha", self.sha)?;
        m.serialize_entry(
            "url",
            &cat!(self.b.api, "/repos/", self.full, "/git/trees/", self.sha),
        )?;
        m.end()
    }
}

struct ParentView<'a> {
    b: &'a Base,
    full: &'a str,
    sha: &'a str,
}

impl Serialize for ParentView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, full, sha) = (self.b, self.full, self.sha);
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("sha", sha)?;
        m.serialize_entry("url", &cat!(b.api, "/repos/", full, "/commits/", sha))?;
        m.serialize_entry("html_url", &cat!(b.html, "/", full, "/commit/", sha))?;
        m.end()
    }
}

/// The `head_commit` of a workflow run or push (a "simple commit").
pub struct SimpleCommitView<'a> {
    /// The data.
    pub ds: &'a Dataset,
    /// The commit.
    pub c: &'a Commit,
}

impl Serialize for SimpleCommitView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.c;
        let a = self.ds.user(c.author);
        let person = NameEmail(a);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &c.sha)?;
        m.serialize_entry("tree_id", &c.tree_sha)?;
        m.serialize_entry("message", &c.message)?;
        m.serialize_entry("timestamp", &Iso(c.date))?;
        m.serialize_entry("author", &person)?;
        m.serialize_entry("committer", &person)?;
        m.end()
    }
}

/// `{"name", "email"}` of an account.
pub struct NameEmail<'a>(pub &'a Account);

impl Serialize for NameEmail<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("name", &self.0.name)?;
        m.serialize_entry("email", &cat!(self.0.login, "@users.noreply.github.com"))?;
        m.end()
    }
}

/// A workflow (webhook `workflow` object).
pub struct WorkflowView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The repository.
    pub rd: &'a RepoData,
    /// The workflow.
    pub w: &'a Workflow,
}

impl Serialize for WorkflowView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, w) = (self.b, self.w);
        let full = self.rd.repo.full_name.as_str();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "badge_url",
            &cat!(b.html, "/", full, "/workflows/", w.name, "/badge.svg"),
        )?;
        m.serialize_entry("created_at", &Iso(w.created_at))?;
        m.serialize_entry("html_url", &cat!(b.html, "/", full, "/blob/main/", w.path))?;
        m.serialize_entry("id", &w.id)?;
        m.serialize_entry("name", w.name)?;
        m.serialize_entry("node_id", &node_id("Workflow", w.id))?;
        m.serialize_entry("path", w.path)?;
        m.serialize_entry("state", "active")?;
        m.serialize_entry("updated_at", &Iso(w.created_at))?;
        m.serialize_entry(
            "url",
            &cat!(b.api, "/repos/", full, "/actions/workflows/", w.id),
        )?;
        m.end()
    }
}

/// A workflow run.
pub struct RunView<'a> {
    /// URL roots.
    pub b: &'a Base,
    /// The data.
    pub ds: &'a Dataset,
    /// The repository.
    pub rd: &'a RepoData,
    /// The run.
    pub r: &'a Run,
}

impl Serialize for RunView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (b, ds, rd, r) = (self.b, self.ds, self.rd, self.r);
        let full = rd.repo.full_name.as_str();
        let run = cat!(b.api, "/repos/", full, "/actions/runs/", r.id);
        let workflow = rd.workflows.get(r.workflow);
        let commit = rd.commits.get(r.commit);
        let head_sha = commit.map_or("", |c| c.sha.as_str());
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &r.id)?;
        m.serialize_entry("name", workflow.map_or("CI", |w| w.name))?;
        m.serialize_entry("node_id", &node_id("WorkflowRun", r.id))?;
        m.serialize_entry("head_branch", &r.head_branch)?;
        m.serialize_entry("head_sha", head_sha)?;
        m.serialize_entry("path", workflow.map_or("", |w| w.path))?;
        m.serialize_entry("display_title", commit.map_or("", |c| c.message.as_str()))?;
        m.serialize_entry("run_number", &r.run_number)?;
        m.serialize_entry("event", r.event)?;
        m.serialize_entry("status", r.status)?;
        m.serialize_entry("conclusion", &r.conclusion)?;
        m.serialize_entry("workflow_id", &workflow.map_or(0, |w| w.id))?;
        m.serialize_entry("check_suite_id", &(r.id + 1_000_000_000))?;
        m.serialize_entry(
            "check_suite_node_id",
            &node_id("CheckSuite", r.id + 1_000_000_000),
        )?;
        m.serialize_entry("url", &run)?;
        m.serialize_entry("html_url", &cat!(b.html, "/", full, "/actions/runs/", r.id))?;
        m.serialize_entry("pull_requests", &[] as &[u8])?;
        m.serialize_entry("created_at", &Iso(r.created_at))?;
        m.serialize_entry("updated_at", &Iso(r.updated_at))?;
        m.serialize_entry(
            "actor",
            &AccountView {
                b,
                a: ds.user(r.actor),
            },
        )?;
        m.serialize_entry("run_attempt", &r.run_attempt)?;
        m.serialize_entry("referenced_workflows", &[] as &[u8])?;
        m.serialize_entry("run_started_at", &Iso(r.run_started_at))?;
        m.serialize_entry(
            "triggering_actor",
            &AccountView {
                b,
                a: ds.user(r.actor),
            },
        )?;
        m.serialize_entry("jobs_url", &cat!(run, "/jobs"))?;
        m.serialize_entry("logs_url", &cat!(run, "/logs"))?;
        m.serialize_entry(
            "check_suite_url",
            &cat!(
                b.api,
                "/repos/",
                full,
                "/check-suites/",
                r.id + 1_000_000_000
            ),
        )?;
        m.serialize_entry("artifacts_url", &cat!(run, "/artifacts"))?;
        m.serialize_entry("cancel_url", &cat!(run, "/cancel"))?;
        m.serialize_entry("rerun_url", &cat!(run, "/rerun"))?;
        m.serialize_entry(
            "previous_attempt_url",
            &(r.run_attempt > 1).then(|| format!("{run}/attempts/{}", r.run_attempt - 1)),
        )?;
        m.serialize_entry(
            "workflow_url",
            &cat!(
                b.api,
                "/repos/",
                full,
                "/actions/workflows/",
                workflow.map_or(0, |w| w.id)
            ),
        )?;
        m.serialize_entry("head_commit", &commit.map(|c| SimpleCommitView { ds, c }))?;
        m.serialize_entry(
            "repository",
            &RepoView {
                b,
                ds,
                rd,
                full: false,
            },
        )?;
        m.serialize_entry(
            "head_repository",
            &RepoView {
                b,
                ds,
                rd,
                full: false,
            },
        )?;
        m.end()
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
}
