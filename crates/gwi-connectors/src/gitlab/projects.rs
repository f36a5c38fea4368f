//! Which projects a sync reads, and what it knows of each (numeric id, path, default branch).
//!
//! At the start of a sync (`on_before_sync`) every configured group's projects are listed once,
//! subgroups included; they become streams beside the configured projects, under their paths.
//! A configured project is read (`GET /projects/:id`) the first time one of its streams needs
//! it, once per sync, since its listings do not say its path or default branch; group projects
//! come with both from the group listing and cost nothing more.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt;
use futures::lock::Mutex as AsyncMutex;
use gwi_core::error::ConnectorError;
use gwi_core::http::ApiClient;
use gwi_core::pagination::{PaginateOptions, paginate_json};

use super::config::GitlabConfig;
use super::core::{GitlabApi, next_page};
use super::models::Project;

/// The projects of one sync; shared by its streams, refreshed by the next sync.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    /// The configured groups' projects not also configured on their own, as found at the start
    /// of the last sync; `None` before any sync in this process.
    discovered: Mutex<Option<Vec<Project>>>,
    /// Projects known in this sync, by stream resource (as configured, or a group project's
    /// path). Held across the read of a missing one, so concurrent streams read it once.
    known: AsyncMutex<HashMap<String, Arc<Project>>>,
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
        for project in &found {
            known.insert(
                project.path_with_namespace.clone(),
                Arc::new(project.clone()),
            );
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

    /// The project of the stream resource `resource`: known, or read now.
    pub(crate) async fn project(
        &self,
        api: &GitlabApi,
        client: &ApiClient,
        resource: &str,
    ) -> Result<Arc<Project>, ConnectorError> {
        let mut known = self.known.lock().await;
        if let Some(project) = known.get(resource) {
            return Ok(Arc::clone(project));
        }
        let (_, project) = client
            .execute_json::<Project>(&api.get(&["projects", resource]))
            .await
            .map_err(|e| not_found(e, &format!("project {resource}")))?;
        let project = Arc::new(project);
        known.insert(resource.to_owned(), Arc::clone(&project));
        Ok(project)
    }
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
