//! The sorted set against a model made of std collections: a map from
//! member to score, sorted on demand. Random operations, the same answers,
//! and the skip list's invariants checked after every one.

use std::collections::HashMap;
use std::ops::Bound;

use lesson02_kv::zset::SortedSet;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, f64),
    Remove(u8),
    Score(u8),
    Rank(u8, bool),
    RangeByRank(i64, i64, bool),
    RangeByScore(Bound<f64>, Bound<f64>, bool, usize, usize),
    PopMin(usize),
}

fn score() -> impl Strategy<Value = f64> {
    // Few distinct scores, so that ties (ordered by member) are common;
    // -0 too, which equals 0.
    prop_oneof![
        (-8i32..8).prop_map(|n| f64::from(n) / 2.0),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY)
    ]
}

fn bound() -> impl Strategy<Value = Bound<f64>> {
    prop_oneof![
        score().prop_map(Bound::Included),
        score().prop_map(Bound::Excluded),
        Just(Bound::Unbounded)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let member = 0u8..24;
    prop_oneof![
        4 => (member.clone(), score()).prop_map(|(m, s)| Op::Insert(m, s)),
        2 => member.clone().prop_map(Op::Remove),
        1 => member.clone().prop_map(Op::Score),
        1 => (member, any::<bool>()).prop_map(|(m, r)| Op::Rank(m, r)),
        1 => (-30i64..30, -30i64..30, any::<bool>()).prop_map(|(a, b, r)| Op::RangeByRank(a, b, r)),
        1 => (bound(), bound(), any::<bool>(), 0usize..4, 0usize..12)
            .prop_map(|(a, b, r, o, c)| Op::RangeByScore(a, b, r, o, c)),
        1 => (0usize..4).prop_map(Op::PopMin),
    ]
}

/// The model's members in order: by score, then member.
fn sorted(model: &HashMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
    let mut all: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    all.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    all
}

/// Elements with their scores' bits, so that `-0` and `0` differ.
fn owned(elements: Vec<(&[u8], f64)>) -> Vec<(Vec<u8>, u64)> {
    elements.into_iter().map(|(m, s)| (m.to_vec(), s.to_bits())).collect()
}

fn exact(elements: Vec<(Vec<u8>, f64)>) -> Vec<(Vec<u8>, u64)> {
    elements.into_iter().map(|(m, s)| (m, s.to_bits())).collect()
}

fn bits(score: Option<f64>) -> Option<u64> {
    score.map(f64::to_bits)
}

fn within(score: f64, min: Bound<f64>, max: Bound<f64>) -> bool {
    let above = match min {
        Bound::Included(m) => score >= m,
        Bound::Excluded(m) => score > m,
        Bound::Unbounded => true,
    };
    let below = match max {
        Bound::Included(m) => score <= m,
        Bound::Excluded(m) => score < m,
        Bound::Unbounded => true,
    };
    above && below
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_sorted_set_answers_as_the_model(seed: u64, ops in proptest::collection::vec(op(), 1..120)) {
        let mut set = SortedSet::new(seed);
        let mut model: HashMap<Vec<u8>, f64> = HashMap::new();
        for op in ops {
            match op {
                Op::Insert(m, s) => {
                    // An equal score changes nothing: `-0` does not replace `0`.
                    let member = vec![b'a' + m];
                    let old = model.get(&member).copied();
                    if old != Some(s) {
                        model.insert(member.clone(), s);
                    }
                    prop_assert_eq!(bits(set.insert(&member, s)), bits(old));
                }
                Op::Remove(m) => {
                    prop_assert_eq!(set.remove(&[b'a' + m]), model.remove(&vec![b'a' + m]).is_some());
                }
                Op::Score(m) => prop_assert_eq!(bits(set.score(&[b'a' + m])), bits(model.get(&vec![b'a' + m]).copied())),
                Op::Rank(m, reverse) => {
                    let all = sorted(&model);
                    let mut rank = all.iter().position(|(member, _)| *member == [b'a' + m]);
                    if reverse {
                        rank = rank.map(|r| all.len() - 1 - r);
                    }
                    prop_assert_eq!(set.rank(&[b'a' + m], reverse), rank);
                }
                Op::RangeByRank(start, stop, reverse) => {
                    let mut all = sorted(&model);
                    if reverse {
                        all.reverse();
                    }
                    let len = all.len() as i64;
                    let from = if start < 0 { (len + start).max(0) } else { start };
                    let to = if stop < 0 { len + stop } else { stop.min(len - 1) };
                    let expected: Vec<(Vec<u8>, f64)> = if from > to || from >= len {
                        Vec::new()
                    } else {
                        all[from as usize..=to as usize].to_vec()
                    };
                    prop_assert_eq!(owned(set.range_by_rank(start, stop, reverse)), exact(expected));
                }
                Op::RangeByScore(min, max, reverse, offset, count) => {
                    let mut all = sorted(&model);
                    if reverse {
                        all.reverse();
                    }
                    let expected: Vec<(Vec<u8>, f64)> = all
                        .into_iter()
                        .filter(|(_, s)| within(*s, min, max))
                        .skip(offset)
                        .take(count)
                        .collect();
                    prop_assert_eq!(owned(set.range_by_score(min, max, reverse, offset, count)), exact(expected));
                }
                Op::PopMin(count) => {
                    let expected: Vec<(Vec<u8>, f64)> = sorted(&model).into_iter().take(count).collect();
                    for (member, _) in &expected {
                        model.remove(member);
                    }
                    prop_assert_eq!(exact(set.pop_min(count)), exact(expected));
                }
            }
            prop_assert_eq!(set.len(), model.len());
            if let Err(broken) = set.list().check() {
                prop_assert!(false, "{}\n{}", broken, set.list().draw());
            }
        }
    }
}

// ANCHOR: drawn
#[test]
fn a_small_skip_list_drawn() {
    let mut set = SortedSet::new(29);
    for (member, score) in [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0), ("f", 6.0)]
    {
        set.insert(member.as_bytes(), score);
    }
    let mut drawing = format!("{}\n", set.list().draw());
    set.remove(b"c");
    drawing.push_str(&format!("\nafter ZREM c:\n{}\n", set.list().draw()));
    insta::assert_snapshot!(drawing);
}
// ANCHOR_END: drawn
