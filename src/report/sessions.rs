//! What a run's requests carried (sessions, tools, a dataset, a mixture),
//! and the per-session figures of a multi-turn run: sessions per level and
//! TTFT, latency and input length by turn index.

use std::fmt::Write as _;

use super::page::{count, facts, header_row, num, table, td, DASH};
use crate::domain::{LengthDistribution, RunSpec, SessionMetrics, Stats, TurnMetrics};

/// The header's "Prompts" line: lengths, their distribution, and whatever
/// else each request carries.
pub(crate) fn prompt_text(spec: &RunSpec) -> String {
    let p = &spec.prompts;
    let mut s = match &spec.dataset {
        Some(d) => format!("dataset {} ({} entries)", d.path, d.entries),
        None if !p.mixture.is_empty() => format!("a mixture of {} shapes", p.mixture.len()),
        None => format!(
            "{} ± {} tokens in, {} ± {} out",
            p.input_tokens_mean,
            p.input_tokens_stddev,
            p.output_tokens_mean,
            p.output_tokens_stddev
        ),
    };
    if p.distribution == LengthDistribution::Lognormal {
        s.push_str(", lognormal");
    }
    if let Some(x) = spec.dataset.as_ref().and_then(|d| d.trace_speedup) {
        let _ = write!(s, ", replayed on its timestamps at {}×", num(x));
    }
    if let Some(t) = &spec.sessions {
        let _ = write!(
            s,
            "; sessions of {} ± {} turns (history sent each turn), think time {} ± {} ms",
            t.turns_mean, t.turns_stddev, t.think_time_ms_mean, t.think_time_ms_stddev
        );
    }
    if p.tools {
        s.push_str("; the built-in tools");
    }
    if p.structured_output {
        s.push_str("; structured output");
    }
    s
}

/// The "Sessions" section, when any level ran sessions.
pub(crate) fn section(levels: &[(String, Option<&SessionMetrics>)]) -> String {
    let with: Vec<(&String, &SessionMetrics)> = levels
        .iter()
        .filter_map(|(l, m)| m.map(|m| (l, m)))
        .collect();
    if with.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2>Sessions</h2>");
    for (label, m) in with {
        let p = |st: Option<&Stats>| st.map_or(DASH.to_owned(), |x| num(x.p50));
        let _ = write!(s, "<h3>{}</h3>", super::svg::esc(label));
        s.push_str(&facts(&[
            ("Sessions", count(m.session_count)),
            ("Completed", count(m.completed_session_count)),
            ("Turns p50", p(m.turns_per_session.as_ref())),
            ("Duration p50 (ms)", p(m.session_duration.as_ref())),
        ]));
        let head = header_row(
            &[
                "Turn",
                "Requests",
                "TTFT p50",
                "TTFT p99",
                "Latency p50",
                "ISL avg",
            ],
            "l",
        );
        let rows: Vec<String> = m.by_turn.iter().map(turn_row).collect();
        s.push_str(&table(&head, &rows));
    }
    s
}

fn turn_row(t: &TurnMetrics) -> String {
    let cell = |st: Option<&Stats>, f: fn(&Stats) -> f64| {
        td(&st.map_or(DASH.to_owned(), |x| num(f(x))), false)
    };
    format!(
        "<tr>{}{}{}{}{}{}</tr>",
        td(&t.turn.to_string(), true),
        td(&count(t.request_count), false),
        cell(t.time_to_first_token.as_ref(), |x| x.p50),
        cell(t.time_to_first_token.as_ref(), |x| x.p99),
        cell(t.request_latency.as_ref(), |x| x.p50),
        cell(t.input_sequence_length.as_ref(), |x| x.avg),
    )
}
