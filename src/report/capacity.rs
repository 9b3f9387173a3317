//! The capacity search on the run page: the answer, one chart per target
//! (every probe on the metric-against-throughput curve, passes as dots,
//! failures as crosses, the target as a dashed line), goodput and throughput
//! against the load probed, and the probes as a table.

use super::axis::Axis;
use super::marks;
use super::page::{self, badge, facts, figure, num, opt, table, td, td_html, DASH};
use super::svg::{color, esc, Frame, LegendItem, Mark, FAIL_COLOR};
use crate::domain::{Capacity, Probe, SearchMode, Slo, SloFigures};

/// Canvas of a probe chart.
const W: f64 = 640.0;
const H: f64 = 380.0;

/// One target the search judged probes on.
struct Target {
    /// `data-plot` name.
    plot: &'static str,
    /// Axis and legend text.
    name: &'static str,
    /// Threshold in the figure's unit.
    limit: f64,
    /// The probe's figure in the same unit.
    get: fn(&SloFigures) -> Option<f64>,
}

/// The section, or nothing for a run that was not a capacity search.
pub(crate) fn section(capacity: Option<&Capacity>, slo: Option<&Slo>) -> String {
    let (Some(cap), Some(slo)) = (capacity, slo) else {
        return String::new();
    };
    let mut s = String::from("<h2>Capacity search</h2>");
    s.push_str(&answer(cap, slo));
    s.push_str("<div class=\"grid2\">");
    for t in targets(slo) {
        s.push_str(&target_chart(cap, &t));
    }
    s.push_str(&goodput_chart(cap));
    s.push_str("</div>");
    s.push_str(&probe_table(cap));
    s
}

fn targets(slo: &Slo) -> Vec<Target> {
    let ms = |plot, name, limit: Option<f64>, get| {
        limit.map(|limit| Target {
            plot,
            name,
            limit,
            get,
        })
    };
    [
        ms("probe-ttft-p99", "TTFT p99 (ms)", slo.ttft_p99_ms, |f| {
            f.ttft_p99_ms
        }),
        ms("probe-ttft-p90", "TTFT p90 (ms)", slo.ttft_p90_ms, |f| {
            f.ttft_p90_ms
        }),
        ms("probe-itl-p99", "ITL p99 (ms)", slo.itl_p99_ms, |f| {
            f.itl_p99_ms
        }),
        ms(
            "probe-e2e-p99",
            "Request latency p99 (ms)",
            slo.e2e_p99_ms,
            |f| f.e2e_p99_ms,
        ),
        ms(
            "probe-error-rate",
            "Failed requests (%)",
            slo.error_rate.map(|e| e * 100.0),
            |f| Some(f.error_rate * 100.0),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn load_label(mode: SearchMode) -> &'static str {
    match mode {
        SearchMode::Concurrency => "concurrency",
        SearchMode::Rate => "rate (req/s)",
    }
}

fn answer(cap: &Capacity, slo: &Slo) -> String {
    let found = match cap.mode {
        SearchMode::Concurrency => cap.max_concurrency.map(|c| c.to_string()),
        SearchMode::Rate => cap.max_rate.map(num),
    };
    let items = [
        (
            "Highest load within targets",
            format!(
                "{} {}",
                load_label(cap.mode),
                found.unwrap_or_else(|| "none".to_owned())
            ),
        ),
        ("Confidence", cap.confidence.clone()),
        ("Goodput there (req/s)", opt(cap.goodput_rps)),
        ("Targets", slo_text(slo)),
        ("Probes", cap.probes.len().to_string()),
        ("Requests sent", page::count(cap.requests_sent)),
        ("Search time (s)", num(cap.search_seconds)),
    ];
    let notes: String = cap
        .notes
        .iter()
        .map(|n| format!("<p class=\"note\">{}</p>", esc(n)))
        .collect();
    facts(&items) + &notes
}

/// The targets as `name ≤ value` pairs.
pub(crate) fn slo_text(slo: &Slo) -> String {
    let parts: Vec<String> = targets(slo)
        .iter()
        .map(|t| format!("{} ≤ {}", t.name, num(t.limit)))
        .collect();
    if parts.is_empty() {
        DASH.to_owned()
    } else {
        parts.join(", ")
    }
}

fn probe_name(i: usize, p: &Probe) -> String {
    format!("#{} {}", i + 1, p.level)
}

/// One target: probes on its figure-against-throughput curve (in load
/// order) and the target as a dashed horizontal line.
fn target_chart(cap: &Capacity, t: &Target) -> String {
    let points: Vec<(usize, &Probe, f64, f64)> = cap
        .probes
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i, p, p.figures.request_throughput, (t.get)(&p.figures)?)))
        .filter(|(_, _, x, y)| x.is_finite() && y.is_finite())
        .collect();
    let caption = format!("Probes: {}", t.name);
    if points.is_empty() {
        return page::no_figure(&caption, "No probe measured this figure.");
    }
    let xs: Vec<f64> = points.iter().map(|p| p.2).collect();
    let mut ys: Vec<f64> = points.iter().map(|p| p.3).collect();
    ys.push(t.limit);
    let f = frame(&xs, &ys);
    let mut by_load = points.clone();
    by_load.sort_by(|a, b| a.1.load.total_cmp(&b.1.load));
    let line: Vec<(f64, f64)> = by_load.iter().map(|p| (p.2, p.3)).collect();
    let mut body = marks::polyline(&f, &line, color(6), false);
    body.push_str(&marks::hline(&f, t.limit, FAIL_COLOR, "target"));
    for (i, p, x, y) in points {
        let tip = format!(
            "{} · {} {} at {} req/s · {}",
            probe_name(i, p),
            t.name,
            num(y),
            num(x),
            verdict(p)
        );
        body.push_str(&probe_mark(&f, p.passed, x, y, &tip));
        body.push_str(&marks::point_label(
            &f,
            x,
            y,
            -8.0,
            color(5),
            &probe_name(i, p),
        ));
    }
    let svg = f.render(t.plot, "Request throughput (req/s)", t.name, &body);
    figure(
        &caption,
        &svg,
        "One point per probe: dots passed, crosses missed a target; the dashed red line is the target.",
    )
}

fn frame(xs: &[f64], ys: &[f64]) -> Frame {
    let legend = vec![
        LegendItem::new("passed", color(2), Mark::Dot),
        LegendItem::new("missed a target", FAIL_COLOR, Mark::Cross),
        LegendItem::new("target", FAIL_COLOR, Mark::Dashed),
    ];
    Frame::new(
        W,
        H,
        Axis::for_values(xs, true, 0.08),
        Axis::for_values(ys, true, 0.12),
        legend,
    )
}

fn probe_mark(f: &Frame, passed: bool, x: f64, y: f64, tip: &str) -> String {
    if passed {
        marks::dot(f, x, y, 5.0, color(2), tip)
    } else {
        marks::cross(f, x, y, tip)
    }
}

/// Goodput and throughput against the load probed, with the answer marked.
fn goodput_chart(cap: &Capacity) -> String {
    let mut probes: Vec<(usize, &Probe)> = cap.probes.iter().enumerate().collect();
    probes.sort_by(|a, b| a.1.load.total_cmp(&b.1.load));
    let thr: Vec<(f64, f64)> = probes
        .iter()
        .map(|(_, p)| (p.load, p.figures.request_throughput))
        .collect();
    let good: Vec<(usize, &Probe, f64)> = probes
        .iter()
        .filter_map(|&(i, p)| Some((i, p, p.figures.goodput_rps?)))
        .collect();
    if probes.is_empty() {
        return page::no_figure("Goodput against load", "No probe ran.");
    }
    let xs: Vec<f64> = thr.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = thr
        .iter()
        .map(|p| p.1)
        .chain(good.iter().map(|g| g.2))
        .collect();
    let legend = vec![
        LegendItem::new("throughput", color(0), Mark::Line),
        LegendItem::new("goodput", color(2), Mark::Line),
        LegendItem::new("capacity", color(5), Mark::Dashed),
    ];
    let f = Frame::new(
        W,
        H,
        Axis::for_values(&xs, true, 0.08),
        Axis::for_values(&ys, true, 0.12),
        legend,
    );
    let mut body = marks::polyline(&f, &thr, color(0), false);
    let good_line: Vec<(f64, f64)> = good.iter().map(|g| (g.1.load, g.2)).collect();
    body.push_str(&marks::polyline(&f, &good_line, color(2), false));
    if let Some(at) = cap.max_concurrency.map(f64::from).or(cap.max_rate) {
        body.push_str(&marks::vline(&f, at, color(5), "capacity"));
    }
    for (i, p) in &probes {
        let tip = format!(
            "{} · throughput {} req/s",
            probe_name(*i, p),
            num(p.figures.request_throughput)
        );
        body.push_str(&marks::dot(
            &f,
            p.load,
            p.figures.request_throughput,
            4.0,
            color(0),
            &tip,
        ));
    }
    for (i, p, g) in &good {
        let tip = format!("{} · goodput {} req/s", probe_name(*i, p), num(*g));
        body.push_str(&probe_mark(&f, p.passed, p.load, *g, &tip));
    }
    let x_title = format!("Load probed ({})", load_label(cap.mode));
    let svg = f.render("probe-goodput", &x_title, "Requests per second", &body);
    figure(
        "Goodput against load",
        &svg,
        "Goodput counts the requests meeting every target; the dashed line marks the answer.",
    )
}

/// A probed load as written: concurrency whole, rates as numbers.
fn load_text(mode: SearchMode, load: f64) -> String {
    match mode {
        SearchMode::Concurrency => format!("{load:.0}"),
        SearchMode::Rate => num(load),
    }
}

fn verdict(p: &Probe) -> String {
    let mut v = vec![if p.client_bound {
        "client-bound"
    } else if p.passed {
        "passed"
    } else {
        "missed"
    }];
    if p.stopped_early {
        v.push("stopped early");
    }
    if p.repeat {
        v.push("repeat");
    }
    v.join(", ")
}

fn verdict_badge(p: &Probe) -> String {
    let class = match (p.client_bound, p.passed) {
        (true, _) => "warn",
        (false, true) => "ok",
        (false, false) => "bad",
    };
    badge(class, &verdict(p))
}

fn probe_table(cap: &Capacity) -> String {
    let head = page::header_row(
        &[
            "Probe",
            "Load",
            "Verdict",
            "TTFT p99",
            "TTFT p90",
            "ITL p99",
            "Latency p99",
            "Failed",
            "req/s",
            "Goodput",
            "Missed",
        ],
        "lrlrrrrrrrl",
    );
    let rows: Vec<String> = cap
        .probes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let f = &p.figures;
            let missed = if p.failed.is_empty() {
                DASH.to_owned()
            } else {
                p.failed.join("; ")
            };
            format!(
                "<tr>{}{}{}{}{}{}{}{}{}{}{}</tr>",
                td(&probe_name(i, p), true),
                td(&load_text(cap.mode, p.load), false),
                td_html(&verdict_badge(p), true),
                td(&opt(f.ttft_p99_ms), false),
                td(&opt(f.ttft_p90_ms), false),
                td(&opt(f.itl_p99_ms), false),
                td(&opt(f.e2e_p99_ms), false),
                td(&format!("{}%", num(f.error_rate * 100.0)), false),
                td(&num(f.request_throughput), false),
                td(&opt(f.goodput_rps), false),
                td(&missed, true),
            )
        })
        .collect();
    table(&head, &rows) + "<p class=\"note\">Latencies in ms. Each probe's full figures are its level above; its exports are in <code>probe-&lt;n&gt;-&lt;level&gt;/</code>.</p>"
}
