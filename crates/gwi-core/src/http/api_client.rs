//! `ApiClient`: the HTTP client connectors use, with auth, pacing, retries and typed errors.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::StatusCode;
use url::Url;

use crate::auth::{AuthStrategy, NoAuth};
use crate::config::HttpSettings;
use crate::connector::RateLimits;
use crate::error::ConnectorError;
use crate::http::answers::Answers;
use crate::http::metrics::HttpMetrics;
use crate::http::rate_limit::{
    RateBucket, RateLimitConfig, RateLimitKey, RateLimiter, Waited, credential_fingerprint,
};
use crate::http::retry::{Outcome, RetryPolicy};
use crate::http::{
    Classifier, HttpClient, HttpError, HttpRequest, HttpResponse, Verdict, headers, redact_url,
};
use crate::progress::Progress;

/// Told how long a request waits because the provider limited us (e.g. `Connector::on_rate_limit`).
pub type RateLimitListener = Arc<dyn Fn(Duration) + Send + Sync>;

/// Sends connector requests: applies auth, paces, retries, and maps failures to [`ConnectorError`].
///
/// Cheap to clone: clones share one connection pool, one rate limiter and one set of counters.
///
/// Each attempt: wait for the [`RateLimiter`], apply auth, send, learn from the rate-limit
/// headers. A 401 asks the auth strategy to refresh and, if it did, is sent once more. A
/// retryable failure (see [`RetryPolicy`]) waits and tries again: the provider's `Retry-After` or
/// reset time when it gives one (shared with every client of the same credential, and refused at
/// once when longer than the policy's `max_wait`), otherwise an exponential backoff with full
/// jitter. When attempts or time run out the last failure is returned as `RateLimited`, `Api` or
/// `Network`.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
    /// The answers of the sync run this client is for, when it shares them.
    answers: Option<Arc<Answers>>,
}

struct Inner {
    connector: String,
    transport: Arc<dyn HttpClient>,
    auth: Arc<dyn AuthStrategy>,
    settings: HttpSettings,
    rate_limits: RateLimits,
    retry: RetryPolicy,
    limiter: Arc<RateLimiter>,
    /// The provider's per-endpoint budgets, by [`RateBucket`] name.
    buckets: HashMap<&'static str, Arc<RateLimiter>>,
    progress: Arc<Progress>,
    listener: Option<RateLimitListener>,
    classifier: Option<Classifier>,
    metrics: HttpMetrics,
    timeout: Duration,
    secret_params: Vec<String>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("connector", &self.inner.connector)
            .field("auth", &self.inner.auth.describe())
            .field("retry", &self.inner.retry)
            .field("pacing", &self.inner.limiter.is_pacing())
            .finish_non_exhaustive()
    }
}

/// Builds an [`ApiClient`].
pub struct ApiClientBuilder {
    connector: String,
    transport: Arc<dyn HttpClient>,
    auth: Arc<dyn AuthStrategy>,
    settings: HttpSettings,
    rate_limits: RateLimits,
    progress: Arc<Progress>,
    retry: Option<RetryPolicy>,
    limiter: Option<Arc<RateLimiter>>,
    buckets: Vec<RateBucket>,
    listener: Option<RateLimitListener>,
    classifier: Option<Classifier>,
    secret_params: Vec<String>,
}

impl ApiClientBuilder {
    /// Sets the auth strategy (default: none).
    pub fn auth(mut self, auth: Arc<dyn AuthStrategy>) -> Self {
        self.auth = auth;
        self
    }
    /// Sets timeouts, retry and pacing settings.
    pub fn settings(mut self, settings: &HttpSettings) -> Self {
        self.settings = settings.clone();
        self
    }
    /// Sets the provider's documented budget (used unless settings override it).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }
    /// Shares progress counters with the caller.
    pub fn progress(mut self, progress: Arc<Progress>) -> Self {
        self.progress = progress;
        self
    }
    /// Replaces the retry policy derived from the settings.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }
    /// Uses `limiter` instead of the process-wide one for this connector and credential.
    pub fn rate_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }
    /// Paces the requests of each bucket to its own budget as well (unless the settings give
    /// a rate of their own, which then governs every request).
    pub fn rate_buckets(mut self, buckets: Vec<RateBucket>) -> Self {
        self.buckets = buckets;
        self
    }
    /// Calls `listener` with every wait the provider's rate limit imposes.
    pub fn on_rate_limit(mut self, listener: RateLimitListener) -> Self {
        self.listener = Some(listener);
        self
    }
    /// Reads every answer with the connector's `classifier` before the default mapping.
    pub fn classifier(mut self, classifier: Option<Classifier>) -> Self {
        self.classifier = classifier;
        self
    }
    /// Query parameters to hide in logs and errors, beyond the usual `token`, `api_key`, ...
    pub fn secret_query_params(mut self, names: &[&str]) -> Self {
        self.secret_params = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }
    /// Finishes the client.
    pub fn build(self) -> ApiClient {
        let retry = self
            .retry
            .unwrap_or_else(|| RetryPolicy::from_settings(&self.settings));
        let credential = self
            .auth
            .credential_fingerprint()
            .unwrap_or_else(|| credential_fingerprint(self.auth.describe().as_bytes()));
        let limiter = self.limiter.unwrap_or_else(|| {
            let key = RateLimitKey {
                connector: self.connector.clone(),
                credential,
            };
            RateLimiter::shared(
                key,
                &RateLimitConfig::from_settings(&self.settings, &self.rate_limits),
            )
        });
        // A rate the user configured replaces the provider's documented budgets, these too.
        let buckets = if self.settings.requests_per_second.is_some() {
            HashMap::new()
        } else {
            self.buckets
                .iter()
                .map(|bucket| {
                    let key = RateLimitKey {
                        connector: format!("{}/{}", self.connector, bucket.name),
                        credential,
                    };
                    (bucket.name, RateLimiter::shared(key, &bucket.config()))
                })
                .collect()
        };
        // The auth strategy knows where it puts secrets (an API key query parameter).
        let secret_params = self
            .secret_params
            .into_iter()
            .chain(self.auth.secret_query_params())
            .collect();
        ApiClient {
            inner: Arc::new(Inner {
                metrics: HttpMetrics::new(&self.connector),
                timeout: Duration::from_secs(self.settings.timeout_secs.max(1)),
                connector: self.connector,
                transport: self.transport,
                auth: self.auth,
                settings: self.settings,
                rate_limits: self.rate_limits,
                retry,
                limiter,
                buckets,
                progress: self.progress,
                listener: self.listener,
                classifier: self.classifier,
                secret_params,
            }),
            answers: None,
        }
    }
}

/// The last failure of a request, kept to report once retrying stops.
enum Failure {
    Transport(HttpError),
    Response(HttpResponse),
    /// An answer the connector's classifier read as a rate limit or a temporary failure.
    Classified(HttpResponse, Verdict),
}

impl Failure {
    /// Whether the provider asked us to slow down.
    fn is_rate_limit(&self) -> bool {
        match self {
            Self::Response(response) => is_rate_limit(response),
            Self::Classified(_, verdict) => matches!(verdict, Verdict::RateLimited { .. }),
            Self::Transport(_) => false,
        }
    }

    /// The answer's status, if there was an answer.
    fn status(&self) -> Option<u16> {
        match self {
            Self::Response(response) | Self::Classified(response, _) => {
                Some(response.status.as_u16())
            }
            Self::Transport(_) => None,
        }
    }
}

impl ApiClient {
    /// Starts building a client for `connector` over `transport`.
    pub fn builder(
        connector: impl Into<String>,
        transport: Arc<dyn HttpClient>,
    ) -> ApiClientBuilder {
        ApiClientBuilder {
            connector: connector.into(),
            transport,
            auth: Arc::new(NoAuth),
            settings: HttpSettings::default(),
            rate_limits: RateLimits::default(),
            progress: Arc::new(Progress::default()),
            retry: None,
            limiter: None,
            buckets: Vec::new(),
            listener: None,
            classifier: None,
            secret_params: Vec::new(),
        }
    }

    /// The connector this client belongs to.
    pub fn connector(&self) -> &str {
        &self.inner.connector
    }

    /// Progress counters this client updates.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.inner.progress
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The rate limiter this client (and every client of the same credential) waits on.
    pub fn rate_limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    /// Shares this client's rate budgets (its own and each bucket's) with every process that
    /// shares `store` and names the same `owner` (the tenant whose credential it uses): see
    /// [`RateLimiter::share_through`]. Returns how many budgets are shared.
    pub fn share_budgets(&self, store: &Arc<dyn crate::store::Store>, owner: &str) -> usize {
        let connector = &self.inner.connector;
        let mut shared = usize::from(
            self.inner
                .limiter
                .share_through(store.clone(), format!("{connector}:{owner}")),
        );
        for (name, bucket) in &self.inner.buckets {
            shared += usize::from(
                bucket.share_through(store.clone(), format!("{connector}/{name}:{owner}")),
            );
        }
        shared
    }

    /// The HTTP settings the client was built with.
    pub fn settings(&self) -> &HttpSettings {
        &self.inner.settings
    }

    /// The provider's documented budget the client was built with.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.inner.rate_limits
    }

    /// `url` as text safe for logs and errors (query secrets and userinfo hidden).
    pub fn redact(&self, url: &Url) -> String {
        let extra: Vec<&str> = self
            .inner
            .secret_params
            .iter()
            .map(String::as_str)
            .collect();
        redact_url(url, &extra)
    }

    /// Sends a request; a non-2xx answer becomes a typed error.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ConnectorError> {
        self.execute(&request).await
    }

    /// Sends a request the caller keeps (e.g. a paginator): auth, pacing, retries, typed errors.
    ///
    /// A 2xx JSON answer whose body is cut is fetched again (checked without building anything).
    pub async fn execute(&self, request: &HttpRequest) -> Result<HttpResponse, ConnectorError> {
        let (response, ()) = self.execute_with(request, complete_json).await?;
        Ok(response)
    }

    /// [`execute`](Self::execute), then decodes the JSON body into `T`.
    ///
    /// The body is parsed once: a cut body (the parse ends early) is fetched again like a
    /// transport failure, any other mismatch is a validation error naming the field.
    pub async fn execute_json<T: serde::de::DeserializeOwned>(
        &self,
        request: &HttpRequest,
    ) -> Result<(HttpResponse, T), ConnectorError> {
        self.execute_with(request, |response| self.accept_json(response))
            .await
    }

    /// The same client for one sync run, whose streams share the answers to requests marked
    /// [`HttpRequest::share`].
    pub fn sharing_answers(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            answers: Some(Arc::default()),
        }
    }

    /// A request marked shared gets the run's answer to its URL when there is one that `accept`
    /// takes; otherwise it is sent (while other streams asking for it wait) and its answer kept.
    async fn execute_with<T>(
        &self,
        request: &HttpRequest,
        accept: impl Fn(&HttpResponse) -> Result<T, Rejected>,
    ) -> Result<(HttpResponse, T), ConnectorError> {
        let answers = self.answers.as_deref();
        let Some((answers, slot)) = answers.and_then(|a| Some((a, a.slot(request)?))) else {
            return self.fetch_with(request, accept).await;
        };
        let mut answer = slot.lock().await;
        if let Some(response) = answer.as_ref()
            && let Ok(value) = accept(response)
        {
            tracing::trace!(connector = %self.inner.connector, url = %self.redact(&request.url), "answer shared within the run");
            return Ok((response.clone(), value));
        }
        let (response, value) = self.fetch_with(request, &accept).await?;
        *answer = Some(response.clone());
        answers.stored(request, &response);
        Ok((response, value))
    }

    /// The retry loop; `accept` looks at each 2xx answer and may turn it into a retry.
    async fn fetch_with<T>(
        &self,
        request: &HttpRequest,
        accept: impl Fn(&HttpResponse) -> Result<T, Rejected>,
    ) -> Result<(HttpResponse, T), ConnectorError> {
        let inner = &*self.inner;
        let policy = &inner.retry;
        let started = tokio::time::Instant::now();
        // Attempts counted against the policy; a post-refresh resend is not one of them.
        let mut attempt: u32 = 0;
        let mut sent: u32 = 0;
        let mut refreshed = false;
        let mut last_status: Option<StatusCode> = None;
        let bucket = request.bucket.and_then(|name| inner.buckets.get(name));
        // The provider's answers pause the budget they count against.
        let paused = bucket.unwrap_or(&inner.limiter);
        loop {
            if let Some(bucket) = bucket {
                let waited = bucket.acquire(policy.max_wait).await.map_err(|wait| {
                    let status = last_status.map_or(429, |s| s.as_u16());
                    self.rate_limited(status, Some(wait))
                })?;
                self.record_wait(waited);
            }
            let waited = inner
                .limiter
                .acquire(policy.max_wait)
                .await
                .map_err(|wait| {
                    let status = last_status.map_or(429, |s| s.as_u16());
                    self.rate_limited(status, Some(wait))
                })?;
            self.record_wait(waited);

            attempt += 1;
            sent += 1;
            let mut outgoing = request.clone();
            outgoing.timeout.get_or_insert(inner.timeout);
            inner.auth.apply(&mut outgoing).await?;
            inner.progress.add_request(sent > 1);
            if sent > 1 {
                inner.metrics.retry();
            }
            let sent_at = tokio::time::Instant::now();
            let result = inner.transport.send(outgoing).await;
            let latency = sent_at.elapsed();

            let (failure, provider_wait) = match result {
                Ok(response) => {
                    inner.limiter.observe(&response.headers);
                    inner
                        .metrics
                        .request(&request.method, Some(response.status), latency);
                    self.trace_attempt(request, Some(response.status), sent, latency);
                    let verdict = inner
                        .classifier
                        .as_ref()
                        .and_then(|classify| classify(&response));
                    if let Some(verdict) = verdict {
                        match verdict {
                            Verdict::Unauthorized { reason } => {
                                if !refreshed {
                                    refreshed = true;
                                    if inner.auth.on_unauthorized().await? {
                                        attempt -= 1;
                                        continue;
                                    }
                                }
                                return Err(self.refused(&response, reason, Vec::new()));
                            }
                            Verdict::Forbidden { reason, scopes } => {
                                return Err(self.refused(&response, reason, scopes));
                            }
                            Verdict::Permanent { reason } => {
                                return Err(self.api_error(&response, reason));
                            }
                            Verdict::RateLimited { retry_after } => {
                                last_status = Some(response.status);
                                let wait = retry_after.or_else(|| {
                                    headers::provider_wait(&response.headers, SystemTime::now())
                                });
                                (
                                    Failure::Classified(
                                        response,
                                        Verdict::RateLimited { retry_after },
                                    ),
                                    wait,
                                )
                            }
                            temporary @ Verdict::Temporary { .. } => {
                                last_status = Some(response.status);
                                (Failure::Classified(response, temporary), None)
                            }
                        }
                    } else if response.status.is_success() {
                        match accept(&response) {
                            Ok(value) => return Ok((response, value)),
                            Err(Rejected::Invalid(error)) => return Err(error),
                            // A cut body behind a 200 (a proxy or a provider dropping the
                            // stream) is a transport failure: fetch the page again.
                            Err(Rejected::Incomplete(error)) => {
                                if !policy.is_retryable(Outcome::Transport(&error)) {
                                    return Err(self.network_error(&request.url, &error));
                                }
                                (Failure::Transport(error), None)
                            }
                        }
                    } else {
                        last_status = Some(response.status);
                        if response.status == StatusCode::UNAUTHORIZED && !refreshed {
                            refreshed = true;
                            if inner.auth.on_unauthorized().await? {
                                attempt -= 1;
                                continue;
                            }
                        }
                        if !policy.is_retryable(Outcome::Response(&response)) {
                            return Err(self.status_error(&response));
                        }
                        let wait = headers::provider_wait(&response.headers, SystemTime::now());
                        (Failure::Response(response), wait)
                    }
                }
                Err(error) => {
                    inner.metrics.request(&request.method, None, latency);
                    self.trace_attempt(request, None, sent, latency);
                    if !policy.is_retryable(Outcome::Transport(&error)) {
                        return Err(self.network_error(&request.url, &error));
                    }
                    (Failure::Transport(error), None)
                }
            };

            if let (Some(wait), Some(status)) = (provider_wait, failure.status())
                && wait > policy.max_wait
            {
                // Everyone sharing this credential would hit the same wall: stop them too.
                paused.pause_for(wait);
                return Err(self.rate_limited(status, Some(wait)));
            }
            if attempt >= policy.max_attempts {
                return Err(self.final_error(request, failure, provider_wait));
            }
            let wait = provider_wait.unwrap_or_else(|| policy.backoff(attempt));
            if started.elapsed() + wait > policy.max_elapsed {
                return Err(self.final_error(request, failure, provider_wait));
            }
            tracing::debug!(
                connector = %inner.connector,
                attempt = sent,
                wait_ms = millis(wait),
                provider_asked = provider_wait.is_some(),
                "retrying request"
            );
            match provider_wait {
                // The next acquire sleeps it, as does every other stream on this credential.
                Some(wait) => paused.pause_for(wait),
                None => {
                    tokio::time::sleep(wait).await;
                    if failure.is_rate_limit() {
                        self.record_provider_wait(wait);
                    }
                }
            }
        }
    }

    /// GETs `url` and decodes the JSON body; a decode error names the field.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<(T, HttpResponse), ConnectorError> {
        let (response, value) = self.execute_json(&HttpRequest::get(url)).await?;
        Ok((value, response))
    }

    /// Decodes a response body as JSON into `T`, naming the field on failure.
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        response: &HttpResponse,
    ) -> Result<T, ConnectorError> {
        self.accept_json(response)
            .map_err(|rejected| match rejected {
                Rejected::Invalid(error) => error,
                Rejected::Incomplete(error) => self.network_error(&response.url, &error),
            })
    }

    fn accept_json<T: serde::de::DeserializeOwned>(
        &self,
        response: &HttpResponse,
    ) -> Result<T, Rejected> {
        // The plain decoder is the fast path; only a failure pays for path tracking, to name
        // the field at fault. A body checked as UTF-8 in one pass is decoded from `&str`: from
        // bytes, serde_json checks every key and kept string on its own, about a twentieth of
        // a GitHub listing's decoding.
        let decoded = match std::str::from_utf8(&response.body) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(&response.body),
        };
        let error = match decoded {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if was_cut(response, &error) {
            return Err(Rejected::Incomplete(incomplete(response, &error)));
        }
        // Decoding again with path tracking names the field at fault.
        let (field, detail) = match response.json::<T>() {
            Err(tracked) => (tracked.path().to_string(), tracked.inner().to_string()),
            Ok(_) => (String::new(), error.to_string()),
        };
        Err(Rejected::Invalid(ConnectorError::validation(
            self.inner.connector.clone(),
            field,
            format!(
                "unexpected response from {}: {detail}",
                self.redact(&response.url)
            ),
        )))
    }

    fn record_wait(&self, waited: Waited) {
        if !waited.paced.is_zero() {
            self.inner.metrics.rate_limit_wait("pacing", waited.paced);
        }
        if !waited.paused.is_zero() {
            self.record_provider_wait(waited.paused);
        }
    }

    fn record_provider_wait(&self, wait: Duration) {
        self.inner.metrics.rate_limit_wait("provider", wait);
        self.inner.progress.add_rate_limit_wait(wait);
        if let Some(listener) = &self.inner.listener {
            listener(wait);
        }
    }

    fn trace_attempt(
        &self,
        request: &HttpRequest,
        status: Option<StatusCode>,
        attempt: u32,
        latency: Duration,
    ) {
        // Fields are only evaluated when debug is enabled, so redaction costs nothing otherwise.
        tracing::debug!(
            connector = %self.inner.connector,
            method = %request.method,
            url = %self.redact(&request.url),
            status = status.map_or(0, |s| s.as_u16()),
            attempt,
            latency_ms = millis(latency),
            "http attempt"
        );
    }

    fn final_error(
        &self,
        request: &HttpRequest,
        failure: Failure,
        provider_wait: Option<Duration>,
    ) -> ConnectorError {
        match failure {
            Failure::Transport(error) => self.network_error(&request.url, &error),
            Failure::Response(response) if is_rate_limit(&response) => {
                self.rate_limited(response.status.as_u16(), provider_wait)
            }
            Failure::Response(response) => self.status_error(&response),
            Failure::Classified(response, Verdict::RateLimited { .. }) => {
                self.rate_limited(response.status.as_u16(), provider_wait)
            }
            Failure::Classified(response, verdict) => {
                let reason = match verdict {
                    Verdict::Temporary { reason }
                    | Verdict::Permanent { reason }
                    | Verdict::Unauthorized { reason }
                    | Verdict::Forbidden { reason, .. } => reason,
                    Verdict::RateLimited { .. } => String::new(),
                };
                self.api_error(&response, reason)
            }
        }
    }

    /// A refusal of the credentials, with the answer's status and the provider's reason.
    fn refused(
        &self,
        response: &HttpResponse,
        reason: String,
        required_scopes: Vec<String>,
    ) -> ConnectorError {
        ConnectorError::Authentication {
            connector: self.inner.connector.clone(),
            status: Some(response.status.as_u16()),
            message: reason,
            required_scopes,
        }
    }

    /// A failed answer, with its status, its URL (redacted) and the provider's reason.
    fn api_error(&self, response: &HttpResponse, message: String) -> ConnectorError {
        ConnectorError::Api {
            connector: self.inner.connector.clone(),
            status: response.status.as_u16(),
            url: self.redact(&response.url),
            message,
        }
    }

    fn rate_limited(&self, status: u16, retry_after: Option<Duration>) -> ConnectorError {
        ConnectorError::RateLimited {
            connector: self.inner.connector.clone(),
            status,
            retry_after,
        }
    }

    fn network_error(&self, url: &Url, error: &HttpError) -> ConnectorError {
        let safe = self.redact(url);
        // A transport may quote the URL raw, or redacted without this client's extra names.
        let message = error
            .to_string()
            .replace(url.as_str(), &safe)
            .replace(&redact_url(url, &[]), &safe);
        ConnectorError::Network {
            connector: self.inner.connector.clone(),
            url: safe,
            message,
        }
    }

    fn status_error(&self, response: &HttpResponse) -> ConnectorError {
        let connector = self.inner.connector.clone();
        let status = response.status.as_u16();
        if is_rate_limit(response) {
            return self.rate_limited(
                status,
                headers::provider_wait(&response.headers, SystemTime::now()),
            );
        }
        let message = provider_message(&response.body);
        match status {
            401 | 403 => ConnectorError::Authentication {
                connector,
                status: Some(status),
                message,
                required_scopes: Vec::new(),
            },
            _ => self.api_error(response, message),
        }
    }
}

/// A 429, or a 403 that carries rate-limit signals (GitHub's primary and secondary limits).
fn is_rate_limit(response: &HttpResponse) -> bool {
    response.status == StatusCode::TOO_MANY_REQUESTS
        || (response.status == StatusCode::FORBIDDEN && headers::is_rate_limited(&response.headers))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The provider's error message: a JSON `message`/`error` field, else the start of the body.
pub fn provider_message(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        // Atlassian: {"errorMessages": ["..."], "errors": {"field": "..."}}.
        let mut atlassian: Vec<String> = value
            .get("errorMessages")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        if let Some(errors) = value.get("errors").and_then(|v| v.as_object()) {
            atlassian.extend(
                errors
                    .iter()
                    .filter_map(|(field, m)| m.as_str().map(|m| format!("{field}: {m}"))),
            );
        }
        if !atlassian.is_empty() {
            return atlassian.join("; ").chars().take(300).collect();
        }
        for key in ["message", "error_description", "error"] {
            if let Some(text) = value.get(key).and_then(|v| v.as_str()) {
                return text.chars().take(300).collect();
            }
        }
    }
    String::from_utf8_lossy(body).chars().take(300).collect()
}

/// Why a 2xx answer was not accepted.
enum Rejected {
    /// The body was cut in transit: fetch it again.
    Incomplete(HttpError),
    /// The body is whole but not what was expected: fail.
    Invalid(ConnectorError),
}

/// A JSON answer whose body does not parse to the end was cut in transit.
///
/// Checked with `IgnoredAny`, which builds nothing; other answers are not looked at.
fn complete_json(response: &HttpResponse) -> Result<(), Rejected> {
    if !says_json(response) {
        return Ok(());
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(&response.body) {
        Err(e) if was_cut(response, &e) => Err(Rejected::Incomplete(incomplete(response, &e))),
        _ => Ok(()),
    }
}

/// Whether `error`, met parsing `response`, means the body was cut: only a non-empty answer
/// that says it is JSON counts (an HTML error page or an empty body is not fetched again).
fn was_cut(response: &HttpResponse, error: &serde_json::Error) -> bool {
    says_json(response) && !response.body.is_empty() && (error.is_eof() || error.is_syntax())
}

fn says_json(response: &HttpResponse) -> bool {
    response
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

fn incomplete(response: &HttpResponse, error: &serde_json::Error) -> HttpError {
    HttpError::Io {
        message: format!(
            "incomplete JSON body ({} bytes): {error}",
            response.body.len()
        ),
    }
}
