//! How numbers are written in the book: three significant figures, the
//! unit that keeps them readable, and Markdown tables.

/// A duration in nanoseconds, in the largest unit that keeps it at 1 or more:
/// `20.1 ns`, `359 µs`, `1.09 ms`.
pub fn time(ns: f64) -> String {
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", significant(value))
}

/// A duration for a plot's axis, without trailing zeros: `1 ms`, `2.5 µs`.
pub fn time_axis(ns: f64) -> String {
    let text = time(ns);
    let (number, unit) = text.split_once(' ').unwrap_or((&text, ""));
    let number = if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    };
    format!("{number} {unit}")
}

/// Three significant figures, without an exponent: `1.09`, `20.1`, `359`, `1,234`.
pub fn significant(value: f64) -> String {
    let decimals = if value >= 100.0 || value == 0.0 {
        0
    } else if value >= 10.0 {
        1
    } else if value >= 1.0 {
        2
    } else {
        // 0.0039: three figures after the leading zeros.
        (2 - value.log10().floor() as i32).max(0) as usize
    };
    if decimals == 0 { count(value) } else { format!("{value:.decimals$}") }
}

/// A plain number for an axis: `0.5`, `10`, `1,000`.
pub fn plain(value: f64) -> String {
    if value >= 1.0 {
        count(value)
    } else {
        let text = significant(value);
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A ratio: `0.0039×`, `0.86×`, `1.04×`, `2.1×`, `34×`, `14,000×` (two
/// significant figures, a benchmark's run-to-run spread making a third
/// meaningless; but two decimals near 1, where ties and small losses are
/// told apart).
pub fn ratio(r: f64) -> String {
    let text = if (0.8..1.25).contains(&r) {
        format!("{r:.2}")
    } else if r >= 100.0 {
        let magnitude = 10f64.powi(r.log10().floor() as i32 - 1);
        count((r / magnitude).round() * magnitude)
    } else if r >= 10.0 {
        format!("{r:.0}")
    } else if r >= 1.0 {
        format!("{r:.1}")
    } else if r > 0.0 {
        // Two significant figures: 0.86, 0.0039.
        let decimals = (1 - r.log10().floor() as i32).max(2) as usize;
        format!("{r:.decimals$}")
    } else {
        format!("{r}")
    };
    format!("{text}×")
}

/// A whole number with thousands separators: `82,800`.
pub fn count(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 && digits != "0" { format!("-{out}") } else { out }
}

/// A rate per second, to three significant figures: `5,510/s`.
pub fn rate(per_second: f64) -> String {
    let magnitude = 10f64.powi((per_second.log10().floor() as i32 - 2).max(0));
    format!("{}/s", count((per_second / magnitude).round() * magnitude))
}

/// Bytes per second: `262 MiB/s`, `2.4 GiB/s`.
pub fn bandwidth(bytes_per_second: f64) -> String {
    let mib = bytes_per_second / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{} GiB/s", significant(mib / 1024.0))
    } else {
        format!("{} MiB/s", significant(mib))
    }
}

/// Two durations as a range, the unit once if they share it: `33.3–38.2 ns`.
pub fn time_range(lo: f64, hi: f64) -> String {
    let (a, b) = (time(lo), time(hi));
    match (a.split_once(' '), b.split_once(' ')) {
        (Some((x, u)), Some((y, v))) if u == v => format!("{x}–{y} {u}"),
        _ => format!("{a}–{b}"),
    }
}

/// Two ratios as a range, the sign once: `0.98–1.15×`.
pub fn ratio_range(lo: f64, hi: f64) -> String {
    let (a, b) = (ratio(lo), ratio(hi));
    if a == b { a } else { format!("{}–{b}", a.trim_end_matches('×')) }
}

/// Two shares as a range of percentages: `13–14%`.
pub fn percent_range(lo: f64, hi: f64) -> String {
    let (a, b) = (percent(lo), percent(hi));
    if a == b { a } else { format!("{}–{b}", a.trim_end_matches('%')) }
}

/// A share as a percentage: `11%`, `0.45%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 10.0 { format!("{p:.0}%") } else { format!("{}%", significant(p)) }
}

/// Column alignment in a Markdown table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A Markdown table built row by row.
pub struct Table {
    header: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first column is text and the rest numbers.
    pub fn new(columns: &[&str]) -> Table {
        let header = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), if i == 0 { Align::Left } else { Align::Right }))
            .collect();
        Table { header, rows: Vec::new() }
    }

    /// Sets the alignment of column `i`.
    pub fn align(mut self, i: usize, align: Align) -> Table {
        self.header[i].1 = align;
        self
    }

    /// Adds a row; it must have one cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.header.len(), "a row with the wrong number of cells");
        self.rows.push(cells);
    }

    /// The table in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<&str>| format!("| {} |\n", cells.join(" | "));
        out += &line(self.header.iter().map(|(h, _)| h.as_str()).collect());
        out += &line(
            self.header
                .iter()
                .map(|(_, a)| if *a == Align::Right { "---:" } else { "---" })
                .collect(),
        );
        for row in &self.rows {
            out += &line(row.iter().map(String::as_str).collect());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_with_three_figures_and_a_readable_unit() {
        assert_eq!(time(20.14), "20.1 ns");
        assert_eq!(time(788.4), "788 ns");
        assert_eq!(time(359_123.0), "359 µs");
        assert_eq!(time(1_090.0), "1.09 µs");
        assert_eq!(time(3.96e6), "3.96 ms");
        assert_eq!(time(2.5e9), "2.50 s");
        assert_eq!(ratio(0.857), "0.86×");
        assert_eq!(ratio(2.14), "2.1×");
        assert_eq!(ratio(1.04), "1.04×");
        assert_eq!(ratio(0.957), "0.96×");
        assert_eq!(time_range(33.3, 38.2), "33.3–38.2 ns");
        assert_eq!(time_range(900.0, 1_200.0), "900 ns–1.20 µs");
        assert_eq!(percent_range(0.131, 0.14), "13–14%");
        assert_eq!(ratio_range(0.98, 1.151), "0.98–1.15×");
        assert_eq!(ratio(34.2), "34×");
        assert_eq!(ratio(13_812.0), "14,000×");
        assert_eq!(ratio(0.00389), "0.0039×");
        assert_eq!(count(82_812.4), "82,812");
        assert_eq!(count(999.0), "999");
        assert_eq!(rate(5_512.0), "5,510/s");
        assert_eq!(rate(82_812.0), "82,800/s");
        assert_eq!(bandwidth(262.0 * 1024.0 * 1024.0), "262 MiB/s");
        assert_eq!(bandwidth(2.4 * 1024.0 * 1024.0 * 1024.0), "2.40 GiB/s");
        assert_eq!(percent(0.1104), "11%");
        assert_eq!(percent(0.0045), "0.450%");
        assert_eq!(significant(0.0039), "0.00390");
        assert_eq!(plain(0.5), "0.5");
        assert_eq!(time_axis(1e6), "1 ms");
        assert_eq!(time_axis(2.5e3), "2.5 µs");
        assert_eq!(time_axis(100.0), "100 ns");
        assert_eq!(plain(1_000.0), "1,000");
    }

    #[test]
    fn tables_are_markdown_with_numbers_aligned_right() {
        let mut t = Table::new(&["n", "time"]);
        t.row(vec!["10".into(), "20 ns".into()]);
        assert_eq!(t.markdown(), "| n | time |\n| --- | ---: |\n| 10 | 20 ns |\n");
    }
}
