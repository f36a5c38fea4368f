//! Answers one sync run shares between its streams: a GET marked [`HttpRequest::shared`] that
//! another stream of the run already made gets that answer instead of a request.
//!
//! Why: some streams walk a sibling's listing (GitLab's notes are found through the merge
//! requests and issues changed since the cursor), and on an unchanged upstream both ask for the
//! same page. Sharing is per run ([`super::ApiClient::sharing_answers`], made by the sync
//! engine), so no run ever sees an answer older than its own start, and bounded by bytes, so a
//! long walk costs at most a second request where it outruns the bound.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use super::{HttpRequest, HttpResponse};

/// Bodies kept per run, in bytes; the oldest answers go first past it.
const KEPT_BYTES: usize = 8 * 1024 * 1024;

/// One URL's answer: empty until a request for it succeeds. Held while that request runs, so
/// a second stream asking meanwhile waits for it instead of asking too.
pub(crate) type Slot = Arc<tokio::sync::Mutex<Option<HttpResponse>>>;

/// The answers of one run.
#[derive(Default)]
pub(crate) struct Answers {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    slots: HashMap<String, Slot>,
    /// Stored answers, oldest first, with their body sizes.
    order: VecDeque<(String, usize)>,
    bytes: usize,
}

impl Answers {
    /// The slot of `request`, if it may be shared (a GET marked shared).
    pub(crate) fn slot(&self, request: &HttpRequest) -> Option<Slot> {
        if !request.shared || request.method != http::Method::GET {
            return None;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        Some(Arc::clone(
            kept.slots.entry(request.url.to_string()).or_default(),
        ))
    }

    /// Counts the answer just stored for `request`, dropping the oldest past the bound.
    pub(crate) fn stored(&self, request: &HttpRequest, response: &HttpResponse) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let size = response.body.len();
        kept.order.push_back((request.url.to_string(), size));
        kept.bytes += size;
        while kept.bytes > KEPT_BYTES {
            let Some((url, size)) = kept.order.pop_front() else {
                break;
            };
            kept.bytes -= size;
            kept.slots.remove(&url);
        }
    }
}
