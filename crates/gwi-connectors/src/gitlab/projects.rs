//! Which projects a sync reads, and what it knows of each (numeric id, path, default branch).
//!
//! At the start of a sync (`on_before_sync`) every configured group's projects are listed once,
//! subgroups included; they become streams beside the configured projects, under their paths.
//! A configured project is read (`GET /projects/:id`) the first time one of its streams needs
//! it, since its listings do not say its path, default branch or which features are turned off;
//! group projects come with all of it from the group listing and cost nothing more.
//!
//! Each stream keeps what it knew of its project beside its cursor (`Remembered`), and the
//! first stream of a project to start with facts under [`FACTS_MAX_AGE`] old gives them to its
//! siblings, so an unchanged run reads no project at all.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};

use futures::StreamExt;
use futures::lock::Mutex as AsyncMutex;
use gwi_core::error::ConnectorError;
use gwi_core::http::ApiClient;
use gwi_core::incremental::Remembered;
use gwi_core::pagination::{PaginateOptions, paginate_json};

use super::config::GitlabConfig;
use super::core::{GitlabApi, next_page};
use super::models::Project;

/// How long a stream trusts the project facts it stored: a default branch renamed or a feature
/// turned on is seen within this time (a feature turned off at once, by the 403 it causes).
pub(crate) const FACTS_MAX_AGE: TimeDelta = TimeDelta::hours(1);

/// A project as a stream of this sync knows it.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// The project.
    pub project: Arc<Project>,
    /// When GitLab answered with it.
    pub read_at: DateTime<Utc>,
    /// Whether this sync read it with `GET /projects/:id` (not from a group listing, nor from
    /// a stream's stored facts).
    pub read_now: bool,
}

impl Known {
    /// Whether a stream that started with `stored` must store these facts: they differ, or
    /// they were read again (so their age starts over).
    pub(crate) fn is_news_to(&self, stored: Option<&Remembered<Project>>) -> bool {
        stored.is_none_or(|stored| {
            stored.facts != *self.project || (self.read_now && stored.read_at != self.read_at)
        })
    }

    /// The facts as a stream stores them.
    pub(crate) fn remembered(&self) -> Remembered<serde_json::Value> {
        Remembered {
            facts: serde_json::to_value(&*self.project).unwrap_or_default(),
            read_at: self.read_at,
        }
    }
}

/// The projects of one sync; shared by its streams, refreshed by the next sync.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    /// The configured groups' projects not also configured on their own, as found at the start
    /// of the last sync; `None` before any sync in this process.
    discovered: Mutex<Option<Vec<Project>>>,
    /// Projects known in this sync, by stream resource (as configured, or a group project's
    /// path). Held across the read of a missing one, so concurrent streams read it once.
    known: AsyncMutex<HashMap<String, Known>>,
    /// Whether the instance answered a keyset request with 405 (GitLab 12.7 to 13.x), so
    /// listings are asked for by offset from then on.
    pub(crate) keyset_refused: AtomicBool,
}

impl Directory {
    /// Forgets what the last sync knew and lists every configured group's projects.
    pub(crate) async fn discover(
        &self,
        config: &GitlabConfig,
        api: &GitlabApi,
        client: &ApiClient,
    ) -> Result<(), ConnectorError> {
        let mut known = self.known.lock().await;
        known.clear();
        let mut found: Vec<Project> = Vec::new();
        let mut ids = HashSet::new();
        for (i, group) in config.groups.iter().enumerate() {
            let first = api.list(
                &["groups", group.as_str(), "projects"],
                &[
                    ("include_subgroups", "true"),
                    // Projects shared with the group belong elsewhere.
                    ("with_shared", "false"),
                    ("order_by", "id"),
                    ("sort", "asc"),
                ],
            );
            let options = PaginateOptions {
                read_ahead: 1,
                ..PaginateOptions::default()
            };
            let mut pages = paginate_json::<Vec<Project>, _>(client, first, next_page(), options);
            while let Some(page) = pages.next().await {
                let (_, projects) =
                    page.map_err(|e| not_found(e, &format!("group {group} (groups[{i}])")))?;
                for project in projects {
                    let configured = config.projects.iter().any(|p| {
                        p.id() == Some(project.id)
                            || p.as_str()
                                .eq_ignore_ascii_case(&project.path_with_namespace)
                    });
                    if !configured && ids.insert(project.id) {
                        found.push(project);
                    }
                }
            }
        }
        let read_at = Utc::now();
        for project in &found {
            let project = Arc::new(project.clone());
            let known_now = Known {
                project: Arc::clone(&project),
                read_at,
                read_now: false,
            };
            known.insert(project.path_with_namespace.clone(), known_now);
        }
        *self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(found);
        Ok(())
    }

    /// The stream resources: the configured projects as written, then the groups' projects by
    /// path (none before the first sync has listed them).
    pub(crate) fn resources(&self, config: &GitlabConfig) -> Vec<String> {
        let discovered = self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        config
            .projects
            .iter()
            .map(|p| p.as_str().to_owned())
            .chain(
                discovered
                    .iter()
                    .flatten()
                    .map(|p| p.path_with_namespace.clone()),
            )
            .collect()
    }

    /// The project of the stream resource `resource`: known in this sync, else the facts a
    /// stream `stored` (fresh enough), else read now.
    pub(crate) async fn project(
        &self,
        api: &GitlabApi,
        client: &ApiClient,
        resource: &str,
        stored: Option<Remembered<Project>>,
    ) -> Result<Known, ConnectorError> {
        let mut known = self.known.lock().await;
        if let Some(project) = known.get(resource) {
            return Ok(project.clone());
        }
        let project = match stored {
            Some(Remembered { facts, read_at }) => Known {
                project: Arc::new(facts),
                read_at,
                read_now: false,
            },
            None => read(api, client, resource).await?,
        };
        known.insert(resource.to_owned(), project.clone());
        Ok(project)
    }

    /// Reads `resource` again, for every stream of this sync, replacing stored facts.
    pub(crate) async fn reread(
        &self,
        api: &GitlabApi,
        client: &ApiClient,
        resource: &str,
    ) -> Result<Known, ConnectorError> {
        let mut known = self.known.lock().await;
        let project = read(api, client, resource).await?;
        known.insert(resource.to_owned(), project.clone());
        Ok(project)
    }
}

/// `GET /projects/:id` of `resource`.
async fn read(
    api: &GitlabApi,
    client: &ApiClient,
    resource: &str,
) -> Result<Known, ConnectorError> {
    let (_, project) = client
        .execute_json::<Project>(&api.get(&["projects", resource]))
        .await
        .map_err(|e| not_found(e, &format!("project {resource}")))?;
    Ok(Known {
        project: Arc::new(project),
        read_at: Utc::now(),
        read_now: true,
    })
}

/// A 404 reworded to name what was not found (`404 Project Not Found` says which kind only).
fn not_found(error: ConnectorError, what: &str) -> ConnectorError {
    match error {
        ConnectorError::Api {
            connector,
            status: 404,
            url,
            message,
        } => ConnectorError::Api {
            connector,
            status: 404,
            url,
            message: format!(
                "{what} does not exist or the token cannot see it (GitLab said: {message})"
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gwi_core::config::parse_connector;
    use gwi_core::registry::ConnectorDefinition;
    use serde_json::json;

    use crate::gitlab::GitlabConnector;

    fn config(projects: &[&str], groups: &[&str]) -> GitlabConfig {
        parse_connector::<GitlabConfig>(
            &GitlabConnector::metadata(),
            json!({"projects": projects, "groups": groups, "auth": {"type": "bearer", "token": "t"}}),
        )
        .unwrap()
        .own
    }

    #[test]
    fn a_numeric_groups_projects_become_streams_once_a_sync_lists_them() {
        let directory = Directory::default();
        let config = config(&[], &["200"]);
        assert!(directory.resources(&config).is_empty());
        *directory.discovered.lock().unwrap() = Some(vec![Project {
            id: 102,
            path_with_namespace: "acme-platform/api".into(),
            default_branch: None,
            ..Project::default()
        }]);
        assert_eq!(directory.resources(&config), ["acme-platform/api"]);
    }

    #[test]
    fn a_404_names_what_was_not_found() {
        let error = not_found(
            ConnectorError::Api {
                connector: "gitlab".into(),
                status: 404,
                url: "https://gitlab.com/api/v4/projects/a%2Fb".into(),
                message: "404 Project Not Found".into(),
            },
            "project a/b",
        );
        let text = error.to_string();
        assert!(text.contains("project a/b does not exist"), "{text}");
        assert!(text.contains("404 Project Not Found"), "{text}");
    }
}
