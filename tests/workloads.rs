//! Multi-turn sessions, tool calls, length distributions and datasets, end
//! to end against the built-in simulator, whose `usage.prompt_tokens`
//! counts every message the server received (the history as the server
//! saw it).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{run, run_with, spec};
use mcc_bench::domain::{
    ArrivalPattern, DatasetFormat, DatasetSpec, LengthDistribution, LoadLevel, RunSpec,
    SessionSpec, StopCondition,
};
use mcc_bench::sim::{SimConfig, SimServer};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

fn sim() -> SimServer {
    SimServer::start(SimConfig {
        ttft_ms: 3.0,
        itl_ms: 0.5,
        ..SimConfig::default()
    })
    .expect("sim starts")
}

fn sessions(turns: u32, think_ms: u32) -> Option<SessionSpec> {
    Some(SessionSpec {
        turns_mean: turns,
        turns_stddev: 0,
        think_time_ms_mean: think_ms,
        think_time_ms_stddev: 0,
    })
}

/// The profiling records of a run, grouped by conversation and in turn order.
fn conversations(records: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut out: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in records {
        let id = r["metadata"]["conversation_id"]
            .as_str()
            .expect("a session");
        out.entry(id.to_owned()).or_default().push(r);
    }
    for turns in out.values_mut() {
        turns.sort_by_key(|r| r["metadata"]["turn_index"].as_u64());
    }
    out
}

fn tokens(r: &Value, side: &str) -> u64 {
    r["metadata"]["client_tokens"][side]
        .as_u64()
        .expect("count")
}

fn server_prompt_tokens(r: &Value) -> u64 {
    r["metadata"]["usage"]["prompt_tokens"]
        .as_u64()
        .expect("usage")
}

#[test]
fn every_turn_sends_the_whole_history_and_the_server_sees_it_grow() {
    let sim = sim();
    let mut s: RunSpec = spec(&sim.url(), 2, 16, 60, 20);
    s.sessions = sessions(4, 0);
    let ran = run(&s, Some(&sim));
    let records = ran.jsonl("profile_export.jsonl");
    let convs = conversations(&records);
    assert_eq!(convs.len(), 4, "16 turns of 4-turn sessions");
    for (id, turns) in &convs {
        assert_eq!(turns.len(), 4, "{id}");
        for (k, pair) in turns.windows(2).enumerate() {
            let (prev, next) = (pair[0], pair[1]);
            // The next turn carries the previous prompt, its reply and a new
            // user message of 60 tokens.
            let expect = tokens(prev, "input") + tokens(prev, "output") + 60;
            assert_eq!(tokens(next, "input"), expect, "{id} turn {}", k + 1);
        }
        for t in turns {
            assert_eq!(server_prompt_tokens(t), tokens(t, "input"), "{id}");
        }
    }
    let level = &ran.ok().levels[0];
    let m = level.metrics.sessions.as_ref().expect("session figures");
    assert_eq!((m.session_count, m.completed_session_count), (4, 4));
    assert_eq!(m.turns_per_session.as_ref().map(|t| t.p50), Some(4.0));
    let isl: Vec<f64> = m
        .by_turn
        .iter()
        .map(|t| t.input_sequence_length.as_ref().expect("isl").avg)
        .collect();
    assert_eq!(
        isl,
        [60.0, 140.0, 220.0, 300.0],
        "history grows by 60 + 20 a turn"
    );
    assert!(m.by_turn.iter().all(|t| t.time_to_first_token.is_some()));
    assert!(!level.validity.client_bound, "{:?}", level.validity.reasons);
}

#[test]
fn a_reply_that_calls_a_tool_is_answered_with_its_result_next_turn() {
    let sim = sim();
    let mut s = spec(&sim.url(), 1, 4, 30, 10);
    s.prompts.tools = true;
    s.prompts.structured_output = true;
    s.sessions = sessions(4, 0);
    let ran = run(&s, Some(&sim));
    let records = ran.jsonl("profile_export.jsonl");
    let convs = conversations(&records);
    let turns = convs.values().next().expect("one session");
    assert_eq!(turns.len(), 4);
    // The simulator calls a tool whenever the user spoke last and answers
    // a tool result with text: call, text, call, text.
    let out: Vec<u64> = turns.iter().map(|t| tokens(t, "output")).collect();
    let name = 4; // "search_documents" in the built-in count
    assert_eq!(out, [10 + name, 10, 10 + name, 10]);
    for t in turns.iter() {
        assert_eq!(server_prompt_tokens(t), tokens(t, "input"));
        assert!(t["error"].is_null(), "{}", t["error"]);
    }
    // Turn 1 is the history plus the call and one tool result (30 tokens).
    assert_eq!(tokens(turns[1], "input"), 30 + 10 + name + 30);
}

#[test]
fn think_time_spaces_the_turns_and_sessions_stay_in_flight() {
    let sim = sim();
    let mut s = spec(&sim.url(), 2, 12, 20, 5);
    s.sessions = sessions(3, 40);
    let started = Instant::now();
    let ran = run(&s, Some(&sim));
    let level = &ran.ok().levels[0];
    // 4 sessions of 3 turns on 2 lanes: two rounds of two pauses of 40 ms.
    assert!(started.elapsed() >= Duration::from_millis(160));
    let records = ran.jsonl("profile_export.jsonl");
    for turns in conversations(&records).values() {
        for pair in turns.windows(2) {
            let end = pair[0]["metadata"]["request_end_ns"].as_i64().expect("end");
            let next = pair[1]["metadata"]["request_start_ns"]
                .as_i64()
                .expect("start");
            assert!(
                next - end >= 39_000_000,
                "paused {} ms",
                (next - end) / 1_000_000
            );
        }
    }
    let v = &level.validity;
    assert!(
        v.achieved_concurrency > 1.8,
        "sessions in flight {}",
        v.achieved_concurrency
    );
    assert!(!v.client_bound, "{:?}", v.reasons);
}

#[test]
fn a_long_pause_does_not_hold_the_level_open_once_its_turns_are_out() {
    let sim = sim();
    // Both turns go out at once; each session would then pause 30 s.
    let mut s = spec(&sim.url(), 2, 2, 10, 2);
    s.sessions = sessions(10, 30_000);
    let started = Instant::now();
    let ran = run_with(&s, Some(&sim), CancellationToken::new());
    assert_eq!(ran.ok().levels[0].metrics.request_count, 2);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the 30 s pauses were cut when the last turn went out"
    );
    let mut timed = spec(&sim.url(), 2, 1, 10, 2);
    timed.stop = StopCondition::Duration { seconds: 0.5 };
    timed.sessions = sessions(10, 30_000);
    let started = Instant::now();
    let ran = run(&timed, Some(&sim));
    assert!(ran.ok().levels[0].metrics.request_count >= 2);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn lognormal_lengths_reach_the_server_with_their_mean_and_spread() {
    let sim = sim();
    let mut s = spec(&sim.url(), 8, 600, 400, 4);
    s.prompts.input_tokens_stddev = 400;
    s.prompts.distribution = LengthDistribution::Lognormal;
    let ran = run(&s, Some(&sim));
    let isl: Vec<f64> = ran
        .jsonl("profile_export.jsonl")
        .iter()
        .map(|r| server_prompt_tokens(r) as f64)
        .collect();
    let n = isl.len() as f64;
    let mean = isl.iter().sum::<f64>() / n;
    let sd = (isl.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut sorted = isl.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    // 600 draws: the mean within 8 %, the spread within 25 %, and the
    // median well under the mean (≈ mean/√2 for a coefficient of variation of 1).
    assert!((mean / 400.0 - 1.0).abs() < 0.08, "mean {mean}");
    assert!((sd / 400.0 - 1.0).abs() < 0.25, "stddev {sd}");
    assert!(median < 0.85 * mean, "median {median} mean {mean}");
}

fn write(dir: &tempfile::TempDir, name: &str, lines: &[Value]) -> String {
    let path = dir.path().join(name);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn a_trace_is_replayed_on_its_own_timeline_at_its_speedup() {
    let sim = sim();
    let dir = tempfile::tempdir().expect("tempdir");
    let lines: Vec<Value> = (0..20)
        .map(|i| {
            serde_json::json!({"timestamp": 1000 + i * 50, "input_length": 600 + (i % 3) * 100,
                               "output_length": 3, "hash_ids": [1, 100 + i]})
        })
        .collect();
    let mut s = spec(&sim.url(), 1, 20, 10, 3);
    s.dataset = Some(DatasetSpec {
        path: write(&dir, "trace.jsonl", &lines),
        format: DatasetFormat::Mooncake,
        entries: 20,
        trace_speedup: Some(2.0),
    });
    s.levels = vec![LoadLevel::Rate {
        rate: 40.0,
        pattern: ArrivalPattern::Trace,
        max_concurrency: None,
    }];
    let ran = run(&s, Some(&sim));
    let records = ran.jsonl("profile_export.jsonl");
    assert_eq!(records.len(), 20);
    let start = |r: &Value| r["metadata"]["request_start_ns"].as_i64().expect("start");
    let t0 = start(&records[0]);
    let mut late = Vec::new();
    for (k, r) in records.iter().enumerate() {
        // 50 ms apart in the trace, 25 ms at speedup 2.
        let offset_ms = (start(r) - t0) as f64 / 1e6;
        late.push(offset_ms - 25.0 * k as f64);
        assert_eq!(tokens(r, "input"), 600 + (k as u64 % 3) * 100);
        assert_eq!(server_prompt_tokens(r), tokens(r, "input"));
        assert_eq!(tokens(r, "output"), 3, "output_length is max_tokens");
    }
    assert!(
        late.iter().all(|l| l.abs() < 5.0),
        "send offsets off the trace: {late:?}"
    );
    let v = &ran.ok().levels[0].validity;
    assert!(
        v.dispatch_lateness_p99_ms < 5.0,
        "{}",
        v.dispatch_lateness_p99_ms
    );
}

#[test]
fn dataset_messages_reach_the_server_as_given() {
    let sim = sim();
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = [
        serde_json::json!({"messages": [{"role": "system", "content": "alpha beta"},
                                        {"role": "user", "content": "gamma delta epsilon"}],
                           "max_tokens": 4}),
        serde_json::json!({"prompt": "one two three four five", "max_tokens": 2}),
    ];
    let mut s = spec(&sim.url(), 1, 4, 10, 9);
    s.dataset = Some(DatasetSpec {
        path: write(&dir, "chat.jsonl", &lines),
        format: DatasetFormat::Openai,
        entries: 2,
        trace_speedup: None,
    });
    let ran = run(&s, Some(&sim));
    let records = ran.jsonl("profile_export.jsonl");
    let got: Vec<(u64, u64, u64)> = records
        .iter()
        .map(|r| {
            (
                tokens(r, "input"),
                server_prompt_tokens(r),
                tokens(r, "output"),
            )
        })
        .collect();
    // The entries in file order, again from the first when the count
    // runs past them.
    assert_eq!(got, [(5, 5, 4), (5, 5, 2), (5, 5, 4), (5, 5, 2)]);
}

#[test]
fn a_mixture_reaches_the_server_in_its_proportions() {
    let sim = sim();
    let mut s = spec(&sim.url(), 8, 800, 10, 2);
    let c = |weight, isl| mcc_bench::domain::MixComponent {
        weight,
        input_tokens_mean: isl,
        input_tokens_stddev: 0,
        output_tokens_mean: 2,
        output_tokens_stddev: 0,
    };
    s.prompts.mixture = vec![c(0.7, 40), c(0.2, 200), c(0.1, 1000)];
    let ran = run(&s, Some(&sim));
    let isl: Vec<u64> = ran
        .jsonl("profile_export.jsonl")
        .iter()
        .map(server_prompt_tokens)
        .collect();
    let share = |n: u64| isl.iter().filter(|x| **x == n).count() as f64 / isl.len() as f64;
    // The run sends its pool of prepared prompts (800 requests, 800 drawn).
    for (n, w) in [(40, 0.7), (200, 0.2), (1000, 0.1)] {
        assert!((share(n) - w).abs() < 0.05, "{n}: {} against {w}", share(n));
    }
    let mean = isl.iter().sum::<u64>() as f64 / isl.len() as f64;
    assert!((mean / 168.0 - 1.0).abs() < 0.15, "mean {mean} against 168");
}
