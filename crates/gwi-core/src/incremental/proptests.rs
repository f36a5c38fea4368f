//! Property tests of the strategies against a simulated provider: arbitrary page sizes and
//! page boundaries, equal times across a boundary, changes, additions and deletions between
//! any two requests, and a process killed after any commit. Whatever happens, once a run
//! completes on a quiet upstream the store holds every upstream item at its latest version.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use proptest::prelude::*;

use super::{Listed, Listing, NewestFirst, Paging, Step, Steps, ascending, newest_first};

/// An upstream object: the listing's unit. A soft deletion is a change that marks it deleted.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Item {
    id: u32,
    time: i64,
    version: u32,
    deleted: bool,
}

#[derive(Debug, Clone, Copy)]
enum Mutation {
    /// Changes the n-th item (modulo the count).
    Update(usize),
    /// Marks the n-th item deleted (a change, as listings that show deletions do).
    SoftDelete(usize),
    /// Removes the n-th item from the listing altogether.
    HardDelete(usize),
    /// Adds an item.
    Create,
}

/// How the simulated listing is ordered and paged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// Oldest first, paged by offset.
    AscendingOffset,
    /// Oldest first, paged by a keyset cursor after the last item.
    AscendingKeyset,
    /// Newest first, paged by offset, filtered by time on the server or not.
    NewestFirst { server_filter: bool },
}

#[derive(Debug)]
struct Upstream {
    items: BTreeMap<u32, Item>,
    clock: i64,
    next_id: u32,
    page_size: usize,
    fetches: usize,
    /// (fetch count after which it happens, mutation), in order.
    schedule: Vec<(usize, Mutation)>,
    hard_deleted: Vec<u32>,
}

impl Upstream {
    fn new(groups: &[(usize, i64)], page_size: usize, schedule: Vec<(usize, Mutation)>) -> Self {
        let mut items = BTreeMap::new();
        let mut time = 1_000;
        let mut id = 0;
        for &(size, gap) in groups {
            time += gap;
            for _ in 0..size {
                id += 1;
                items.insert(
                    id,
                    Item {
                        id,
                        time,
                        version: 0,
                        deleted: false,
                    },
                );
            }
        }
        let mut schedule = schedule;
        schedule.sort_by_key(|(at, _)| *at);
        Self {
            items,
            clock: time + 1,
            next_id: id + 1,
            page_size,
            fetches: 0,
            schedule,
            hard_deleted: Vec::new(),
        }
    }

    /// Counts a request and applies every mutation due before it is answered.
    fn tick(&mut self) {
        self.fetches += 1;
        while self
            .schedule
            .first()
            .is_some_and(|(at, _)| *at <= self.fetches)
        {
            let (_, mutation) = self.schedule.remove(0);
            self.apply(mutation);
        }
    }

    fn apply_all(&mut self) {
        for (_, mutation) in std::mem::take(&mut self.schedule) {
            self.apply(mutation);
        }
    }

    fn apply(&mut self, mutation: Mutation) {
        // Every change gets a time of its own, after everything listed so far.
        self.clock += 1;
        let nth = |items: &BTreeMap<u32, Item>, n: usize| {
            (!items.is_empty()).then(|| items.keys().nth(n % items.len()).copied())?
        };
        match mutation {
            Mutation::Update(n) | Mutation::SoftDelete(n) => {
                if let Some(id) = nth(&self.items, n)
                    && let Some(item) = self.items.get_mut(&id)
                {
                    item.time = self.clock;
                    item.version += 1;
                    item.deleted |= matches!(mutation, Mutation::SoftDelete(_));
                }
            }
            Mutation::HardDelete(n) => {
                if let Some(id) = nth(&self.items, n) {
                    self.items.remove(&id);
                    self.hard_deleted.push(id);
                }
            }
            Mutation::Create => {
                let id = self.next_id;
                self.next_id += 1;
                self.items.insert(
                    id,
                    Item {
                        id,
                        time: self.clock,
                        version: 0,
                        deleted: false,
                    },
                );
            }
        }
    }

    /// One page: items of the listing from `since`, ordered and paged as `shape` says.
    fn page(
        &mut self,
        shape: Shape,
        since: Option<i64>,
        offset: usize,
        after: Option<(i64, u32)>,
    ) -> (Vec<Item>, bool) {
        self.tick();
        let mut listed: Vec<Item> = self
            .items
            .values()
            .copied()
            .filter(|item| match shape {
                Shape::NewestFirst {
                    server_filter: false,
                } => true,
                _ => since.is_none_or(|since| item.time >= since),
            })
            .collect();
        listed.sort_by_key(|item| (item.time, item.id));
        if matches!(shape, Shape::NewestFirst { .. }) {
            listed.reverse();
        }
        let start = match (shape, after) {
            (Shape::AscendingKeyset, Some(after)) => listed
                .iter()
                .position(|item| (item.time, item.id) > after)
                .unwrap_or(listed.len()),
            (Shape::AscendingKeyset, None) => 0,
            _ => offset.min(listed.len()),
        };
        let end = (start + self.page_size).min(listed.len());
        (listed[start..end].to_vec(), end < listed.len())
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The listing a strategy walks, served lazily from the shared upstream.
fn query<'a>(
    upstream: &Arc<Mutex<Upstream>>,
    shape: Shape,
) -> impl FnMut(Option<DateTime<Utc>>) -> Listing<'a, Item> + Send + 'a {
    let upstream = Arc::clone(upstream);
    move |since| {
        let upstream = Arc::clone(&upstream);
        let since = since.map(|t| t.timestamp());
        Box::pin(async_stream::stream! {
            let mut offset = 0;
            let mut after = None;
            loop {
                let (items, has_next, clock) = {
                    let Ok(mut up) = upstream.lock() else { break };
                    let (items, has_next) = up.page(shape, since, offset, after);
                    (items, has_next, up.clock)
                };
                offset += items.len();
                after = items.last().map(|item| (item.time, item.id));
                yield Ok(Listed { items, server_time: Some(at(clock)), has_next, total: None });
                if !has_next {
                    break;
                }
            }
        })
    }
}

fn steps<'a>(
    upstream: &Arc<Mutex<Upstream>>,
    shape: Shape,
    since: Option<DateTime<Utc>>,
) -> Steps<'a, Item> {
    let key = |item: &Item| (at(item.time), item.id);
    match shape {
        Shape::AscendingOffset => ascending(since, Paging::Offset, key, query(upstream, shape)),
        Shape::AscendingKeyset => ascending(since, Paging::Cursor, key, query(upstream, shape)),
        Shape::NewestFirst { .. } => newest_first(
            since,
            NewestFirst::by(|item: &Item| at(item.time)),
            query(upstream, shape),
        ),
    }
}

/// What the engine keeps: committed items (newer wins) and the committed cursor.
#[derive(Debug, Default)]
struct Store {
    items: BTreeMap<u32, Item>,
    cursor: Option<DateTime<Utc>>,
}

/// One run, as the engine does it: items are committed with the checkpoint that covers them.
/// With `kill_after`, the process dies right after that many commits. Returns whether it ended.
fn run(
    upstream: &Arc<Mutex<Upstream>>,
    shape: Shape,
    store: &mut Store,
    kill_after: Option<usize>,
) -> bool {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return false;
    };
    runtime.block_on(async {
        let mut walk = steps(upstream, shape, store.cursor);
        let mut pending = Vec::new();
        let mut commits = 0;
        while let Some(step) = walk.next().await {
            match step {
                Ok(Step::Item(item)) => pending.push(item),
                Ok(Step::Checkpoint(cursor)) => {
                    for item in pending.drain(..) {
                        let newer = store
                            .items
                            .get(&item.id)
                            .is_none_or(|old| old.time <= item.time);
                        if newer {
                            store.items.insert(item.id, item);
                        }
                    }
                    store.cursor = cursor;
                    commits += 1;
                    if kill_after == Some(commits) {
                        return false;
                    }
                }
                Ok(Step::Total(_)) => {}
                Err(_) => return false,
            }
        }
        true
    })
}

fn check(
    shape: Shape,
    groups: Vec<(usize, i64)>,
    page_size: usize,
    schedule: Vec<(usize, Mutation)>,
    kills: Vec<usize>,
) -> Result<(), TestCaseError> {
    let upstream = Arc::new(Mutex::new(Upstream::new(&groups, page_size, schedule)));
    let mut store = Store::default();
    for kill in kills {
        run(&upstream, shape, &mut store, Some(kill));
    }
    prop_assert!(
        run(&upstream, shape, &mut store, None),
        "a run without a kill must end"
    );
    // Changes during the last run may be left for the next one: one more run on a quiet upstream.
    upstream
        .lock()
        .map_err(|_| TestCaseError::fail("poisoned"))?
        .apply_all();
    prop_assert!(run(&upstream, shape, &mut store, None));

    let up = upstream
        .lock()
        .map_err(|_| TestCaseError::fail("poisoned"))?;
    for item in up.items.values() {
        prop_assert_eq!(
            store.items.get(&item.id),
            Some(item),
            "item {} is missing or stale",
            item.id
        );
    }
    for id in store.items.keys() {
        prop_assert!(
            up.items.contains_key(id) || up.hard_deleted.contains(id),
            "item {} was never upstream",
            id
        );
    }
    Ok(())
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..64usize).prop_map(Mutation::Update),
        (0..64usize).prop_map(Mutation::SoftDelete),
        (0..64usize).prop_map(Mutation::HardDelete),
        Just(Mutation::Create),
    ]
}

/// Mutations without hard deletions: newest-first offset listings cannot survive those (see
/// [`newest_first`]).
fn change() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..64usize).prop_map(Mutation::Update),
        (0..64usize).prop_map(Mutation::SoftDelete),
        Just(Mutation::Create),
    ]
}

/// Page sizes from 2 and groups of equal times smaller than a page (see [`ascending`]'s limit),
/// 1 to 3 seconds apart.
fn listing_shape() -> impl Strategy<Value = (usize, Vec<(usize, i64)>)> {
    (2..6usize).prop_flat_map(|page_size| {
        (
            Just(page_size),
            prop::collection::vec((1..page_size, 1..4i64), 0..20),
        )
    })
}

proptest! {
    #[test]
    fn ascending_offset_listings_lose_nothing(
        (page_size, groups) in listing_shape(),
        schedule in prop::collection::vec((1..30usize, mutation()), 0..20),
        kills in prop::collection::vec(1..6usize, 0..4),
    ) {
        check(Shape::AscendingOffset, groups, page_size, schedule, kills)?;
    }

    #[test]
    fn ascending_keyset_listings_lose_nothing(
        (page_size, groups) in listing_shape(),
        schedule in prop::collection::vec((1..30usize, mutation()), 0..20),
        kills in prop::collection::vec(1..6usize, 0..4),
    ) {
        check(Shape::AscendingKeyset, groups, page_size, schedule, kills)?;
    }

    #[test]
    fn newest_first_listings_lose_nothing(
        (page_size, groups) in listing_shape(),
        server_filter in any::<bool>(),
        schedule in prop::collection::vec((1..30usize, change()), 0..20),
        kills in prop::collection::vec(1..6usize, 0..4),
    ) {
        check(Shape::NewestFirst { server_filter }, groups, page_size, schedule, kills)?;
    }
}

#[test]
fn following_offset_pages_would_lose_an_item_the_requery_keeps() {
    // Page size 2: [a, b] [c]. After the first page, `a` changes and moves to the end; a walk
    // that followed `page=2` would read [a'] and never see `c`.
    let groups = vec![(1, 1), (1, 1), (1, 1)];
    let schedule = vec![(2, Mutation::Update(0))];
    let upstream = Arc::new(Mutex::new(Upstream::new(&groups, 2, schedule)));
    let mut store = Store::default();
    assert!(run(&upstream, Shape::AscendingOffset, &mut store, None));
    assert_eq!(store.items.len(), 3, "{store:?}");
}
