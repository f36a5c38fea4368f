//! Preparing a batch for a multi-row upsert.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use gwi_core::record::ConnectorRecord;

/// `t` as the engines store it: to the microsecond.
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The batch with one record per (type, id): the newest, the later one on equal `updated_at`.
///
/// A multi-row `INSERT ... ON CONFLICT` may not touch one row twice (PostgreSQL refuses), and
/// keeping the newest copy here gives the same result as upserting one by one.
pub(crate) fn newest_per_key(records: &[ConnectorRecord]) -> Vec<&ConnectorRecord> {
    let mut kept: Vec<&ConnectorRecord> = Vec::with_capacity(records.len());
    let mut index: HashMap<(&str, &str), usize> = HashMap::with_capacity(records.len());
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
    kept
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
}
