//! GitHub-shaped JSON objects (users, labels, repositories, pull requests), generated
//! deterministically from a record number so every run serves the same bytes.

use chrono::DateTime;
use serde_json::{Value, json};

/// How verbose nested objects are.
///
/// GitHub's list endpoint and its webhook payloads carry the same pull request, but a
/// webhook embeds full repository and user objects (every `*_url` field), which makes a
/// delivery several times larger than a list item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// About 2 KB per pull request: what the benchmark upstream serves on list pages.
    List,
    /// Full nested objects, as in a `pull_request` webhook delivery (10-20 KB).
    Webhook,
}

/// The repository and URLs every generated object refers to.
#[derive(Debug, Clone)]
pub struct RepoContext {
    /// Repository owner login, e.g. `acme`.
    pub owner: String,
    /// Repository name, e.g. `widgets`.
    pub name: String,
    /// Base of API URLs (`url` fields), e.g. `http://127.0.0.1:8787` or `https://api.github.com`.
    pub api_base: String,
    /// Base of browser URLs (`html_url` fields).
    pub html_base: String,
    /// Unix time of the newest record's `updated_at`; older records count back from it.
    pub newest_epoch: i64,
}

impl RepoContext {
    /// A context for `owner/name` with API URLs under `api_base` and a fixed newest timestamp.
    pub fn new(owner: &str, name: &str, api_base: &str) -> Self {
        Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
            api_base: api_base.trim_end_matches('/').to_owned(),
            html_base: "https://github.com".to_owned(),
            // 2025-06-01T00:00:00Z: a fixed instant keeps the bytes identical between runs.
            newest_epoch: 1_748_736_000,
        }
    }

    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    fn repo_api(&self) -> String {
        format!("{}/repos/{}/{}", self.api_base, self.owner, self.name)
    }
}

/// A cheap deterministic mixer (splitmix64) so fields vary between records without a RNG.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Formats a Unix time the way GitHub does (`2025-06-01T00:00:00Z`).
pub fn timestamp(epoch: i64) -> String {
    DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

const LOGINS: [&str; 8] = [
    "octocat", "hubot", "monalisa", "defunkt", "mojombo", "pjhyett", "wycats", "ezmobius",
];

const LABELS: [(&str, &str, &str); 6] = [
    ("bug", "d73a4a", "Something isn't working"),
    ("enhancement", "a2eeef", "New feature or request"),
    (
        "documentation",
        "0075ca",
        "Improvements or additions to documentation",
    ),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("performance", "fbca04", "Makes something faster or smaller"),
    (
        "dependencies",
        "0366d6",
        "Pull requests that update a dependency file",
    ),
];

const TITLE_WORDS: [&str; 16] = [
    "fix",
    "add",
    "remove",
    "refactor",
    "parser",
    "cache",
    "retry",
    "timeout",
    "widget",
    "config",
    "docs",
    "tests",
    "pagination",
    "webhook",
    "metrics",
    "logging",
];

/// A GitHub user object; `Detail::Webhook` adds every `*_url` field GitHub sends.
pub fn user(login: &str, id: u64, ctx: &RepoContext, detail: Detail) -> Value {
    let api = format!("{}/users/{login}", ctx.api_base);
    let mut v = json!({
        "login": login,
        "id": id,
        "node_id": format!("MDQ6VXNlcj{id}"),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "url": api,
        "html_url": format!("{}/{login}", ctx.html_base),
        "type": "User",
        "site_admin": false,
    });
    if detail == Detail::Webhook
        && let Some(map) = v.as_object_mut()
    {
        for (key, suffix) in [
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
            map.insert(key.to_owned(), Value::String(format!("{api}{suffix}")));
        }
        map.insert("gravatar_id".to_owned(), Value::String(String::new()));
        map.insert(
            "user_view_type".to_owned(),
            Value::String("public".to_owned()),
        );
    }
    v
}

/// The short user object GitHub nests where a full one would repeat (list items only).
fn user_mini(login: &str, id: u64, ctx: &RepoContext) -> Value {
    json!({
        "login": login,
        "id": id,
        "type": "User",
        "url": format!("{}/users/{login}", ctx.api_base),
    })
}

/// A full user for webhooks, the short one in list items.
fn nested_user(login: &str, id: u64, ctx: &RepoContext, detail: Detail) -> Value {
    match detail {
        Detail::List => user_mini(login, id, ctx),
        Detail::Webhook => user(login, id, ctx, detail),
    }
}

fn login_for(seed: u64) -> (&'static str, u64) {
    let i = (seed % LOGINS.len() as u64) as usize;
    (LOGINS[i], 1_000 + i as u64 * 7_919)
}

/// A GitHub repository object; `Detail::Webhook` gives the full object with its URL templates.
pub fn repository(ctx: &RepoContext, detail: Detail) -> Value {
    let api = ctx.repo_api();
    let owner = nested_user(&ctx.owner, 9_001, ctx, detail);
    let mut v = json!({
        "id": 700_000_001_u64,
        "name": ctx.name,
        "full_name": ctx.full_name(),
        "private": false,
        "owner": owner,
        "html_url": format!("{}/{}", ctx.html_base, ctx.full_name()),
        "url": api,
        "default_branch": "main",
    });
    if detail == Detail::Webhook
        && let Some(map) = v.as_object_mut()
    {
        map.insert("node_id".to_owned(), json!("R_kgDOKbench"));
        map.insert(
            "description".to_owned(),
            json!("Widgets, gadgets and the occasional gizmo."),
        );
        map.insert("fork".to_owned(), json!(false));
        map.insert("visibility".to_owned(), json!("public"));
        for (key, path) in [
            ("forks_url", "forks"),
            ("keys_url", "keys{/key_id}"),
            ("collaborators_url", "collaborators{/collaborator}"),
            ("teams_url", "teams"),
            ("hooks_url", "hooks"),
            ("issue_events_url", "issues/events{/number}"),
            ("events_url", "events"),
            ("assignees_url", "assignees{/user}"),
            ("branches_url", "branches{/branch}"),
            ("tags_url", "tags"),
            ("blobs_url", "git/blobs{/sha}"),
            ("git_tags_url", "git/tags{/sha}"),
            ("git_refs_url", "git/refs{/sha}"),
            ("trees_url", "git/trees{/sha}"),
            ("statuses_url", "statuses/{sha}"),
            ("languages_url", "languages"),
            ("stargazers_url", "stargazers"),
            ("contributors_url", "contributors"),
            ("subscribers_url", "subscribers"),
            ("subscription_url", "subscription"),
            ("commits_url", "commits{/sha}"),
            ("git_commits_url", "git/commits{/sha}"),
            ("comments_url", "comments{/number}"),
            ("issue_comment_url", "issues/comments{/number}"),
            ("contents_url", "contents/{+path}"),
            ("compare_url", "compare/{base}...{head}"),
            ("merges_url", "merges"),
            ("archive_url", "{archive_format}{/ref}"),
            ("downloads_url", "downloads"),
            ("issues_url", "issues{/number}"),
            ("pulls_url", "pulls{/number}"),
            ("milestones_url", "milestones{/number}"),
            (
                "notifications_url",
                "notifications{?since,all,participating}",
            ),
            ("labels_url", "labels{/name}"),
            ("releases_url", "releases{/id}"),
            ("deployments_url", "deployments"),
        ] {
            map.insert(key.to_owned(), Value::String(format!("{api}/{path}")));
        }
        for (k, val) in [
            ("created_at", json!("2019-05-15T15:19:25Z")),
            ("updated_at", json!("2025-05-31T12:00:00Z")),
            ("pushed_at", json!("2025-05-31T23:59:00Z")),
            (
                "git_url",
                json!(format!("git://github.com/{}.git", ctx.full_name())),
            ),
            (
                "ssh_url",
                json!(format!("git@github.com:{}.git", ctx.full_name())),
            ),
            (
                "clone_url",
                json!(format!("https://github.com/{}.git", ctx.full_name())),
            ),
            ("homepage", Value::Null),
            ("size", json!(4_812)),
            ("stargazers_count", json!(1_337)),
            ("watchers_count", json!(1_337)),
            ("language", json!("Rust")),
            ("has_issues", json!(true)),
            ("has_projects", json!(true)),
            ("has_downloads", json!(true)),
            ("has_wiki", json!(false)),
            ("has_pages", json!(false)),
            ("has_discussions", json!(false)),
            ("forks_count", json!(42)),
            ("archived", json!(false)),
            ("disabled", json!(false)),
            ("open_issues_count", json!(17)),
            ("license", Value::Null),
            ("allow_forking", json!(true)),
            ("is_template", json!(false)),
            ("topics", json!(["widgets", "rust"])),
            ("forks", json!(42)),
            ("open_issues", json!(17)),
            ("watchers", json!(1_337)),
        ] {
            map.insert(k.to_owned(), val);
        }
    }
    v
}

fn label(i: usize, ctx: &RepoContext) -> Value {
    let (name, color, description) = LABELS[i % LABELS.len()];
    json!({
        "id": 5_000_000_000_u64 + i as u64,
        "node_id": format!("LA_kwDObench{i}"),
        "url": format!("{}/labels/{}", ctx.repo_api(), name.replace(' ', "%20")),
        "name": name,
        "color": color,
        "default": i < 3,
        "description": description,
    })
}

fn sha(seed: u64) -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        mix(seed),
        mix(seed ^ 0xA5A5),
        mix(seed ^ 0x5A5A) as u32
    )
}

/// One pull request as GitHub returns it.
///
/// `age` is its position in "updated, newest first" order (0 = most recently updated), so a
/// list sorted by `updated` descending serves ages 0, 1, 2, ...; `number` is the PR number.
pub fn pull_request(number: u64, age: u64, ctx: &RepoContext, detail: Detail) -> Value {
    let seed = mix(number);
    let updated = ctx.newest_epoch - (age as i64) * 37;
    let created = updated - (seed % (30 * 86_400)) as i64;
    let closed = seed.is_multiple_of(3);
    let merged = closed && seed.is_multiple_of(2);
    let draft = !closed && seed.is_multiple_of(7);
    let (author, author_id) = login_for(seed);
    let api = format!("{}/pulls/{number}", ctx.repo_api());
    let issue_api = format!("{}/issues/{number}", ctx.repo_api());
    let html = format!("{}/{}/pull/{number}", ctx.html_base, ctx.full_name());
    let title_len = 3 + (seed % 5) as usize;
    let title: Vec<&str> = (0..title_len)
        .map(|i| TITLE_WORDS[(mix(seed ^ i as u64) % TITLE_WORDS.len() as u64) as usize])
        .collect();
    let body_len = (seed % 3) as usize;
    let body = if seed.is_multiple_of(11) {
        Value::Null
    } else {
        Value::String(
            std::iter::repeat_n(
                "This change keeps the widget cache warm across restarts and adds tests. ",
                body_len + 1,
            )
            .collect::<String>()
                + &format!("Fixes #{}.", number.saturating_sub(1).max(1)),
        )
    };
    let labels: Vec<Value> = (0..(seed % 3) as usize)
        .map(|i| label((seed as usize + i) % LABELS.len(), ctx))
        .collect();
    let assignees: Vec<Value> = if seed.is_multiple_of(2) {
        vec![nested_user(author, author_id, ctx, detail)]
    } else {
        Vec::new()
    };
    let reviewer = login_for(seed >> 8);
    let requested: Vec<Value> = if closed {
        Vec::new()
    } else {
        vec![nested_user(reviewer.0, reviewer.1, ctx, detail)]
    };
    let branch = format!("{author}/{}-{number}", title[0]);
    let author_obj = user(author, author_id, ctx, detail);
    let repo = repository(ctx, detail);
    let mut v = json!({
        "url": api,
        "id": 1_800_000_000_u64 + number,
        "node_id": format!("PR_kwDObench{number}"),
        "html_url": html,
        "issue_url": issue_api,
        "number": number,
        "state": if closed { "closed" } else { "open" },
        "locked": false,
        "title": title.join(" "),
        "user": author_obj,
        "body": body,
        "created_at": timestamp(created),
        "updated_at": timestamp(updated),
        "closed_at": if closed { Value::String(timestamp(updated)) } else { Value::Null },
        "merged_at": if merged { Value::String(timestamp(updated)) } else { Value::Null },
        "merge_commit_sha": if merged { Value::String(sha(seed ^ 1)) } else { Value::Null },
        "assignee": assignees.first().cloned().unwrap_or(Value::Null),
        "assignees": assignees,
        "requested_reviewers": requested,
        "requested_teams": [],
        "labels": labels,
        "milestone": null,
        "draft": draft,
        "comments_url": format!("{issue_api}/comments"),
        "head": {
            "label": format!("{}:{branch}", ctx.owner),
            "ref": branch,
            "sha": sha(seed),
            "user": nested_user(&ctx.owner, 9_001, ctx, detail),
            "repo": repo.clone(),
        },
        "base": {
            "label": format!("{}:main", ctx.owner),
            "ref": "main",
            "sha": sha(seed ^ 2),
            "user": nested_user(&ctx.owner, 9_001, ctx, detail),
            "repo": repo,
        },
        "author_association": if seed.is_multiple_of(5) { "CONTRIBUTOR" } else { "MEMBER" },
        "auto_merge": null,
        "active_lock_reason": null,
    });
    if detail == Detail::Webhook
        && let Some(map) = v.as_object_mut()
    {
        for (k, val) in [
            ("diff_url", json!(format!("{html}.diff"))),
            ("patch_url", json!(format!("{html}.patch"))),
            ("commits_url", json!(format!("{api}/commits"))),
            ("review_comments_url", json!(format!("{api}/comments"))),
            (
                "statuses_url",
                json!(format!("{}/statuses/{}", ctx.repo_api(), sha(seed))),
            ),
            ("merged", json!(merged)),
            ("mergeable", Value::Null),
            ("rebaseable", Value::Null),
            ("mergeable_state", json!("unknown")),
            ("merged_by", Value::Null),
            ("comments", json!(seed % 9)),
            ("review_comments", json!(seed % 4)),
            ("maintainer_can_modify", json!(false)),
            ("commits", json!(1 + seed % 12)),
            ("additions", json!(seed % 400)),
            ("deletions", json!(seed % 120)),
            ("changed_files", json!(1 + seed % 9)),
        ] {
            map.insert(k.to_owned(), val);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RepoContext {
        RepoContext::new("acme", "widgets", "http://127.0.0.1:8787")
    }

    #[test]
    fn list_pull_request_is_about_two_kilobytes() {
        let sizes: Vec<usize> = (1..=200)
            .map(|n| {
                serde_json::to_vec(&pull_request(n, n, &ctx(), Detail::List))
                    .map(|b| b.len())
                    .unwrap_or(0)
            })
            .collect();
        let mean = sizes.iter().sum::<usize>() / sizes.len();
        assert!((1_500..=3_000).contains(&mean), "mean size {mean}");
    }

    #[test]
    fn webhook_pull_request_is_larger_than_list_item() {
        let list =
            serde_json::to_vec(&pull_request(7, 0, &ctx(), Detail::List)).unwrap_or_default();
        let hook =
            serde_json::to_vec(&pull_request(7, 0, &ctx(), Detail::Webhook)).unwrap_or_default();
        assert!(
            hook.len() > 3 * list.len(),
            "{} vs {}",
            hook.len(),
            list.len()
        );
    }

    #[test]
    fn pull_request_has_fields_a_connector_reads() {
        let pr = pull_request(42, 3, &ctx(), Detail::List);
        assert_eq!(pr["number"], 42);
        assert_eq!(
            pr["url"],
            "http://127.0.0.1:8787/repos/acme/widgets/pulls/42"
        );
        assert_eq!(pr["html_url"], "https://github.com/acme/widgets/pull/42");
        assert_eq!(pr["base"]["repo"]["full_name"], "acme/widgets");
        assert!(pr["user"]["login"].is_string());
        assert!(pr["labels"].is_array());
        assert!(pr["updated_at"].as_str().is_some_and(|s| s.ends_with('Z')));
    }

    #[test]
    fn older_age_means_earlier_updated_at() {
        let newer = pull_request(10, 0, &ctx(), Detail::List);
        let older = pull_request(9, 1, &ctx(), Detail::List);
        let a = newer["updated_at"].as_str().unwrap_or_default().to_owned();
        let b = older["updated_at"].as_str().unwrap_or_default().to_owned();
        assert!(a > b, "{a} should sort after {b}");
    }

    #[test]
    fn same_number_gives_same_bytes() {
        let a = serde_json::to_string(&pull_request(5, 5, &ctx(), Detail::List)).ok();
        let b = serde_json::to_string(&pull_request(5, 5, &ctx(), Detail::List)).ok();
        assert_eq!(a, b);
    }

    #[test]
    fn timestamp_formats_like_github() {
        assert_eq!(timestamp(1_748_736_000), "2025-06-01T00:00:00Z");
    }
}
