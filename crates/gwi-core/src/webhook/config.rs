//! A connector's webhook settings as written in `gwi.toml`, and the scheme they build.
//!
//! ```toml
//! [connectors.github]
//! webhook = { secrets = ["env:GITHUB_WEBHOOK_SECRET_NEW", "env:GITHUB_WEBHOOK_SECRET"], tolerance_secs = 300 }
//! ```
//!
//! The scheme is the connector's (its metadata names it); `webhook_secret = "env:X"` is the
//! one-secret shorthand (see [`CommonConfig`](crate::config::CommonConfig)).

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::error::WebhookConfigError;
use super::{
    GitHubScheme, GitLabScheme, JiraScheme, LinearScheme, SignatureScheme, SlackScheme,
    StandardWebhooksScheme,
};
use crate::config::Secret;

/// Which provider's signing scheme deliveries use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize, JsonSchema)]
pub enum SchemeKind {
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>`. No timestamp, so no window.
    #[serde(rename = "github")]
    GitHub,
    /// GitLab: `X-Gitlab-Token` secret tokens and/or `whsec_` signing tokens (window 300 s).
    #[serde(rename = "gitlab")]
    GitLab,
    /// Slack: `X-Slack-Signature: v0=<hex>` with `X-Slack-Request-Timestamp` (window 300 s).
    #[serde(rename = "slack")]
    Slack,
    /// Linear: `Linear-Signature: <hex>` with the body's `webhookTimestamp` (window 60 s).
    #[serde(rename = "linear")]
    Linear,
    /// Jira / Atlassian: `X-Hub-Signature: sha256=<hex>`. No timestamp, so no window.
    #[serde(rename = "jira")]
    Jira,
    /// Standard Webhooks / Svix: `webhook-id`, `webhook-timestamp`, `webhook-signature`;
    /// secrets are `whsec_<base64>` (window 300 s).
    #[serde(rename = "standard_webhooks")]
    StandardWebhooks,
}

impl SchemeKind {
    /// The name used in config files and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GitHub => "github",
            Self::GitLab => "gitlab",
            Self::Slack => "slack",
            Self::Linear => "linear",
            Self::Jira => "jira",
            Self::StandardWebhooks => "standard_webhooks",
        }
    }

    /// The replay window applied when `tolerance_secs` is not set; `None` for schemes whose
    /// provider signs no timestamp.
    pub fn default_tolerance(self) -> Option<Duration> {
        match self {
            Self::GitHub | Self::Jira => None,
            Self::GitLab => Some(super::GITLAB_TOLERANCE),
            Self::Slack => Some(super::SLACK_TOLERANCE),
            Self::Linear => Some(super::LINEAR_TOLERANCE),
            Self::StandardWebhooks => Some(super::STANDARD_WEBHOOKS_TOLERANCE),
        }
    }
}

/// A connector's webhook settings (`webhook = { secrets = [...] }` in its `gwi.toml` table);
/// the connector's metadata names the scheme they are for.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Secrets a delivery may be signed with. List two while rotating (the new one and the
    /// old one), then remove the old one. `standard_webhooks` secrets are `whsec_<base64>`;
    /// for GitLab, `whsec_` values are signing tokens and other values secret tokens.
    #[schemars(length(min = 1))]
    pub secrets: Vec<Secret>,
    /// Replay window in seconds: a signature dated further from now, either way, is refused.
    /// Defaults to the provider's documented window (Linear 60, others 300). Ignored by
    /// GitHub and Jira, which sign no timestamp.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub tolerance_secs: Option<u64>,
}

impl WebhookSettings {
    /// Builds the `kind` scheme with these secrets, checking every secret's format. Call once
    /// at start-up.
    pub fn build(&self, kind: SchemeKind) -> Result<Box<dyn SignatureScheme>, WebhookConfigError> {
        let secrets = self.secrets.as_slice();
        let tolerance = match self.tolerance_secs {
            Some(0) => return Err(WebhookConfigError::ZeroTolerance),
            Some(secs) => Some(Duration::from_secs(secs)),
            None => kind.default_tolerance(),
        };
        // Schemes without a timestamp have no tolerance to apply.
        let tolerance = tolerance.unwrap_or(Duration::ZERO);
        Ok(match kind {
            SchemeKind::GitHub => Box::new(GitHubScheme::new(secrets)?),
            SchemeKind::Jira => Box::new(JiraScheme::new(secrets)?),
            SchemeKind::GitLab => Box::new(GitLabScheme::new(secrets)?.with_tolerance(tolerance)),
            SchemeKind::Slack => Box::new(SlackScheme::new(secrets)?.with_tolerance(tolerance)),
            SchemeKind::Linear => Box::new(LinearScheme::new(secrets)?.with_tolerance(tolerance)),
            SchemeKind::StandardWebhooks => {
                Box::new(StandardWebhooksScheme::new(secrets)?.with_tolerance(tolerance))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::sign;
    use crate::webhook::test_support::{at, headers};

    fn settings(secrets: &[&str], tolerance_secs: Option<u64>) -> WebhookSettings {
        WebhookSettings {
            secrets: secrets.iter().map(|s| Secret::literal(*s)).collect(),
            tolerance_secs,
        }
    }

    #[test]
    fn builds_each_scheme() {
        for (kind, secret) in [
            (SchemeKind::GitHub, "s"),
            (SchemeKind::GitLab, "s"),
            (SchemeKind::Slack, "s"),
            (SchemeKind::Linear, "s"),
            (SchemeKind::Jira, "s"),
            (SchemeKind::StandardWebhooks, "whsec_AAEC"),
        ] {
            let scheme = settings(&[secret], None).build(kind).unwrap();
            assert_eq!(scheme.name(), kind.as_str());
        }
    }

    #[test]
    fn either_secret_verifies_while_rotating() {
        let scheme = settings(&["new", "old"], None)
            .build(SchemeKind::Slack)
            .unwrap();
        let body = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}"#;
        for secret in ["new", "old"] {
            let h = headers(&sign::slack(&Secret::literal(secret), 1_700_000_000, body));
            assert_eq!(
                scheme.verify(&h, body, at(1_700_000_010)),
                Ok(()),
                "{secret}"
            );
        }
        let h = headers(&sign::slack(&Secret::literal("other"), 1_700_000_000, body));
        assert!(scheme.verify(&h, body, at(1_700_000_010)).is_err());
    }

    #[test]
    fn tolerance_overrides_the_provider_default() {
        let body = br#"{"type":"event_callback","event_id":"Ev1"}"#;
        let h = headers(&sign::slack(&Secret::literal("k"), 1_700_000_000, body));
        let default = settings(&["k"], None).build(SchemeKind::Slack).unwrap();
        assert_eq!(
            default
                .verify(&h, body, at(1_700_000_400))
                .unwrap_err()
                .reason(),
            "expired"
        );
        let wide = settings(&["k"], Some(600))
            .build(SchemeKind::Slack)
            .unwrap();
        assert_eq!(wide.verify(&h, body, at(1_700_000_400)), Ok(()));
    }

    #[test]
    fn no_secrets_a_bad_secret_and_zero_tolerance_are_refused() {
        assert_eq!(
            settings(&[], None).build(SchemeKind::GitHub).unwrap_err(),
            WebhookConfigError::NoSecrets
        );
        assert_eq!(
            settings(&["s"], Some(0))
                .build(SchemeKind::Slack)
                .unwrap_err(),
            WebhookConfigError::ZeroTolerance
        );
        let err = settings(&["whsec_AAEC", "hunter2-not-whsec"], None)
            .build(SchemeKind::StandardWebhooks)
            .unwrap_err();
        assert_eq!(err.field(), "secrets[1]");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn debug_of_settings_and_scheme_hides_secrets() {
        let settings = settings(&["hunter2"], None);
        let shown = format!(
            "{settings:?} {:?}",
            settings.build(SchemeKind::GitHub).unwrap()
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
