//! The comparison page: the runs, warnings, overlay plots and one delta
//! table per candidate and level.

use std::fmt::Write as _;

use super::data::label_order;
use super::page::{
    self, badge, document, figure, no_figure, num, opt, short, signed, table, td, td_html,
    validity_badge, DASH,
};
use super::plots::{self, BarSeries, Curve, CurvePoint};
use super::svg::{color, esc, truncate};
use crate::domain::{CandidateComparison, Comparison, MetricDelta, RunResult, RunSummary, Verdict};

/// Renders the whole page.
pub(crate) fn render(c: &Comparison, runs: &[RunResult]) -> String {
    let mut body = format!(
        "<h1>Comparison against <code>{}</code></h1><p class=\"sub\">Baseline chosen by: {} · changes under {}% count as the same</p>",
        esc(&c.baseline.run_id),
        esc(&c.baseline_source),
        esc(&short(c.noise_threshold_percent))
    );
    body.push_str("<h2>Runs</h2>");
    body.push_str(&runs_table(c));
    body.push_str(&warnings(&c.warnings));
    body.push_str("<h2>Overview</h2><div class=\"grid2\">");
    body.push_str(&overlay_plots(c, runs));
    body.push_str("</div>");
    for cand in &c.candidates {
        body.push_str(&candidate(&c.baseline, cand));
    }
    if c.candidates.is_empty() {
        body.push_str("<p class=\"note\">No candidates to compare.</p>");
    }
    document(
        &format!("Comparison with {} · mcc-bench", c.baseline.run_id),
        &body,
    )
}

/// The summaries in plotting order: the baseline, then each candidate.
fn summaries(c: &Comparison) -> Vec<&RunSummary> {
    std::iter::once(&c.baseline)
        .chain(c.candidates.iter().map(|k| &k.run))
        .collect()
}

/// Name of a run: its id, its label in parentheses, "baseline" marked.
/// `brief` shortens id and label (legends) but keeps the baseline mark.
fn run_name(s: &RunSummary, baseline: bool, brief: bool) -> String {
    let cut = |t: &str, n: usize| if brief { truncate(t, n) } else { t.to_owned() };
    let mut n = cut(&s.run_id, 24);
    if let Some(l) = s.label.as_deref().filter(|l| !l.is_empty()) {
        let _ = write!(n, " ({})", cut(l, 18));
    }
    if baseline {
        n.push_str(" [baseline]");
    }
    n
}

fn runs_table(c: &Comparison) -> String {
    let head = page::header_row(
        &[
            "Role", "Run", "Label", "Model", "Adapter", "Instance", "Engine", "Status", "Start",
            "Validity",
        ],
        "llllllllll",
    );
    let rows: Vec<String> = summaries(c)
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let role = if i == 0 {
                badge("same", "baseline")
            } else {
                format!("candidate {i}")
            };
            let notes = if s.validity_notes.is_empty() {
                String::new()
            } else {
                format!(
                    "<br><span class=\"note\">{}</span>",
                    esc(&s.validity_notes.join("; "))
                )
            };
            let o = |v: &Option<String>| v.clone().unwrap_or_else(|| DASH.to_owned());
            format!(
                "<tr>{}{}{}{}{}{}{}{}{}{}</tr>",
                td_html(&role, true),
                td_html(
                    &format!(
                        "<code style=\"color:{}\">{}</code>",
                        color(i),
                        esc(&s.run_id)
                    ),
                    true
                ),
                td(&o(&s.label), true),
                td(&s.model, true),
                td(&o(&s.adapter), true),
                td(&o(&s.instance_type), true),
                td(&s.engine, true),
                td(&s.status, true),
                td(&s.start_time, true),
                td_html(&(validity_badge(s.valid) + &notes), true),
            )
        })
        .collect();
    table(&head, &rows)
}

fn warnings(w: &[String]) -> String {
    if w.is_empty() {
        return String::new();
    }
    let items: String = w.iter().map(|x| format!("<li>{}</li>", esc(x))).collect();
    format!("<h3>Warnings</h3><ul class=\"plain\">{items}</ul>")
}

fn overlay_plots(c: &Comparison, runs: &[RunResult]) -> String {
    let mut found: Vec<(usize, String, &RunResult)> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for (i, s) in summaries(c).into_iter().enumerate() {
        match runs.iter().find(|r| r.run_id == s.run_id) {
            Some(r) => found.push((i, run_name(s, i == 0, true), r)),
            None => missing.push(s.run_id.clone()),
        }
    }
    let mut note = String::from("p50 request latency, one point per level.");
    if !missing.is_empty() {
        let _ = write!(
            note,
            " Not plotted (no results supplied): {}.",
            missing.join(", ")
        );
    }
    if found.is_empty() {
        return no_figure("Latency vs throughput", &note);
    }
    let curves: Vec<Curve> = found
        .iter()
        .map(|(i, name, r)| p50_curve(*i, name, r))
        .collect();
    let mut s = if curves.iter().all(|c| c.points.is_empty()) {
        no_figure(
            "Latency vs throughput",
            "No run has a successful request: nothing to plot.",
        )
    } else {
        let svg = plots::curves(
            "compare-latency-throughput",
            "Output token throughput (tokens/s)",
            "p50 request latency (ms)",
            &curves,
        );
        figure("Latency vs throughput", &svg, &note)
    };
    let labels = label_order(
        found
            .iter()
            .flat_map(|(_, _, r)| r.levels.iter().map(|l| l.level.label())),
    );
    let series: Vec<BarSeries> = found
        .iter()
        .map(|(_, name, r)| BarSeries {
            name: name.clone(),
            values: labels
                .iter()
                .map(|lab| {
                    r.levels
                        .iter()
                        .find(|l| &l.level.label() == lab)
                        .map(|l| l.metrics.output_token_throughput)
                })
                .collect(),
        })
        .collect();
    let svg = plots::grouped_bars(
        "compare-throughput",
        "Output token throughput (tokens/s)",
        "tokens/s",
        &labels,
        &series,
    );
    s.push_str(&figure(
        "Output token throughput per level",
        &svg,
        "Higher is better.",
    ));
    s
}

fn p50_curve(i: usize, name: &str, r: &RunResult) -> Curve {
    Curve {
        name: name.to_owned(),
        color: color(i).to_owned(),
        dashed: false,
        label_dy: -8.0,
        points: r
            .levels
            .iter()
            .filter_map(|l| {
                let y = l.metrics.request_latency.as_ref()?.p50;
                let x = l.metrics.output_token_throughput;
                let label = l.level.label();
                let tip = format!(
                    "{} · {label} · p50 latency {} ms at {} tokens/s",
                    r.run_id,
                    num(y),
                    num(x)
                );
                Some(CurvePoint { x, y, label, tip })
            })
            .collect(),
    }
}

fn verdict_cell(v: Verdict) -> String {
    let (class, text) = match v {
        Verdict::Better => ("better", "▲ better"),
        Verdict::Worse => ("worse", "▼ worse"),
        Verdict::Same => ("same", "= same"),
        Verdict::Missing => ("same", "missing"),
    };
    format!("<td class=\"l {class}\">{text}</td>")
}

fn percent(p: Option<f64>) -> String {
    match p {
        Some(x) if x.is_finite() => format!("{}%", signed(Some(x))),
        _ => DASH.to_owned(),
    }
}

fn metric_row(m: &MetricDelta, class: &str) -> String {
    format!(
        "<tr class=\"{class}\">{}{}{}{}{}{}{}</tr>",
        td_html(&format!("<code>{}</code>", esc(&m.metric)), true),
        td(&m.unit, true),
        td(&opt(m.baseline), false),
        td(&opt(m.candidate), false),
        td(&signed(m.delta), false),
        td(&percent(m.percent), false),
        verdict_cell(m.verdict),
    )
}

fn candidate(base: &RunSummary, c: &CandidateComparison) -> String {
    let mut s = format!(
        "<h2>{} vs baseline {}</h2><p>Candidate {} · baseline {}</p>",
        esc(&run_name(&c.run, false, false)),
        esc(&base.run_id),
        validity_badge(c.run.valid),
        validity_badge(base.valid)
    );
    if !c.unmatched_levels.is_empty() {
        let _ = write!(
            s,
            "<p class=\"note\">Levels in only one of the two runs (not compared): {}</p>",
            esc(&c.unmatched_levels.join(", "))
        );
    }
    if c.levels.is_empty() {
        s.push_str("<p class=\"note\">No level in common.</p>");
    }
    let head = page::header_row(
        &[
            "Metric",
            "Unit",
            "Baseline",
            "Candidate",
            "Delta",
            "Change",
            "Verdict",
        ],
        "llrrrrl",
    );
    s.push_str("<div class=\"tables\">");
    for l in &c.levels {
        s.push_str("<div>");
        let conc = l
            .concurrency
            .map_or(String::new(), |n| format!(" (concurrency {n})"));
        let _ = write!(s, "<h3>Level {}{}</h3>", esc(&l.level), esc(&conc));
        let counts = |v: Verdict| l.metrics.iter().filter(|m| m.verdict == v).count();
        let rows: Vec<String> = l.metrics.iter().map(|m| metric_row(m, "")).collect();
        if rows.is_empty() {
            s.push_str("<p class=\"note\">No figures.</p></div>");
            continue;
        }
        let _ = write!(
            s,
            "<p class=\"note\">{} better, {} worse, {} the same, {} missing.</p>",
            counts(Verdict::Better),
            counts(Verdict::Worse),
            counts(Verdict::Same),
            counts(Verdict::Missing)
        );
        s.push_str(&table(&head, &rows));
        s.push_str("</div>");
    }
    s.push_str("</div>");
    s
}
