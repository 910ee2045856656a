//! Lists, hashes and sets against models built from std collections: a
//! `VecDeque`, a `BTreeMap` and a `BTreeSet` per key. Random commands on a
//! few keys, of every type, so that `WRONGTYPE`, emptied keys and keys that
//! change type all happen. Every reply must be the model's; and replaying
//! the recorded changes into an empty store must rebuild the same state.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use lesson02_kv::command::parse;
use lesson02_kv::execute::execute;
use lesson02_kv::{ManualClock, Reply, Store};
use proptest::prelude::*;

/// What a key holds, in the model.
#[derive(Debug, Clone)]
enum Model {
    /// A string: its bytes do not matter here, only its type.
    String,
    List(VecDeque<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
}

#[derive(Debug, Clone)]
enum Op {
    Set(u8, u8),
    Push(u8, bool, Vec<u8>),
    Pop(u8, bool, usize),
    Range(u8, i64, i64),
    Index(u8, i64),
    HSet(u8, u8, u8),
    HDel(u8, u8),
    HGetAll(u8),
    SAdd(u8, Vec<u8>),
    SRem(u8, u8),
    SMembers(u8),
    Del(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..3u8;
    let small = 0..4u8;
    prop_oneof![
        (key.clone(), small.clone()).prop_map(|(k, v)| Op::Set(k, v)),
        (key.clone(), any::<bool>(), prop::collection::vec(small.clone(), 1..4))
            .prop_map(|(k, f, v)| Op::Push(k, f, v)),
        (key.clone(), any::<bool>(), 0..4usize).prop_map(|(k, f, n)| Op::Pop(k, f, n)),
        (key.clone(), -6..6i64, -6..6i64).prop_map(|(k, a, b)| Op::Range(k, a, b)),
        (key.clone(), -6..6i64).prop_map(|(k, i)| Op::Index(k, i)),
        (key.clone(), small.clone(), small.clone()).prop_map(|(k, f, v)| Op::HSet(k, f, v)),
        (key.clone(), small.clone()).prop_map(|(k, f)| Op::HDel(k, f)),
        key.clone().prop_map(Op::HGetAll),
        (key.clone(), prop::collection::vec(small.clone(), 1..4)).prop_map(|(k, m)| Op::SAdd(k, m)),
        (key.clone(), small).prop_map(|(k, m)| Op::SRem(k, m)),
        key.clone().prop_map(Op::SMembers),
        key.prop_map(Op::Del),
    ]
}

fn name(k: u8) -> Vec<u8> {
    vec![b'k', b'0' + k]
}

fn word(v: u8) -> Vec<u8> {
    vec![b'a' + v]
}

fn bulks(items: impl IntoIterator<Item = Vec<u8>>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::Bulk).collect())
}

fn wrongtype() -> Reply {
    Reply::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into())
}

/// The command line of `op`, and the model's reply (which also updates it).
fn model_step(model: &mut HashMap<u8, Model>, op: &Op) -> (Vec<Vec<u8>>, Reply) {
    let line = |words: &[&[u8]]| words.iter().map(|w| w.to_vec()).collect::<Vec<_>>();
    match op {
        Op::Set(k, v) => {
            model.insert(*k, Model::String);
            return (line(&[b"SET", &name(*k), &word(*v)]), Reply::ok());
        }
        Op::Del(k) => {
            let existed = model.remove(k).is_some();
            return (line(&[b"DEL", &name(*k)]), Reply::Integer(existed.into()));
        }
        _ => {}
    }
    let k = match op {
        Op::Push(k, ..) | Op::Pop(k, ..) | Op::Range(k, ..) | Op::Index(k, ..) => *k,
        Op::HSet(k, ..) | Op::HDel(k, ..) | Op::HGetAll(k) => *k,
        Op::SAdd(k, ..) | Op::SRem(k, ..) | Op::SMembers(k) => *k,
        Op::Set(..) | Op::Del(_) => unreachable!(),
    };
    let entry = model.get_mut(&k);
    let args: Vec<Vec<u8>>;
    let reply;
    match op {
        Op::Push(_, front, values) => {
            let cmd: &[u8] = if *front { b"LPUSH" } else { b"RPUSH" };
            args =
                [vec![cmd.to_vec(), name(k)], values.iter().map(|v| word(*v)).collect()].concat();
            reply = Some(match model.entry(k).or_insert(Model::List(VecDeque::new())) {
                Model::List(list) => {
                    for v in values {
                        if *front { list.push_front(word(*v)) } else { list.push_back(word(*v)) }
                    }
                    Reply::Integer(list.len() as i64)
                }
                _ => wrongtype(),
            });
        }
        Op::Pop(_, front, n) => {
            let cmd: &[u8] = if *front { b"LPOP" } else { b"RPOP" };
            args = line(&[cmd, &name(k), n.to_string().as_bytes()]);
            reply = Some(match entry {
                None => Reply::NullArray,
                Some(Model::List(list)) => {
                    let n = (*n).min(list.len());
                    let popped: Vec<_> = (0..n)
                        .map(|_| if *front { list.pop_front() } else { list.pop_back() }.unwrap())
                        .collect();
                    bulks(popped)
                }
                Some(_) => wrongtype(),
            });
        }
        Op::Range(_, a, b) => {
            args = line(&[b"LRANGE", &name(k), a.to_string().as_bytes(), b.to_string().as_bytes()]);
            reply = Some(match entry {
                None => bulks([]),
                Some(Model::List(list)) => {
                    let len = list.len() as i64;
                    let norm = |i: i64| if i < 0 { len + i } else { i };
                    bulks(
                        (0..len)
                            .filter(|&p| norm(*a) <= p && p <= norm(*b))
                            .map(|p| list[p as usize].clone()),
                    )
                }
                Some(_) => wrongtype(),
            });
        }
        Op::Index(_, i) => {
            args = line(&[b"LINDEX", &name(k), i.to_string().as_bytes()]);
            reply = Some(match entry {
                None => Reply::Nil,
                Some(Model::List(list)) => {
                    let at = if *i < 0 { list.len() as i64 + i } else { *i };
                    list.get(at as usize)
                        .filter(|_| at >= 0)
                        .cloned()
                        .map_or(Reply::Nil, Reply::Bulk)
                }
                Some(_) => wrongtype(),
            });
        }
        Op::HSet(_, f, v) => {
            args = line(&[b"HSET", &name(k), &word(*f), &word(*v)]);
            reply = Some(match model.entry(k).or_insert(Model::Hash(BTreeMap::new())) {
                Model::Hash(hash) => {
                    Reply::Integer(hash.insert(word(*f), word(*v)).is_none().into())
                }
                _ => wrongtype(),
            });
        }
        Op::HDel(_, f) => {
            args = line(&[b"HDEL", &name(k), &word(*f)]);
            reply = Some(match entry {
                None => Reply::Integer(0),
                Some(Model::Hash(hash)) => Reply::Integer(hash.remove(&word(*f)).is_some().into()),
                Some(_) => wrongtype(),
            });
        }
        Op::HGetAll(_) => {
            args = line(&[b"HGETALL", &name(k)]);
            // Compared as sorted pairs: the order is the store's own.
            reply = Some(match entry {
                None => Reply::Array(vec![]),
                Some(Model::Hash(hash)) => {
                    bulks(hash.iter().flat_map(|(f, v)| [f.clone(), v.clone()]))
                }
                Some(_) => wrongtype(),
            });
        }
        Op::SAdd(_, members) => {
            args = [vec![b"SADD".to_vec(), name(k)], members.iter().map(|m| word(*m)).collect()]
                .concat();
            reply = Some(match model.entry(k).or_insert(Model::Set(BTreeSet::new())) {
                Model::Set(set) => {
                    Reply::Integer(members.iter().filter(|m| set.insert(word(**m))).count() as i64)
                }
                _ => wrongtype(),
            });
        }
        Op::SRem(_, m) => {
            args = line(&[b"SREM", &name(k), &word(*m)]);
            reply = Some(match entry {
                None => Reply::Integer(0),
                Some(Model::Set(set)) => Reply::Integer(set.remove(&word(*m)).into()),
                Some(_) => wrongtype(),
            });
        }
        Op::SMembers(_) => {
            args = line(&[b"SMEMBERS", &name(k)]);
            reply = Some(match entry {
                None => Reply::Array(vec![]),
                Some(Model::Set(set)) => bulks(set.iter().cloned()),
                Some(_) => wrongtype(),
            });
        }
        Op::Set(..) | Op::Del(_) => unreachable!(),
    }
    // An emptied collection takes its key with it.
    let empty = match model.get(&k) {
        Some(Model::List(l)) => l.is_empty(),
        Some(Model::Hash(h)) => h.is_empty(),
        Some(Model::Set(s)) => s.is_empty(),
        _ => false,
    };
    if empty {
        model.remove(&k);
    }
    (args, reply.expect("every op replies"))
}

/// A reply with the members of maps and sets sorted, for comparing with
/// the model, whose order is its own.
fn normalised(op: &Op, reply: Reply) -> Reply {
    match (op, reply.flattened()) {
        (Op::HGetAll(_), Reply::Array(items)) => {
            let mut pairs: Vec<(Reply, Reply)> =
                items.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
            pairs.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            Reply::Array(pairs.into_iter().flat_map(|(a, b)| [a, b]).collect())
        }
        (Op::SMembers(_), Reply::Array(mut items)) => {
            items.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            Reply::Array(items)
        }
        (_, reply) => reply,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn lists_hashes_and_sets_behave_like_std_collections(ops in prop::collection::vec(op(), 1..60)) {
        let mut store = Store::with_clock(ManualClock::default());
        store.record_changes();
        let mut model = HashMap::new();
        for op in &ops {
            let (args, want) = model_step(&mut model, op);
            let got = execute(&mut store, parse(args).expect("the model's lines parse"));
            prop_assert_eq!(normalised(op, got), normalised(op, want), "{:?}", op);
        }
        prop_assert_eq!(store.len(), model.len(), "emptied collections left their keys");

        // Replaying what was recorded, exactly once, rebuilds the state.
        let mut replayed = Store::with_clock(ManualClock::default());
        for change in store.take_changes() {
            replayed.apply(change);
        }
        let sorted = |s: &mut Store<ManualClock>| {
            let mut all: Vec<String> = s.dump().iter().map(|c| format!("{c:?}")).collect();
            all.sort();
            all
        };
        prop_assert_eq!(sorted(&mut replayed), sorted(&mut store));
    }
}
