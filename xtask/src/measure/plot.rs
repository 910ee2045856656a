//! SVG plots for the book, drawn with plotters' SVG backend (pure Rust, no
//! system libraries; the text is left to the browser's fonts).

use plotters::prelude::*;

/// The plot's size in pixels; the book scales it to the page's width.
const SIZE: (u32, u32) = (720, 420);

/// Series colours, distinguishable in print and for common colour blindness
/// (Okabe and Ito's palette).
const COLOURS: [RGBColor; 5] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
];

/// One named series of a line plot: (x, y) points, in x order.
pub struct Series {
    /// The legend's text.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
}

/// A line plot on log–log axes: how a cost grows with size.
pub fn log_log_lines(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    y_format: fn(f64) -> String,
) -> Result<String, String> {
    let all = series.iter().flat_map(|s| s.points.iter().copied());
    let (x_range, y_range) = bounds(all)?;
    lines(title, x_desc, y_desc, series, y_format, x_range, y_range.log_scale())
}

/// A line plot of shares (0 to 1) against a size on a log axis: how a hit
/// ratio grows with the cache.
pub fn share_lines(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<String, String> {
    let all = series.iter().flat_map(|s| s.points.iter().copied());
    let (x_range, _) = bounds(all)?;
    lines(title, x_desc, y_desc, series, super::format::percent, x_range, 0.0..1.0)
}

fn lines<Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>>(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    y_format: fn(f64) -> String,
    x_range: std::ops::Range<f64>,
    y_range: Y,
) -> Result<String, String>
where
    Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let mut chart =
            canvas(&root, title)?.build_cartesian_2d(x_range.log_scale(), y_range).map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|x| super::format::plain(*x))
            .y_label_formatter(&|y| y_format(*y))
            .draw()
            .map_err(err)?;
        for (s, colour) in series.iter().zip(COLOURS.iter().cycle()) {
            let style = colour.stroke_width(2);
            chart
                .draw_series(LineSeries::new(s.points.clone(), style))
                .map_err(err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                .map_err(err)?;
        }
        legend(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Grouped bars on a log scale: several contenders per case, each case a
/// group, so that orders of magnitude stay visible side by side.
pub fn log_bars(
    title: &str,
    y_desc: &str,
    cases: &[String],
    series: &[(String, Vec<f64>)],
    y_format: fn(f64) -> String,
) -> Result<String, String> {
    let values = series.iter().flat_map(|(_, v)| v.iter().map(|&y| (1.0, y)));
    let (_, y_range) = bounds(values)?;
    // A decade of headroom above the tallest bar, for the legend.
    let y_range = y_range.start..y_range.end * 10.0;
    let groups = cases.len() as f64;
    let width = 0.8 / series.len() as f64;
    let labels: Vec<String> = cases.to_vec();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let mut chart = canvas(&root, title)?
            .build_cartesian_2d(0.0..groups, y_range.clone().log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(cases.len() * 2 + 1)
            .x_label_formatter(&|x| {
                // Label only the middle of each group.
                let i = x.floor();
                if (x - i - 0.5).abs() < 1e-6 && (i as usize) < labels.len() {
                    labels[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .y_desc(y_desc)
            .y_label_formatter(&|y| y_format(*y))
            .draw()
            .map_err(err)?;
        let floor = y_range.start;
        for (k, ((name, values), colour)) in series.iter().zip(COLOURS.iter().cycle()).enumerate() {
            let style = colour.filled();
            let bars = values.iter().enumerate().map(|(i, &y)| {
                let left = i as f64 + 0.1 + k as f64 * width;
                Rectangle::new([(left, floor), (left + width, y)], style)
            });
            chart
                .draw_series(bars)
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], style));
        }
        legend(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// What every plot starts from: a white page with the title, and room for
/// the axes' labels.
fn canvas<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
) -> Result<ChartBuilder<'a, 'b, SVGBackend<'b>>, String> {
    root.fill(&WHITE).map_err(err)?;
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(80);
    Ok(builder)
}

fn legend<'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)
}

/// The ranges that hold every point, widened to whole powers of ten so a
/// log axis has labelled ends.
fn bounds(
    points: impl Iterator<Item = (f64, f64)>,
) -> Result<(std::ops::Range<f64>, std::ops::Range<f64>), String> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        if !(x > 0.0 && y > 0.0 && x.is_finite() && y.is_finite()) {
            return Err(format!("a log plot needs positive values, not ({x}, {y})"));
        }
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return Err("nothing to plot".into());
    }
    let down = |v: f64| 10f64.powf(v.log10().floor());
    let up = |v: f64| 10f64.powf(v.log10().ceil());
    let y1 = if up(y1) == down(y0) { up(y1) * 10.0 } else { up(y1) };
    Ok((x0 / 1.5..x1 * 1.5, down(y0)..y1))
}

fn err(e: impl std::fmt::Display) -> String {
    format!("plotting failed: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_plot_is_an_svg_with_every_series_named() {
        let series = [
            Series { name: "linear scan".into(), points: vec![(10.0, 20.0), (1e5, 3.6e5)] },
            Series { name: "HashMap".into(), points: vec![(10.0, 24.0), (1e5, 26.0)] },
        ];
        let svg =
            log_log_lines("lookup", "n", "time", &series, super::super::format::time).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("linear scan") && svg.contains("HashMap"));
        assert!(svg.contains("<polyline") || svg.contains("<path"), "no line drawn");
        // The same data draws the same bytes: the drift check depends on it.
        let again =
            log_log_lines("lookup", "n", "time", &series, super::super::format::time).unwrap();
        assert_eq!(svg, again);
    }

    #[test]
    fn a_log_plot_refuses_values_it_cannot_place() {
        let series = [Series { name: "x".into(), points: vec![(10.0, 0.0)] }];
        assert!(log_log_lines("t", "x", "y", &series, super::super::format::time).is_err());
    }

    #[test]
    fn bars_show_each_case_and_contender() {
        let cases = vec!["get".to_string(), "scan".to_string()];
        let series =
            vec![("ours".to_string(), vec![200.0, 5e5]), ("redb".to_string(), vec![240.0, 4e5])];
        let svg = log_bars("B+tree", "time", &cases, &series, super::super::format::time).unwrap();
        assert!(svg.contains("get") && svg.contains("scan"), "case labels are drawn");
        assert!(svg.contains("ours") && svg.contains("redb"));
        // A background, a legend box and its two swatches, and the four bars.
        assert!(svg.matches("<rect").count() >= 8, "{svg}");
    }
}
