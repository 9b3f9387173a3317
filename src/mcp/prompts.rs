//! MCP prompts: ready-made instructions an agent (or a person, through a
//! client's slash commands) can pick to run a benchmark the intended way.
//! Each prompt is text only; the tools do the work. They are offered only
//! when `start_benchmark` is registered (not with the catalog toolset or
//! `--read-only`).

use rmcp::model::{Prompt, PromptArgument};
use serde_json::{Map, Value};

/// One argument of a prompt.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arg {
    pub(super) name: &'static str,
    pub(super) description: &'static str,
    pub(super) required: bool,
}

/// A prompt and its arguments.
#[derive(Debug, Clone, Copy)]
pub(super) struct PromptDef {
    pub(super) name: &'static str,
    pub(super) title: &'static str,
    pub(super) description: &'static str,
    pub(super) args: &'static [Arg],
}

/// The protocol entry of one prompt.
pub(super) fn entry(def: &PromptDef) -> Prompt {
    let args = def
        .args
        .iter()
        .map(|a| {
            PromptArgument::new(a.name)
                .with_description(a.description)
                .with_required(a.required)
        })
        .collect();
    Prompt::new(def.name, Some(def.description), Some(args)).with_title(def.title)
}

const URL: Arg = Arg {
    name: "url",
    description: "OpenAI-compatible base URL (e.g. http://127.0.0.1:8000/v1), or `sim` for the built-in simulated endpoint.",
    required: true,
};

/// Every prompt this server offers.
pub(super) const PROMPTS: [PromptDef; 2] = [
    PromptDef {
        name: "benchmark_endpoint",
        title: "Benchmark an endpoint",
        description: "Run one workload against an endpoint, wait for it without busy polling, and report the figures with their validity.",
        args: &[
            URL,
            Arg {
                name: "workload",
                description: "Catalog workload (see list_workloads); default: multi_turn_chat.",
                required: false,
            },
        ],
    },
    PromptDef {
        name: "find_max_concurrency",
        title: "Find the highest concurrency within a latency target",
        description: "Sweep a workload's concurrency levels and report the highest level whose TTFT p99 stays within the target.",
        args: &[
            URL,
            Arg {
                name: "workload",
                description: "Catalog workload whose concurrency_levels are swept; default: multi_turn_chat.",
                required: false,
            },
            Arg {
                name: "ttft_p99_ms",
                description: "Target for time-to-first-token p99, in ms; default 500.",
                required: false,
            },
        ],
    },
];

/// Why a prompt could not be rendered.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(super) enum PromptError {
    #[error("unknown prompt {0:?}; prompts/list shows the available ones")]
    Unknown(String),
    #[error("prompt {prompt:?} needs the argument {arg:?}")]
    Missing { prompt: String, arg: &'static str },
    #[error("argument {arg:?} of prompt {prompt:?} must be a string, got {got}")]
    NotText {
        prompt: String,
        arg: String,
        got: String,
    },
}

/// The user message of prompt `name` with `args` filled in.
pub(super) fn render(name: &str, args: Option<&Map<String, Value>>) -> Result<String, PromptError> {
    let def = PROMPTS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| PromptError::Unknown(name.to_owned()))?;
    let get = |arg: &'static str| text_arg(def, args, arg);
    let url = get("url")?.ok_or(PromptError::Missing {
        prompt: def.name.to_owned(),
        arg: "url",
    })?;
    let workload = get("workload")?.unwrap_or_else(|| "multi_turn_chat".to_owned());
    Ok(match def.name {
        "benchmark_endpoint" => benchmark_text(&url, &workload),
        _ => {
            let slo = get("ttft_p99_ms")?.unwrap_or_else(|| "500".to_owned());
            sweep_text(&url, &workload, &slo)
        }
    })
}

/// A string argument (numbers are accepted as their text).
fn text_arg(
    def: &PromptDef,
    args: Option<&Map<String, Value>>,
    arg: &str,
) -> Result<Option<String>, PromptError> {
    match args.and_then(|a| a.get(arg)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(PromptError::NotText {
            prompt: def.name.to_owned(),
            arg: arg.to_owned(),
            got: other.to_string(),
        }),
    }
}

fn benchmark_text(url: &str, workload: &str) -> String {
    format!(
        "Benchmark the inference endpoint {url} with the `{workload}` workload using the mcc-bench tools.\n\
         1. Call get_workload_profile with workload `{workload}` and tell me its concurrency, tokens and request count in one line.\n\
         2. Call start_benchmark with endpoint.url `{url}` and workload `{workload}`. Keep the run_id.\n\
         3. Call get_status with that run_id and wait_seconds 30, repeating until the status is no longer queued, running or collecting. Do not poll faster.\n\
         4. If the run failed, report the failure reason and what to check. Otherwise call fetch_results.\n\
         5. Report per level: request throughput, output tokens/s, TTFT p50/p99, ITL p50/p99 and latency p50/p99, errors by kind, and the key indicators. \
         If any level is client_bound, say so first and quote its reasons: those figures describe the client, not the endpoint."
    )
}

fn sweep_text(url: &str, workload: &str, slo: &str) -> String {
    format!(
        "Find the highest concurrency at which the endpoint {url} keeps TTFT p99 within {slo} ms, using the `{workload}` workload.\n\
         1. Call get_workload_profile with workload `{workload}` and note its concurrency_levels.\n\
         2. Call start_benchmark with endpoint.url `{url}`, workload `{workload}` and overrides.concurrency_levels set to those levels. Keep the run_id.\n\
         3. Call get_status with wait_seconds 30 until the run is no longer queued, running or collecting.\n\
         4. Call fetch_results and make a table per level: concurrency, request throughput, output tokens/s, TTFT p99 and errors.\n\
         5. Answer with the highest level whose TTFT p99 is at most {slo} ms and whose errors are zero, and where throughput stops growing. \
         Ignore client_bound levels for this decision and say which they were."
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn prompts_fill_in_their_arguments_and_defaults() {
        let text =
            render("benchmark_endpoint", Some(&args(json!({"url": "sim"})))).expect("renders");
        assert!(text.contains("endpoint.url `sim`") && text.contains("`multi_turn_chat`"));
        let a =
            args(json!({"url": "http://h/v1", "workload": "rag_document_qa", "ttft_p99_ms": 250}));
        let text = render("find_max_concurrency", Some(&a)).expect("renders");
        assert!(text.contains("within 250 ms") && text.contains("`rag_document_qa`"));
    }

    #[test]
    fn bad_prompt_requests_say_what_is_wrong() {
        assert_eq!(
            render("nope", None),
            Err(PromptError::Unknown("nope".into()))
        );
        assert!(matches!(
            render("benchmark_endpoint", Some(&args(json!({"url": " "})))),
            Err(PromptError::Missing { arg: "url", .. })
        ));
        assert!(matches!(
            render("benchmark_endpoint", Some(&args(json!({"url": ["x"]})))),
            Err(PromptError::NotText { .. })
        ));
    }
}
