//! The chart canvas: colour palette, escaping, a [`Frame`] that maps data to
//! pixels and draws grid, tick labels, axis titles and the legend. With
//! [`super::axis`] and [`super::marks`] it forms a tiny SVG chart toolkit.
//! Every function is total: non-finite inputs are drawn at the frame's edge
//! or dropped, never panicking.

use std::fmt::Write as _;

use super::axis::Axis;
use super::marks::cross_path;

/// Colour-blind friendly series colours: Okabe–Ito (without yellow, which
/// is unreadable on white, and vermillion, which is kept for failures), then
/// Paul Tol's muted scheme for series eight to twelve.
pub(crate) const PALETTE: [&str; 12] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000", "#999999", "#332288",
    "#882255", "#44AA99", "#999933", "#AA4499",
];

/// Colour of failed requests (drawn as crosses, so shape also tells them apart).
pub(crate) const FAIL_COLOR: &str = "#D1221B";

/// Series colour number `i`, cycling through [`PALETTE`].
pub(crate) fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escapes text for HTML/SVG element content and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A pixel coordinate as SVG text (one decimal; non-finite values become 0).
pub(crate) fn coord(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}", v.clamp(-1e6, 1e6))
    } else {
        "0".to_owned()
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// A solid line with a dot.
    Line,
    /// A dashed line with a dot.
    Dashed,
    /// A filled square (bars).
    Square,
    /// A dot (scatter).
    Dot,
    /// A cross (failures).
    Cross,
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendItem {
    /// Text shown next to the swatch.
    pub(crate) label: String,
    /// Swatch colour.
    pub(crate) color: String,
    /// Swatch shape.
    pub(crate) mark: Mark,
}

impl LegendItem {
    /// A legend entry.
    pub(crate) fn new(label: &str, color: &str, mark: Mark) -> Self {
        Self {
            label: label.to_owned(),
            color: color.to_owned(),
            mark,
        }
    }
}

/// Approximate width of `s` in pixels at the 12 px chart font.
pub(crate) fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * 6.8
}

/// Positions (x, row) of each legend entry when wrapped into `width`.
fn legend_layout(items: &[LegendItem], width: f64) -> Vec<(f64, usize)> {
    let (mut x, mut row) = (0.0, 0);
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let w = 28.0 + text_width(&it.label).min(LEGEND_CHARS as f64 * 6.8) + 18.0;
        if x > 0.0 && x + w > width {
            x = 0.0;
            row += 1;
        }
        out.push((x, row));
        x += w;
    }
    out
}

/// A plotting area inside an SVG canvas, with its axes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// Canvas width (viewBox units).
    pub(crate) width: f64,
    /// Canvas height.
    pub(crate) height: f64,
    /// Left margin (y tick labels and title).
    pub(crate) left: f64,
    /// Top margin (legend).
    pub(crate) top: f64,
    /// Horizontal axis.
    pub(crate) x: Axis,
    /// Vertical axis.
    pub(crate) y: Axis,
    /// When not empty, the x axis is categorical: one slot per entry.
    pub(crate) categories: Vec<String>,
    legend: Vec<LegendItem>,
}

/// Longest legend text in characters (longer ones end in "…").
const LEGEND_CHARS: usize = 50;
const RIGHT: f64 = 24.0;
const BOTTOM: f64 = 52.0;

impl Frame {
    /// A frame of `width × height` with room for the y tick labels and the legend.
    pub(crate) fn new(width: f64, height: f64, x: Axis, y: Axis, legend: Vec<LegendItem>) -> Self {
        let widest = y
            .ticks
            .iter()
            .map(|t| text_width(&y.label(*t)))
            .fold(0.0, f64::max);
        let left = 34.0 + widest.max(14.0);
        let rows = legend_layout(&legend, width - left - RIGHT)
            .last()
            .map_or(0, |l| l.1 + 1);
        let top = 16.0 + rows as f64 * 18.0;
        Self {
            width,
            height,
            left,
            top,
            x,
            y,
            categories: Vec::new(),
            legend,
        }
    }

    /// Width of the plotting area.
    pub(crate) fn plot_w(&self) -> f64 {
        (self.width - self.left - RIGHT).max(1.0)
    }

    /// Height of the plotting area.
    pub(crate) fn plot_h(&self) -> f64 {
        (self.height - self.top - BOTTOM).max(1.0)
    }

    /// Pixel x of data value `v`.
    pub(crate) fn px(&self, v: f64) -> f64 {
        self.left + self.x.frac(v) * self.plot_w()
    }

    /// Pixel y of data value `v`.
    pub(crate) fn py(&self, v: f64) -> f64 {
        self.top + (1.0 - self.y.frac(v)) * self.plot_h()
    }

    /// The finished `<svg>` element: grid, axes, titles, legend and `body`.
    pub(crate) fn render(
        &self,
        data_plot: &str,
        x_title: &str,
        y_title: &str,
        body: &str,
    ) -> String {
        let mut s = format!(
            "<svg data-plot=\"{}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{} against {}\">",
            esc(data_plot), esc(y_title), esc(x_title), w = coord(self.width), h = coord(self.height)
        );
        s.push_str(&self.grid());
        s.push_str(body);
        s.push_str(&self.axis_titles(x_title, y_title));
        s.push_str(&self.legend_svg());
        s.push_str("</svg>");
        s
    }

    fn grid(&self) -> String {
        let (l, r) = (self.left, self.left + self.plot_w());
        let (t, b) = (self.top, self.top + self.plot_h());
        let mut s = String::from("<g class=\"grid\">");
        for &v in &self.y.ticks {
            let y = coord(self.py(v));
            let _ = write!(
                s,
                "<line x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/>",
                coord(l),
                coord(r)
            );
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{}\" y=\"{y}\" dy=\"4\" text-anchor=\"end\">{}</text>",
                coord(l - 6.0),
                esc(&self.y.label(v))
            );
        }
        if self.categories.is_empty() {
            for &v in &self.x.ticks {
                let x = coord(self.px(v));
                let _ = write!(
                    s,
                    "<line x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/>",
                    coord(t),
                    coord(b)
                );
                let _ = write!(
                    s,
                    "<text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    coord(b + 16.0),
                    esc(&self.x.label(v))
                );
            }
        } else {
            for (i, c) in self.categories.iter().enumerate() {
                let x = coord(self.px(i as f64 + 0.5));
                let _ = write!(
                    s,
                    "<text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    coord(b + 16.0),
                    esc(c)
                );
            }
        }
        let _ = write!(
            s,
            "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></g>",
            coord(l),
            coord(t),
            coord(self.plot_w()),
            coord(self.plot_h())
        );
        s
    }

    fn axis_titles(&self, x_title: &str, y_title: &str) -> String {
        let cx = self.left + self.plot_w() / 2.0;
        let cy = self.top + self.plot_h() / 2.0;
        format!(
            "<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
             <text class=\"axis-title\" transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            coord(cx), coord(self.height - 10.0), esc(x_title), coord(cy), esc(y_title)
        )
    }

    fn legend_svg(&self) -> String {
        let mut s = String::from("<g class=\"legend\">");
        for (it, (x, row)) in self
            .legend
            .iter()
            .zip(legend_layout(&self.legend, self.plot_w()))
        {
            let x = self.left + x;
            let y = 12.0 + row as f64 * 18.0;
            s.push_str(&swatch(it, x, y));
            let label = truncate(&it.label, LEGEND_CHARS);
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" dy=\"4\">{}<title>{}</title></text>",
                coord(x + 26.0),
                coord(y),
                esc(&label),
                esc(&it.label)
            );
        }
        s.push_str("</g>");
        s
    }
}

/// `s` shortened to `max` characters with an ellipsis.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn swatch(it: &LegendItem, x: f64, y: f64) -> String {
    let c = esc(&it.color);
    let (x0, xm, x1, yc) = (coord(x), coord(x + 10.0), coord(x + 20.0), coord(y));
    match it.mark {
        Mark::Line | Mark::Dashed => {
            let dash = if it.mark == Mark::Dashed {
                " stroke-dasharray=\"5 3\""
            } else {
                ""
            };
            format!("<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{yc}\" y2=\"{yc}\" stroke=\"{c}\" stroke-width=\"2.5\"{dash}/><circle cx=\"{xm}\" cy=\"{yc}\" r=\"3.5\" fill=\"{c}\"/>")
        }
        Mark::Square => format!(
            "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"12\" fill=\"{c}\"/>",
            coord(x + 3.0),
            coord(y - 6.0)
        ),
        Mark::Dot => {
            format!("<circle cx=\"{xm}\" cy=\"{yc}\" r=\"4\" fill=\"{c}\" fill-opacity=\"0.7\"/>")
        }
        Mark::Cross => cross_path(x + 10.0, y, 5.0, &it.color, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn frame_maps_domain_to_plot_area() {
        let f = Frame::new(
            600.0,
            400.0,
            Axis::nice(0.0, 10.0, 5),
            Axis::nice(0.0, 100.0, 5),
            vec![],
        );
        assert!((f.px(0.0) - f.left).abs() < 1e-9);
        assert!((f.px(10.0) - (f.left + f.plot_w())).abs() < 1e-9);
        assert!((f.py(0.0) - (f.top + f.plot_h())).abs() < 1e-9);
        assert_eq!(f.px(f64::NAN), f.left);
    }
}
