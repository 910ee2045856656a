//! The sorted-set commands: `ZADD`, `ZREM`, `ZSCORE`, `ZINCRBY`, `ZCARD`,
//! `ZRANK`, `ZRANGE`, `ZPOPMIN`, on the [`SortedSet`] of this module.

use std::ops::Bound;

use crate::Change;
use crate::clock::Clock;
use crate::command::int;
use crate::error::{Error, Result};
use crate::list::positive_count;
use crate::reply::Reply;
use crate::store::Store;
use crate::value::{Collection, Kind};
use crate::zset::SortedSet;

/// A sorted-set command, parsed.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum SortedSetCommand {
    /// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
    Add { key: Vec<u8>, options: AddOptions, pairs: Vec<(f64, Vec<u8>)> },
    /// `ZREM key member [member ...]`
    Rem { key: Vec<u8>, members: Vec<Vec<u8>> },
    /// `ZSCORE key member`
    Score { key: Vec<u8>, member: Vec<u8> },
    /// `ZINCRBY key increment member`
    IncrBy { key: Vec<u8>, delta: f64, member: Vec<u8> },
    /// `ZCARD key`
    Card { key: Vec<u8> },
    /// `ZRANK key member`
    Rank { key: Vec<u8>, member: Vec<u8> },
    /// `ZRANGE key start stop [BYSCORE] [REV] [LIMIT offset count] [WITHSCORES]`
    Range { key: Vec<u8>, by: RangeBy, reverse: bool, with_scores: bool },
    /// `ZPOPMIN key [count]`
    PopMin { key: Vec<u8>, count: Option<usize> },
}

impl SortedSetCommand {
    /// Whether it may change the store.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            SortedSetCommand::Add { .. }
                | SortedSetCommand::Rem { .. }
                | SortedSetCommand::IncrBy { .. }
                | SortedSetCommand::PopMin { .. }
        )
    }
}

/// `ZADD`'s options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddOptions {
    /// `NX`: only add new members. `XX`: only update existing ones.
    pub only: Option<Only>,
    /// `GT`/`LT`: only update a score to a greater (smaller) one.
    pub compare: Option<Compare>,
    /// `CH`: count changed members, not only added ones.
    pub changed: bool,
    /// `INCR`: add the score to the member's, as `ZINCRBY`.
    pub incr: bool,
}

/// `NX` or `XX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// `NX`
    New,
    /// `XX`
    Existing,
}

/// `GT` or `LT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `GT`
    Greater,
    /// `LT`
    Less,
}

/// What `ZRANGE`'s start and stop are.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum RangeBy {
    /// Ranks, counting from the end when negative.
    Rank { start: i64, stop: i64 },
    /// Scores, lowest first, with `LIMIT offset count`.
    Score { min: Bound<f64>, max: Bound<f64>, offset: i64, count: i64 },
}

/// Parses a score: a float, or `inf`, `+inf`, `-inf`; never NaN.
pub(crate) fn score(arg: &[u8]) -> Result<f64> {
    let text = std::str::from_utf8(arg).map_err(|_| Error::NotAFloat)?;
    let value: f64 = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        t if t.contains("inf") || t.contains("nan") || t.trim() != t => {
            return Err(Error::NotAFloat);
        }
        t => t.parse().map_err(|_| Error::NotAFloat)?,
    };
    if value.is_nan() { Err(Error::NotAFloat) } else { Ok(value) }
}

/// A `ZRANGE … BYSCORE` bound: a score, `(score` for exclusive, `±inf`.
fn bound(arg: &[u8]) -> Result<Bound<f64>> {
    let not_a_float = || Error::Other("min or max is not a float");
    Ok(match arg.strip_prefix(b"(") {
        Some(rest) => Bound::Excluded(score(rest).map_err(|_| not_a_float())?),
        None => Bound::Included(score(arg).map_err(|_| not_a_float())?),
    })
}

/// Parses a sorted-set command; the arity is checked.
pub(crate) fn parse(name: &str, args: Vec<Vec<u8>>) -> Result<SortedSetCommand> {
    let mut args = args.into_iter();
    let key = args.next().expect("arity checked");
    let mut rest: Vec<Vec<u8>> = args.collect();
    Ok(match name {
        "ZADD" => zadd(key, rest)?,
        "ZREM" => SortedSetCommand::Rem { key, members: rest },
        "ZSCORE" => SortedSetCommand::Score { key, member: rest.remove(0) },
        "ZINCRBY" => {
            let delta = score(&rest[0])?;
            SortedSetCommand::IncrBy { key, delta, member: rest.remove(1) }
        }
        "ZCARD" => SortedSetCommand::Card { key },
        "ZRANK" => SortedSetCommand::Rank { key, member: rest.remove(0) },
        "ZRANGE" => zrange(key, rest)?,
        // The older forms, which clients still send (redis-py's
        // `zrange(desc=True)` and `zrangebyscore`): ZRANGE with an option.
        "ZREVRANGE" => zrange(key, [rest, vec![b"REV".to_vec()]].concat())?,
        "ZRANGEBYSCORE" => zrange(key, [rest, vec![b"BYSCORE".to_vec()]].concat())?,
        "ZREVRANGEBYSCORE" => {
            zrange(key, [rest, vec![b"BYSCORE".to_vec(), b"REV".to_vec()]].concat())?
        }
        _ => SortedSetCommand::PopMin {
            key,
            count: rest.first().map(|c| positive_count(c)).transpose()?,
        },
    })
}

/// `ZADD`'s options, then its score-member pairs.
fn zadd(key: Vec<u8>, args: Vec<Vec<u8>>) -> Result<SortedSetCommand> {
    let mut options = AddOptions::default();
    let mut at = 0;
    while let Some(arg) = args.get(at) {
        match arg.to_ascii_uppercase().as_slice() {
            b"NX" => options.only = Some(Only::New),
            b"XX" => options.only = Some(Only::Existing),
            b"GT" => options.compare = Some(Compare::Greater),
            b"LT" => options.compare = Some(Compare::Less),
            b"CH" => options.changed = true,
            b"INCR" => options.incr = true,
            _ => break,
        }
        at += 1;
    }
    let rest = &args[at..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(Error::Syntax);
    }
    // Redis checks these in this order, after the options are read. (Both
    // NX and XX given: the later wins above, but that is an error anyway.)
    let has = |word: &[u8]| args[..at].iter().any(|a| a.eq_ignore_ascii_case(word));
    if has(b"NX") && has(b"XX") {
        return Err(Error::Other("XX and NX options at the same time are not compatible"));
    }
    if (has(b"GT") && has(b"LT")) || (has(b"NX") && (has(b"GT") || has(b"LT"))) {
        return Err(Error::Other("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if options.incr && rest.len() > 2 {
        return Err(Error::Other("INCR option supports a single increment-element pair"));
    }
    let pairs = rest
        .chunks(2)
        .map(|pair| Ok((score(&pair[0])?, pair[1].clone())))
        .collect::<Result<Vec<_>>>()?;
    Ok(SortedSetCommand::Add { key, options, pairs })
}

/// `ZRANGE`'s start and stop, then its options.
fn zrange(key: Vec<u8>, args: Vec<Vec<u8>>) -> Result<SortedSetCommand> {
    let (mut by_score, mut reverse, mut with_scores, mut limit) = (false, false, false, None);
    let mut at = 2;
    while let Some(arg) = args.get(at) {
        match arg.to_ascii_uppercase().as_slice() {
            b"BYSCORE" => by_score = true,
            b"REV" => reverse = true,
            b"WITHSCORES" => with_scores = true,
            b"LIMIT" if at + 2 < args.len() => {
                limit = Some((int(&args[at + 1])?, int(&args[at + 2])?));
                at += 2;
            }
            _ => return Err(Error::Syntax),
        }
        at += 1;
    }
    let by = if by_score {
        // With REV, the first bound is the greater one.
        let (min, max) = if reverse { (&args[1], &args[0]) } else { (&args[0], &args[1]) };
        let (offset, count) = limit.unwrap_or((0, -1));
        RangeBy::Score { min: bound(min)?, max: bound(max)?, offset, count }
    } else if limit.is_some() {
        return Err(Error::Other(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    } else {
        RangeBy::Rank { start: int(&args[0])?, stop: int(&args[1])? }
    };
    Ok(SortedSetCommand::Range { key, by, reverse, with_scores })
}

/// Picks a sorted set out of a collection.
fn as_zset(c: &mut Collection) -> Option<&mut SortedSet> {
    match c {
        Collection::SortedSet(zset) => Some(zset),
        _ => None,
    }
}

impl<C: Clock> Store<C> {
    /// The sorted set at `key`: `None` if missing, `WRONGTYPE` if not one.
    fn zset(&mut self, key: &[u8]) -> Result<Option<&mut SortedSet>> {
        self.typed_mut(key, as_zset)
    }

    // ANCHOR: zadd
    /// `ZADD`: sets the scores the options allow. Returns how many members
    /// were added (or changed, with `CH`), and with `INCR` the member's new
    /// score (`None` if the options refused it).
    pub fn zadd(
        &mut self,
        key: &[u8],
        options: AddOptions,
        pairs: Vec<(f64, Vec<u8>)>,
    ) -> Result<(usize, Option<f64>)> {
        if options.only == Some(Only::Existing) && self.zset(key)?.is_none() {
            return Ok((0, None)); // XX on a missing key: nothing to update
        }
        let zset = self.typed_or_new(key, Kind::SortedSet, as_zset)?;
        let (mut added, mut changed, mut last) = (0, 0, None);
        let mut done = Vec::new();
        for (score, member) in pairs {
            let old = zset.score(&member);
            let new = match (old, options.incr) {
                (Some(old), true) => old + score,
                _ => score,
            };
            if new.is_nan() {
                // `+inf` plus `-inf`: checked before anything is stored.
                return Err(Error::NaNResult);
            }
            let allowed = match (old, options.only, options.compare) {
                (Some(_), Some(Only::New), _) | (None, Some(Only::Existing), _) => false,
                (Some(old), _, Some(Compare::Greater)) => new > old,
                (Some(old), _, Some(Compare::Less)) => new < old,
                _ => true,
            };
            if !allowed {
                continue;
            }
            last = Some(new);
            match old {
                None => added += 1,
                Some(old) if old != new => changed += 1,
                Some(_) => continue, // the same score: nothing changes
            }
            zset.insert(&member, new);
            done.push((new, member));
        }
        if !done.is_empty() {
            self.record(|_| Change::SortedPut { key: key.to_vec(), pairs: done });
        }
        self.drop_if_empty(key);
        Ok((if options.changed { added + changed } else { added }, last))
    }
    // ANCHOR_END: zadd

    /// `ZREM`: removes the members; returns how many were there.
    pub fn zrem(&mut self, key: &[u8], members: Vec<Vec<u8>>) -> Result<usize> {
        let Some(zset) = self.zset(key)? else { return Ok(0) };
        let removed: Vec<Vec<u8>> = members.into_iter().filter(|m| zset.remove(m)).collect();
        let count = removed.len();
        if count > 0 {
            self.record(|_| Change::SortedRemove { key: key.to_vec(), members: removed });
        }
        self.drop_if_empty(key);
        Ok(count)
    }

    /// `ZSCORE key member`.
    pub fn zscore(&mut self, key: &[u8], member: &[u8]) -> Result<Option<f64>> {
        Ok(self.zset(key)?.and_then(|zset| zset.score(member)))
    }

    /// `ZCARD key`.
    pub fn zcard(&mut self, key: &[u8]) -> Result<usize> {
        Ok(self.zset(key)?.map_or(0, |zset| zset.len()))
    }

    /// `ZRANK key member`: its rank from 0, lowest score first.
    pub fn zrank(&mut self, key: &[u8], member: &[u8]) -> Result<Option<usize>> {
        Ok(self.zset(key)?.and_then(|zset| zset.rank(member, false)))
    }

    /// `ZRANGE`: the members in the range, with their scores.
    pub fn zrange(
        &mut self,
        key: &[u8],
        by: &RangeBy,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, f64)>> {
        let Some(zset) = self.zset(key)? else { return Ok(Vec::new()) };
        let found = match *by {
            RangeBy::Rank { start, stop } => zset.range_by_rank(start, stop, reverse),
            RangeBy::Score { min, max, offset, count } => {
                if offset < 0 {
                    return Ok(Vec::new()); // as Redis: a negative offset is an empty range
                }
                let count = usize::try_from(count).unwrap_or(usize::MAX);
                zset.range_by_score(min, max, reverse, offset as usize, count)
            }
        };
        Ok(found.into_iter().map(|(m, s)| (m.to_vec(), s)).collect())
    }

    /// `ZPOPMIN`: removes and returns the `count` lowest members.
    pub fn zpopmin(&mut self, key: &[u8], count: usize) -> Result<Vec<(Vec<u8>, f64)>> {
        let Some(zset) = self.zset(key)? else { return Ok(Vec::new()) };
        let popped = zset.pop_min(count);
        if !popped.is_empty() {
            let members = popped.iter().map(|(m, _)| m.clone()).collect();
            self.record(|_| Change::SortedRemove { key: key.to_vec(), members });
        }
        self.drop_if_empty(key);
        Ok(popped)
    }
}

/// Members with their scores: pairs, which RESP2 sends flat.
fn scored(members: Vec<(Vec<u8>, f64)>) -> Reply {
    Reply::Pairs(members.into_iter().map(|(m, s)| (Reply::Bulk(m), Reply::Double(s))).collect())
}

/// Runs a sorted-set command.
pub(crate) fn execute<C: Clock>(store: &mut Store<C>, command: SortedSetCommand) -> Result<Reply> {
    Ok(match command {
        SortedSetCommand::Add { key, options, pairs } => {
            let (count, score) = store.zadd(&key, options, pairs)?;
            match options.incr {
                true => score.map_or(Reply::Nil, Reply::Double),
                false => Reply::Integer(count as i64),
            }
        }
        SortedSetCommand::Rem { key, members } => Reply::Integer(store.zrem(&key, members)? as i64),
        SortedSetCommand::Score { key, member } => {
            store.zscore(&key, &member)?.map_or(Reply::Nil, Reply::Double)
        }
        SortedSetCommand::IncrBy { key, delta, member } => {
            let options = AddOptions { incr: true, ..AddOptions::default() };
            let (_, score) = store.zadd(&key, options, vec![(delta, member)])?;
            Reply::Double(score.expect("ZINCRBY has no options that refuse"))
        }
        SortedSetCommand::Card { key } => Reply::Integer(store.zcard(&key)? as i64),
        SortedSetCommand::Rank { key, member } => {
            store.zrank(&key, &member)?.map_or(Reply::Nil, |r| Reply::Integer(r as i64))
        }
        SortedSetCommand::Range { key, by, reverse, with_scores } => {
            let found = store.zrange(&key, &by, reverse)?;
            match with_scores {
                true => scored(found),
                false => Reply::Array(found.into_iter().map(|(m, _)| Reply::Bulk(m)).collect()),
            }
        }
        // Redis answers ZPOPMIN flat (member, score, member, score) with or
        // without a count, in RESP2; RESP3 pairs only with a count.
        SortedSetCommand::PopMin { key, count } => {
            let popped = store.zpopmin(&key, count.unwrap_or(1))?;
            match count {
                Some(_) => scored(popped),
                None => Reply::Array(
                    popped
                        .into_iter()
                        .flat_map(|(m, s)| [Reply::Bulk(m), Reply::Double(s)])
                        .collect(),
                ),
            }
        }
    })
}
