//! The chart kinds the pages use, built on the toolkit in [`super::svg`]:
//! curves through labelled points, stacked histograms, a request timeline and
//! grouped bars. Each returns the `<svg>` element plus a note for below it.

use super::axis::Axis;
use super::data::{index_of, sample_indices, Histogram};
use super::marks;
use super::page::{count, num, short};
use super::svg::{self, color, Frame, LegendItem, Mark};
use super::RequestPoint;

/// Canvas of a half-width chart.
const W: f64 = 640.0;
/// Height of every chart.
const H: f64 = 380.0;
/// Canvas of a full-width chart.
const WIDE: f64 = 1280.0;
/// The most requests the timeline draws.
pub(crate) const TIMELINE_MAX: usize = 5_000;

/// One labelled point of a curve.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CurvePoint {
    /// Horizontal value.
    pub(crate) x: f64,
    /// Vertical value.
    pub(crate) y: f64,
    /// Text drawn next to the point (level label).
    pub(crate) label: String,
    /// Hover tooltip.
    pub(crate) tip: String,
}

/// A line through points, drawn in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Curve {
    /// Legend entry.
    pub(crate) name: String,
    /// Colour.
    pub(crate) color: String,
    /// Dashed line (second statistic of the same metric).
    pub(crate) dashed: bool,
    /// Vertical offset of point labels in pixels (negative = above).
    pub(crate) label_dy: f64,
    /// The points; non-finite ones are skipped.
    pub(crate) points: Vec<CurvePoint>,
}

/// Line chart of curves whose points carry labels; both axes start at 0.
pub(crate) fn curves(data_plot: &str, x_title: &str, y_title: &str, curves: &[Curve]) -> String {
    let pts = || {
        curves
            .iter()
            .flat_map(|c| c.points.iter())
            .filter(|p| p.x.is_finite() && p.y.is_finite())
    };
    let xs: Vec<f64> = pts().map(|p| p.x).collect();
    let ys: Vec<f64> = pts().map(|p| p.y).collect();
    let legend = curves
        .iter()
        .map(|c| {
            LegendItem::new(
                &c.name,
                &c.color,
                if c.dashed { Mark::Dashed } else { Mark::Line },
            )
        })
        .collect();
    let f = Frame::new(
        W,
        H,
        Axis::for_values(&xs, true, 0.08),
        Axis::for_values(&ys, true, 0.08),
        legend,
    );
    let mut body = String::new();
    for c in curves {
        let line: Vec<(f64, f64)> = c.points.iter().map(|p| (p.x, p.y)).collect();
        body.push_str(&marks::polyline(&f, &line, &c.color, c.dashed));
    }
    for c in curves {
        for p in c
            .points
            .iter()
            .filter(|p| p.x.is_finite() && p.y.is_finite())
        {
            body.push_str(&marks::dot(&f, p.x, p.y, 4.5, &c.color, &p.tip));
            body.push_str(&marks::point_label(
                &f, p.x, p.y, c.label_dy, &c.color, &p.label,
            ));
        }
    }
    f.render(data_plot, x_title, y_title, &body)
}

/// Stacked histogram of `values` (`(level index, value in ms)`), one colour
/// per level. Returns the SVG and a note, or `None` when there is no value.
pub(crate) fn histogram(
    data_plot: &str,
    metric: &str,
    levels: &[String],
    values: &[(usize, f64)],
) -> Option<(String, String)> {
    let h = Histogram::build(values, levels.len(), 30)?;
    let x = Axis::nice(h.start, h.end(), 8);
    let y = Axis::for_values(&[h.max_total() as f64], true, 0.05);
    let legend = levels
        .iter()
        .enumerate()
        .map(|(i, l)| LegendItem::new(l, color(i), Mark::Square))
        .collect();
    let f = Frame::new(W, H, x, y, legend);
    let mut body = String::new();
    for (i, counts) in h.counts.iter().enumerate() {
        let (l, r) = h.edges(i);
        let mut base = 0u64;
        for (s, &n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            let name = levels.get(s).map_or("", String::as_str);
            let tip = format!(
                "{name} · {metric} {}–{} ms: {n} request{}",
                num(l),
                num(r),
                if n == 1 { "" } else { "s" }
            );
            let inset = (r - l) * 0.04;
            body.push_str(&marks::bar(
                &f,
                (l + inset, r - inset),
                (base as f64, (base + n) as f64),
                color(s),
                &tip,
            ));
            base += n;
        }
    }
    let total: u64 = h.counts.iter().flatten().sum();
    let mut note = format!(
        "{} requests, bars stacked by level, bin width {} ms.",
        count(total),
        short(h.width)
    );
    if h.overflow > 0 {
        note.push_str(&format!(
            " {} slower value(s) above {} ms (past p99) are counted in the last bar.",
            count(h.overflow),
            short(h.end())
        ));
    }
    Some((
        f.render(data_plot, &format!("{metric} (ms)"), "Requests", &body),
        note,
    ))
}

/// Scatter of request latency over send time, one colour per level, failed
/// requests as crosses, with a shaded band per level. At most
/// [`TIMELINE_MAX`] points are drawn (evenly spaced, deterministic).
pub(crate) fn timeline(levels: &[String], requests: &[RequestPoint]) -> (String, String) {
    let mut sorted: Vec<&RequestPoint> = requests
        .iter()
        .filter(|r| r.start_s.is_finite() && r.latency_ms.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    let shown: Vec<&RequestPoint> = sample_indices(sorted.len(), TIMELINE_MAX)
        .into_iter()
        .filter_map(|i| sorted.get(i).copied())
        .collect();
    let xs: Vec<f64> = sorted
        .iter()
        .map(|r| r.start_s + r.latency_ms / 1000.0)
        .collect();
    let ys: Vec<f64> = shown.iter().map(|r| r.latency_ms).collect();
    let mut legend: Vec<LegendItem> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| LegendItem::new(l, color(i), Mark::Dot))
        .collect();
    if shown.iter().any(|r| r.error.is_some()) {
        legend.push(LegendItem::new("failed", svg::FAIL_COLOR, Mark::Cross));
    }
    let f = Frame::new(
        WIDE,
        420.0,
        Axis::for_values(&xs, true, 0.0),
        Axis::for_values(&ys, true, 0.05),
        legend,
    );
    let mut body = bands(&f, levels, &sorted);
    for r in shown.iter().filter(|r| r.error.is_none()) {
        let tip = format!(
            "{} · sent at {} s · latency {} ms",
            r.level,
            num(r.start_s),
            num(r.latency_ms)
        );
        body.push_str(&marks::dot(
            &f,
            r.start_s,
            r.latency_ms,
            2.6,
            color(index_of(levels, &r.level)),
            &tip,
        ));
    }
    for r in shown.iter().filter(|r| r.error.is_some()) {
        let kind = r.error.as_deref().unwrap_or("error");
        let tip = format!(
            "{} · failed ({kind}) · sent at {} s · after {} ms",
            r.level,
            num(r.start_s),
            num(r.latency_ms)
        );
        body.push_str(&marks::cross(&f, r.start_s, r.latency_ms, &tip));
    }
    let failed = sorted.iter().filter(|r| r.error.is_some()).count();
    let (n, failed) = (count(sorted.len()), count(failed));
    let mut note = format!("{n} requests, {failed} failed.");
    if shown.len() < sorted.len() {
        note = format!(
            "Showing {} of {n} requests (an evenly spaced sample in send order); {failed} failed in total.",
            count(shown.len())
        );
    }
    let skipped = requests.len() - sorted.len();
    if skipped > 0 {
        note.push_str(&format!(
            " {} request(s) without a finite time are not drawn.",
            count(skipped)
        ));
    }
    (
        f.render(
            "timeline",
            "Send time (s since first send)",
            "Request latency (ms)",
            &body,
        ),
        note,
    )
}

/// Light background bands marking when each level ran, labelled at the top.
fn bands(f: &Frame, levels: &[String], reqs: &[&RequestPoint]) -> String {
    let mut s = String::new();
    for (i, l) in levels.iter().enumerate() {
        let mine = reqs.iter().filter(|r| &r.level == l);
        let span = mine.fold(None, |acc: Option<(f64, f64)>, r| {
            let end = r.start_s + r.latency_ms.max(0.0) / 1000.0;
            Some(acc.map_or((r.start_s, end), |(a, b)| (a.min(r.start_s), b.max(end))))
        });
        let Some((a, b)) = span else { continue };
        let (x0, x1) = (f.px(a), f.px(b));
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.07\"/>",
            svg::coord(x0), svg::coord(f.top), svg::coord((x1 - x0).max(1.0)), svg::coord(f.plot_h()), color(i)
        ));
        if x1 - x0 > svg::text_width(l) + 8.0 {
            s.push_str(&format!(
                "<text class=\"band-label\" x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>",
                svg::coord(x0 + 4.0),
                svg::coord(f.top + 14.0),
                color(i),
                svg::esc(l)
            ));
        }
    }
    s
}

/// One series of a grouped bar chart: a value (or none) per category.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BarSeries {
    /// Legend entry.
    pub(crate) name: String,
    /// One value per category.
    pub(crate) values: Vec<Option<f64>>,
}

/// Grouped bars: one group per category, one bar per series inside it.
pub(crate) fn grouped_bars(
    data_plot: &str,
    y_title: &str,
    unit: &str,
    categories: &[String],
    series: &[BarSeries],
) -> String {
    let vals: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .collect();
    let n = categories.len().max(1);
    let x = Axis {
        lo: 0.0,
        hi: n as f64,
        step: 1.0,
        ticks: Vec::new(),
    };
    let legend = series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendItem::new(&s.name, color(i), Mark::Square))
        .collect();
    let mut f = Frame::new(
        WIDE / 2.0,
        H,
        x,
        Axis::for_values(&vals, true, 0.05),
        legend,
    );
    f.categories = categories.to_vec();
    let k = series.len().max(1) as f64;
    let slot = 0.8 / k;
    let mut body = String::new();
    for (ci, cat) in categories.iter().enumerate() {
        for (si, s) in series.iter().enumerate() {
            let Some(v) = s
                .values
                .get(ci)
                .copied()
                .flatten()
                .filter(|v| v.is_finite())
            else {
                continue;
            };
            let x0 = ci as f64 + 0.1 + si as f64 * slot;
            let tip = format!("{} · {cat}: {} {unit}", s.name, num(v));
            body.push_str(&marks::bar(
                &f,
                (x0 + slot * 0.06, x0 + slot * 0.94),
                (0.0, v),
                color(si),
                &tip,
            ));
        }
    }
    f.render(data_plot, "Load level", y_title, &body)
}
