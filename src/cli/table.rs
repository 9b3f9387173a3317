//! The human summary: one row per level with the seed's metrics, then the
//! validity certificate, errors, key indicators and output files.

use std::fmt::Write;

use crate::domain::{LevelResult, RunResult, Stats};

/// Renders the whole result as text.
pub(crate) fn render(r: &RunResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "mcc-bench run {}  model {}  status {:?}",
        r.run_id, r.model, r.status
    );
    let _ = writeln!(
        s,
        "endpoint {}  streaming {}",
        r.spec.endpoint.url, r.spec.streaming
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<8} {:>6} {:>5} {:>9} {:>11} | {:^26} | {:^26} | {:^23}",
        "level",
        "ok",
        "err",
        "req/s",
        "out tok/s",
        "latency ms p50/p90/p99",
        "TTFT ms p50/p90/p99",
        "ITL ms p50/p90/p99"
    );
    for l in &r.levels {
        let m = &l.metrics;
        let _ = writeln!(
            s,
            "{:<8} {:>6} {:>5} {:>9.2} {:>11.1} | {:^26} | {:^26} | {:^23}",
            l.level.label(),
            m.request_count,
            m.error_request_count,
            m.request_throughput,
            m.output_token_throughput,
            triple(m.request_latency.as_ref()),
            triple(m.time_to_first_token.as_ref()),
            triple(m.inter_token_latency.as_ref()),
        );
    }
    let _ = writeln!(s);
    for l in &r.levels {
        validity_line(&mut s, l);
        errors(&mut s, l);
        sessions(&mut s, l);
    }
    if !r.indicators.is_empty() {
        let _ = writeln!(s, "\nkey indicators:");
        for i in &r.indicators {
            let _ = writeln!(
                s,
                "  [{}] {}{}",
                i.id,
                i.level
                    .as_deref()
                    .map(|l| format!("{l}: "))
                    .unwrap_or_default(),
                i.message
            );
        }
    }
    if let Some(c) = &r.capacity {
        capacity(&mut s, c);
    }
    let _ = writeln!(s, "\noutputs: {}", r.output_dir);
    s
}

/// A multi-turn level's sessions, and TTFT p50 by turn (the first turns).
fn sessions(s: &mut String, l: &LevelResult) {
    let Some(m) = &l.metrics.sessions else { return };
    let p50 = |st: Option<&Stats>| st.map_or("-".to_owned(), |x| format!("{:.0}", x.p50));
    let _ = writeln!(
        s,
        "{} sessions: {} started, {} completed; turns p50 {}; session duration p50 {} ms",
        l.level.label(),
        m.session_count,
        m.completed_session_count,
        p50(m.turns_per_session.as_ref()),
        p50(m.session_duration.as_ref()),
    );
    let by_turn: Vec<String> = m
        .by_turn
        .iter()
        .take(8)
        .map(|t| {
            let f = t
                .time_to_first_token
                .as_ref()
                .or(t.request_latency.as_ref());
            format!(
                "t{} {} ms",
                t.turn,
                f.map_or("-".into(), |x| format!("{:.1}", x.p50))
            )
        })
        .collect();
    let what = if l.metrics.time_to_first_token.is_some() {
        "TTFT"
    } else {
        "latency"
    };
    let _ = writeln!(s, "  {what} p50 by turn: {}", by_turn.join(", "));
}

/// The capacity search's answer and its probes.
fn capacity(s: &mut String, c: &crate::domain::Capacity) {
    let answer = match (c.max_concurrency, c.max_rate) {
        (Some(n), _) => format!("concurrency {n}"),
        (None, Some(r)) => format!("{r:.2} requests/s"),
        (None, None) => "none (no probe met every target)".to_owned(),
    };
    let _ = writeln!(
        s,
        "\ncapacity: {answer}  goodput {}  confidence {}  ({} probes, {} requests, {:.0} s)",
        c.goodput_rps
            .map_or_else(|| "-".to_owned(), |g| format!("{g:.2} req/s")),
        c.confidence,
        c.probes.len(),
        c.requests_sent,
        c.search_seconds
    );
    for p in &c.probes {
        let verdict = if p.passed { "pass" } else { "FAIL" };
        let how = [
            (p.stopped_early, "stopped early"),
            (p.repeat, "repeat"),
            (p.client_bound, "client-bound"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join(", ");
        let _ = writeln!(
            s,
            "  {:<8} {verdict} {how} {}",
            p.level,
            p.failed.join("; ")
        );
    }
    for n in &c.notes {
        let _ = writeln!(s, "  note: {n}");
    }
}

fn triple(st: Option<&Stats>) -> String {
    st.map_or_else(
        || "-".to_owned(),
        |st| format!("{} / {} / {}", num(st.p50), num(st.p90), num(st.p99)),
    )
}

fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn validity_line(s: &mut String, l: &LevelResult) {
    let v = &l.validity;
    let delivered = match (v.target_concurrency, v.target_rate) {
        (_, Some(rate)) => format!("rate {:.2}/{rate} req/s", v.achieved_rate),
        (Some(c), None) => format!("concurrency {:.2}/{c}", v.achieved_concurrency),
        (None, None) => String::new(),
    };
    let verdict = match (v.client_bound, v.disturbed) {
        (true, _) => "CLIENT-BOUND",
        (false, true) => "DISTURBED",
        (false, false) => "valid",
    };
    let _ = writeln!(
        s,
        "{} {verdict}: {delivered}, dispatch lateness p50 {:.3} ms p99 {:.3} ms, client CPU {:.0}% of {} cores, runtime lag p99 {:.3} ms{}{}",
        l.level.label(),
        v.dispatch_lateness_p50_ms,
        v.dispatch_lateness_p99_ms,
        v.client_cpu_utilization * 100.0,
        v.available_cores,
        v.runtime_lag_p99_ms,
        v.wakeup_lateness_p99_ms
            .map_or(String::new(), |w| format!(", wake-up lateness p99 {w:.2} ms")),
        match (v.connect_p50_ms, v.connect_max_ms) {
            (Some(p50), Some(max)) => format!(
                ", {} new connections (setup p50 {p50:.2} ms, max {max:.1} ms)",
                v.connections_opened
            ),
            _ => String::new(),
        },
    );
    for reason in v.reasons.iter().chain(&v.disturbances) {
        let _ = writeln!(s, "   ! {reason}");
    }
    let t = &l.token_counts;
    if t.input_mismatches + t.output_mismatches > 0 {
        let _ = writeln!(
            s,
            "   token counts from {} ({} tokenizer): server usage differs on {} inputs and {} outputs of {} reported",
            t.source, t.tokenizer, t.input_mismatches, t.output_mismatches, t.usage_reported
        );
    }
}

fn errors(s: &mut String, l: &LevelResult) {
    for e in &l.errors {
        let code = e.code.map(|c| format!(" {c}")).unwrap_or_default();
        let _ = writeln!(s, "   error {}{code} ×{}: {}", e.kind, e.count, e.message);
    }
}
