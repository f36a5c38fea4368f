//! Change feeds with sync tokens: read from the stored token, save the provider's next token
//! once the feed is read to its end, and read everything again when the token has expired.

use futures::StreamExt;
use futures::stream::BoxStream;

use super::{Step, Steps};
use crate::error::ConnectorError;

/// One page of a change feed (or of the full listing that starts one).
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage<T> {
    /// The changed (or, in a full read, all) items, deleted ones included as the provider
    /// shows them.
    pub items: Vec<T>,
    /// The token to read the next changes from, on the page that ends the feed (Google's
    /// `newStartPageToken` or `nextSyncToken`).
    pub next_token: Option<String>,
}

/// A change feed as a stream of pages.
pub type Feed<'a, T> = BoxStream<'a, Result<FeedPage<T>, ConnectorError>>;

/// Reads a change feed from `token`: `query(Some(token))` lists the changes since it,
/// `query(None)` lists everything and ends with the token the next run starts from (a provider
/// with a "start token" endpoint should fetch it *before* listing, so nothing changed during
/// the listing is missed).
///
/// A sync token is only valid once the feed is read to its end, so each page's checkpoint
/// repeats the old token and the new one is saved at the end. When the provider says the token
/// has expired (`expired`, e.g. HTTP 410 Gone), on the first page or a later one, the walk
/// starts over with a full read: every item is yielded again (upserts leave unchanged rows as
/// they are), so nothing is lost.
/// Deletions made while the token was stale are seen only where the full listing shows deleted
/// items (Drive's `trashed`, Calendar's `showDeleted`).
pub fn change_feed<'a, T, Q>(
    token: Option<String>,
    expired: fn(&ConnectorError) -> bool,
    mut query: Q,
) -> Steps<'a, T, Option<String>>
where
    T: Send + 'a,
    Q: FnMut(Option<&str>) -> Feed<'a, T> + Send + 'a,
{
    Box::pin(async_stream::try_stream! {
        let mut token = token;
        let mut pages = query(token.as_deref());
        let mut next = None;
        while let Some(page) = pages.next().await {
            let page = match page {
                // On any page: a token can expire while its changes are being read.
                Err(error) if token.is_some() && expired(&error) => {
                    tracing::info!(error = %error, "the sync token has expired; reading everything again");
                    token = None;
                    yield Step::Checkpoint(None);
                    pages = query(None);
                    continue;
                }
                other => other?,
            };
            for item in page.items {
                yield Step::Item(item);
            }
            match page.next_token {
                Some(found) => {
                    next = Some(found);
                    break;
                }
                None => yield Step::Checkpoint(token.clone()),
            }
        }
        // A feed that ended without a token leaves the old one: it is still where to resume.
        yield Step::Checkpoint(next.or(token));
    })
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    fn gone() -> ConnectorError {
        ConnectorError::Api {
            connector: "demo".into(),
            status: 410,
            url: "http://127.0.0.1/changes".into(),
            message: "sync token is no longer valid".into(),
        }
    }

    fn is_gone(error: &ConnectorError) -> bool {
        matches!(error, ConnectorError::Api { status: 410, .. })
    }

    fn pages(pages: Vec<FeedPage<u32>>) -> Feed<'static, u32> {
        Box::pin(futures::stream::iter(pages.into_iter().map(Ok)))
    }

    #[tokio::test]
    async fn the_new_token_is_saved_only_once_the_feed_is_read() {
        let steps: Vec<_> = change_feed(Some("t1".into()), is_gone, |token| {
            assert_eq!(token, Some("t1"));
            pages(vec![
                FeedPage {
                    items: vec![1, 2],
                    next_token: None,
                },
                FeedPage {
                    items: vec![3],
                    next_token: Some("t2".into()),
                },
            ])
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(
            steps,
            [
                Step::Item(1),
                Step::Item(2),
                Step::Checkpoint(Some("t1".into())),
                Step::Item(3),
                Step::Checkpoint(Some("t2".into())),
            ]
        );
    }

    #[tokio::test]
    async fn an_expired_token_starts_a_full_read() {
        let mut asked = Vec::new();
        let steps: Vec<_> = change_feed(Some("old".into()), is_gone, |token| {
            asked.push(token.map(str::to_owned));
            match token {
                Some(_) => Box::pin(futures::stream::iter([Err(gone())])),
                None => pages(vec![FeedPage {
                    items: vec![7],
                    next_token: Some("fresh".into()),
                }]),
            }
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(asked, [Some("old".to_owned()), None]);
        assert_eq!(
            steps,
            [
                Step::Checkpoint(None),
                Step::Item(7),
                Step::Checkpoint(Some("fresh".into()))
            ]
        );
    }

    #[tokio::test]
    async fn an_expiry_after_the_first_page_also_starts_a_full_read() {
        let steps: Vec<_> = change_feed(Some("t".into()), is_gone, |token| match token {
            Some(_) => Box::pin(futures::stream::iter([
                Ok(FeedPage {
                    items: vec![1],
                    next_token: None,
                }),
                Err(gone()),
            ])),
            None => pages(vec![FeedPage {
                items: vec![1, 2],
                next_token: Some("fresh".into()),
            }]),
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(steps.last(), Some(&Step::Checkpoint(Some("fresh".into()))));
        assert!(steps.contains(&Step::Item(2)));
    }

    #[tokio::test]
    async fn other_errors_fail_the_walk() {
        let result: Result<Vec<Step<u32, Option<String>>>, _> =
            change_feed(Some("t".into()), is_gone, |_| -> Feed<'static, u32> {
                Box::pin(futures::stream::iter([Err(ConnectorError::Cancelled {
                    connector: "demo".into(),
                })]))
            })
            .try_collect()
            .await;
        assert!(result.is_err());
    }
}
