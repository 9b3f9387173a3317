//! Data marks drawn inside a [`Frame`]: lines, dots, crosses, bars and point
//! labels. Every data mark has the class `pt` and a `<title>` tooltip.

use super::svg::{coord, esc, Frame, FAIL_COLOR};

/// A cross centred on pixel `(x, y)`; `class` is an attribute fragment
/// (` class="…"`) or empty, and when set the element is left open for a title.
pub(crate) fn cross_path(x: f64, y: f64, r: f64, color: &str, class: &str) -> String {
    format!(
        "<path{class} d=\"M{} {}L{} {}M{} {}L{} {}\" stroke=\"{}\" stroke-width=\"2\" fill=\"none\"",
        coord(x - r), coord(y - r), coord(x + r), coord(y + r), coord(x - r), coord(y + r), coord(x + r), coord(y - r), esc(color)
    ) + if class.is_empty() { "/>" } else { ">" }
}

/// A polyline through the data points (finite ones only), not a data mark.
pub(crate) fn polyline(f: &Frame, pts: &[(f64, f64)], color: &str, dashed: bool) -> String {
    let path: Vec<String> = pts
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|&(x, y)| format!("{},{}", coord(f.px(x)), coord(f.py(y))))
        .collect();
    if path.len() < 2 {
        return String::new();
    }
    let dash = if dashed {
        " stroke-dasharray=\"7 4\""
    } else {
        ""
    };
    format!(
        "<polyline class=\"series\" points=\"{}\" stroke=\"{}\"{dash}/>",
        path.join(" "),
        esc(color)
    )
}

/// A dashed horizontal rule at data value `y` across the plot (a
/// reference such as a target, not a data mark), labelled at its right end.
pub(crate) fn hline(f: &Frame, y: f64, color: &str, label: &str) -> String {
    if !y.is_finite() {
        return String::new();
    }
    let (l, r, py) = (f.px(f.x.lo), f.px(f.x.hi), f.py(y));
    rule((l, py), (r, py), color)
        + &format!(
            "<text class=\"point-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{}\">{}</text>",
            coord(r - 4.0),
            coord(py - 5.0),
            esc(color),
            esc(label)
        )
}

/// A dashed vertical rule at data value `x` (a reference, not a data mark),
/// labelled at its top.
pub(crate) fn vline(f: &Frame, x: f64, color: &str, label: &str) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let (px, t, b) = (f.px(x), f.py(f.y.hi), f.py(f.y.lo));
    rule((px, t), (px, b), color)
        + &format!(
            "<text class=\"point-label\" x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>",
            coord(px + 4.0),
            coord(t + 12.0),
            esc(color),
            esc(label)
        )
}

fn rule((x1, y1): (f64, f64), (x2, y2): (f64, f64), color: &str) -> String {
    format!(
        "<line class=\"rule\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
        coord(x1), coord(y1), coord(x2), coord(y2), esc(color)
    )
}

/// A data point: a circle of radius `r` with a hover tooltip.
pub(crate) fn dot(f: &Frame, x: f64, y: f64, r: f64, color: &str, tip: &str) -> String {
    format!(
        "<circle class=\"pt\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"><title>{}</title></circle>",
        coord(f.px(x)),
        coord(f.py(y)),
        coord(r),
        esc(color),
        esc(tip)
    )
}

/// A failed data point: a cross with a hover tooltip.
pub(crate) fn cross(f: &Frame, x: f64, y: f64, tip: &str) -> String {
    cross_path(f.px(x), f.py(y), 3.5, FAIL_COLOR, " class=\"pt fail\"")
        + &format!("<title>{}</title></path>", esc(tip))
}

/// A bar spanning data `x0..x1` and `y0..y1`, with a hover tooltip.
pub(crate) fn bar(
    f: &Frame,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    color: &str,
    tip: &str,
) -> String {
    let (l, r) = (f.px(x0.min(x1)), f.px(x0.max(x1)));
    let (t, b) = (f.py(y0.max(y1)), f.py(y0.min(y1)));
    format!(
        "<rect class=\"pt\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
        coord(l), coord(t), coord((r - l).max(0.5)), coord((b - t).max(0.0)), esc(color), esc(tip)
    )
}

/// A small text label next to a data point (`dy` pixels below it; negative = above).
pub(crate) fn point_label(f: &Frame, x: f64, y: f64, dy: f64, color: &str, text: &str) -> String {
    if !(x.is_finite() && y.is_finite()) {
        return String::new();
    }
    format!(
        "<text class=\"point-label\" x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>",
        coord(f.px(x) + 6.0),
        coord(f.py(y) + dy),
        esc(color),
        esc(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::axis::Axis;

    #[test]
    fn marks_escape_tooltips_and_carry_pt_class() {
        let f = Frame::new(
            600.0,
            400.0,
            Axis::nice(0.0, 1.0, 5),
            Axis::nice(0.0, 1.0, 5),
            vec![],
        );
        for m in [
            dot(&f, 0.5, 0.5, 3.0, "#000", "<b>"),
            cross(&f, 0.5, 0.5, "<b>"),
            bar(&f, (0.0, 0.1), (0.0, 0.5), "#000", "<b>"),
        ] {
            assert!(
                m.contains("class=\"pt") && m.contains("&lt;b&gt;") && !m.contains("<b>"),
                "{m}"
            );
        }
        assert_eq!(polyline(&f, &[(0.0, 0.0)], "#000", false), "");
    }
}
