//! Preparing a batch for a multi-row upsert.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SubsecRound, Utc};
use gwi_core::record::ConnectorRecord;
use gwi_core::store::{InboxCompletion, Scope};

/// `t` as the engines store it: to the microsecond.
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The records with one per (type, id): the newest, the later one on equal `updated_at`, in
/// key order.
///
/// A multi-row `INSERT ... ON CONFLICT` may not touch one row twice (PostgreSQL refuses), and
/// keeping the newest copy here gives the same result as upserting one by one. Key order walks
/// the primary-key index from one end to the other once per batch: when ids arrive in no order,
/// upserting them as they came visited its pages at random, reading each back from disk about
/// once per record (see `bench/measurements.md`).
pub(crate) fn newest_per_key<'a>(
    records: impl IntoIterator<Item = &'a ConnectorRecord>,
) -> Vec<&'a ConnectorRecord> {
    let records = records.into_iter();
    let mut kept: Vec<&ConnectorRecord> = Vec::with_capacity(records.size_hint().0);
    let mut index: HashMap<(&str, &str), usize> = HashMap::with_capacity(records.size_hint().0);
    for record in records {
        let key = (record.record_type.as_str(), record.id.as_str());
        match index.get(&key) {
            Some(&i) => {
                if micros(record.updated_at) >= micros(kept[i].updated_at) {
                    kept[i] = record;
                }
            }
            None => {
                index.insert(key, kept.len());
                kept.push(record);
            }
        }
    }
    kept.sort_unstable_by(|a, b| {
        (a.record_type.as_str(), a.id.as_str()).cmp(&(b.record_type.as_str(), b.id.as_str()))
    });
    kept
}

/// The records of completed inbox entries grouped by the scope of their entry, in a fixed scope
/// order (so two writers lock rows in the same order), each group in completion order.
///
/// Entries missing from `scopes` (unknown ids) contribute nothing.
pub(crate) fn records_by_scope<'a>(
    completed: &'a [InboxCompletion],
    scopes: &HashMap<i64, Scope>,
) -> Vec<(Scope, Vec<&'a ConnectorRecord>)> {
    let mut groups: BTreeMap<(&str, &str), (&Scope, Vec<&ConnectorRecord>)> = BTreeMap::new();
    for completion in completed {
        if let Some(scope) = scopes.get(&completion.id)
            && !completion.records.is_empty()
        {
            groups
                .entry((scope.tenant.as_str(), scope.connector.as_str()))
                .or_insert_with(|| (scope, Vec::new()))
                .1
                .extend(&completion.records);
        }
    }
    groups
        .into_values()
        .map(|(scope, records)| (scope.clone(), records))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rec(id: &str, secs: i64, tag: &str) -> ConnectorRecord {
        let t = Utc.timestamp_opt(secs, 0).unwrap();
        let mut r = ConnectorRecord::new(id, "issue", "x", t, t);
        r.data = serde_json::json!({ "tag": tag }).into();
        r
    }

    #[test]
    fn newest_per_key_keeps_the_newest_and_the_later_of_equals() {
        let batch = vec![
            rec("a", 10, "a10"),
            rec("b", 5, "b5-first"),
            rec("a", 30, "a30"),
            rec("a", 20, "a20"),
            rec("b", 5, "b5-second"),
        ];
        let kept: Vec<_> = newest_per_key(&batch)
            .into_iter()
            .map(|r| r.data.to_value()["tag"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kept, ["a30", "b5-second"]);
    }

    #[test]
    fn newest_per_key_returns_records_in_key_order() {
        let mut batch = vec![rec("c", 1, "c"), rec("a", 1, "a"), rec("b", 1, "b")];
        let mut pr = rec("a", 1, "pr-a");
        pr.record_type = "pull_request".into();
        batch.insert(1, pr);
        let kept: Vec<_> = newest_per_key(&batch)
            .into_iter()
            .map(|r| r.data.to_value()["tag"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kept, ["a", "b", "c", "pr-a"]);
    }
}
