//! Redis's index arithmetic, shared by `LRANGE`, `ZRANGE` and friends.
//!
//! Commands that take a range of positions take them as `start stop`, both
//! included, where a negative index counts from the end: `-1` is the last
//! element, `-2` the one before. A range that runs past either end is cut
//! to the collection, and one that is empty after cutting is empty, never
//! an error. `LRANGE list 0 -1` is therefore "all of it", whatever its length.
//!
//! ```text
//!   elements   a   b   c   d   e
//!   index      0   1   2   3   4
//!   negative  -5  -4  -3  -2  -1
//!
//!   LRANGE 1 -2    → b c d
//!   LRANGE -100 1  → a b        (start cut to 0)
//!   LRANGE 3 100   → d e        (stop cut to 4)
//!   LRANGE 4 1     → (empty)
//! ```

// ANCHOR: rank_range
/// The positions `start..=stop` of a collection of `len` elements, after
/// Redis's normalisation; `None` if that leaves nothing.
pub fn rank_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    // exercise 2.8: begin
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop.min(len - 1) };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop as usize))
    // exercise 2.8: end
}
// ANCHOR_END: rank_range

/// The position of `index` in a collection of `len` elements (`LINDEX`),
/// counting from the end when negative; `None` if out of range.
pub fn position(index: i64, len: usize) -> Option<usize> {
    let at = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&at).then_some(at as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_book_examples() {
        assert_eq!(rank_range(1, -2, 5), Some((1, 3)));
        assert_eq!(rank_range(-100, 1, 5), Some((0, 1)));
        assert_eq!(rank_range(3, 100, 5), Some((3, 4)));
        assert_eq!(rank_range(4, 1, 5), None);
        assert_eq!(rank_range(0, -1, 5), Some((0, 4)));
    }

    #[test]
    fn edges() {
        assert_eq!(rank_range(0, -1, 0), None, "nothing in an empty collection");
        assert_eq!(rank_range(5, 10, 5), None, "start past the end");
        assert_eq!(rank_range(-1, -1, 5), Some((4, 4)));
        assert_eq!(rank_range(0, -6, 5), None, "stop before the start");
        assert_eq!(rank_range(-6, -5, 5), Some((0, 0)));
        assert_eq!(rank_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
    }

    #[test]
    fn agrees_with_a_slow_model() {
        // The model: the list of positions, filtered one by one.
        for len in 0..6usize {
            for start in -8..8i64 {
                for stop in -8..8i64 {
                    let norm = |i: i64| if i < 0 { len as i64 + i } else { i };
                    let want: Vec<usize> = (0..len)
                        .filter(|&p| norm(start) <= p as i64 && p as i64 <= norm(stop))
                        .collect();
                    let got: Vec<usize> = rank_range(start, stop, len)
                        .map(|(a, b)| (a..=b).collect())
                        .unwrap_or_default();
                    assert_eq!(got, want, "len {len}, {start}..={stop}");
                }
            }
        }
    }

    #[test]
    fn positions_count_from_either_end() {
        assert_eq!(position(0, 3), Some(0));
        assert_eq!(position(-1, 3), Some(2));
        assert_eq!(position(-3, 3), Some(0));
        assert_eq!(position(-4, 3), None);
        assert_eq!(position(3, 3), None);
        assert_eq!(position(i64::MIN, 3), None);
    }
}
