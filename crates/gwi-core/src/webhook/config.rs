//! A connector's webhook settings as written in `gwi.toml`, and the scheme they build.
//!
//! ```toml
//! [connectors.github.webhook]
//! scheme = "github"
//! secrets = ["env:GITHUB_WEBHOOK_SECRET", "env:GITHUB_WEBHOOK_SECRET_NEXT"]
//! ```

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use super::error::WebhookConfigError;
use super::{
    GitHubScheme, GitLabScheme, JiraScheme, LinearScheme, SignatureScheme, SlackScheme,
    StandardWebhooksScheme, StripeScheme,
};
use crate::config::{Secret, ValidateConfig};
use crate::error::FieldError;

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
    /// Stripe: `Stripe-Signature: t=..,v1=..` (window 300 s).
    #[serde(rename = "stripe")]
    Stripe,
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
            Self::Stripe => "stripe",
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
            Self::Stripe => Some(super::STRIPE_TOLERANCE),
            Self::StandardWebhooks => Some(super::STANDARD_WEBHOOKS_TOLERANCE),
        }
    }
}

/// How a connector's webhook deliveries are verified.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The provider's signing scheme: `github`, `gitlab`, `slack`, `linear`, `jira`, `stripe`
    /// or `standard_webhooks` (Svix and providers built on it).
    pub scheme: SchemeKind,
    /// Secrets a delivery may be signed with. List two while rotating (the new one and the
    /// old one), then remove the old one. `standard_webhooks` secrets are `whsec_<base64>`;
    /// for `gitlab`, `whsec_` values are signing tokens and other values secret tokens.
    #[schemars(length(min = 1))]
    pub secrets: Vec<Secret>,
    /// Replay window in seconds: a signature dated further from now, either way, is refused.
    /// Defaults to the provider's documented window (Linear 60, others 300). Ignored by
    /// `github` and `jira`, which sign no timestamp.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub tolerance_secs: Option<u64>,
}

impl WebhookConfig {
    /// Builds the scheme, checking every secret's format. Call once at start-up.
    pub fn build(&self) -> Result<Box<dyn SignatureScheme>, WebhookConfigError> {
        let secrets = self.secrets.as_slice();
        let tolerance = match self.tolerance_secs {
            Some(0) => return Err(WebhookConfigError::ZeroTolerance),
            Some(secs) => Some(Duration::from_secs(secs)),
            None => self.scheme.default_tolerance(),
        };
        // Schemes without a timestamp have no tolerance to apply.
        let tolerance = tolerance.unwrap_or(Duration::ZERO);
        Ok(match self.scheme {
            SchemeKind::GitHub => Box::new(GitHubScheme::new(secrets)?),
            SchemeKind::Jira => Box::new(JiraScheme::new(secrets)?),
            SchemeKind::GitLab => Box::new(GitLabScheme::new(secrets)?.with_tolerance(tolerance)),
            SchemeKind::Slack => Box::new(SlackScheme::new(secrets)?.with_tolerance(tolerance)),
            SchemeKind::Linear => Box::new(LinearScheme::new(secrets)?.with_tolerance(tolerance)),
            SchemeKind::Stripe => Box::new(StripeScheme::new(secrets)?.with_tolerance(tolerance)),
            SchemeKind::StandardWebhooks => {
                Box::new(StandardWebhooksScheme::new(secrets)?.with_tolerance(tolerance))
            }
        })
    }
}

impl ValidateConfig for WebhookConfig {
    /// Reports an unusable secret (e.g. a `standard_webhooks` secret that is not `whsec_`)
    /// when the config is parsed, not when the first delivery arrives.
    fn validate(&self) -> Vec<FieldError> {
        match self.build() {
            Ok(_) => Vec::new(),
            Err(error) => vec![error.into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::from_toml;
    use crate::error::ConnectorError;
    use crate::webhook::sign;
    use crate::webhook::test_support::{at, headers};

    fn parse(toml: &str) -> Result<WebhookConfig, ConnectorError> {
        from_toml("demo", toml)
    }

    #[test]
    fn parses_and_builds_each_scheme() {
        for (name, secret) in [
            ("github", "s"),
            ("gitlab", "s"),
            ("slack", "s"),
            ("linear", "s"),
            ("jira", "s"),
            ("stripe", "whsec_s"),
            ("standard_webhooks", "whsec_AAEC"),
        ] {
            let config = parse(&format!("scheme = \"{name}\"\nsecrets = [\"{secret}\"]\n"))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(config.scheme.as_str(), name);
            assert_eq!(config.build().unwrap().name(), name);
        }
    }

    #[test]
    fn built_scheme_verifies_what_the_provider_signs() {
        let config = parse("scheme = \"slack\"\nsecrets = [\"old\", \"new\"]\n").unwrap();
        let scheme = config.build().unwrap();
        let body = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}"#;
        let h = headers(&sign::slack(&Secret::literal("new"), 1_700_000_000, body));
        assert_eq!(scheme.verify(&h, body, at(1_700_000_010)), Ok(()));
        assert_eq!(scheme.dedupe_key(&h, body), "Ev1");
        assert_eq!(scheme.event_type(&h, body), "message");
    }

    #[test]
    fn tolerance_overrides_the_provider_default() {
        let body = br#"{"id":"evt_1"}"#;
        let h = headers(&sign::stripe(&Secret::literal("k"), 1_700_000_000, body));
        let default = parse("scheme = \"stripe\"\nsecrets = [\"k\"]\n")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            default
                .verify(&h, body, at(1_700_000_400))
                .unwrap_err()
                .reason(),
            "expired"
        );
        let wide = parse("scheme = \"stripe\"\nsecrets = [\"k\"]\ntolerance_secs = 600\n")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(wide.verify(&h, body, at(1_700_000_400)), Ok(()));
    }

    #[test]
    fn unknown_scheme_empty_secrets_and_zero_tolerance_are_named() {
        let text = parse("scheme = \"bitbucket\"\nsecrets = [\"s\"]\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("scheme"), "{text}");
        let text = parse("scheme = \"github\"\nsecrets = []\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("secrets"), "{text}");
        let text = parse("scheme = \"github\"\nsecrets = [\"s\"]\ntolerance_secs = 0\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("tolerance_secs"), "{text}");
        let text = parse("scheme = \"github\"\nsecrets = [\"s\"]\nsecret = \"s\"\n")
            .unwrap_err()
            .to_string();
        assert!(text.contains("secret: unknown field"), "{text}");
    }

    #[test]
    fn bad_whsec_secret_is_reported_by_path_without_its_value() {
        let err = crate::config::from_value::<WebhookConfig>(
            "demo",
            json!({"scheme": "standard_webhooks", "secrets": ["whsec_AAEC", "hunter2-not-whsec"]}),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("secrets[1]: unknown secret format"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn zero_tolerance_is_refused_by_build_too() {
        let config = WebhookConfig {
            scheme: SchemeKind::Slack,
            secrets: vec![Secret::literal("s")],
            tolerance_secs: Some(0),
        };
        assert_eq!(
            config.build().unwrap_err(),
            WebhookConfigError::ZeroTolerance
        );
    }

    #[test]
    fn debug_of_config_hides_secrets() {
        let config = parse("scheme = \"github\"\nsecrets = [\"hunter2\"]\n").unwrap();
        let shown = format!("{config:?} {:?}", config.build().unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
