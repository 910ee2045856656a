//! Bitcask: a hash index over an on-disk log (being written).
