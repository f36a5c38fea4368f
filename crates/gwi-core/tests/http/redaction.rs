//! Secrets in query strings never reach errors or logs.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gwi_core::http::{HttpRequest, ReqwestClient};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{builder, fast_policy};

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture_debug_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test(flavor = "current_thread")]
async fn query_secrets_never_show_in_errors_or_logs() {
    let (logs, _guard) = capture_debug_logs();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let client = builder(Arc::new(
        ReqwestClient::new(Duration::from_secs(5)).unwrap(),
    ))
    .retry_policy(fast_policy(2))
    .build();
    let url = url::Url::parse(&format!(
        "{}/items?api_key=hunter2secret&page=2",
        server.uri()
    ))
    .unwrap();

    let err = client.send(HttpRequest::get(url)).await.unwrap_err();

    let shown = format!("{err} {err:?}");
    assert!(shown.contains("api_key=[redacted]"), "{shown}");
    assert!(!shown.contains("hunter2secret"), "{shown}");
    let logs = logs.text();
    assert!(
        logs.contains("http attempt"),
        "no attempt was logged: {logs}"
    );
    assert!(logs.contains("api_key=[redacted]&page=2"), "{logs}");
    assert!(!logs.contains("hunter2secret"), "{logs}");
}

#[tokio::test(flavor = "current_thread")]
async fn query_secrets_never_show_in_network_errors() {
    let (logs, _guard) = capture_debug_logs();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = builder(Arc::new(
        ReqwestClient::new(Duration::from_secs(5)).unwrap(),
    ))
    .retry_policy(fast_policy(1))
    .secret_query_params(&["session"])
    .build();
    let url = url::Url::parse(&format!(
        "http://127.0.0.1:{port}/x?token=hunter2secret&session=s3ss10n"
    ))
    .unwrap();

    let err = client.send(HttpRequest::get(url)).await.unwrap_err();

    let shown = format!("{err} {err:?} {}", logs.text());
    assert!(shown.contains("token=[redacted]"), "{shown}");
    assert!(!shown.contains("hunter2secret"), "{shown}");
    assert!(!shown.contains("s3ss10n"), "{shown}");
}
