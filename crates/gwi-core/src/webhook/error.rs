//! Why a delivery failed verification, and why a webhook config cannot be used.
//!
//! Neither type ever holds a signature, a secret or a body: only header names, fixed
//! descriptions and numbers, so both are safe to log and to count.

use crate::error::FieldError;

/// Why a webhook delivery was refused. The server answers 401 for every variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The header carrying the signature (or shared token) is absent.
    #[error("missing signature header {header}")]
    MissingSignature {
        /// Header name, lower case.
        header: &'static str,
    },
    /// Another header the scheme signs over (timestamp, message id) is absent.
    #[error("missing header {header}")]
    MissingHeader {
        /// Header name, lower case.
        header: &'static str,
    },
    /// A header is present but not in the provider's format.
    #[error("malformed header {header}: {problem}")]
    MalformedHeader {
        /// Header name, lower case.
        header: &'static str,
        /// What is wrong with it (never its value).
        problem: &'static str,
    },
    /// A signed field the scheme reads from the body (Linear's timestamp) is absent or unreadable.
    #[error("body field {field} {problem}")]
    MalformedBody {
        /// JSON field name.
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Signatures were present and well-formed, but none matched any configured secret.
    #[error("no signature in {header} matched a configured secret")]
    NoMatch {
        /// Header that carried the signatures (or the token).
        header: &'static str,
    },
    /// Authentic, but signed longer ago than the replay window allows.
    #[error("timestamp is {age_secs} s old, outside the {tolerance_secs}-second window")]
    Expired {
        /// How old the signature is, in whole seconds.
        age_secs: u64,
        /// The window, in seconds.
        tolerance_secs: u64,
    },
    /// Authentic, but dated further in the future than the window allows (clock skew or forgery).
    #[error(
        "timestamp is {ahead_secs} s in the future, outside the {tolerance_secs}-second window"
    )]
    FromFuture {
        /// How far ahead of our clock, in whole seconds.
        ahead_secs: u64,
        /// The window, in seconds.
        tolerance_secs: u64,
    },
}

impl VerifyError {
    /// Every value [`reason`](Self::reason) can return, so metrics can be registered at zero.
    pub const REASONS: &'static [&'static str] = &[
        "missing_signature",
        "missing_header",
        "malformed",
        "bad_signature",
        "expired",
        "future_timestamp",
    ];

    /// A short, stable label for metrics (`verification_failures{reason="expired"}`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingSignature { .. } => "missing_signature",
            Self::MissingHeader { .. } => "missing_header",
            Self::MalformedHeader { .. } | Self::MalformedBody { .. } => "malformed",
            Self::NoMatch { .. } => "bad_signature",
            Self::Expired { .. } => "expired",
            Self::FromFuture { .. } => "future_timestamp",
        }
    }
}

/// Why [`WebhookSettings`](super::WebhookSettings) cannot build a scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookConfigError {
    /// `secrets` is empty: every delivery would be refused.
    #[error("no secret configured; add at least one to `secrets`")]
    NoSecrets,
    /// One secret is not in the form the scheme needs (e.g. not `whsec_<base64>`).
    #[error("secrets[{index}]: {problem}")]
    InvalidSecret {
        /// Position in `secrets`.
        index: usize,
        /// What is wrong (never the value).
        problem: &'static str,
    },
    /// `tolerance_secs` is zero, which would refuse every delivery.
    #[error("tolerance_secs must be at least 1")]
    ZeroTolerance,
}

impl WebhookConfigError {
    /// The config field at fault, as `secrets[1]`, relative to the webhook table.
    pub fn field(&self) -> String {
        match self {
            Self::NoSecrets => "secrets".to_owned(),
            Self::InvalidSecret { index, .. } => format!("secrets[{index}]"),
            Self::ZeroTolerance => "tolerance_secs".to_owned(),
        }
    }
}

impl From<WebhookConfigError> for FieldError {
    fn from(error: WebhookConfigError) -> Self {
        let message = match &error {
            WebhookConfigError::InvalidSecret { problem, .. } => (*problem).to_owned(),
            other => other.to_string(),
        };
        FieldError::new(error.field(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_listed_in_reasons() {
        let all = [
            VerifyError::MissingSignature { header: "h" },
            VerifyError::MissingHeader { header: "h" },
            VerifyError::MalformedHeader {
                header: "h",
                problem: "p",
            },
            VerifyError::MalformedBody {
                field: "f",
                problem: "p",
            },
            VerifyError::NoMatch { header: "h" },
            VerifyError::Expired {
                age_secs: 1,
                tolerance_secs: 1,
            },
            VerifyError::FromFuture {
                ahead_secs: 1,
                tolerance_secs: 1,
            },
        ];
        for error in all {
            assert!(
                VerifyError::REASONS.contains(&error.reason()),
                "{}",
                error.reason()
            );
        }
    }

    #[test]
    fn config_errors_name_the_field() {
        let field: FieldError = WebhookConfigError::InvalidSecret {
            index: 2,
            problem: "expected whsec_<base64>",
        }
        .into();
        assert_eq!(field.to_string(), "secrets[2]: expected whsec_<base64>");
        let field: FieldError = WebhookConfigError::NoSecrets.into();
        assert_eq!(field.field, "secrets");
    }
}
