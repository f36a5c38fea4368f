//! Webhooks: the verified event a connector maps to records, signature schemes, dedupe keys.

use bytes::Bytes;
use http::HeaderMap;

/// A webhook delivery that the framework has already verified and deduplicated.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    /// Connector it is for.
    pub connector: String,
    /// Tenant it is for.
    pub tenant: String,
    /// Provider's event type (e.g. GitHub's `X-GitHub-Event`).
    pub event_type: String,
    /// The dedupe key the delivery was stored under.
    pub delivery_id: String,
    /// Headers as received, minus signatures.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
}

impl WebhookEvent {
    /// Decodes the body as JSON; the error names the offending path.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de)
    }
}
