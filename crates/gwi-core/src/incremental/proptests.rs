//! Property tests of the strategies against a simulated provider: arbitrary page sizes and
//! page boundaries, equal times across a boundary, changes, additions and deletions between
//! any two requests, and a process killed after any commit. Whatever happens, once a run
//! completes on a quiet upstream the store holds every upstream item at its latest version.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use proptest::prelude::*;

use super::{
    Feed, FeedPage, Listed, Listing, Mark, NewestFirst, Paging, Step, Steps, ascending,
    change_feed, newest_first,
};
use crate::error::ConnectorError;

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
                yield Ok(Listed { items, server_time: Some(at(clock)), has_next, total: None, paging: None });
                if !has_next {
                    break;
                }
            }
        })
    }
}

fn steps<'a>(upstream: &Arc<Mutex<Upstream>>, shape: Shape, since: Mark) -> Steps<'a, Item, Mark> {
    let key = |item: &Item| (at(item.time), item.id);
    match shape {
        Shape::AscendingOffset => ascending(since, Paging::Offset, key, query(upstream, shape)),
        Shape::AscendingKeyset => ascending(since, Paging::Cursor, key, query(upstream, shape)),
        Shape::NewestFirst { .. } => Box::pin(
            newest_first(
                since.time,
                NewestFirst::by(|item: &Item| at(item.time)),
                query(upstream, shape),
            )
            .map_ok(|step| match step {
                Step::Checkpoint(time) => Step::Checkpoint(Mark {
                    time,
                    ids: Vec::new(),
                }),
                Step::Item(item) => Step::Item(item),
                Step::Total(total) => Step::Total(total),
            }),
        ),
    }
}

/// What the engine keeps: committed items (newer wins) and the committed cursor.
#[derive(Debug, Default)]
struct Store<C = Mark> {
    items: BTreeMap<u32, Item>,
    cursor: C,
}

/// One run, as the engine does it: items are committed with the checkpoint that covers them.
/// With `kill_after`, the process dies right after that many commits. Returns whether it ended.
fn drive<C>(walk: Steps<'_, Item, C>, store: &mut Store<C>, kill_after: Option<usize>) -> bool {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
        return false;
    };
    runtime.block_on(async {
        let mut walk = walk;
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

fn run(
    upstream: &Arc<Mutex<Upstream>>,
    shape: Shape,
    store: &mut Store,
    kill_after: Option<usize>,
) -> bool {
    drive(
        steps(upstream, shape, store.cursor.clone()),
        store,
        kill_after,
    )
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

/// A provider with a change log: every change gets the next sequence number, a token is a
/// position in the log, and tokens older than `expired_below` answer 410.
#[derive(Debug)]
struct FeedUpstream {
    /// Items by id; `time` is the sequence number of the item's last change.
    items: BTreeMap<u32, Item>,
    seq: i64,
    next_id: u32,
    expired_below: i64,
    page_size: usize,
    fetches: usize,
    schedule: Vec<(usize, FeedMutation)>,
}

#[derive(Debug, Clone, Copy)]
enum FeedMutation {
    Change(Mutation),
    /// Every token issued so far expires.
    Expire,
}

impl FeedUpstream {
    fn new(count: u32, page_size: usize, mut schedule: Vec<(usize, FeedMutation)>) -> Self {
        schedule.sort_by_key(|(at, _)| *at);
        let items = (1..=count)
            .map(|id| {
                let item = Item {
                    id,
                    time: i64::from(id),
                    version: 0,
                    deleted: false,
                };
                (id, item)
            })
            .collect();
        Self {
            items,
            seq: i64::from(count),
            next_id: count + 1,
            expired_below: 0,
            page_size,
            fetches: 0,
            schedule,
        }
    }

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

    fn apply(&mut self, mutation: FeedMutation) {
        let change = match mutation {
            FeedMutation::Expire => {
                self.expired_below = self.seq + 1;
                return;
            }
            FeedMutation::Change(change) => change,
        };
        self.seq += 1;
        let n = match change {
            Mutation::Update(n) | Mutation::SoftDelete(n) | Mutation::HardDelete(n) => n,
            Mutation::Create => {
                let id = self.next_id;
                self.next_id += 1;
                let item = Item {
                    id,
                    time: self.seq,
                    version: 0,
                    deleted: false,
                };
                self.items.insert(id, item);
                return;
            }
        };
        let Some(id) = self.items.keys().nth(n % self.items.len().max(1)).copied() else {
            return;
        };
        if let Some(item) = self.items.get_mut(&id) {
            item.time = self.seq;
            item.version += 1;
            // A change feed reports deletions as changes, so every deletion is a soft one here.
            item.deleted |= !matches!(change, Mutation::Update(_));
        }
    }

    /// A page of the changes after `after` (by sequence), or of every item after id `after`
    /// in a full read; the last page carries the token to continue from.
    fn page(
        &mut self,
        full_read_from: Option<i64>,
        after: i64,
    ) -> Result<(Vec<Item>, Option<String>), ()> {
        self.tick();
        let mut listed: Vec<Item> = match full_read_from {
            Some(_) => self
                .items
                .values()
                .copied()
                .filter(|i| i64::from(i.id) > after)
                .collect(),
            None => self
                .items
                .values()
                .copied()
                .filter(|i| i.time > after)
                .collect(),
        };
        match full_read_from {
            Some(_) => listed.sort_by_key(|i| i.id),
            None => listed.sort_by_key(|i| i.time),
        }
        let last = listed.len() <= self.page_size;
        listed.truncate(self.page_size);
        let token = last.then(|| match full_read_from {
            Some(start) => start.to_string(),
            None => listed.last().map_or(after, |i| i.time).to_string(),
        });
        Ok((listed, token))
    }
}

fn feed_query<'a>(
    upstream: &Arc<Mutex<FeedUpstream>>,
) -> impl FnMut(Option<&str>) -> Feed<'a, Item> + Send + 'a {
    let upstream = Arc::clone(upstream);
    move |token| {
        let upstream = Arc::clone(&upstream);
        let token: Option<i64> = token.and_then(|t| t.parse().ok());
        Box::pin(async_stream::stream! {
            // A full read starts from the log's position before it lists anything.
            let start = match (token, upstream.lock()) {
                (None, Ok(up)) => Some(up.seq),
                _ => None,
            };
            let mut after = token.unwrap_or(0);
            loop {
                let answer = {
                    let Ok(mut up) = upstream.lock() else { break };
                    if token.is_some_and(|t| t < up.expired_below) {
                        up.tick();
                        Err(())
                    } else {
                        up.page(start, after)
                    }
                };
                let Ok((items, next_token)) = answer else {
                    yield Err(ConnectorError::Api {
                        connector: "feed".into(),
                        status: 410,
                        url: "http://127.0.0.1/changes".into(),
                        message: "expired".into(),
                    });
                    break;
                };
                after = match start {
                    Some(_) => items.last().map_or(after, |i| i64::from(i.id)),
                    None => items.last().map_or(after, |i| i.time),
                };
                let done = next_token.is_some();
                yield Ok(FeedPage { items, next_token });
                if done {
                    break;
                }
            }
        })
    }
}

fn feed_run(
    upstream: &Arc<Mutex<FeedUpstream>>,
    store: &mut Store<Option<String>>,
    kill_after: Option<usize>,
) -> bool {
    let gone = |e: &ConnectorError| matches!(e, ConnectorError::Api { status: 410, .. });
    drive(
        change_feed(store.cursor.clone(), gone, feed_query(upstream)),
        store,
        kill_after,
    )
}

fn feed_mutation() -> impl Strategy<Value = FeedMutation> {
    prop_oneof![
        4 => change().prop_map(FeedMutation::Change),
        1 => Just(FeedMutation::Expire),
    ]
}

proptest! {
    #[test]
    fn change_feeds_lose_nothing_even_when_tokens_expire(
        count in 0..30u32,
        page_size in 1..6usize,
        schedule in prop::collection::vec((1..40usize, feed_mutation()), 0..25),
        kills in prop::collection::vec(1..6usize, 0..4),
    ) {
        let upstream = Arc::new(Mutex::new(FeedUpstream::new(count, page_size, schedule)));
        let mut store = Store::<Option<String>>::default();
        for kill in kills {
            feed_run(&upstream, &mut store, Some(kill));
        }
        prop_assert!(feed_run(&upstream, &mut store, None), "a run without a kill must end");
        {
            let mut up = upstream.lock().map_err(|_| TestCaseError::fail("poisoned"))?;
            for (_, mutation) in std::mem::take(&mut up.schedule) {
                up.apply(mutation);
            }
        }
        prop_assert!(feed_run(&upstream, &mut store, None));
        let up = upstream.lock().map_err(|_| TestCaseError::fail("poisoned"))?;
        prop_assert_eq!(&store.items, &up.items);
    }
}
