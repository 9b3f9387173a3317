//! The single-run page: header, per-level summary, plots, validity
//! certificates, errors and indicators.

use std::fmt::Write as _;

use super::capacity;
use super::data::{index_of, label_order};
use super::page::{
    self, badge, count, document, facts, figure, no_figure, num, table, td, td_html,
    validity_badge, DASH,
};
use super::plots::{self, Curve, CurvePoint};
use super::svg::{color, esc};
use super::{ReportContext, RequestPoint};
use crate::domain::{LevelResult, RunResult, RunStatus, Stats, StopCondition};

/// Renders the whole page.
pub(crate) fn render(result: &RunResult, requests: &[RequestPoint], ctx: &ReportContext) -> String {
    let own = result.levels.iter().map(|l| l.level.label());
    let levels = label_order(own.chain(requests.iter().map(|r| r.level.clone())));
    let mut body = header(result, ctx, requests.len());
    body.push_str("<h2>Summary per level</h2>");
    body.push_str(&summary(result));
    body.push_str(&capacity::section(
        result.capacity.as_ref(),
        result.spec.capacity.as_ref().map(|c| &c.slo),
    ));
    let sessions: Vec<(String, _)> = result
        .levels
        .iter()
        .map(|l| (l.level.label(), l.metrics.sessions.as_ref()))
        .collect();
    body.push_str(&super::sessions::section(&sessions));
    body.push_str("<h2>Latency against throughput</h2><div class=\"grid2\">");
    body.push_str(&throughput_plots(result));
    body.push_str("</div><h2>Distributions</h2><div class=\"grid2\">");
    body.push_str(&distributions(&levels, requests));
    body.push_str("</div><h2>Requests over time</h2>");
    body.push_str(&timeline(&levels, requests));
    body.push_str("<h2>Validity certificate</h2>");
    body.push_str(&validity(result));
    body.push_str("<h2>Errors</h2>");
    body.push_str(&errors(result));
    body.push_str(&indicators(result));
    document(&format!("Run {} · mcc-bench", result.run_id), &body)
}

fn status_badge(s: RunStatus) -> String {
    match s {
        RunStatus::Completed => badge("ok", "completed"),
        RunStatus::Cancelled => badge("warn", "cancelled"),
        RunStatus::Failed => badge("bad", "failed"),
    }
}

fn header(r: &RunResult, ctx: &ReportContext, n_requests: usize) -> String {
    let valid = r.levels.iter().all(|l| !l.validity.client_bound);
    let spec = &r.spec;
    let stop = match spec.stop {
        StopCondition::Requests { count: n } => format!("{} requests per level", count(n)),
        StopCondition::Duration { seconds } => format!("{} s per level", num(seconds)),
    };
    let prompts = super::sessions::prompt_text(spec);
    let levels: Vec<String> = r.levels.iter().map(|l| l.level.label()).collect();
    let some = |o: &Option<String>| o.clone().unwrap_or_default();
    let items = [
        ("Model", r.model.clone()),
        ("Label", some(&ctx.label)),
        ("Project", some(&ctx.project)),
        ("Engine", ctx.engine.clone()),
        ("Target", ctx.target.clone()),
        ("Instance", some(&ctx.instance_type)),
        ("Adapter", some(&ctx.adapter)),
        ("Start", r.start_time.clone()),
        ("End", r.end_time.clone()),
        (
            "Workload",
            spec.workload.clone().unwrap_or_else(|| "custom".to_owned()),
        ),
        (
            "Streaming",
            if spec.streaming { "yes" } else { "no" }.to_owned(),
        ),
        (
            "Levels",
            if levels.is_empty() {
                "none".to_owned()
            } else {
                levels.join(", ")
            },
        ),
        ("Stop", stop),
        ("Prompts", prompts),
        ("Warm-up", format!("{} requests", spec.warmup_requests)),
        (
            "Targets",
            spec.slo
                .or(spec.capacity.map(|c| c.slo))
                .as_ref()
                .map_or(DASH.to_owned(), capacity::slo_text),
        ),
        ("Requests plotted", count(n_requests)),
    ];
    format!(
        "<h1>Benchmark run <code>{}</code> {} {}</h1><p class=\"sub\">Model <code>{}</code></p>{}",
        esc(&r.run_id),
        status_badge(r.status),
        if r.levels.is_empty() {
            String::new()
        } else {
            validity_badge(valid)
        },
        esc(&r.model),
        facts(&items)
    )
}

fn stat_cells(s: Option<&Stats>) -> String {
    match s {
        Some(s) => [s.avg, s.p50, s.p90, s.p99]
            .iter()
            .map(|v| td(&num(*v), false))
            .collect(),
        None => td(DASH, false).repeat(4),
    }
}

fn level_name(l: &LevelResult) -> String {
    let name = esc(&l.level.label());
    if l.was_cancelled {
        format!("{name} {}", badge("warn", "cancelled"))
    } else {
        name
    }
}

fn summary(r: &RunResult) -> String {
    if r.levels.is_empty() {
        return "<p class=\"note\">The run has no levels.</p>".to_owned();
    }
    // Goodput is measured when the run had targets (`slo`).
    let goodput = r.levels.iter().any(|l| l.metrics.goodput.is_some());
    let group = |t: &str| format!("<th colspan=\"4\">{}</th>", esc(t));
    let head = format!(
        "<tr><th class=\"l\" rowspan=\"2\">Level</th><th colspan=\"2\">Requests</th><th colspan=\"{}\">Throughput</th>{}{}{}</tr>{}",
        if goodput { 3 } else { 2 },
        group("TTFT (ms)"),
        group("ITL (ms)"),
        group("Request latency (ms)"),
        "<tr><th>ok</th><th>failed</th><th>req/s</th><th>tokens/s</th>".to_owned()
            + if goodput { "<th>goodput req/s</th>" } else { "" }
            + &"<th>avg</th><th>p50</th><th>p90</th><th>p99</th>".repeat(3)
            + "</tr>"
    );
    let rows: Vec<String> = r
        .levels
        .iter()
        .map(|l| {
            let m = &l.metrics;
            let good = if goodput {
                td(&page::opt(m.goodput), false)
            } else {
                String::new()
            };
            format!(
                "<tr>{}{}{}{}{}{good}{}{}{}</tr>",
                td_html(&level_name(l), true),
                td(&count(m.request_count), false),
                td(&count(m.error_request_count), false),
                td(&num(m.request_throughput), false),
                td(&num(m.output_token_throughput), false),
                stat_cells(m.time_to_first_token.as_ref()),
                stat_cells(m.inter_token_latency.as_ref()),
                stat_cells(m.request_latency.as_ref()),
            )
        })
        .collect();
    table(&head, &rows)
}

/// p50 and p99 curves of one latency metric against output token throughput.
fn stat_curves(r: &RunResult, metric: &str, get: fn(&LevelResult) -> Option<&Stats>) -> Vec<Curve> {
    let curve = |name: &str, ci: usize, dashed: bool, dy: f64, pick: fn(&Stats) -> f64| Curve {
        name: format!("{name} {metric}"),
        color: color(ci).to_owned(),
        dashed,
        label_dy: dy,
        points: r
            .levels
            .iter()
            .filter_map(|l| {
                let y = pick(get(l)?);
                let x = l.metrics.output_token_throughput;
                let label = l.level.label();
                let tip = format!(
                    "{label} · {name} {metric} {} ms at {} tokens/s",
                    num(y),
                    num(x)
                );
                Some(CurvePoint { x, y, label, tip })
            })
            .collect(),
    };
    vec![
        curve("p50", 0, false, 16.0, |s| s.p50),
        curve("p99", 1, true, -8.0, |s| s.p99),
    ]
}

fn throughput_plots(r: &RunResult) -> String {
    let x_title = "Output token throughput (tokens/s)";
    let lat = stat_curves(r, "latency", |l| l.metrics.request_latency.as_ref());
    let mut s = if lat.iter().all(|c| c.points.is_empty()) {
        no_figure(
            "Latency vs throughput",
            "No successful requests: nothing to plot.",
        )
    } else {
        let svg = plots::curves("latency-throughput", x_title, "Request latency (ms)", &lat);
        figure(
            "Latency vs throughput",
            &svg,
            "One point per level, in load order; p99 dashed.",
        )
    };
    let ttft = stat_curves(r, "TTFT", |l| l.metrics.time_to_first_token.as_ref());
    if ttft.iter().any(|c| !c.points.is_empty()) {
        let svg = plots::curves(
            "ttft-throughput",
            x_title,
            "Time to first token (ms)",
            &ttft,
        );
        s.push_str(&figure(
            "TTFT vs throughput",
            &svg,
            "One point per level, in load order; p99 dashed.",
        ));
    }
    s
}

fn distributions(levels: &[String], reqs: &[RequestPoint]) -> String {
    let ok = || reqs.iter().filter(|r| r.error.is_none());
    let values = |get: fn(&RequestPoint) -> Option<f64>| -> Vec<(usize, f64)> {
        ok().filter_map(|r| Some((index_of(levels, &r.level), get(r)?)))
            .collect()
    };
    let one =
        |plot: &str, caption: &str, metric: &str, vals: Vec<(usize, f64)>| match plots::histogram(
            plot, metric, levels, &vals,
        ) {
            Some((svg, note)) => figure(caption, &svg, &note),
            None => no_figure(
                caption,
                &format!(
                    "No {metric} values (a non-streaming run, or no successful streamed request)."
                ),
            ),
        };
    one(
        "ttft-histogram",
        "TTFT distribution",
        "TTFT",
        values(|r| r.ttft_ms),
    ) + &one(
        "itl-histogram",
        "ITL distribution",
        "ITL",
        values(|r| r.itl_ms),
    )
}

fn timeline(levels: &[String], reqs: &[RequestPoint]) -> String {
    if reqs.is_empty() {
        return no_figure("Per-request timeline", "No per-request data was supplied.");
    }
    let (svg, note) = plots::timeline(levels, reqs);
    figure("Per-request timeline", &svg, &note)
}

fn ms_pair(a: f64, b: f64) -> String {
    format!("{} / {}", num(a), num(b))
}

fn validity(r: &RunResult) -> String {
    if r.levels.is_empty() {
        return "<p class=\"note\">No levels, no certificate.</p>".to_owned();
    }
    let head = page::header_row(
        &[
            "Level",
            "Verdict",
            "Concurrency target → achieved",
            "Rate target → achieved (req/s)",
            "Dispatch lateness p50 / p99 (ms)",
            "Client CPU (cores)",
            "CPU utilization",
            "Runtime lag p50 / p99 (ms)",
            "New connections (setup p50 / max ms)",
            "CPU wait share · wake-up p99 (ms) · other processes (cores)",
            "Measured by",
            "Reasons",
        ],
        "llrrrrrrrrll",
    );
    let rows: Vec<String> = r
        .levels
        .iter()
        .map(|l| {
            let v = &l.validity;
            let target_c = v
                .target_concurrency
                .map_or(DASH.to_owned(), |c| c.to_string());
            let target_r = v.target_rate.map_or(DASH.to_owned(), num);
            let all: Vec<&str> = v
                .reasons
                .iter()
                .chain(&v.disturbances)
                .map(String::as_str)
                .collect();
            let reasons = if all.is_empty() {
                DASH.to_owned()
            } else {
                all.join("; ")
            };
            let verdict = if v.disturbed && !v.client_bound {
                badge("warn", "disturbed")
            } else {
                validity_badge(!v.client_bound)
            };
            format!(
                "<tr>{}{}{}{}{}{}{}{}{}{}{}{}</tr>",
                td(&l.level.label(), true),
                td_html(&verdict, true),
                td(
                    &format!("{target_c} → {}", num(v.achieved_concurrency)),
                    false
                ),
                td(&format!("{target_r} → {}", num(v.achieved_rate)), false),
                td(
                    &ms_pair(v.dispatch_lateness_p50_ms, v.dispatch_lateness_p99_ms),
                    false
                ),
                td(
                    &format!("{} of {}", num(v.client_cpu_cores), v.available_cores),
                    false
                ),
                td(
                    &format!("{}%", num(v.client_cpu_utilization * 100.0)),
                    false
                ),
                td(&ms_pair(v.runtime_lag_p50_ms, v.runtime_lag_p99_ms), false),
                td(&connections(v), false),
                td(&contention(v), false),
                td(v.measured_by.as_deref().unwrap_or("this client"), true),
                td(&reasons, true),
            )
        })
        .collect();
    table(&head, &rows)
        + "<p class=\"note\">Valid means the client kept up: the figures measure the endpoint, not the load generator. Disturbed means something else moved them: slow or retried connection setup, or other processes taking the CPUs.</p>"
}

fn connections(v: &crate::domain::Validity) -> String {
    match (v.connect_p50_ms, v.connect_max_ms) {
        (Some(p50), Some(max)) => format!("{} ({})", v.connections_opened, ms_pair(p50, max)),
        _ => v.connections_opened.to_string(),
    }
}

fn contention(v: &crate::domain::Validity) -> String {
    let o = |x: Option<f64>| x.map_or(DASH.to_owned(), num);
    format!(
        "{} · {} · {}",
        v.cpu_wait_share
            .map_or(DASH.to_owned(), |s| format!("{}%", num(s * 100.0))),
        o(v.wakeup_lateness_p99_ms),
        o(v.other_processes_cpu_cores)
    )
}

fn errors(r: &RunResult) -> String {
    let rows: Vec<String> = r
        .levels
        .iter()
        .flat_map(|l| l.errors.iter().map(move |e| (l.level.label(), e)))
        .map(|(label, e)| {
            let code = e.code.map_or(DASH.to_owned(), |c| c.to_string());
            format!(
                "<tr>{}{}{}{}{}</tr>",
                td(&label, true),
                td_html(&format!("<code>{}</code>", esc(&e.kind)), true),
                td(&code, false),
                td(&count(e.count), false),
                td(&e.message, true),
            )
        })
        .collect();
    if rows.is_empty() {
        return "<p>No failed requests.</p>".to_owned();
    }
    table(
        &page::header_row(&["Level", "Kind", "Code", "Count", "Message"], "llrrl"),
        &rows,
    )
}

fn indicators(r: &RunResult) -> String {
    if r.indicators.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2>Indicators</h2><ul class=\"plain\">");
    for i in &r.indicators {
        let level = i
            .level
            .as_deref()
            .map_or(String::new(), |l| format!(" <b>{}</b>", esc(l)));
        let _ = write!(
            s,
            "<li>{}{level}: {}</li>",
            badge("warn", &i.id),
            esc(&i.message)
        );
    }
    s.push_str("</ul>");
    s
}
