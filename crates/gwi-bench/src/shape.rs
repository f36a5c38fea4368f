//! The shapes of data the benchmark upstream can serve.
//!
//! A store's cost depends on the data, not only on its volume: how large a record is, whether
//! ids arrive in index order, whether `updated_at` falls with the listing (as it does when a
//! list is sorted by `updated`) or is scattered (lists sorted by id or creation, full
//! refreshes, most providers' default order), and how many fields a decoder has to skip. Each
//! is a knob here, so the benchmark measures a matrix instead of one flattering shape.

use std::fmt;

use clap::ValueEnum;
use serde_json::{Value, json};

use crate::github::{Detail, RepoContext, mix, pull_request};

/// About how many bytes of JSON one pull request takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordSize {
    /// About 0.5 KB: the fields a pull request cannot do without.
    Small,
    /// About 2.5 KB: a list item as GitHub sends it.
    Medium,
    /// About 8.5 KB: a list item with a long description.
    Large,
}

/// The order of pull request numbers (and so record ids) along the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IdOrder {
    /// Highest number first, as a list sorted by recency usually is.
    Descending,
    /// Lowest number first.
    Ascending,
    /// No relation to the listing.
    Random,
}

/// How `updated_at` relates to the listing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpdatedOrder {
    /// Falls along the listing: newest first, as with `sort=updated&direction=desc`.
    Follows,
    /// No relation to the listing.
    Scattered,
}

/// Everything that shapes the served records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Bytes per record.
    pub size: RecordSize,
    /// Record id order along the listing.
    pub ids: IdOrder,
    /// `updated_at` order along the listing.
    pub updated: UpdatedOrder,
    /// Fields added to each record that no connector reads, `extra_00` onwards.
    pub extra_fields: usize,
}

impl Default for Shape {
    /// A medium record, numbers and `updated_at` both falling along the listing.
    fn default() -> Self {
        Self {
            size: RecordSize::Medium,
            ids: IdOrder::Descending,
            updated: UpdatedOrder::Follows,
            extra_fields: 0,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = match self.size {
            RecordSize::Small => "small",
            RecordSize::Medium => "medium",
            RecordSize::Large => "large",
        };
        let ids = match self.ids {
            IdOrder::Descending => "descending",
            IdOrder::Ascending => "ascending",
            IdOrder::Random => "random",
        };
        let updated = match self.updated {
            UpdatedOrder::Follows => "follows",
            UpdatedOrder::Scattered => "scattered",
        };
        write!(
            f,
            "size {size}, ids {ids}, updated_at {updated}, {} extra fields",
            self.extra_fields
        )
    }
}

impl Shape {
    /// `(number, age)` of each record in listing order, for `records` records numbered
    /// `1..=records`; age 0 is the most recently updated.
    pub fn layout(&self, records: usize) -> Vec<(u64, u64)> {
        let numbers: Vec<u64> = match self.ids {
            IdOrder::Descending => (1..=records as u64).rev().collect(),
            IdOrder::Ascending => (1..=records as u64).collect(),
            IdOrder::Random => permutation(records, 0x1d5)
                .into_iter()
                .map(|i| i + 1)
                .collect(),
        };
        let ages: Vec<u64> = match self.updated {
            UpdatedOrder::Follows => (0..records as u64).collect(),
            UpdatedOrder::Scattered => permutation(records, 0xa9e),
        };
        numbers.into_iter().zip(ages).collect()
    }

    /// The pull request served for `number`, updated `age` steps before the newest.
    pub fn pull_request(&self, number: u64, age: u64, ctx: &RepoContext) -> Value {
        let mut pr = match self.size {
            RecordSize::Small => small(number, age, ctx),
            RecordSize::Medium => pull_request(number, age, ctx, Detail::List),
            RecordSize::Large => {
                let mut pr = pull_request(number, age, ctx, Detail::List);
                pr["body"] = Value::String(long_body(number));
                pr
            }
        };
        if let Some(map) = pr.as_object_mut() {
            for i in 0..self.extra_fields {
                let value = if i % 2 == 0 {
                    json!(format!("value {i} of pull request {number}"))
                } else {
                    json!(mix(number ^ i as u64) % 1_000_000)
                };
                map.insert(format!("extra_{i:02}"), value);
            }
        }
        pr
    }
}

/// `0..n` in a fixed pseudo-random order chosen by `salt`.
fn permutation(n: usize, salt: u64) -> Vec<u64> {
    let mut values: Vec<u64> = (0..n as u64).collect();
    values.sort_by_key(|&i| mix(i ^ (salt << 40)));
    values
}

/// What is left of a list item when every optional field goes.
fn small(number: u64, age: u64, ctx: &RepoContext) -> Value {
    let full = pull_request(number, age, ctx, Detail::List);
    let branch = |side: &str| {
        json!({
            "ref": full[side]["ref"],
            "sha": full[side]["sha"],
        })
    };
    json!({
        "url": full["url"],
        "id": full["id"],
        "html_url": full["html_url"],
        "number": number,
        "state": full["state"],
        "title": full["title"],
        "user": { "login": full["user"]["login"], "id": full["user"]["id"] },
        "body": null,
        "labels": [],
        "milestone": null,
        "draft": full["draft"],
        "head": branch("head"),
        "base": branch("base"),
        "created_at": full["created_at"],
        "updated_at": full["updated_at"],
        "closed_at": full["closed_at"],
        "merged_at": full["merged_at"],
    })
}

/// About 6 KB of description, different per pull request.
fn long_body(number: u64) -> String {
    let mut body = String::with_capacity(6_200);
    let mut i = 0_u64;
    while body.len() < 6_000 {
        body.push_str(&format!(
            "Step {i}: measured the widget cache at {} entries and kept it warm across restarts. ",
            mix(number ^ i) % 100_000
        ));
        i += 1;
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RepoContext {
        RepoContext::new("acme", "widgets", "http://127.0.0.1:8787")
    }

    fn mean_size(shape: Shape) -> usize {
        let total: usize = shape
            .layout(100)
            .into_iter()
            .map(|(n, a)| {
                serde_json::to_vec(&shape.pull_request(n, a, &ctx()))
                    .map(|b| b.len())
                    .unwrap_or(0)
            })
            .sum();
        total / 100
    }

    #[test]
    fn sizes_are_about_half_two_and_eight_kilobytes() {
        let of = |size| {
            mean_size(Shape {
                size,
                ..Shape::default()
            })
        };
        let (small, medium, large) = (
            of(RecordSize::Small),
            of(RecordSize::Medium),
            of(RecordSize::Large),
        );
        assert!((400..=700).contains(&small), "small {small}");
        assert!((1_800..=3_000).contains(&medium), "medium {medium}");
        assert!((7_500..=9_500).contains(&large), "large {large}");
    }

    #[test]
    fn every_order_serves_each_number_and_age_once() {
        for ids in [IdOrder::Descending, IdOrder::Ascending, IdOrder::Random] {
            for updated in [UpdatedOrder::Follows, UpdatedOrder::Scattered] {
                let layout = Shape {
                    ids,
                    updated,
                    ..Shape::default()
                }
                .layout(500);
                let mut numbers: Vec<u64> = layout.iter().map(|p| p.0).collect();
                let mut ages: Vec<u64> = layout.iter().map(|p| p.1).collect();
                numbers.sort_unstable();
                ages.sort_unstable();
                assert_eq!(numbers, (1..=500).collect::<Vec<_>>());
                assert_eq!(ages, (0..500).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn scattered_updates_do_not_fall_along_the_listing() {
        let layout = Shape {
            updated: UpdatedOrder::Scattered,
            ids: IdOrder::Random,
            ..Shape::default()
        }
        .layout(1_000);
        let rises = |v: Vec<u64>| v.windows(2).filter(|w| w[1] > w[0]).count();
        let age_rises = rises(layout.iter().map(|p| p.1).collect());
        let number_rises = rises(layout.iter().map(|p| p.0).collect());
        assert!((300..700).contains(&age_rises), "{age_rises}");
        assert!((300..700).contains(&number_rises), "{number_rises}");
    }

    #[test]
    fn extra_fields_are_added_and_small_keeps_what_the_connector_reads() {
        let shape = Shape {
            size: RecordSize::Small,
            extra_fields: 12,
            ..Shape::default()
        };
        let pr = shape.pull_request(7, 3, &ctx());
        assert!(pr["extra_11"].is_number());
        assert!(pr["extra_00"].is_string());
        for key in ["id", "number", "title", "state", "updated_at", "created_at"] {
            assert!(!pr[key].is_null(), "{key}");
        }
        assert!(pr["head"]["sha"].is_string() && pr["base"]["ref"].is_string());
    }
}
