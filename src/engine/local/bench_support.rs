//! Entry points for `benches/` into the measurement hot path (not a stable
//! API).

use std::time::Instant;

use super::response::StreamReader;

/// Feeds `reads` through the streaming reader exactly as the client does:
/// one `Instant::now()` per read, then parsing. Returns the content
/// responses counted (so the work cannot be optimised away).
pub fn consume_stream(reads: &[bytes::Bytes]) -> usize {
    let mut reader = StreamReader::new(reads.len() as u32);
    for r in reads {
        let at = Instant::now();
        reader.on_bytes(r, at);
    }
    let out = reader.finish(None);
    out.responses.len() + usize::from(out.error.is_some())
}

/// Per-turn client work of one session of `turns` turns, each adding a
/// user message of `user_tokens` and a reply of `reply_tokens` (built-in
/// tokenizer): nanoseconds per turn for the engine's path (take the reply
/// into the history, build the next turn's body), and for a client that
/// rebuilds and re-counts the whole conversation each turn. Repeated
/// `reps` times; the medians per turn are returned.
pub fn session_turn_costs(
    turns: u32,
    user_tokens: u32,
    reply_tokens: u32,
    reps: usize,
) -> (Vec<f64>, Vec<f64>) {
    use super::client::Exchange;
    use super::response::Outcome;
    use super::session::SessionPlan;
    use crate::domain::{PromptSpec, SessionSpec};

    let shape = PromptSpec {
        input_tokens_mean: user_tokens,
        input_tokens_stddev: 0,
        output_tokens_mean: reply_tokens,
        output_tokens_stddev: 0,
        shared_prefix_tokens: 0,
        tokenizer: None,
        tokenizer_download: false,
        distribution: Default::default(),
        tools: false,
        structured_output: false,
        mixture: Vec::new(),
    };
    let tokenizer = super::tokenizer::ClientTokenizer::builtin();
    let factory = super::prompts::PromptFactory::new(&shape, &tokenizer, 1);
    let mut rng = crate::rng::Rng::new(3);
    let prompts: Vec<_> = (0..64).map(|_| factory.next(&mut rng)).collect();
    let user = prompts[0].user.clone();
    let words: Vec<&str> = user
        .split_whitespace()
        .cycle()
        .take(reply_tokens as usize)
        .collect();
    let reply = format!(" {}", words.join(" "));
    let fields = super::openai::common_fields(Some("m"), &shape, true, &Default::default());
    let spec = SessionSpec {
        turns_mean: turns,
        turns_stddev: 0,
        think_time_ms_mean: 0,
        think_time_ms_stddev: 0,
    };
    let plan = SessionPlan::new(spec, prompts, &fields, 1);
    let exchange = |text: &str| Exchange {
        send: Instant::now(),
        head: None,
        end: Instant::now(),
        status: Some(200),
        outcome: Outcome {
            text: text.to_owned(),
            ..Outcome::default()
        },
        output_tokens_client: Some(tokenizer.count(text)),
        reasoning_tokens_client: None,
        connect: None,
    };
    let mut ours = vec![Vec::new(); turns as usize];
    let mut naive = vec![Vec::new(); turns as usize];
    for _ in 0..reps {
        let mut s = plan.start(1);
        let mut history: Vec<serde_json::Value> = Vec::new();
        for t in 0..turns as usize {
            let ex = exchange(&reply);
            let t0 = Instant::now();
            if t > 0 {
                let _ = plan.after_reply(&mut s, &ex);
            }
            let (req, _) = plan.next_request(&mut s);
            std::hint::black_box(&req);
            ours[t].push(t0.elapsed().as_nanos() as f64);
            let t1 = Instant::now();
            if t > 0 {
                history.push(serde_json::json!({"role": "assistant", "content": reply}));
            }
            history.push(serde_json::json!({"role": "user", "content": user}));
            let mut body = fields.clone();
            body.insert("messages".into(), serde_json::Value::Array(history.clone()));
            let bytes = serde_json::to_vec(&body).unwrap_or_default();
            let tokens: u32 = history
                .iter()
                .filter_map(|m| m["content"].as_str())
                .map(|c| tokenizer.count(c))
                .sum();
            std::hint::black_box((bytes.len(), tokens));
            naive[t].push(t1.elapsed().as_nanos() as f64);
        }
    }
    (medians(ours), medians(naive))
}

fn medians(per_turn: Vec<Vec<f64>>) -> Vec<f64> {
    per_turn
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        })
        .collect()
}
