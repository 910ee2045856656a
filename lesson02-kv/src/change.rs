//! Changes: what a write did to the store, as data.
//!
//! Lesson 3 makes the store durable by writing every change to a log on
//! disk and replaying the log at start-up. For that, the store can *record*
//! its changes: every write command leaves one or more [`Change`]s behind,
//! which the caller takes with [`Store::take_changes`].
//!
//! A change states the *result* of a write, not the command: `INCR n` on
//! `"41"` records `Put { key: n, value: "42" }`, and `EXPIRE k 10` records
//! `Put` with an absolute deadline. Results can be replayed any number of
//! times, in any later session, and give the same state; a command such as
//! `INCR`, or a relative TTL, would not. Redis's append-only file makes the
//! same choice for `EXPIRE`, which it logs as `PEXPIREAT`.
//!
//! Keys that expire are not recorded as deleted: their `Put` carries the
//! deadline, so after a replay they are just as expired.

use crate::clock::Clock;
use crate::store::{Entry, Store};

// ANCHOR: change
/// The result of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `key` now holds `value`, until `expires_at` if set.
    Put {
        /// The key.
        key: Vec<u8>,
        /// Its whole new value.
        value: Vec<u8>,
        /// Its deadline, in milliseconds since the Unix epoch.
        expires_at: Option<u64>,
    },
    /// `key` no longer exists.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
    /// No key exists.
    Clear,
}
// ANCHOR_END: change

impl<C: Clock> Store<C> {
    /// Starts recording changes (off by default, so lesson 2 pays nothing).
    pub fn record_changes(&mut self) {
        self.changes.get_or_insert_with(Vec::new);
    }

    /// The changes recorded since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<Change> {
        self.changes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Records a change, if recording is on. `change` is only called then,
    /// so the copies it makes cost nothing otherwise.
    pub(crate) fn record(&mut self, change: impl FnOnce(&Self) -> Change) {
        if self.changes.is_none() {
            return;
        }
        let change = change(self);
        if let Some(changes) = &mut self.changes {
            changes.push(change);
        }
    }

    /// Records the current state of `key` as a `Put` (or a `Delete` if it is gone).
    pub(crate) fn record_key(&mut self, key: &[u8]) {
        self.record(|s| match s.map.get(key) {
            Some(entry) => Change::Put {
                key: key.to_vec(),
                value: entry.value.to_vec(),
                expires_at: s.deadline(key),
            },
            None => Change::Delete { key: key.to_vec() },
        });
    }

    // ANCHOR: apply
    /// Applies a change, as a replay does. A `Put` whose deadline has passed
    /// is stored all the same, and is expired the moment anything looks.
    /// Applying does not record.
    pub fn apply(&mut self, change: Change) {
        match change {
            Change::Put { key, value, expires_at: None } => {
                let entry = Entry { value: value.into_boxed_slice(), ttl_slot: None };
                if let Some(Entry { ttl_slot: Some(slot), .. }) = self.map.insert(key, entry) {
                    self.unlist(slot);
                }
            }
            Change::Put { key, value, expires_at: Some(at_ms) } => {
                let old_slot = self.map.get(&key).and_then(|e| e.ttl_slot);
                let slot = self.list_or_update(&key, old_slot, at_ms);
                self.map
                    .insert(key, Entry { value: value.into_boxed_slice(), ttl_slot: Some(slot) });
            }
            Change::Delete { key } => {
                self.remove_entry(&key);
            }
            Change::Clear => {
                self.map.clear();
                self.expiring.clear();
            }
        }
    }
    // ANCHOR_END: apply

    /// Makes room for `additional` more keys, so that a replay of known
    /// size does not grow (and rehash) the table twenty times on the way.
    pub fn reserve(&mut self, additional: usize) {
        self.map.reserve(additional);
    }

    /// Gives back room that a generous [`Store::reserve`] did not use.
    pub fn shrink_to_fit(&mut self) {
        self.map.shrink_to_fit();
    }

    /// The changes that rebuild the current state from an empty store: one
    /// `Put` per live key, in no particular order. A snapshot is this list.
    pub fn dump(&mut self) -> Vec<Change> {
        self.purge_expired();
        let keys: Vec<Vec<u8>> = self.map.keys().cloned().collect();
        keys.into_iter()
            .map(|key| {
                let value = self.map[&key].value.to_vec();
                let expires_at = self.deadline(&key);
                Change::Put { key, value, expires_at }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::command::parse;
    use crate::execute::execute;
    use crate::tokenizer::tokenize;

    fn run(s: &mut Store<ManualClock>, line: &str) {
        execute(s, parse(tokenize(line.as_bytes()).unwrap()).unwrap());
    }

    fn put(key: &str, value: &str, expires_at: Option<u64>) -> Change {
        Change::Put { key: key.into(), value: value.into(), expires_at }
    }

    #[test]
    fn writes_record_their_results_and_reads_record_nothing() {
        let clock = ManualClock::new(1000);
        let mut s = Store::with_clock(clock.clone());
        s.record_changes();
        run(&mut s, "SET n 41");
        run(&mut s, "INCR n");
        run(&mut s, "GET n");
        run(&mut s, "EXPIRE n 10");
        run(&mut s, "PERSIST n");
        run(&mut s, "DEL n nothing");
        run(&mut s, "SET k v NX PX 500");
        run(&mut s, "FLUSHALL");
        assert_eq!(
            s.take_changes(),
            [
                put("n", "41", None),
                put("n", "42", None),
                put("n", "42", Some(11_000)),
                put("n", "42", None),
                Change::Delete { key: b"n".to_vec() },
                put("k", "v", Some(1500)),
                Change::Clear,
            ]
        );
        assert_eq!(s.take_changes(), []);
    }

    #[test]
    fn failed_and_conditional_writes_that_do_nothing_record_nothing() {
        let mut s = Store::with_clock(ManualClock::default());
        s.record_changes();
        run(&mut s, "SET k text");
        s.take_changes();
        run(&mut s, "INCR k");
        run(&mut s, "SET k other NX");
        run(&mut s, "SET missing v XX");
        run(&mut s, "EXPIRE missing 10");
        run(&mut s, "PERSIST k");
        assert_eq!(s.take_changes(), []);
    }

    #[test]
    fn replaying_the_changes_rebuilds_the_state() {
        let clock = ManualClock::new(1000);
        let mut s = Store::with_clock(clock.clone());
        s.record_changes();
        for line in [
            "SET a 1",
            "SET b 2 PX 100",
            "INCR a",
            "SET c 3",
            "DEL c",
            "EXPIRE a 5",
            "SET d 4 PX 10",
        ] {
            run(&mut s, line);
        }
        let mut copy = Store::with_clock(clock.clone());
        for change in s.take_changes() {
            copy.apply(change);
        }
        let sorted = |mut v: Vec<Change>| {
            v.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
            v
        };
        assert_eq!(sorted(copy.dump()), sorted(s.dump()));
        clock.advance(100);
        assert_eq!(copy.get(b"b"), None, "the replayed deadline is absolute");
        assert_eq!(copy.get(b"a"), Some(b"2".to_vec()));
    }

    #[test]
    fn applying_a_put_over_a_key_with_a_ttl_keeps_the_list_consistent() {
        let mut s = Store::with_clock(ManualClock::new(0));
        s.apply(put("a", "1", Some(50)));
        s.apply(put("b", "1", Some(60)));
        s.apply(put("a", "2", None));
        s.apply(put("b", "2", Some(70)));
        assert_eq!(s.expiring.len(), 1);
        assert_eq!(s.deadline(b"b"), Some(70));
        assert_eq!(s.deadline(b"a"), None);
        s.apply(Change::Clear);
        assert!(s.dump().is_empty());
    }
}
