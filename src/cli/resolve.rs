//! Folds flags over a workload profile into a `RunSpec`: flags win, the
//! profile fills what they leave unset, the seed's defaults fill the rest.

use serde_json::{Map, Value};

use super::args::{Api, Arrival, RunArgs, TokenCount};
use super::CliError;
use crate::catalog::Catalog;
use crate::domain::{
    ApiKind, ArrivalPattern, EndpointSpec, LoadLevel, PromptSpec, RunSpec, StopCondition,
    TokenCountSource, WorkloadProfile,
};

/// Resolves the run specification.
pub(crate) fn resolve(
    args: &RunArgs,
    catalog: &Catalog,
    run_id: String,
) -> Result<RunSpec, CliError> {
    let profile = match &args.workload {
        Some(name) => catalog
            .get(name)
            .map_err(|e| CliError::Input(e.to_string()))?
            .clone(),
        None => WorkloadProfile::seed_defaults(),
    };
    let simulated = args.endpoint.trim().eq_ignore_ascii_case("sim");
    let streaming = match (args.streaming, args.no_streaming) {
        (true, _) => true,
        (_, true) => false,
        _ => profile.streaming,
    };
    Ok(RunSpec {
        run_id,
        workload: args.workload.as_ref().map(|_| profile.name.clone()),
        endpoint: EndpointSpec {
            url: if simulated {
                "sim".to_owned()
            } else {
                args.endpoint.trim().to_owned()
            },
            api: match args.api {
                Api::Chat => ApiKind::Chat,
                Api::Completions => ApiKind::Completions,
            },
            model: args.model.clone(),
            api_key: args.api_key.clone(),
            extra_body: extra_body(args)?,
            simulated,
        },
        streaming,
        levels: levels(args, &profile)?,
        stop: stop(args, &profile)?,
        warmup_requests: args.warmup_requests,
        prompts: prompts(args, &profile)?,
        token_count: match args.token_count {
            TokenCount::Auto => TokenCountSource::Auto,
            TokenCount::Client => TokenCountSource::Client,
            TokenCount::Server => TokenCountSource::Server,
        },
        request_timeout_s: positive(args.request_timeout, "--request-timeout")?,
        grace_period_s: non_negative(args.grace_period, "--grace-period")?,
        seed: args.seed,
    })
}

fn levels(args: &RunArgs, profile: &WorkloadProfile) -> Result<Vec<LoadLevel>, CliError> {
    if !args.request_rate.is_empty() {
        if args.concurrency.len() > 1 || args.sweep {
            return Err(input("a request-rate run takes at most one concurrency (the cap); sweep rates or concurrencies, not both"));
        }
        let cap = args
            .max_concurrency
            .or_else(|| args.concurrency.first().copied());
        let pattern = match args.arrival_pattern {
            Arrival::Constant => ArrivalPattern::Constant,
            Arrival::Poisson => ArrivalPattern::Poisson,
        };
        return args
            .request_rate
            .iter()
            .map(|&rate| {
                let rate = positive(rate, "--request-rate")?;
                Ok(LoadLevel::Rate {
                    rate,
                    pattern,
                    max_concurrency: cap,
                })
            })
            .collect();
    }
    if args.max_concurrency.is_some() {
        return Err(input(
            "--max-concurrency applies to --request-rate runs; use --concurrency for a closed loop",
        ));
    }
    let list = if !args.concurrency.is_empty() {
        args.concurrency.clone()
    } else if args.sweep {
        profile.concurrency_levels.clone()
    } else {
        vec![profile.concurrency]
    };
    if list.contains(&0) {
        return Err(input("--concurrency must be at least 1"));
    }
    Ok(list
        .into_iter()
        .map(|concurrency| LoadLevel::Concurrency { concurrency })
        .collect())
}

fn stop(args: &RunArgs, profile: &WorkloadProfile) -> Result<StopCondition, CliError> {
    if let Some(d) = args.duration {
        return Ok(StopCondition::Duration {
            seconds: positive(d, "--duration")?,
        });
    }
    let count = args
        .request_count
        .unwrap_or(u64::from(profile.request_count));
    if count == 0 {
        return Err(input("--request-count must be at least 1"));
    }
    Ok(StopCondition::Requests { count })
}

fn prompts(args: &RunArgs, p: &WorkloadProfile) -> Result<PromptSpec, CliError> {
    let spec = PromptSpec {
        input_tokens_mean: args.input_tokens.unwrap_or(p.input_tokens_mean),
        input_tokens_stddev: args.input_tokens_stddev.unwrap_or(p.input_tokens_stddev),
        output_tokens_mean: args.output_tokens.unwrap_or(p.output_tokens_mean),
        output_tokens_stddev: args.output_tokens_stddev.unwrap_or(p.output_tokens_stddev),
        shared_prefix_tokens: args.shared_prefix_tokens.unwrap_or(p.shared_prefix_tokens),
        tokenizer: args.tokenizer.clone(),
    };
    if spec.input_tokens_mean == 0 || spec.output_tokens_mean == 0 {
        return Err(input(
            "--input-tokens and --output-tokens must be at least 1",
        ));
    }
    if spec.shared_prefix_tokens >= spec.input_tokens_mean && spec.shared_prefix_tokens > 0 {
        return Err(input(&format!(
            "the shared prefix ({} tokens) must be shorter than the input ({} tokens)",
            spec.shared_prefix_tokens, spec.input_tokens_mean
        )));
    }
    Ok(spec)
}

fn extra_body(args: &RunArgs) -> Result<Map<String, Value>, CliError> {
    let mut map = match &args.extra_body {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(input(
                    "--extra-body must be a JSON object, e.g. '{\"ignore_eos\": true}'",
                ))
            }
            Err(e) => return Err(input(&format!("--extra-body is not valid JSON: {e}"))),
        },
    };
    for kv in &args.extra {
        let (k, v) = kv
            .split_once('=')
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| {
                input(&format!(
                    "--extra {kv:?} must be KEY=VALUE, e.g. --extra ignore_eos=true"
                ))
            })?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
        map.insert(k.trim().to_owned(), value);
    }
    Ok(map)
}

fn positive(v: f64, flag: &str) -> Result<f64, CliError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(input(&format!("{flag} must be a positive number, got {v}")))
    }
}

fn non_negative(v: f64, flag: &str) -> Result<f64, CliError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(input(&format!("{flag} must be zero or positive, got {v}")))
    }
}

fn input(msg: &str) -> CliError {
    CliError::Input(msg.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn spec(argv: &[&str]) -> Result<RunSpec, CliError> {
        let mut full = vec!["mcc-bench", "run"];
        full.extend_from_slice(argv);
        let cli = crate::cli::Cli::try_parse_from(full).expect("parses");
        let crate::cli::Command::Run(args) = cli.command else {
            panic!("run")
        };
        resolve(&args, &Catalog::builtin(), "id".into())
    }

    #[test]
    fn no_workload_applies_the_seed_defaults() {
        let s = spec(&["--endpoint", "http://h:1/v1"]).expect("ok");
        assert_eq!(s.levels, vec![LoadLevel::Concurrency { concurrency: 10 }]);
        assert_eq!(
            (s.prompts.input_tokens_mean, s.prompts.output_tokens_mean),
            (550, 150)
        );
        assert!(s.streaming);
        assert_eq!(s.stop, StopCondition::Requests { count: 100 });
        assert!(!s.endpoint.simulated);
    }

    #[test]
    fn flags_override_the_workload() {
        let s = spec(&[
            "-w",
            "agent-tool-calling",
            "-e",
            "sim",
            "-c",
            "3",
            "-n",
            "7",
            "--input-tokens",
            "11",
            "--streaming",
            "--extra",
            "ignore_eos=true",
            "--extra",
            "tag=abc",
        ])
        .expect("ok");
        assert_eq!(s.workload.as_deref(), Some("agent_tool_calling"));
        assert_eq!(s.levels, vec![LoadLevel::Concurrency { concurrency: 3 }]);
        assert_eq!(s.stop, StopCondition::Requests { count: 7 });
        assert_eq!(
            (s.prompts.input_tokens_mean, s.prompts.output_tokens_mean),
            (11, 100)
        );
        assert!(
            s.streaming,
            "--streaming overrides the profile's non-streaming"
        );
        assert_eq!(s.endpoint.extra_body["ignore_eos"], Value::Bool(true));
        assert_eq!(s.endpoint.extra_body["tag"], Value::String("abc".into()));
        assert!(s.endpoint.simulated);
    }

    #[test]
    fn sweeps_rates_and_duration() {
        let s = spec(&["-w", "multi_turn_chat", "-e", "sim", "--sweep"]).expect("ok");
        assert_eq!(s.levels.len(), 5);
        let s = spec(&[
            "-e",
            "sim",
            "-r",
            "5,10",
            "--arrival-pattern",
            "constant",
            "--max-concurrency",
            "4",
            "--duration",
            "2",
        ])
        .expect("ok");
        assert_eq!(
            s.levels[1],
            LoadLevel::Rate {
                rate: 10.0,
                pattern: ArrivalPattern::Constant,
                max_concurrency: Some(4)
            }
        );
        assert_eq!(s.stop, StopCondition::Duration { seconds: 2.0 });
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let msg = |argv: &[&str]| spec(argv).expect_err("bad").to_string();
        assert!(msg(&["-e", "sim", "-w", "nope"]).contains("unknown workload"));
        assert!(msg(&["-e", "sim", "-c", "0"]).contains("at least 1"));
        assert!(msg(&["-e", "sim", "-r=-1"]).contains("positive"));
        assert!(msg(&["-e", "sim", "-r", "1", "-c", "1,2"]).contains("at most one concurrency"));
        assert!(msg(&["-e", "sim", "--extra", "novalue"]).contains("KEY=VALUE"));
        assert!(msg(&["-e", "sim", "--extra-body", "[1]"]).contains("JSON object"));
        assert!(msg(&[
            "-e",
            "sim",
            "--input-tokens",
            "10",
            "--shared-prefix-tokens",
            "10"
        ])
        .contains("shared prefix"));
        assert!(msg(&["-e", "sim", "--max-concurrency", "3"]).contains("--request-rate"));
    }
}
