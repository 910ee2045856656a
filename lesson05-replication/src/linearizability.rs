//! Is a history linearizable? The Wing–Gong search, with Lowe's and
//! Porcupine's memoization, for registers.
//!
//! A history is what clients saw: each operation's call, its return (or
//! none, if the client gave up or the server crashed), and what it
//! returned. It is *linearizable* if every operation can be given one
//! instant between its call and its return at which it took effect, such
//! that the register, read in that order, explains every result. A write
//! whose outcome is unknown may have taken effect at any instant after its
//! call, or never: it gets a return at the end of time.
//!
//! Keys are independent registers, and linearizability is *local*: a
//! history is linearizable if each key's history is (Herlihy and Wing). So
//! each key is checked alone, which keeps the search small.

use std::collections::{BTreeMap, HashSet};

/// What an operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Read the key and saw this (`None`: no value).
    Get(Option<Vec<u8>>),
    /// Wrote this value.
    Set(Vec<u8>),
}

/// One operation, as a client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Who called it.
    pub client: usize,
    /// The register.
    pub key: Vec<u8>,
    /// What it did.
    pub kind: Kind,
    /// When it was called.
    pub call: u64,
    /// When it returned; `None` if the outcome is unknown.
    pub ret: Option<u64>,
}

/// A key whose history no order explains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The key.
    pub key: Vec<u8>,
    /// Its history.
    pub history: Vec<Operation>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = String::from_utf8_lossy(&self.key);
        writeln!(f, "no order explains the {} operations on {key}:", self.history.len())?;
        if self.history.len() <= 12 {
            return write!(f, "{}", timeline(&self.history));
        }
        let mut ops: Vec<&Operation> = self.history.iter().collect();
        ops.sort_by_key(|op| op.call);
        for op in ops {
            let ret = op.ret.map_or("?".to_string(), |t| t.to_string());
            writeln!(f, "  {:>6} {:>6}  client {}  {}", op.call, ret, op.client, label(op))?;
        }
        Ok(())
    }
}

/// Checks every key's history; returns the first key that fails.
pub fn check(history: &[Operation]) -> Result<(), Violation> {
    let mut by_key: BTreeMap<&[u8], Vec<Operation>> = BTreeMap::new();
    for op in history {
        // A read whose answer never came says nothing.
        if matches!(op.kind, Kind::Get(_)) && op.ret.is_none() {
            continue;
        }
        by_key.entry(&op.key).or_default().push(op.clone());
    }
    for (key, ops) in by_key {
        if !linearizable(&ops) {
            return Err(Violation { key: key.to_vec(), history: ops });
        }
    }
    Ok(())
}

/// A call or a return, in a doubly linked list ordered by time.
#[derive(Debug, Clone, Copy)]
struct Event {
    op: usize,
    is_call: bool,
    /// The return of a call, the call of a return.
    partner: usize,
    prev: usize,
    next: usize,
}

/// The list's head sentinel is event 0; `NONE` ends it.
const NONE: usize = usize::MAX;

// ANCHOR: linearizable
/// Whether one register's history is linearizable: a depth-first search
/// over the orders the history allows, trying at each point the
/// operations whose calls come before the earliest pending return, and
/// never exploring the same (set of operations done, register value) twice.
pub fn linearizable(ops: &[Operation]) -> bool {
    let mut events = events(ops);
    // The register's value: the index of the write it holds, if any.
    let mut value: Option<usize> = None;
    let mut done = vec![0u64; ops.len().div_ceil(64)];
    let mut seen: HashSet<(Vec<u64>, Option<usize>)> = HashSet::new();
    // The calls linearized so far, with the value before each.
    let mut stack: Vec<(usize, Option<usize>)> = Vec::new();
    let mut at = events[0].next;
    while events[0].next != NONE {
        let event = events[at];
        if event.is_call {
            // exercise 5.8: begin
            if let Some(after) = step(ops, value, event.op) {
                let (word, mask) = bit(event.op);
                done[word] |= mask;
                if seen.insert((done.clone(), after)) {
                    // Take the operation here: lift it out of the list and
                    // start again from the first pending event.
                    stack.push((at, value));
                    value = after;
                    lift(&mut events, at);
                    at = events[0].next;
                    continue;
                }
                done[word] &= !mask;
            }
            at = event.next;
            // exercise 5.8: end
        } else {
            // A return, and its operation is not yet taken: nothing taken
            // so far can be followed by it. Undo the last choice.
            let Some((call, before)) = stack.pop() else { return false };
            let (word, mask) = bit(events[call].op);
            done[word] &= !mask;
            value = before;
            unlift(&mut events, call);
            at = events[call].next;
        }
    }
    true
}
// ANCHOR_END: linearizable

/// Where operation `op` is in the bitset of operations done: its word,
/// and its bit in the word.
fn bit(op: usize) -> (usize, u64) {
    (op / 64, 1 << (op % 64))
}

/// The register after `op`, if `op` could take effect now.
fn step(ops: &[Operation], value: Option<usize>, op: usize) -> Option<Option<usize>> {
    match &ops[op].kind {
        Kind::Set(_) => Some(Some(op)),
        Kind::Get(seen) => {
            let current = value.map(|w| match &ops[w].kind {
                Kind::Set(v) => v,
                Kind::Get(_) => unreachable!("the value is always a write's"),
            });
            (current == seen.as_ref()).then_some(value)
        }
    }
}

/// The calls and returns, sorted by time, linked; event 0 is the head.
fn events(ops: &[Operation]) -> Vec<Event> {
    let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * ops.len());
    for (i, op) in ops.iter().enumerate() {
        // At equal times a call sorts first (`false` < `true` for "is a
        // return"), so operations that touch are taken as overlapping.
        order.push((op.call, false, i));
        order.push((op.ret.unwrap_or(u64::MAX), true, i));
    }
    order.sort();
    let head = Event { op: NONE, is_call: false, partner: NONE, prev: NONE, next: NONE };
    let mut events = vec![head];
    let mut call_at = vec![NONE; ops.len()];
    for (n, &(_, is_return, op)) in order.iter().enumerate() {
        let at = n + 1;
        let mut event = Event { op, is_call: !is_return, partner: NONE, prev: n, next: NONE };
        if is_return {
            event.partner = call_at[op];
            events[call_at[op]].partner = at;
        } else {
            call_at[op] = at;
        }
        events.push(event);
        events[n].next = at;
    }
    events
}

/// Takes a call and its return out of the list.
fn lift(events: &mut [Event], call: usize) {
    for e in [call, events[call].partner] {
        let Event { prev, next, .. } = events[e];
        events[prev].next = next;
        if next != NONE {
            events[next].prev = prev;
        }
    }
}

/// Puts them back, in the reverse order of `lift`: the removed events
/// still remember their neighbours.
fn unlift(events: &mut [Event], call: usize) {
    for e in [events[call].partner, call] {
        let Event { prev, next, .. } = events[e];
        events[prev].next = e;
        if next != NONE {
            events[next].prev = e;
        }
    }
}

/// `set 3` or `get 3`, `get nil`.
fn label(op: &Operation) -> String {
    match &op.kind {
        Kind::Set(v) => format!("set {}", String::from_utf8_lossy(v)),
        Kind::Get(Some(v)) => format!("get {}", String::from_utf8_lossy(v)),
        Kind::Get(None) => "get nil".to_string(),
    }
}

/// Draws a history as a timeline, one client per row, time to the right:
///
/// ```text
/// client 0  |--set 1--|
/// client 1        |---get 2---|
/// ```
pub fn timeline(ops: &[Operation]) -> String {
    const SPACING: usize = 6;
    let mut times: Vec<u64> =
        ops.iter().flat_map(|o| [o.call, o.ret.unwrap_or(u64::MAX)]).collect();
    times.sort_unstable();
    times.dedup();
    let col = |t: u64| times.binary_search(&t).expect("every time is listed") * SPACING;
    let width = times.len() * SPACING + 12;
    // A client that gave up on a request went on with the next: the one
    // with no reply gets a row of its own, open to the right.
    let mut rows: BTreeMap<(usize, bool), Vec<u8>> = BTreeMap::new();
    for op in ops {
        let row = rows.entry((op.client, op.ret.is_none())).or_insert_with(|| vec![b' '; width]);
        let (from, to) = (col(op.call), col(op.ret.unwrap_or(u64::MAX)));
        let label = label(op);
        row[from] = b'|';
        for c in &mut row[from + 1..to] {
            *c = b'-';
        }
        row[to] = if op.ret.is_some() { b'|' } else { b'?' };
        let start = from + 1 + (to - from).saturating_sub(label.len() + 1) / 2;
        for (i, b) in label.bytes().enumerate() {
            if start + i < to {
                row[start + i] = b;
            }
        }
    }
    let mut out = String::new();
    for ((client, unknown), row) in rows {
        let line = String::from_utf8_lossy(&row).trim_end().to_string();
        let who =
            if unknown { format!("client {client}, no reply") } else { format!("client {client}") };
        out.push_str(&format!("{who:<18}  {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `client: set v [call, ret]` or `get v`; `None` for ret is unknown.
    fn op(client: usize, kind: &str, value: &str, call: u64, ret: Option<u64>) -> Operation {
        let value = value.as_bytes().to_vec();
        let kind = match (kind, value.as_slice()) {
            ("set", _) => Kind::Set(value),
            ("get", b"nil") => Kind::Get(None),
            _ => Kind::Get(Some(value)),
        };
        Operation { client, key: b"x".to_vec(), kind, call, ret }
    }

    #[test]
    fn a_sequential_history_is_linearizable_when_each_read_sees_the_last_write() {
        let ok = [
            op(0, "get", "nil", 1, Some(2)),
            op(0, "set", "1", 3, Some(4)),
            op(1, "get", "1", 5, Some(6)),
        ];
        assert!(linearizable(&ok));
        let wrong_value = [op(0, "set", "1", 1, Some(2)), op(1, "get", "2", 3, Some(4))];
        assert!(!linearizable(&wrong_value));
    }

    #[test]
    fn a_read_after_a_write_returned_must_not_see_the_older_value() {
        // The stale read: the write of 2 returned before the read began.
        let stale = [
            op(0, "set", "1", 1, Some(2)),
            op(0, "set", "2", 3, Some(4)),
            op(1, "get", "1", 5, Some(6)),
        ];
        assert!(!linearizable(&stale));
        // Had the read overlapped the write, either value would do.
        let overlapping = [
            op(0, "set", "1", 1, Some(2)),
            op(0, "set", "2", 3, Some(6)),
            op(1, "get", "1", 4, Some(5)),
        ];
        assert!(linearizable(&overlapping));
    }

    #[test]
    fn once_a_read_has_seen_a_write_later_reads_cannot_unsee_it() {
        let flicker = [
            op(0, "set", "1", 1, Some(10)),
            op(1, "get", "1", 2, Some(3)),
            op(1, "get", "nil", 4, Some(5)),
        ];
        assert!(!linearizable(&flicker));
        let settled = [
            op(0, "set", "1", 1, Some(10)),
            op(1, "get", "nil", 2, Some(3)),
            op(1, "get", "1", 4, Some(5)),
        ];
        assert!(linearizable(&settled));
    }

    #[test]
    fn a_write_with_an_unknown_outcome_may_have_happened_or_not() {
        let seen = [op(0, "set", "1", 1, None), op(1, "get", "1", 5, Some(6))];
        let unseen = [op(0, "set", "1", 1, None), op(1, "get", "nil", 5, Some(6))];
        assert!(linearizable(&seen) && linearizable(&unseen));
        // But not before it was called.
        let too_early = [op(1, "get", "1", 1, Some(2)), op(0, "set", "1", 3, None)];
        assert!(!linearizable(&too_early));
    }

    #[test]
    fn check_looks_at_each_key_alone_and_ignores_reads_that_never_returned() {
        let mut other_key = op(1, "get", "1", 5, Some(6));
        other_key.key = b"y".to_vec();
        let history = [op(0, "set", "1", 1, Some(2)), op(1, "get", "nil", 3, None), other_key];
        let violation = check(&history).expect_err("y was never written");
        assert_eq!(violation.key, b"y");
        assert_eq!(violation.history.len(), 1);
        assert!(check(&history[..2]).is_ok());
    }

    #[test]
    fn many_concurrent_writers_are_checked_quickly() {
        // 8 clients, each writing then reading its own value back 25
        // times, all overlapping: the search must not blow up.
        let mut history = Vec::new();
        for round in 0..25u64 {
            for c in 0..8u64 {
                let t = round * 100 + c;
                let v = format!("{c}.{round}");
                history.push(op(c as usize, "set", &v, t, Some(t + 50)));
            }
            let last = format!("7.{round}");
            history.push(op(9, "get", &last, round * 100 + 60, Some(round * 100 + 70)));
        }
        assert!(linearizable(&history));
    }

    proptest::proptest! {
        /// A real register, its operations stretched around the instants
        /// they took effect: always linearizable. Change one read's result
        /// to a value never written, and it no longer is.
        #[test]
        fn histories_of_a_real_register_are_linearizable(
            ops in proptest::collection::vec((0usize..4, proptest::bool::ANY, 0u64..30, 0u64..30), 1..40),
            spoil in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let mut value: Option<String> = None;
            let mut history = Vec::new();
            for (i, (client, write, before, after)) in ops.into_iter().enumerate() {
                let at = 100 * (i as u64 + 1);
                let (call, ret) = (at - before * 3, at + after * 3);
                if write {
                    let v = i.to_string();
                    value = Some(v.clone());
                    history.push(op(client, "set", &v, call, Some(ret)));
                } else {
                    let seen = value.clone().unwrap_or_else(|| "nil".into());
                    history.push(op(client, "get", &seen, call, Some(ret)));
                }
            }
            proptest::prop_assert!(linearizable(&history));
            let reads: Vec<usize> = (0..history.len()).filter(|&i| matches!(history[i].kind, Kind::Get(_))).collect();
            if !reads.is_empty() {
                history[reads[spoil.index(reads.len())]].kind = Kind::Get(Some(b"never".to_vec()));
                proptest::prop_assert!(!linearizable(&history));
            }
        }
    }
}
