//! Access patterns to measure caches on, from a seed: Zipfian reads (a
//! few pages are read most of the time, as in real workloads), and
//! sequential scans (every page once, as a `SELECT` without an index
//! does).

use lesson05_replication::rng::Rng;

use crate::cache::PageId;

// ANCHOR: zipf
/// Draws page numbers from `0..pages` with Zipf's law: the page of rank
/// `k` is drawn with probability proportional to `1 / k^s`. Ranks are
/// shuffled over page numbers, so hot pages are not neighbours.
#[derive(Debug, Clone)]
pub struct Zipf {
    /// `cdf[k]`: the probability of a rank at most `k`.
    cdf: Vec<f64>,
    /// The page number of each rank.
    pages: Vec<PageId>,
}

impl Zipf {
    /// The law over `pages` pages with exponent `s` (0.99 is typical of
    /// web and database traces), ranks shuffled over page numbers.
    pub fn new(pages: usize, s: f64, rng: &mut Rng) -> Self {
        let mut order: Vec<PageId> = (0..pages as PageId).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        Self::with_order(s, order)
    }

    /// The same law, but rank `k` is item `k`: the popular items are
    /// neighbours, as the newest rows of a table often are. Stored in key
    /// order, they share pages, and the pages are as skewed as the rows.
    pub fn ranked(items: usize, s: f64) -> Self {
        Self::with_order(s, (0..items as PageId).collect())
    }

    /// The law over `pages.len()` ranks, rank `k` drawing `pages[k]`.
    fn with_order(s: f64, pages: Vec<PageId>) -> Self {
        let weights: Vec<f64> = (1..=pages.len()).map(|k| 1.0 / (k as f64).powf(s)).collect();
        let total: f64 = weights.iter().sum();
        let mut sum = 0.0;
        let cdf = weights
            .iter()
            .map(|w| {
                sum += w / total;
                sum
            })
            .collect();
        Self { cdf, pages }
    }

    /// One draw: a uniform number in `[0, 1)`, then the first rank whose
    /// cumulative probability reaches it.
    pub fn sample(&self, rng: &mut Rng) -> PageId {
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let rank = self.cdf.partition_point(|&c| c < u).min(self.pages.len() - 1);
        self.pages[rank]
    }
}
// ANCHOR_END: zipf

/// `len` Zipfian reads over `pages` pages with exponent `s`, from `seed`.
pub fn zipfian(pages: usize, s: f64, len: usize, seed: u64) -> Vec<PageId> {
    let mut rng = Rng::new(seed);
    let zipf = Zipf::new(pages, s, &mut rng);
    (0..len).map(|_| zipf.sample(&mut rng)).collect()
}

/// `len` reads of items `0..items`, item `k` of popularity rank `k`.
pub fn zipfian_ranked(items: usize, s: f64, len: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng::new(seed);
    let zipf = Zipf::ranked(items, s);
    (0..len).map(|_| zipf.sample(&mut rng)).collect()
}

/// Every page once, in order: a sequential scan.
pub fn scan(pages: usize) -> Vec<PageId> {
    (0..pages as PageId).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_makes_a_few_pages_hot() {
        let trace = zipfian(10_000, 0.99, 100_000, 1);
        let mut counts = vec![0u32; 10_000];
        for &page in &trace {
            counts[page as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top_1_percent: u32 = counts[..100].iter().sum();
        // With s = 0.99 over 10,000 pages, the top 1% take about half.
        let share = f64::from(top_1_percent) / trace.len() as f64;
        assert!((0.4..0.6).contains(&share), "{share}");
        assert_eq!(zipfian(10_000, 0.99, 100, 1), zipfian(10_000, 0.99, 100, 1));
        assert_ne!(zipfian(10_000, 0.99, 100, 1), zipfian(10_000, 0.99, 100, 2));
    }
}
