//! Webhook events to records, through the same transforms a sync uses.
//!
//! | `X-Gitlab-Event`     | records |
//! |----------------------|---------|
//! | `Merge Request Hook` | the merge request (opened, updated, closed, merged, reopened alike: `state` says which) |
//! | `Issue Hook`         | the issue |
//! | `Note Hook`          | the note, on a merge request or an issue (system notes too); notes on commits and snippets give nothing, as a sync does not read them |
//! | `Push Hook`          | a `commit` per pushed commit, for the default branch only (what a sync reads); a deleted branch gives nothing |
//! | `Pipeline Hook`      | the pipeline, stamped `finished_at` (else `created_at`), since the hook has no `updated_at`; the next sync's row is never older and replaces it |
//! | anything else        | nothing |
//!
//! GitLab sends no hook for a deleted merge request, issue or note, so there are no tombstones.
//! Events for projects the config does not sync, or of record types it turns off, give no
//! records: the webhook and the sync keep the same set. A `Push Hook` lists at most 20 commits
//! (`total_commits_count` says how many were pushed); the next sync reads the rest.

use gwi_core::error::ConnectorError;
use gwi_core::record::ConnectorRecord;
use gwi_core::webhook::WebhookEvent;

use super::config::{GitlabConfig, RecordType};
use super::models::{HookProject, IssueHook, MergeRequestHook, NoteHook, PipelineHook, PushHook};
use super::records::{self, InProject, SOURCE};

/// The `after` of a push that deleted its branch.
const NO_COMMIT: &str = "0000000000000000000000000000000000000000";

/// Maps one verified event to records.
pub(crate) fn records_for(
    config: &GitlabConfig,
    event: &WebhookEvent,
) -> Result<Vec<ConnectorRecord>, ConnectorError> {
    let mapper = Mapper {
        config,
        enabled: config.enabled_types(),
    };
    match event.event_type.as_str() {
        "Merge Request Hook" => mapper.merge_request(&event.decode()?),
        "Issue Hook" | "Confidential Issue Hook" => mapper.issue(&event.decode()?),
        "Note Hook" | "Confidential Note Hook" => mapper.note(&event.decode()?),
        "Push Hook" => mapper.push(&event.decode()?),
        "Pipeline Hook" => mapper.pipeline(&event.decode()?),
        other => {
            tracing::debug!(
                connector = SOURCE,
                event = other,
                "webhook event maps to no records"
            );
            Ok(Vec::new())
        }
    }
}

struct Mapper<'a> {
    config: &'a GitlabConfig,
    enabled: Vec<RecordType>,
}

impl Mapper<'_> {
    /// Whether the config syncs `record_type` of `project`.
    fn wants(&self, project: &HookProject, record_type: RecordType) -> bool {
        self.enabled.contains(&record_type)
            && self.config.syncs(project.id, &project.path_with_namespace)
    }

    fn merge_request(
        &self,
        hook: &MergeRequestHook,
    ) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        if !self.wants(&hook.project, RecordType::MergeRequest) {
            return Ok(Vec::new());
        }
        Ok(vec![records::merge_request_hook(hook)?])
    }

    fn issue(&self, hook: &IssueHook) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        if !self.wants(&hook.project, RecordType::Issue) {
            return Ok(Vec::new());
        }
        Ok(vec![records::issue_hook(hook)?])
    }

    fn note(&self, hook: &NoteHook) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        if !self.wants(&hook.project, RecordType::Note) {
            return Ok(Vec::new());
        }
        records::note_hook(hook).into_iter().collect()
    }

    /// Commits pushed to the default branch; tags, other branches and branch deletions map to
    /// nothing, because a sync reads only the default branch.
    fn push(&self, hook: &PushHook) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        if !self.wants(&hook.project, RecordType::Commit) {
            return Ok(Vec::new());
        }
        let on_default_branch = hook
            .git_ref
            .strip_prefix("refs/heads/")
            .zip(hook.project.default_branch.as_deref())
            .is_some_and(|(branch, default)| branch == default);
        if hook.after == NO_COMMIT || !on_default_branch {
            return Ok(Vec::new());
        }
        let project = InProject::from(&hook.project);
        hook.commits
            .iter()
            .map(|commit| records::push_commit(commit, project))
            .collect()
    }

    fn pipeline(&self, hook: &PipelineHook) -> Result<Vec<ConnectorRecord>, ConnectorError> {
        if !self.wants(&hook.project, RecordType::Pipeline) {
            return Ok(Vec::new());
        }
        Ok(vec![records::pipeline_hook(hook)?])
    }
}
