//! Helpers shared by the auth tests: transports, a test RSA key, log capture.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use secrecy::{ExposeSecret, SecretString};
use wiremock::{Request, Respond, ResponseTemplate};

use crate::auth::{AuthStrategy, RefreshTokenSink};
use crate::error::ConnectorError;
use crate::http::{ApiClient, HttpClient, HttpError, HttpRequest, HttpResponse, ReqwestClient};

/// A transport that fails every request (for strategies that must not call out).
#[derive(Debug)]
pub(crate) struct UnreachableTransport;

#[async_trait]
impl HttpClient for UnreachableTransport {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Connect {
            message: "no network in this test".to_owned(),
        })
    }
}

/// The real transport, for wiremock tests.
pub(crate) fn transport() -> Arc<dyn HttpClient> {
    Arc::new(ReqwestClient::new(std::time::Duration::from_secs(10)).unwrap())
}

/// An `ApiClient` over the real transport with `auth`.
pub(crate) fn api_client(auth: Arc<dyn AuthStrategy>) -> ApiClient {
    ApiClient::builder("demo", transport()).auth(auth).build()
}

/// A GET request to 127.0.0.1 after `auth` was applied.
pub(crate) async fn get(auth: &dyn AuthStrategy) -> HttpRequest {
    let mut request = HttpRequest::get(url::Url::parse("http://127.0.0.1/items?page=1").unwrap());
    auth.apply(&mut request).await.unwrap();
    request
}

/// Asserts `Debug` shows `[redacted]` and neither `Debug` nor `describe()` shows any of `secrets`.
pub(crate) fn assert_hidden(auth: &dyn AuthStrategy, secrets: &[&str]) {
    let debug = format!("{auth:?}");
    let describe = auth.describe();
    assert!(debug.contains("[redacted]"), "{debug}");
    for secret in secrets {
        assert!(!debug.contains(secret), "Debug shows a secret: {debug}");
        assert!(
            !describe.contains(secret),
            "describe shows a secret: {describe}"
        );
    }
}

/// A 2048-bit RSA key generated once per test binary, in the PEM forms providers issue.
pub(crate) struct TestKey {
    /// PKCS#8 (`BEGIN PRIVATE KEY`), as in Google service-account keys.
    pub(crate) pkcs8_pem: String,
    /// PKCS#1 (`BEGIN RSA PRIVATE KEY`), as GitHub issues app keys.
    pub(crate) pkcs1_pem: String,
    /// The public key, to verify signatures.
    pub(crate) public_pem: String,
}

pub(crate) static TEST_KEY: LazyLock<TestKey> = LazyLock::new(|| {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    TestKey {
        pkcs8_pem: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        pkcs1_pem: key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: rsa::RsaPublicKey::from(&key)
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    }
});

thread_local! {
    /// Where log lines of this thread go while a [`CapturedLogs`] lives.
    static CAPTURE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { std::cell::RefCell::new(None) };
}

/// Log output captured from the current thread while it lives.
///
/// One global subscriber (enabled for every level and crate) writes into the capturing thread's
/// buffer. Scoped subscribers would be simpler, but tracing caches per-callsite interest across
/// threads, so with tests running in parallel a scoped one can miss events.
pub(crate) struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    /// Everything logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}

impl Drop for CapturedLogs {
    fn drop(&mut self) {
        CAPTURE.with(|c| c.borrow_mut().take());
    }
}

struct ThreadBuffer;

impl Write for ThreadBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(buffer) = c.borrow().as_ref() {
                buffer.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line at every level, from every crate, logged on this thread (use a
/// current-thread runtime).
pub(crate) fn capture_logs() -> CapturedLogs {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadBuffer)
            .finish();
        // If something else installed a global subscriber first, nothing is captured and the
        // tests asserting on expected log lines fail loudly rather than pass vacuously.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    let buffer = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(buffer.clone()));
    CapturedLogs { buffer }
}

/// Answers token requests with `at-1`, `at-2`, ... and an `expires_in`.
pub(crate) struct CountingTokens {
    count: AtomicUsize,
    expires_in: u64,
    extra: serde_json::Value,
    delay: std::time::Duration,
}

impl CountingTokens {
    /// Tokens valid for `expires_in` seconds, with `extra` fields merged into each answer.
    pub(crate) fn new(expires_in: u64, extra: serde_json::Value) -> Self {
        Self {
            count: AtomicUsize::new(0),
            expires_in,
            extra,
            delay: std::time::Duration::ZERO,
        }
    }

    /// Answers only after `delay`, so concurrent callers overlap.
    pub(crate) fn delay(mut self, delay: std::time::Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Respond for CountingTokens {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        let mut body = serde_json::json!({
            "access_token": format!("at-{n}"),
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), self.extra.as_object()) {
            for (k, v) in extra {
                let v = v.as_str().map_or(v.clone(), |s| {
                    serde_json::json!(s.replace("{n}", &n.to_string()))
                });
                body.insert(k.clone(), v);
            }
        }
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(self.delay)
    }
}

/// The form fields of a urlencoded request body.
pub(crate) fn form(request: &Request) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// A refresh-token sink that remembers what it was given and can be told to fail.
#[derive(Debug, Default)]
pub(crate) struct RecordingSink {
    pub(crate) saved: Mutex<Vec<String>>,
    pub(crate) stored: Mutex<Option<String>>,
    pub(crate) fail: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl RefreshTokenSink for RecordingSink {
    async fn save(&self, token: &SecretString) -> Result<(), ConnectorError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(ConnectorError::validation(
                "demo",
                "state",
                "store unavailable",
            ));
        }
        self.saved
            .lock()
            .unwrap()
            .push(token.expose_secret().to_owned());
        *self.stored.lock().unwrap() = Some(token.expose_secret().to_owned());
        Ok(())
    }

    async fn load(&self) -> Result<Option<SecretString>, ConnectorError> {
        Ok(self.stored.lock().unwrap().clone().map(SecretString::from))
    }
}
