//! Typed values: what a key holds.
//!
//! Redis is a *data structure* server: a key holds a string, or a list, a
//! hash, a set or a sorted set, and each command works on one of those
//! types. A command on a key of another type changes nothing and answers
//! `WRONGTYPE`; a collection emptied by a command is deleted with its key,
//! so no key ever holds an empty list (which is why `LPUSH` on a missing key
//! needs no "create" step of its own, and `EXISTS` never sees a husk).
//!
//! ```text
//!   Value::String(Box<[u8]>)                 16 bytes, inline in the entry
//!   Value::Collection(Box<Collection>) ──►   List(VecDeque<Vec<u8>>)
//!                                            Hash(IndexMap<field, value>)
//!                                            Set(IndexSet<member>)
//!                                            SortedSet(skip list + map)
//! ```
//!
//! Why the extra box around a collection: most keys are strings, and every
//! byte of a value is paid by every key. A `Box<[u8]>` is a pointer and a
//! length; the pointer is never null, and Rust keeps the `Collection`
//! variant in that niche (a null pointer, then the box in the length's
//! place). So `Value` is 16 bytes, the size of the boxed string alone, and
//! lesson 2's entries stay 24 bytes.
//!
//! Why `IndexMap` and `IndexSet` for hashes and sets: they iterate in
//! insertion order, whatever the hasher's seed, so `HGETALL` and `SMEMBERS`
//! answer the same on every run (a transcript can show them), and they can
//! pick an element by position in O(1), which `SPOP` needs to pick a random
//! member. Redis's small hashes also answer in insertion order.

use std::collections::VecDeque;

use indexmap::{IndexMap, IndexSet};

use crate::zset::SortedSet;

/// The hasher of hashes and sets: the same fast one as the keyspace's.
pub type Hasher = hashbrown::DefaultHashBuilder;
/// A hash's fields and their values, in insertion order.
pub type Hash = IndexMap<Vec<u8>, Vec<u8>, Hasher>;
/// A set's members, in insertion order.
pub type Set = IndexSet<Vec<u8>, Hasher>;
/// A list's elements, head first.
pub type List = VecDeque<Vec<u8>>;

// ANCHOR: value
/// What a key holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Bytes: a string, or an integer written in decimal.
    String(Box<[u8]>),
    /// A list, hash, set or sorted set; never empty.
    Collection(Box<Collection>),
}

/// The four collection types.
#[derive(Debug, Clone, PartialEq)]
pub enum Collection {
    /// Elements in order; pushes and pops at both ends.
    List(List),
    /// Fields with values.
    Hash(Hash),
    /// Members, each once.
    Set(Set),
    /// Members with scores, ordered by score.
    SortedSet(SortedSet),
}
// ANCHOR_END: value

/// The type of a value, as `TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `string`
    String,
    /// `list`
    List,
    /// `hash`
    Hash,
    /// `set`
    Set,
    /// `zset`
    SortedSet,
}

impl Kind {
    /// The name `TYPE` answers.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::List => "list",
            Kind::Hash => "hash",
            Kind::Set => "set",
            Kind::SortedSet => "zset",
        }
    }
}

impl Value {
    /// A string value.
    pub fn string(bytes: Vec<u8>) -> Self {
        Value::String(bytes.into_boxed_slice())
    }

    /// Its type.
    pub fn kind(&self) -> Kind {
        match self {
            Value::String(_) => Kind::String,
            Value::Collection(c) => c.kind(),
        }
    }

    /// The bytes, if it is a string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String(bytes) => Some(bytes),
            Value::Collection(_) => None,
        }
    }
}

impl Collection {
    /// An empty collection of `kind` (not a string). A new sorted set's
    /// skip list draws its levels from `seed`.
    pub fn empty(kind: Kind, seed: u64) -> Self {
        match kind {
            Kind::List => Collection::List(List::new()),
            Kind::Hash => Collection::Hash(Hash::default()),
            Kind::Set => Collection::Set(Set::default()),
            Kind::SortedSet => Collection::SortedSet(SortedSet::new(seed)),
            Kind::String => unreachable!("a string is not a collection"),
        }
    }

    /// Its type.
    pub fn kind(&self) -> Kind {
        match self {
            Collection::List(_) => Kind::List,
            Collection::Hash(_) => Kind::Hash,
            Collection::Set(_) => Kind::Set,
            Collection::SortedSet(_) => Kind::SortedSet,
        }
    }

    /// How many elements, fields or members it has.
    pub fn len(&self) -> usize {
        match self {
            Collection::List(l) => l.len(),
            Collection::Hash(h) => h.len(),
            Collection::Set(s) => s.len(),
            Collection::SortedSet(z) => z.len(),
        }
    }

    /// Whether it has none (and its key must go).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_as_small_as_a_boxed_string() {
        // The niche that keeps every entry small: see the module docs.
        assert_eq!(std::mem::size_of::<Value>(), std::mem::size_of::<Box<[u8]>>());
    }

    #[test]
    fn kinds_are_named_as_type_names_them() {
        let names: Vec<_> = [Kind::String, Kind::List, Kind::Hash, Kind::Set, Kind::SortedSet]
            .map(Kind::name)
            .to_vec();
        assert_eq!(names, ["string", "list", "hash", "set", "zset"]);
        assert_eq!(Collection::empty(Kind::Set, 1).kind(), Kind::Set);
        assert!(Collection::empty(Kind::SortedSet, 1).is_empty());
    }
}
