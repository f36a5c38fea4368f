//! Connector classifiers: answers whose status does not tell what went wrong (Slack's `ok:false`
//! behind a 200, GraphQL `errors`, Google's 403 `rateLimitExceeded`, Jira's 410) become typed
//! errors with the right retry behaviour.

use std::sync::Arc;
use std::time::Duration;

use gwi_core::error::ConnectorError;
use gwi_core::http::{Classifier, HttpRequest, HttpResponse, Verdict};
use gwi_testing::{MockHttpClient, MockResponse};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{builder, mock_url};

/// Slack: every answer is HTTP 200; `ok:false` carries the error code.
fn slack() -> Classifier {
    Arc::new(|response: &HttpResponse| {
        let body: Value = serde_json::from_slice(&response.body).ok()?;
        if body.get("ok") != Some(&Value::Bool(false)) {
            return None;
        }
        let code = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        Some(match code.as_str() {
            "ratelimited" => Verdict::RateLimited { retry_after: None },
            "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" => {
                Verdict::Unauthorized { reason: code }
            }
            "missing_scope" => Verdict::Forbidden {
                reason: code,
                scopes: Vec::new(),
            },
            "internal_error" | "fatal_error" => Verdict::Temporary { reason: code },
            _ => Verdict::Permanent { reason: code },
        })
    })
}

/// GraphQL (Linear): `errors[].extensions.code`, in a 200 or a 400.
fn graphql() -> Classifier {
    Arc::new(|response: &HttpResponse| {
        let body: Value = serde_json::from_slice(&response.body).ok()?;
        let code = body.pointer("/errors/0/extensions/code")?.as_str()?;
        Some(match code {
            "RATELIMITED" => Verdict::RateLimited { retry_after: None },
            "AUTHENTICATION_ERROR" => Verdict::Unauthorized {
                reason: code.to_owned(),
            },
            other => Verdict::Permanent {
                reason: other.to_owned(),
            },
        })
    })
}

/// Google: the reason of a 403 tells a rate limit from a refusal.
fn google() -> Classifier {
    Arc::new(|response: &HttpResponse| {
        if response.status != 403 {
            return None;
        }
        let body: Value = serde_json::from_slice(&response.body).ok()?;
        let reason = body.pointer("/error/errors/0/reason")?.as_str()?;
        Some(match reason {
            "rateLimitExceeded" | "userRateLimitExceeded" => {
                Verdict::RateLimited { retry_after: None }
            }
            other => Verdict::Forbidden {
                scopes: Vec::new(),
                reason: other.to_owned(),
            },
        })
    })
}

/// Jira: 410 means the endpoint was removed; no retry will bring it back.
fn jira() -> Classifier {
    Arc::new(|response: &HttpResponse| {
        (response.status == 410).then(|| Verdict::Permanent {
            reason: "this endpoint was removed by Atlassian".to_owned(),
        })
    })
}

fn client(mock: &Arc<MockHttpClient>, classifier: Classifier) -> gwi_core::http::ApiClient {
    builder(mock.clone()).classifier(Some(classifier)).build()
}

async fn get(client: &gwi_core::http::ApiClient) -> Result<HttpResponse, ConnectorError> {
    client.send(HttpRequest::get(mock_url("/api/call"))).await
}

#[tokio::test(start_paused = true)]
async fn slack_ratelimited_behind_a_200_waits_for_retry_after_then_retries() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(
        MockResponse::ok_json(&json!({"ok": false, "error": "ratelimited"}))
            .header("retry-after", "7"),
    );
    mock.push(MockResponse::ok_json(&json!({"ok": true, "channels": []})));
    let client = client(&mock, slack());

    let started = Instant::now();
    let response = get(&client).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(mock.request_count(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn slack_invalid_auth_is_an_authentication_error_with_the_status_and_reason() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::ok_json(
        &json!({"ok": false, "error": "invalid_auth"}),
    ));
    let client = client(&mock, slack());

    match get(&client).await.unwrap_err() {
        ConnectorError::Authentication {
            status, message, ..
        } => {
            assert_eq!(status, Some(200));
            assert_eq!(message, "invalid_auth");
        }
        other => panic!("expected an authentication error, got {other:?}"),
    }
    assert_eq!(
        mock.request_count(),
        1,
        "a refused credential is not retried"
    );
}

#[tokio::test(start_paused = true)]
async fn slack_internal_error_is_retried_and_reported_with_its_code() {
    let mock = Arc::new(MockHttpClient::new());
    for _ in 0..5 {
        mock.push(MockResponse::ok_json(
            &json!({"ok": false, "error": "internal_error"}),
        ));
    }
    let client = client(&mock, slack());

    match get(&client).await.unwrap_err() {
        ConnectorError::Api {
            status, message, ..
        } => {
            assert_eq!((status, message.as_str()), (200, "internal_error"));
        }
        other => panic!("expected an api error, got {other:?}"),
    }
    assert_eq!(
        mock.request_count(),
        5,
        "every attempt of the default policy"
    );
}

#[tokio::test(start_paused = true)]
async fn graphql_ratelimited_in_a_400_is_retried() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::json(
        400,
        &json!({"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]}),
    ));
    mock.push(MockResponse::ok_json(
        &json!({"data": {"issues": {"nodes": []}}}),
    ));
    let client = client(&mock, graphql());

    assert_eq!(get(&client).await.unwrap().status, 200);
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_that_never_ends_is_reported_as_rate_limited() {
    let mock = Arc::new(MockHttpClient::new());
    for _ in 0..5 {
        mock.push(MockResponse::ok_json(
            &json!({"data": null, "errors": [{"extensions": {"code": "RATELIMITED"}}]}),
        ));
    }
    let client = client(&mock, graphql());

    match get(&client).await.unwrap_err() {
        ConnectorError::RateLimited { status, .. } => assert_eq!(status, 200),
        other => panic!("expected rate limited, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn google_403_rate_limit_exceeded_is_retried_but_a_403_refusal_is_not() {
    let limited = json!({"error": {"code": 403, "errors": [{"reason": "rateLimitExceeded"}]}});
    let refused =
        json!({"error": {"code": 403, "errors": [{"reason": "insufficientPermissions"}]}});

    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::json(403, &limited));
    mock.push(MockResponse::ok_json(&json!({"files": []})));
    assert_eq!(get(&client(&mock, google())).await.unwrap().status, 200);
    assert_eq!(mock.request_count(), 2);

    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::json(403, &refused));
    match get(&client(&mock, google())).await.unwrap_err() {
        ConnectorError::Authentication {
            status, message, ..
        } => {
            assert_eq!(
                (status, message.as_str()),
                (Some(403), "insufficientPermissions")
            );
        }
        other => panic!("expected an authentication error, got {other:?}"),
    }
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn jira_410_is_permanent_and_never_retried() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::json(410, &json!({"errorMessages": ["gone"]})));
    match get(&client(&mock, jira())).await.unwrap_err() {
        ConnectorError::Api {
            status, message, ..
        } => {
            assert_eq!(status, 410);
            assert!(message.contains("removed"), "{message}");
        }
        other => panic!("expected an api error, got {other:?}"),
    }
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn answers_the_classifier_leaves_alone_get_the_default_mapping() {
    let mock = Arc::new(MockHttpClient::new());
    mock.push(MockResponse::status(503));
    mock.push(MockResponse::ok_json(&json!({"ok": true})));
    assert_eq!(get(&client(&mock, slack())).await.unwrap().status, 200);
    assert_eq!(mock.request_count(), 2);
}
