//! Which records a list endpoint returns, in which order: GitHub's filters and sort rules.

use std::cmp::Reverse;

use super::data::RepoData;
use crate::core::page::query_value;
use crate::core::time::{Secs, parse_iso};

/// A list endpoint under `/repos/{owner}/{repo}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/issues` (issues and pull requests).
    Issues,
    /// `/pulls`.
    Pulls,
    /// `/issues/comments`.
    IssueComments,
    /// `/pulls/comments`.
    ReviewComments,
    /// `/pulls/{number}/reviews`.
    Reviews(u64),
    /// `/commits`.
    Commits,
    /// `/actions/runs`.
    Runs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum StateFilter {
    Open,
    Closed,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SortKey {
    Created,
    Updated,
    Comments,
}

/// The filters and order of one list request, normalised (so equal requests share a cache entry).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListQuery {
    state: StateFilter,
    sort: SortKey,
    desc: bool,
    since: Option<Secs>,
    until: Option<Secs>,
    created_from: Option<Secs>,
    created_to: Option<Secs>,
}

/// A parameter GitHub would refuse with 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidParam(pub &'static str);

fn timestamp(pairs: &[(String, String)], name: &'static str) -> Result<Option<Secs>, InvalidParam> {
    match query_value(pairs, name) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => parse_iso(v).map(Some).ok_or(InvalidParam(name)),
    }
}

/// Parses GitHub's `created` qualifier: `>=T`, `>T`, `<=T`, `<T`, `A..B`, or a bare date (that day).
fn created_range(v: &str) -> Option<(Option<Secs>, Option<Secs>)> {
    let v = v.trim();
    if let Some(t) = v.strip_prefix(">=") {
        return parse_iso(t).map(|t| (Some(t), None));
    }
    if let Some(t) = v.strip_prefix('>') {
        return parse_iso(t).map(|t| (Some(t + 1), None));
    }
    if let Some(t) = v.strip_prefix("<=") {
        return parse_iso(t).map(|t| (None, Some(t)));
    }
    if let Some(t) = v.strip_prefix('<') {
        return parse_iso(t).map(|t| (None, Some(t - 1)));
    }
    if let Some((a, b)) = v.split_once("..") {
        let lo = if a == "*" { None } else { Some(parse_iso(a)?) };
        let hi = if b == "*" { None } else { Some(parse_iso(b)?) };
        return Some((lo, hi));
    }
    let t = parse_iso(v)?;
    if v.len() == 10 {
        Some((Some(t), Some(t + 86_399)))
    } else {
        Some((Some(t), Some(t)))
    }
}

impl ListQuery {
    /// Reads the parameters `endpoint` understands, with GitHub's defaults.
    pub fn parse(endpoint: Endpoint, pairs: &[(String, String)]) -> Result<Self, InvalidParam> {
        let state = match query_value(pairs, "state") {
            Some("closed") => StateFilter::Closed,
            Some("all") => StateFilter::All,
            _ => StateFilter::Open,
        };
        let sort_param = query_value(pairs, "sort");
        let sort = match sort_param {
            Some("updated") => SortKey::Updated,
            Some("comments") | Some("popularity") => SortKey::Comments,
            _ => SortKey::Created,
        };
        let direction = query_value(pairs, "direction");
        let desc = match endpoint {
            // Issues: newest first unless asked otherwise.
            Endpoint::Issues => direction != Some("asc"),
            // Pulls: desc for `created` (the default sort), asc for the other sorts.
            Endpoint::Pulls => match direction {
                Some("asc") => false,
                Some("desc") => true,
                _ => sort == SortKey::Created,
            },
            // Comments: ascending by id; `direction` only applies together with `sort`.
            Endpoint::IssueComments | Endpoint::ReviewComments => {
                sort_param.is_some() && direction == Some("desc")
            }
            Endpoint::Reviews(_) => false,
            Endpoint::Commits | Endpoint::Runs => true,
        };
        let uses_since = matches!(
            endpoint,
            Endpoint::Issues
                | Endpoint::IssueComments
                | Endpoint::ReviewComments
                | Endpoint::Commits
        );
        let since = if uses_since {
            timestamp(pairs, "since")?
        } else {
            None
        };
        let until = if endpoint == Endpoint::Commits {
            timestamp(pairs, "until")?
        } else {
            None
        };
        let (created_from, created_to) = match (endpoint, query_value(pairs, "created")) {
            (Endpoint::Runs, Some(v)) if !v.trim().is_empty() => {
                created_range(v).ok_or(InvalidParam("created"))?
            }
            _ => (None, None),
        };
        let state = if matches!(endpoint, Endpoint::Issues | Endpoint::Pulls) {
            state
        } else {
            StateFilter::All
        };
        Ok(Self {
            state,
            sort,
            desc,
            since,
            until,
            created_from,
            created_to,
        })
    }

    fn state_ok(&self, open: bool) -> bool {
        match self.state {
            StateFilter::Open => open,
            StateFilter::Closed => !open,
            StateFilter::All => true,
        }
    }

    /// Indices (into the endpoint's records) that match, in response order.
    pub fn select(&self, endpoint: Endpoint, rd: &RepoData) -> Vec<u32> {
        let since = self.since.unwrap_or(Secs::MIN);
        let until = self.until.unwrap_or(Secs::MAX);
        match endpoint {
            Endpoint::Issues | Endpoint::Pulls => {
                let mut idx: Vec<u32> = rd
                    .issues
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| endpoint == Endpoint::Issues || i.pull.is_some())
                    .filter(|(_, i)| self.state_ok(i.open) && i.updated_at >= since)
                    .map(|(n, _)| n as u32)
                    .collect();
                let key = |n: &u32| {
                    let i = &rd.issues[*n as usize];
                    let primary = match self.sort {
                        SortKey::Created => i.created_at,
                        SortKey::Updated => i.updated_at,
                        SortKey::Comments => Secs::from(i.comments),
                    };
                    (primary, i.number)
                };
                if self.desc {
                    idx.sort_by_key(|n| Reverse(key(n)));
                } else {
                    idx.sort_by_key(key);
                }
                idx
            }
            Endpoint::IssueComments => {
                let mut idx: Vec<u32> = (0..rd.issue_comments.len() as u32)
                    .filter(|n| rd.issue_comments[*n as usize].updated_at >= since)
                    .collect();
                let key = |n: &u32| {
                    let c = &rd.issue_comments[*n as usize];
                    let t = if self.sort == SortKey::Updated {
                        c.updated_at
                    } else {
                        c.created_at
                    };
                    (t, c.id)
                };
                sort_dir(&mut idx, key, self.desc);
                idx
            }
            Endpoint::ReviewComments => {
                let mut idx: Vec<u32> = (0..rd.review_comments.len() as u32)
                    .filter(|n| rd.review_comments[*n as usize].updated_at >= since)
                    .collect();
                let key = |n: &u32| {
                    let c = &rd.review_comments[*n as usize];
                    let t = if self.sort == SortKey::Updated {
                        c.updated_at
                    } else {
                        c.created_at
                    };
                    (t, c.id)
                };
                sort_dir(&mut idx, key, self.desc);
                idx
            }
            Endpoint::Reviews(number) => {
                let mut idx: Vec<u32> = (0..rd.reviews.len() as u32)
                    .filter(|n| rd.reviews[*n as usize].pr_number == number)
                    .collect();
                sort_dir(&mut idx, |n| rd.reviews[*n as usize].id, false);
                idx
            }
            Endpoint::Commits => {
                let mut idx: Vec<u32> = (0..rd.commits.len() as u32)
                    .filter(|n| {
                        let d = rd.commits[*n as usize].date;
                        d >= since && d <= until
                    })
                    .collect();
                sort_dir(&mut idx, |n| (rd.commits[*n as usize].date, *n), true);
                idx
            }
            Endpoint::Runs => {
                let lo = self.created_from.unwrap_or(Secs::MIN);
                let hi = self.created_to.unwrap_or(Secs::MAX);
                let mut idx: Vec<u32> = (0..rd.runs.len() as u32)
                    .filter(|n| {
                        let c = rd.runs[*n as usize].created_at;
                        c >= lo && c <= hi
                    })
                    .collect();
                sort_dir(
                    &mut idx,
                    |n| (rd.runs[*n as usize].created_at, rd.runs[*n as usize].id),
                    true,
                );
                idx
            }
        }
    }
}

fn sort_dir<K: Ord>(idx: &mut [u32], key: impl Fn(&u32) -> K, desc: bool) {
    if desc {
        idx.sort_by_key(|n| Reverse(key(n)));
    } else {
        idx.sort_by_key(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::page::parse_query;
    use crate::github::data::Dataset;

    fn select(endpoint: Endpoint, q: &str, rd: &RepoData) -> Vec<u32> {
        ListQuery::parse(endpoint, &parse_query(Some(q)))
            .unwrap()
            .select(endpoint, rd)
    }

    #[test]
    fn issues_default_to_open_newest_first_and_include_pulls() {
        let ds = Dataset::generate(3, 1);
        let rd = &ds.repos[0];
        let open = select(Endpoint::Issues, "", rd);
        assert_eq!(open.len(), rd.issues.iter().filter(|i| i.open).count());
        assert!(open.windows(2).all(|w| w[0] > w[1]));
        let all = select(Endpoint::Issues, "state=all&direction=asc", rd);
        assert_eq!(all.len(), rd.issues.len());
        assert!(all.iter().any(|n| rd.issues[*n as usize].pull.is_some()));
    }

    #[test]
    fn since_keeps_records_updated_at_or_after_it() {
        let ds = Dataset::generate(3, 1);
        let rd = &ds.repos[1];
        let cut = rd.issue_comments[rd.issue_comments.len() / 2].updated_at;
        let got = select(
            Endpoint::IssueComments,
            &format!("since={}", crate::core::time::Iso(cut)),
            rd,
        );
        let want = rd
            .issue_comments
            .iter()
            .filter(|c| c.updated_at >= cut)
            .count();
        assert_eq!(got.len(), want);
        assert_eq!(
            ListQuery::parse(Endpoint::Issues, &parse_query(Some("since=nope"))),
            Err(InvalidParam("since"))
        );
    }

    #[test]
    fn created_qualifier_forms() {
        assert_eq!(created_range(">=1970-01-02"), Some((Some(86_400), None)));
        assert_eq!(
            created_range("<1970-01-02T00:00:00Z"),
            Some((None, Some(86_399)))
        );
        assert_eq!(
            created_range("1970-01-02"),
            Some((Some(86_400), Some(172_799)))
        );
        assert_eq!(created_range("1970-01-02..*"), Some((Some(86_400), None)));
        assert_eq!(created_range("soon"), None);
    }
}
