//! Folds flags over a workload profile into a `RunSpec` (the folding itself
//! is `crate::plan`, shared with the MCP tools).

use super::args::{Api, Arrival, RunArgs, TokenCount};
use super::CliError;
use crate::catalog::Catalog;
use crate::domain::{
    ApiKind, ArrivalPattern, EndpointSpec, RunSpec, SecretHeaders, TlsSpec, TokenCountSource,
};
use crate::plan::{self, Overrides};

/// Resolves the run specification for the endpoint at `url` (`--endpoint`,
/// or the one the project names).
pub(crate) fn resolve(
    args: &RunArgs,
    catalog: &Catalog,
    run_id: String,
    url: &str,
) -> Result<RunSpec, CliError> {
    let profile = match &args.workload {
        Some(name) => Some(
            catalog
                .get(name)
                .map_err(|e| CliError::Input(e.to_string()))?,
        ),
        None => None,
    };
    let simulated = url.trim().eq_ignore_ascii_case("sim");
    let endpoint = EndpointSpec {
        url: if simulated {
            "sim".to_owned()
        } else {
            url.trim().to_owned()
        },
        api: match args.api {
            Api::Chat => ApiKind::Chat,
            Api::Completions => ApiKind::Completions,
        },
        model: args.model.clone(),
        api_key: args.api_key.clone(),
        extra_body: plan::extra_body(args.extra_body.as_deref(), &args.extra)
            .map_err(CliError::Input)?,
        simulated,
        sim: simulated.then(|| args.sim.settings()),
        tls: TlsSpec {
            ca_cert_pem: args.ca_cert.as_deref().map(read_ca_cert).transpose()?,
            insecure: args.insecure,
        },
        headers: SecretHeaders::parse(&args.headers).map_err(CliError::Input)?,
    };
    plan::build(run_id, profile, endpoint, &overrides(args)?).map_err(CliError::Input)
}

/// The text of `--ca-cert FILE` (a PEM bundle is small; 1 MiB at most).
fn read_ca_cert(path: &std::path::Path) -> Result<String, CliError> {
    const MAX: u64 = 1 << 20;
    let fail = |why: String| CliError::Input(format!("--ca-cert {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() || meta.len() > MAX {
        return Err(fail(
            "expected a PEM certificate file of at most 1 MiB".into(),
        ));
    }
    std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))
}

fn overrides(args: &RunArgs) -> Result<Overrides, CliError> {
    let mut o = Overrides {
        concurrency: args.concurrency.clone(),
        sweep: args.sweep,
        request_rate: args.request_rate.clone(),
        arrival: Some(match args.arrival_pattern {
            Arrival::Constant => ArrivalPattern::Constant,
            Arrival::Poisson => ArrivalPattern::Poisson,
        }),
        max_concurrency: args.max_concurrency,
        request_count: args.request_count,
        duration_s: args.duration,
        input_tokens: args.input_tokens,
        input_tokens_stddev: args.input_tokens_stddev,
        output_tokens: args.output_tokens,
        output_tokens_stddev: args.output_tokens_stddev,
        shared_prefix_tokens: args.shared_prefix_tokens,
        streaming: match (args.streaming, args.no_streaming) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        tokenizer: args.tokenizer.clone(),
        // The shell's user decides what this machine downloads.
        tokenizer_download: true,
        warmup_requests: args.warmup_requests,
        token_count: match args.token_count {
            _ if args.use_server_token_count => TokenCountSource::Server,
            TokenCount::Auto => TokenCountSource::Auto,
            TokenCount::Client => TokenCountSource::Client,
            TokenCount::Server => TokenCountSource::Server,
        },
        request_timeout_s: args.request_timeout,
        grace_period_s: args.grace_period,
        seed: args.seed,
        slo: plan::slo(&args.slo).map_err(CliError::Input)?,
        ..Overrides::default()
    };
    args.shape.apply(&mut o);
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LoadLevel, StopCondition};
    use clap::Parser;
    use serde_json::Value;

    fn spec(argv: &[&str]) -> Result<RunSpec, CliError> {
        let mut full = vec!["mcc-bench", "run"];
        full.extend_from_slice(argv);
        let cli = crate::cli::Cli::try_parse_from(full).expect("parses");
        let crate::cli::Command::Run(args) = cli.command else {
            panic!("run")
        };
        let url = args.endpoint.clone().unwrap_or_default();
        resolve(&args, &Catalog::builtin(), "id".into(), &url)
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
        assert!(msg(&["-e", "sim", "-r=-1"]).contains("between"));
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
        assert!(msg(&["-e", "sim", "--max-concurrency", "3"]).contains("request-rate"));
    }
}
