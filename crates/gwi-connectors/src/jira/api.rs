//! Requests to Jira's REST API v3: URLs under the site, the search JQL, and the site's facts a
//! sync needs first (its time zone, its custom fields).

use std::sync::{PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use gwi_core::error::{ConnectorError, FieldError};
use gwi_core::http::{ApiClient, ApiRoot, HttpRequest};
use gwi_core::pagination::CursorParam;

use super::config::{JiraConfig, SPRINT_FIELD};
use super::models::{FieldInfo, Myself};
use super::records::{CustomFields, SOURCE};

/// Issues per search page: Jira's largest when fields are asked for.
pub(crate) const SEARCH_PAGE: u64 = 100;
/// Comments and history entries per page.
pub(crate) const DETAIL_PAGE: u64 = 100;

/// The issue fields a sync keeps (custom ones are added per config).
const FIELDS: &str = "summary,description,status,issuetype,priority,assignee,reporter,labels,\
components,fixVersions,parent,resolution,resolutiondate,created,updated,project";

/// Builds requests under the site root (`https://acme.atlassian.net`, or
/// `https://api.atlassian.com/ex/jira/{cloudid}` for OAuth 2.0 apps).
#[derive(Debug, Clone)]
pub(crate) struct JiraApi {
    root: ApiRoot,
}

impl JiraApi {
    /// The API under `root`.
    pub(crate) fn new(root: ApiRoot) -> Self {
        Self { root }
    }

    /// A GET of `/rest/api/3/{segments...}`.
    pub(crate) fn get(&self, segments: &[&str]) -> HttpRequest {
        let mut all = vec!["rest", "api", "3"];
        all.extend_from_slice(segments);
        HttpRequest::get(self.root.url(&all))
    }

    /// The first page of `search/jql` for `jql`, with `fields`.
    pub(crate) fn search(&self, jql: &str, fields: &str) -> HttpRequest {
        let page = SEARCH_PAGE.to_string();
        self.get(&["search", "jql"]).query(&[
            ("jql", jql),
            ("fields", fields),
            ("maxResults", page.as_str()),
        ])
    }
}

/// How search pages follow: the `nextPageToken` of each answer, until it has none.
pub(crate) fn next_token() -> CursorParam {
    CursorParam::new("/nextPageToken", "nextPageToken").items_at("/issues")
}

/// What a sync learns of the site before reading: the time zone JQL dates are read in, and the
/// custom fields' ids.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    /// The credentials' user's time zone.
    pub tz: Tz,
    /// The custom fields records keep.
    pub custom: CustomFields,
}

impl Site {
    /// The `fields` parameter of an issue search.
    pub(crate) fn fields(&self) -> String {
        let mut fields = FIELDS.to_owned();
        for id in self.custom.ids() {
            fields.push(',');
            fields.push_str(id);
        }
        fields
    }

    /// The JQL of issues in `scope` changed since `since` minus `window`, oldest change first.
    /// JQL dates are minutes in the user's time zone: the minute is rounded down, so the
    /// window only ever grows.
    pub(crate) fn jql(
        &self,
        scope: &str,
        since: Option<DateTime<Utc>>,
        window: Duration,
    ) -> String {
        let mut clauses = vec![format!("({scope})")];
        if let Some(since) = since {
            let local = (since - window).with_timezone(&self.tz);
            clauses.push(format!("updated >= \"{}\"", local.format("%Y-%m-%d %H:%M")));
        }
        format!("{} ORDER BY updated ASC, key ASC", clauses.join(" AND "))
    }
}

/// The site's facts, learned once per process (the first sync or webhook that needs them).
#[derive(Debug, Default)]
pub(crate) struct SiteCache {
    site: RwLock<Option<Site>>,
}

impl SiteCache {
    /// The site's facts if this process has read them.
    pub(crate) fn known(&self) -> Option<Site> {
        self.site
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The site's facts, reading them if this process has not yet.
    pub(crate) async fn get(
        &self,
        config: &JiraConfig,
        api: &JiraApi,
        client: &ApiClient,
    ) -> Result<Site, ConnectorError> {
        if let Some(site) = self.known() {
            return Ok(site);
        }
        let site = learn(config, api, client).await?;
        *self.site.write().unwrap_or_else(PoisonError::into_inner) = Some(site.clone());
        Ok(site)
    }
}

async fn learn(
    config: &JiraConfig,
    api: &JiraApi,
    client: &ApiClient,
) -> Result<Site, ConnectorError> {
    let (_, myself) = client.execute_json::<Myself>(&api.get(&["myself"])).await?;
    let tz = match myself.time_zone.as_deref().map(str::parse::<Tz>) {
        Some(Ok(tz)) => tz,
        other => {
            tracing::warn!(
                connector = SOURCE,
                time_zone = ?myself.time_zone,
                valid = matches!(other, Some(Ok(_))),
                "Jira names no time zone gwi knows for this user; JQL dates are read as UTC, which the safety window must cover"
            );
            Tz::UTC
        }
    };
    let by_name: Vec<(&String, &String)> = config
        .custom_fields
        .iter()
        .filter(|(_, field)| !field.starts_with("customfield_"))
        .collect();
    let known = if by_name.is_empty() {
        Vec::new()
    } else {
        client
            .execute_json::<Vec<FieldInfo>>(&api.get(&["field"]))
            .await?
            .1
    };
    let mut custom = CustomFields {
        keep: Default::default(),
        sprint: SPRINT_FIELD.to_owned(),
    };
    let mut unknown = Vec::new();
    for (key, field) in &config.custom_fields {
        let id = if field.starts_with("customfield_") {
            Some(field.clone())
        } else {
            known
                .iter()
                .find(|f| {
                    f.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(field))
                })
                .map(|f| f.id.clone())
        };
        match id {
            Some(id) if key == "sprint" => custom.sprint = id,
            Some(id) => {
                custom.keep.insert(key.clone(), id);
            }
            None => unknown.push(FieldError::new(
                format!("custom_fields.{key}"),
                format!("this Jira site has no field named {field:?}; give its id (customfield_...) or its exact name"),
            )),
        }
    }
    if !unknown.is_empty() {
        return Err(ConnectorError::config(SOURCE, unknown));
    }
    Ok(Site { tz, custom })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_reads_from_the_window_before_the_cursor_in_the_users_minute() {
        let site = Site {
            tz: "Europe/Berlin".parse().unwrap(),
            custom: CustomFields {
                keep: Default::default(),
                sprint: SPRINT_FIELD.to_owned(),
            },
        };
        let since = gwi_core::time::parse("2024-05-01T10:00:59Z").ok();
        assert_eq!(
            site.jql("project = \"ENG\"", since, Duration::minutes(5)),
            "(project = \"ENG\") AND updated >= \"2024-05-01 11:55\" ORDER BY updated ASC, key ASC"
        );
        assert_eq!(
            site.jql("type != Epic", None, Duration::minutes(5)),
            "(type != Epic) ORDER BY updated ASC, key ASC"
        );
        assert!(site.fields().ends_with(",project,customfield_10020"));
    }
}
