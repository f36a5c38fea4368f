//! Every paginator walks a multi-page fixture, stops on the last page, and fails on a loop.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use gwi_core::error::ConnectorError;
use gwi_core::http::{ApiClient, HttpRequest, ReqwestClient};
use gwi_core::pagination::{
    CursorParam, GraphQlPageInfo, LinkHeader, Offset, Page, PageNumber, PaginateOptions, Paginator,
    paginate, paginate_json, paginate_with,
};
use gwi_testing::{MockHttpClient, MockResponse};
use http::Method;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{builder, mock_client, mock_url};

/// Walks to the end; returns the pages fetched and the error that ended the walk, if any.
async fn walk(
    client: &ApiClient,
    first: HttpRequest,
    paginator: impl Paginator + 'static,
    options: PaginateOptions,
) -> (Vec<Page>, Option<ConnectorError>) {
    let mut pages = Vec::new();
    let mut stream = paginate_with(client, first, paginator, options);
    while let Some(item) = stream.next().await {
        match item {
            Ok(page) => pages.push(page),
            Err(e) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream must end after an error"
                );
                return (pages, Some(e));
            }
        }
    }
    (pages, None)
}

fn bodies(pages: &[Page]) -> Vec<serde_json::Value> {
    pages
        .iter()
        .map(|p| serde_json::from_slice(&p.response.body).unwrap())
        .collect()
}

fn assert_loop_error(err: Option<ConnectorError>, token: &str) {
    let err = err.expect("a loop must end the walk with an error");
    let text = err.to_string();
    assert!(text.starts_with("test:"), "names the connector: {text}");
    assert!(text.contains("same next page twice"), "{text}");
    assert!(
        text.contains(token),
        "names the repeated token {token}: {text}"
    );
}

// --- cursor -----------------------------------------------------------------------------------

fn cursor_fixture(mock: &MockHttpClient, looping: bool) {
    let page = |items: serde_json::Value, next: &str| {
        MockResponse::ok_json(
            &json!({"messages": items, "response_metadata": {"next_cursor": next}}),
        )
    };
    mock.on(Method::GET, "/history")
        .query("cursor", "c1")
        .respond(page(json!([3, 4]), if looping { "c1" } else { "c2" }));
    mock.on(Method::GET, "/history")
        .query("cursor", "c2")
        .respond(page(json!([5]), ""));
    mock.on(Method::GET, "/history")
        .respond(page(json!([1, 2]), "c1"));
}

fn cursor_paginator() -> CursorParam {
    CursorParam::new("/response_metadata/next_cursor", "cursor").items_at("/messages")
}

#[tokio::test]
async fn cursor_pagination_walks_every_page_and_stops_on_an_empty_cursor() {
    let mock = Arc::new(MockHttpClient::new());
    cursor_fixture(&mock, false);
    let client = mock_client(&mock);
    let first = HttpRequest::get(mock_url("/history?channel=C1"));

    let (pages, err) = walk(
        &client,
        first,
        cursor_paginator(),
        PaginateOptions::default(),
    )
    .await;

    assert!(err.is_none(), "{err:?}");
    let items: Vec<_> = bodies(&pages)
        .iter()
        .map(|b| b["messages"].clone())
        .collect();
    assert_eq!(items, [json!([1, 2]), json!([3, 4]), json!([5])]);
    assert_eq!(
        pages.iter().map(|p| p.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    let sent = mock.requests();
    assert_eq!(sent[1].query("cursor").as_deref(), Some("c1"));
    assert_eq!(sent[1].query("channel").as_deref(), Some("C1"));
    assert_eq!(client.progress().snapshot().pages, 3);
}

#[tokio::test]
async fn cursor_pagination_fails_when_the_cursor_repeats() {
    let mock = Arc::new(MockHttpClient::new());
    cursor_fixture(&mock, true);
    let client = mock_client(&mock);

    let (pages, err) = walk(
        &client,
        HttpRequest::get(mock_url("/history")),
        cursor_paginator(),
        PaginateOptions::default(),
    )
    .await;

    assert_eq!(pages.len(), 2, "the pages before the loop are delivered");
    assert_loop_error(err, "cursor=\"c1\"");
    assert_eq!(
        mock.request_count(),
        2,
        "the repeated page is never fetched"
    );
}

#[tokio::test]
async fn max_pages_stops_an_endless_walk_cleanly() {
    let mock = Arc::new(MockHttpClient::new());
    // Every page names a fresh cursor: only the bound stops this. Routes match in the order
    // added, so the catch-all first page goes last.
    for n in (0..10).rev() {
        let route = mock.on(Method::GET, "/feed");
        let route = if n == 0 {
            route
        } else {
            route.query("cursor", &format!("c{n}"))
        };
        route.respond(MockResponse::ok_json(
            &json!({"next": format!("c{}", n + 1)}),
        ));
    }
    let client = mock_client(&mock);

    let (pages, err) = walk(
        &client,
        HttpRequest::get(mock_url("/feed")),
        CursorParam::new("/next", "cursor"),
        PaginateOptions {
            max_pages: Some(3),
            ..PaginateOptions::default()
        },
    )
    .await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(pages.len(), 3);
    assert_eq!(mock.request_count(), 3);
}

#[tokio::test]
async fn a_failing_page_is_retried_by_the_client() {
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/history")
        .query("cursor", "c1")
        .times(1)
        .respond(MockResponse::status(502));
    cursor_fixture(&mock, false);
    let client = builder(mock.clone())
        .retry_policy(crate::support::fast_policy(3))
        .build();

    let pages: Vec<Page> = paginate(
        &client,
        HttpRequest::get(mock_url("/history")),
        cursor_paginator(),
    )
    .map(|p| p.unwrap())
    .collect()
    .await;

    assert_eq!(pages.len(), 3);
    assert_eq!(client.progress().snapshot().retries, 1);
}

// --- offset -----------------------------------------------------------------------------------

#[tokio::test]
async fn offset_pagination_walks_to_the_total() {
    let mock = Arc::new(MockHttpClient::new());
    for (start, issues) in [
        ("0", json!(["a", "b"])),
        ("2", json!(["c", "d"])),
        ("4", json!(["e"])),
    ] {
        mock.on(Method::GET, "/search")
            .query("startAt", start)
            .query("maxResults", "2")
            .times(1)
            .respond(MockResponse::ok_json(
                &json!({"startAt": start, "maxResults": 2, "total": 5, "issues": issues}),
            ));
    }
    let client = mock_client(&mock);

    let (pages, err) = walk(
        &client,
        HttpRequest::get(mock_url("/search?jql=project%3DENG")),
        Offset::new(2).items_at("/issues"),
        PaginateOptions::default(),
    )
    .await;

    assert!(err.is_none(), "{err:?}");
    let issues: Vec<_> = bodies(&pages).iter().map(|b| b["issues"].clone()).collect();
    assert_eq!(issues, [json!(["a", "b"]), json!(["c", "d"]), json!(["e"])]);
    assert_eq!(
        mock.requests()[0].query("jql").as_deref(),
        Some("project=ENG")
    );
    mock.verify();
}

// --- page number ------------------------------------------------------------------------------

#[tokio::test]
async fn page_number_pagination_stops_on_a_short_page() {
    let mock = Arc::new(MockHttpClient::new());
    for (page, items) in [
        ("1", json!([1, 2])),
        ("2", json!([3, 4])),
        ("3", json!([5])),
    ] {
        mock.on(Method::GET, "/issues")
            .query("page", page)
            .query("per_page", "2")
            .times(1)
            .respond(MockResponse::ok_json(&items));
    }
    let client = mock_client(&mock);

    let (pages, err) = walk(
        &client,
        HttpRequest::get(mock_url("/issues")),
        PageNumber::new(2),
        PaginateOptions::default(),
    )
    .await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(bodies(&pages), [json!([1, 2]), json!([3, 4]), json!([5])]);
    mock.verify();
}

#[tokio::test]
async fn page_number_pagination_stops_on_an_empty_page() {
    let mock = Arc::new(MockHttpClient::new());
    mock.on(Method::GET, "/issues")
        .query("page", "1")
        .respond(MockResponse::ok_json(&json!({"data": [1, 2]})));
    mock.on(Method::GET, "/issues")
        .query("page", "2")
        .respond(MockResponse::ok_json(&json!({"data": []})));
    let client = mock_client(&mock);

    let (pages, err) = walk(
        &client,
        HttpRequest::get(mock_url("/issues")),
        PageNumber::new(2).items_at("/data"),
        PaginateOptions::default(),
    )
    .await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(pages.len(), 2);
}

// --- Link header (real transport: relative links resolve against the real response URL) -------

async fn link_server(looping: bool) -> MockServer {
    let server = MockServer::start().await;
    let absolute_page_3 = format!("{}/repos/a/b/issues?per_page=2&page=3", server.uri());
    Mock::given(method("GET"))
        .and(path("/repos/a/b/issues"))
        .and(query_param("page", "3"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([5]))
                .append_header(
                    "link",
                    "</repos/a/b/issues?per_page=2&page=1>; rel=\"first\"",
                ),
        )
        .mount(&server)
        .await;
    let page_2_next = if looping {
        "<issues?per_page=2&page=2>; rel=next".to_owned()
    } else {
        format!("<{absolute_page_3}>; rel=next")
    };
    Mock::given(method("GET"))
        .and(path("/repos/a/b/issues"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([3, 4]))
                .append_header(
                    "link",
                    "</repos/a/b/issues?per_page=2&page=1>; rel=\"prev\"",
                )
                .append_header("link", page_2_next.as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/a/b/issues"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([1, 2]))
                // Relative to the response URL, with the last link first in the same header.
                .append_header(
                    "link",
                    "<issues?per_page=2&page=3>; rel=\"last\", <issues?per_page=2&page=2>; rel=\"next\"",
                ),
        )
        .mount(&server)
        .await;
    server
}

fn reqwest_client() -> ApiClient {
    builder(Arc::new(
        ReqwestClient::new(Duration::from_secs(5)).unwrap(),
    ))
    .build()
}

#[tokio::test]
async fn link_header_pagination_follows_next_until_there_is_none() {
    let server = link_server(false).await;
    let client = reqwest_client();
    let first = HttpRequest::get(
        format!("{}/repos/a/b/issues?per_page=2", server.uri())
            .parse()
            .unwrap(),
    );

    let (pages, err) = walk(
        &client,
        first,
        LinkHeader::new(),
        PaginateOptions::default(),
    )
    .await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(bodies(&pages), [json!([1, 2]), json!([3, 4]), json!([5])]);
    assert_eq!(pages[1].request.url.query(), Some("per_page=2&page=2"));
}

#[tokio::test]
async fn link_header_pagination_fails_when_next_points_back() {
    let server = link_server(true).await;
    let client = reqwest_client();
    let first = HttpRequest::get(
        format!("{}/repos/a/b/issues?per_page=2", server.uri())
            .parse()
            .unwrap(),
    );

    let (pages, err) = walk(
        &client,
        first,
        LinkHeader::new(),
        PaginateOptions::default(),
    )
    .await;

    assert_eq!(pages.len(), 2);
    assert_loop_error(err, "/repos/a/b/issues?per_page=2&page=2");
}

// --- GraphQL ----------------------------------------------------------------------------------

fn graphql_page(nodes: serde_json::Value, has_next: bool, cursor: &str) -> MockResponse {
    MockResponse::ok_json(&json!({"data": {"issues": {
        "pageInfo": {"hasNextPage": has_next, "endCursor": cursor},
        "nodes": nodes,
    }}}))
}

async fn graphql_walk(looping: bool) -> (Vec<Page>, Option<ConnectorError>, Arc<MockHttpClient>) {
    let mock = Arc::new(MockHttpClient::new());
    // Every request goes to one path, so the pages are queued in the order they will be asked for.
    mock.push(graphql_page(json!([{"id": 1}]), true, "c1"));
    mock.push(graphql_page(
        json!([{"id": 2}]),
        true,
        if looping { "c1" } else { "c2" },
    ));
    if !looping {
        mock.push(graphql_page(json!([{"id": 3}]), false, "c3"));
    }
    let client = mock_client(&mock);
    let first = GraphQlPageInfo::request(
        mock_url("/graphql"),
        "query($after: String) { issues(first: 1, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } }",
        json!({}),
    );
    let (pages, err) = walk(
        &client,
        first,
        GraphQlPageInfo::new("/data/issues/pageInfo").items_at("/data/issues/nodes"),
        PaginateOptions::default(),
    )
    .await;
    (pages, err, mock)
}

#[tokio::test]
async fn graphql_pagination_posts_the_end_cursor_until_no_next_page() {
    let (pages, err, mock) = graphql_walk(false).await;

    assert!(err.is_none(), "{err:?}");
    assert_eq!(pages.len(), 3);
    let afters: Vec<_> = mock
        .requests()
        .iter()
        .map(|r| {
            assert_eq!(r.method(), Method::POST);
            r.json_body()["variables"]["after"].clone()
        })
        .collect();
    assert_eq!(afters, [serde_json::Value::Null, json!("c1"), json!("c2")]);
    mock.verify();
}

#[tokio::test]
async fn graphql_pagination_fails_when_the_end_cursor_repeats() {
    let (pages, err, mock) = graphql_walk(true).await;

    assert_eq!(pages.len(), 2);
    assert_loop_error(err, "after=\"c1\"");
    mock.verify();
}

// --- decoding and read-ahead --------------------------------------------------------------------

/// `pages` pages of `[{"id": n}]` under `/items`, chained by `Link` headers.
fn numbered_pages(mock: &MockHttpClient, pages: u32) {
    let page = |n: u32| {
        let response = MockResponse::ok_json(&json!([{ "id": n }]));
        if n == pages {
            return response;
        }
        let next = mock_url(&format!("/items?page={}", n + 1));
        response.header("link", &format!("<{next}>; rel=\"next\""))
    };
    // The first matching route answers, so the one without `page` comes last.
    for n in 2..=pages {
        mock.on(Method::GET, "/items")
            .query("page", &n.to_string())
            .respond(page(n));
    }
    mock.on(Method::GET, "/items").respond(page(1));
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Item {
    id: u32,
}

/// The `/items` walk decoded as items, `read_ahead` pages ahead.
fn item_pages(
    client: &ApiClient,
    read_ahead: usize,
) -> futures::stream::BoxStream<'_, Result<(Page, Vec<Item>), ConnectorError>> {
    let options = PaginateOptions {
        read_ahead,
        ..PaginateOptions::default()
    };
    paginate_json(
        client,
        HttpRequest::get(mock_url("/items")),
        LinkHeader::new(),
        options,
    )
}

async fn wait_for_requests(mock: &MockHttpClient, n: usize) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while mock.request_count() < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("expected {n} requests, saw {}", mock.request_count()));
}

#[tokio::test]
async fn paginate_json_yields_each_page_decoded_with_or_without_read_ahead() {
    for read_ahead in [0, 1, 3] {
        let mock = Arc::new(MockHttpClient::new());
        numbered_pages(&mock, 4);
        let client = mock_client(&mock);

        let pages: Vec<(Page, Vec<Item>)> = item_pages(&client, read_ahead)
            .map(Result::unwrap)
            .collect()
            .await;

        let numbers: Vec<u32> = pages.iter().map(|(page, _)| page.number).collect();
        let ids: Vec<u32> = pages
            .iter()
            .flat_map(|(_, items)| items)
            .map(|i| i.id)
            .collect();
        assert_eq!(numbers, [1, 2, 3, 4], "read_ahead {read_ahead}");
        assert_eq!(ids, [1, 2, 3, 4], "read_ahead {read_ahead}");
        assert_eq!(mock.request_count(), 4, "read_ahead {read_ahead}");
    }
}

#[tokio::test]
async fn read_ahead_fetches_the_next_page_before_it_is_asked_for() {
    let mock = Arc::new(MockHttpClient::new());
    numbered_pages(&mock, 5);
    let client = mock_client(&mock);
    let mut pages = item_pages(&client, 1);

    let (first, _) = pages.next().await.unwrap().unwrap();
    assert_eq!(first.number, 1);
    wait_for_requests(&mock, 2).await;
}

#[tokio::test]
async fn without_read_ahead_a_page_is_fetched_only_when_asked_for() {
    let mock = Arc::new(MockHttpClient::new());
    numbered_pages(&mock, 5);
    let client = mock_client(&mock);
    let mut pages = item_pages(&client, 0);

    pages.next().await.unwrap().unwrap();
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn dropping_a_read_ahead_walk_stops_its_requests() {
    let mock = Arc::new(MockHttpClient::new());
    numbered_pages(&mock, 50);
    let client = mock_client(&mock);
    let mut pages = item_pages(&client, 1);
    pages.next().await.unwrap().unwrap();
    wait_for_requests(&mock, 2).await;

    drop(pages);
    tokio::time::sleep(Duration::from_millis(50)).await;

    // One page is handed over, one waits in the buffer, one may be in flight: never the rest.
    assert!(
        mock.request_count() <= 3,
        "{} requests",
        mock.request_count()
    );
}

#[tokio::test]
async fn a_read_ahead_walk_reports_a_decode_error_after_the_good_pages() {
    let mock = Arc::new(MockHttpClient::new());
    let next = mock_url("/items?page=2");
    mock.on(Method::GET, "/items")
        .query("page", "2")
        .respond(MockResponse::ok_json(&json!([{"id": "x"}])));
    mock.on(Method::GET, "/items").respond(
        MockResponse::ok_json(&json!([{"id": 1}]))
            .header("link", &format!("<{next}>; rel=\"next\"")),
    );
    let client = mock_client(&mock);

    let results: Vec<_> = item_pages(&client, 2).collect().await;

    assert_eq!(results.len(), 2);
    assert_eq!(results[0].as_ref().unwrap().1, vec![Item { id: 1 }]);
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.kind(), "validation", "{err}");
    assert!(err.to_string().contains("[0].id"), "{err}");
}
