//! gwi-core: the connector framework.
//!
//! A connector implements [`Connector`](connector::Connector): it lists streams, yields
//! [`ConnectorRecord`](record::ConnectorRecord)s and checkpoints, and maps verified webhook events
//! to records. The framework supplies HTTP with auth, retries and rate limits
//! ([`http::ApiClient`]), pagination, config parsing with secret references, and the
//! [`SyncEngine`](sync) that commits records with their checkpoints to a [`Store`](store::Store).

pub mod auth;
pub mod config;
pub mod connector;
pub mod context;
pub mod error;
pub mod graphql;
pub mod health;
pub mod http;
pub mod incremental;
pub mod pagination;
pub mod progress;
pub mod record;
pub mod registry;
pub mod schedule;
pub mod schema;
pub mod store;
pub mod stream;
pub mod sync;
pub mod time;
pub mod webhook;

/// The items a connector author needs, in one import.
pub mod prelude {
    pub use crate::auth::{AuthConfig, AuthKind, AuthStrategy};
    pub use crate::config::{CommonConfig, Secret, ValidateConfig};
    pub use crate::connector::{AuthInfo, Capabilities, Connector, ConnectorMetadata, RateLimits};
    pub use crate::context::ConnectorContext;
    pub use crate::error::{ConnectorError, FieldError};
    pub use crate::health::{CheckStatus, HealthCheck, HealthStatus};
    pub use crate::http::{
        ApiClient, ApiRoot, Classifier, HttpClient, HttpRequest, HttpResponse, RetryPolicy, Verdict,
    };
    pub use crate::incremental::{
        Cursor, FeedPage, Listed, Mark, NewestFirst, Paging, Step, StoredCursor, ascending,
        change_feed, listing, newest_first, read_cursor, sync_items, time_value,
    };
    pub use crate::pagination::{
        Page, PaginateOptions, Paginator, paginate, paginate_json, paginate_with,
    };
    pub use crate::record::{ConnectorRecord, Envelope, JsonText};
    pub use crate::registry::{ConfiguredConnector, ConnectorDefinition, Registry};
    pub use crate::store::{Scope, Store};
    pub use crate::stream::{Checkpoint, StreamDescriptor, SyncItem, SyncOptions};
    pub use crate::sync::{
        EngineSettings, RecordSink, StoreSink, SyncEngine, SyncEvent, SyncResult,
    };
    pub use crate::webhook::{SchemeKind, WebhookEvent};
}
