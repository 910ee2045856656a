//! A model-based test of expiry: random commands and clock advances, run
//! through a session (tokenizer, parser, store, lazy and active expiry) and
//! through a model that is obviously right: a map of values with deadlines,
//! where a key is alive while `deadline > now`. Every reply must match.

use std::collections::BTreeMap;

use lesson02_kv::{ManualClock, Reply, Session, Store};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Set(&'static str, &'static str, Option<u64>),
    Get(&'static str),
    Del(&'static str),
    Exists(&'static str),
    PExpire(&'static str, i64),
    Persist(&'static str),
    Pttl(&'static str),
    Incr(&'static str),
    DbSize,
    Keys,
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let key = prop::sample::select(vec!["a", "b", "c", "d"]);
    let value = prop::sample::select(vec!["0", "7", "-3", "x"]);
    prop_oneof![
        4 => (key.clone(), value, prop::option::of(1..3000u64)).prop_map(|(k, v, t)| Op::Set(k, v, t)),
        3 => key.clone().prop_map(Op::Get),
        1 => key.clone().prop_map(Op::Del),
        1 => key.clone().prop_map(Op::Exists),
        2 => (key.clone(), -10..3000i64).prop_map(|(k, ms)| Op::PExpire(k, ms)),
        1 => key.clone().prop_map(Op::Persist),
        2 => key.clone().prop_map(Op::Pttl),
        1 => key.prop_map(Op::Incr),
        1 => Just(Op::DbSize),
        1 => Just(Op::Keys),
        4 => (0..2000u64).prop_map(Op::Advance),
    ]
}

/// The model: values with optional deadlines, and the time.
#[derive(Default)]
struct Model {
    now: u64,
    keys: BTreeMap<&'static str, (String, Option<u64>)>,
}

impl Model {
    /// The key's entry, if it is alive now. Expired entries are dropped.
    fn live(&mut self, key: &str) -> Option<&mut (String, Option<u64>)> {
        let now = self.now;
        if self.keys.get(key).is_some_and(|(_, d)| d.is_some_and(|d| d <= now)) {
            self.keys.remove(key);
        }
        self.keys.get_mut(key)
    }

    fn live_keys(&mut self) -> Vec<&'static str> {
        let now = self.now;
        self.keys.retain(|_, (_, d)| d.is_none_or(|d| d > now));
        self.keys.keys().copied().collect()
    }

    /// The command line for `op` and the reply the store must give.
    fn apply(&mut self, op: &Op) -> Option<(String, Reply)> {
        let now = self.now;
        Some(match *op {
            Op::Set(k, v, ttl) => {
                self.keys.insert(k, (v.to_string(), ttl.map(|t| now + t)));
                let px = ttl.map(|t| format!(" PX {t}")).unwrap_or_default();
                (format!("SET {k} {v}{px}"), Reply::ok())
            }
            Op::Get(k) => (
                format!("GET {k}"),
                self.live(k).map_or(Reply::Nil, |(v, _)| Reply::Bulk(v.clone().into_bytes())),
            ),
            Op::Del(k) => {
                let existed = self.live(k).is_some();
                self.keys.remove(k);
                (format!("DEL {k}"), Reply::Integer(existed.into()))
            }
            Op::Exists(k) => (format!("EXISTS {k}"), Reply::Integer(self.live(k).is_some().into())),
            Op::PExpire(k, ms) => {
                let reply = match self.live(k) {
                    None => 0,
                    Some(entry) if ms > 0 => {
                        entry.1 = Some(now + ms as u64);
                        1
                    }
                    Some(_) => {
                        self.keys.remove(k);
                        1
                    }
                };
                (format!("PEXPIRE {k} {ms}"), Reply::Integer(reply))
            }
            Op::Persist(k) => {
                let had = self.live(k).and_then(|entry| entry.1.take()).is_some();
                (format!("PERSIST {k}"), Reply::Integer(had.into()))
            }
            Op::Pttl(k) => {
                let ttl = match self.live(k) {
                    None => -2,
                    Some((_, None)) => -1,
                    Some((_, Some(d))) => (*d - now) as i64,
                };
                (format!("PTTL {k}"), Reply::Integer(ttl))
            }
            Op::Incr(k) => {
                let reply = match self.live(k) {
                    None => {
                        self.keys.insert(k, ("1".into(), None));
                        Reply::Integer(1)
                    }
                    Some(entry) => match entry.0.parse::<i64>() {
                        Ok(n) => {
                            entry.0 = (n + 1).to_string();
                            Reply::Integer(n + 1)
                        }
                        Err(_) => {
                            Reply::Error("ERR value is not an integer or out of range".into())
                        }
                    },
                };
                (format!("INCR {k}"), reply)
            }
            Op::DbSize => ("DBSIZE".into(), Reply::Integer(self.live_keys().len() as i64)),
            Op::Keys => {
                let keys = self
                    .live_keys()
                    .into_iter()
                    .map(|k| Reply::Bulk(k.as_bytes().to_vec()))
                    .collect();
                ("KEYS *".into(), Reply::Array(keys))
            }
            Op::Advance(ms) => {
                self.now += ms;
                return None;
            }
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn expiry_matches_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let clock = ManualClock::new(0);
        let mut session = Session::new(Store::with_clock(clock.clone()));
        let mut model = Model::default();
        for (step, op) in ops.iter().enumerate() {
            match model.apply(op) {
                None => {
                    if let Op::Advance(ms) = op {
                        clock.advance(*ms);
                    }
                }
                Some((line, want)) => {
                    let got = session.handle_line(line.as_bytes());
                    prop_assert_eq!(got, Some(want), "step {}: {}", step, line);
                }
            }
        }
    }
}

/// The model test is only worth something if it can fail: a store whose
/// clock runs 1 ms behind would keep keys alive 1 ms too long.
#[test]
fn the_model_notices_an_off_by_one_deadline() {
    let clock = ManualClock::new(0);
    let mut session = Session::new(Store::with_clock(clock.clone()));
    let mut model = Model::default();
    for op in [Op::Set("a", "7", Some(100)), Op::Advance(100)] {
        model.apply(&op);
    }
    session.handle_line(b"SET a 7 PX 101"); // the bug: one millisecond too long
    clock.advance(100);
    let (line, want) = model.apply(&Op::Get("a")).unwrap();
    assert_ne!(session.handle_line(line.as_bytes()), Some(want));
}
