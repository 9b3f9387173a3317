//! What each request carries: prompt lengths and their distribution, tools
//! and structured output, and multi-turn sessions.

use super::Overrides;
use crate::domain::{ApiKind, EndpointSpec, LoadLevel, PromptSpec, SessionSpec, WorkloadProfile};

/// The prompt shape: overrides over the profile.
pub(super) fn prompts(
    o: &Overrides,
    p: &WorkloadProfile,
    endpoint: &EndpointSpec,
) -> Result<PromptSpec, String> {
    let spec = PromptSpec {
        input_tokens_mean: o.input_tokens.unwrap_or(p.input_tokens_mean),
        input_tokens_stddev: o.input_tokens_stddev.unwrap_or(p.input_tokens_stddev),
        output_tokens_mean: o.output_tokens.unwrap_or(p.output_tokens_mean),
        output_tokens_stddev: o.output_tokens_stddev.unwrap_or(p.output_tokens_stddev),
        shared_prefix_tokens: o.shared_prefix_tokens.unwrap_or(p.shared_prefix_tokens),
        tokenizer: o.tokenizer.clone(),
        tokenizer_download: o.tokenizer_download,
        distribution: o.length_distribution.unwrap_or(p.length_distribution),
        tools: o.tools.unwrap_or(p.tools),
        structured_output: o.structured_output.unwrap_or(p.structured_output),
        // Lengths given for the run replace the profile's mixture.
        mixture: match (o.input_tokens, o.output_tokens) {
            (None, None) => p.mixture.clone(),
            _ => Vec::new(),
        },
    };
    if spec.input_tokens_mean == 0 || spec.output_tokens_mean == 0 {
        return Err("input and output tokens must be at least 1".into());
    }
    if spec.shared_prefix_tokens > 0 && spec.shared_prefix_tokens >= spec.input_tokens_mean {
        return Err(format!(
            "the shared prefix ({} tokens) must be shorter than the input ({} tokens)",
            spec.shared_prefix_tokens, spec.input_tokens_mean
        ));
    }
    if (spec.tools || spec.structured_output) && endpoint.api != ApiKind::Chat {
        return Err(
            "tools and structured output need the chat API; drop --api completions or the tools"
                .into(),
        );
    }
    Ok(spec)
}

/// Multi-turn sessions, when the mean turns asked for (or the profile's)
/// exceed one; refused where they cannot be honoured.
pub(super) fn sessions(
    o: &Overrides,
    p: &WorkloadProfile,
    endpoint: &EndpointSpec,
    levels: &[LoadLevel],
) -> Result<Option<SessionSpec>, String> {
    let s = SessionSpec {
        turns_mean: o.turns.unwrap_or(p.turns_mean),
        turns_stddev: o.turns_stddev.unwrap_or(p.turns_stddev),
        think_time_ms_mean: o.think_time_ms.unwrap_or(p.think_time_ms_mean),
        think_time_ms_stddev: o.think_time_ms_stddev.unwrap_or(p.think_time_ms_stddev),
    };
    check_session_bounds(&s)?;
    if s.turns_mean <= 1 {
        return Ok(None);
    }
    if endpoint.api != ApiKind::Chat {
        return Err("multi-turn sessions need the chat API (a history of messages); use --api chat or --turns 1".into());
    }
    if levels.iter().any(|l| matches!(l, LoadLevel::Rate { .. })) {
        return Err("multi-turn sessions run at a concurrency (sessions in flight), not a request rate; use --concurrency, or --turns 1 for a request-rate run".into());
    }
    Ok(Some(s))
}

fn check_session_bounds(s: &SessionSpec) -> Result<(), String> {
    let turns = [("turns", s.turns_mean), ("turns stddev", s.turns_stddev)];
    let think = [
        ("think time", s.think_time_ms_mean),
        ("think time stddev", s.think_time_ms_stddev),
    ];
    if let Some((what, n)) = turns.iter().find(|(_, n)| *n > SessionSpec::MAX_TURNS) {
        return Err(format!(
            "{what} {n} is beyond the limit of {}",
            SessionSpec::MAX_TURNS
        ));
    }
    if let Some((what, n)) = think.iter().find(|(_, n)| *n > SessionSpec::MAX_THINK_MS) {
        return Err(format!(
            "{what} {n} ms is beyond the limit of {} ms",
            SessionSpec::MAX_THINK_MS
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::domain::{ApiKind, EndpointSpec, LengthDistribution, SessionSpec};
    use crate::plan::{build, Overrides};

    fn endpoint(api: ApiKind) -> EndpointSpec {
        EndpointSpec {
            url: "http://127.0.0.1:1/v1".into(),
            api,
            ..EndpointSpec::default()
        }
    }

    #[test]
    fn catalog_workloads_send_what_their_names_promise() {
        let c = Catalog::builtin();
        let chat = c.get("multi_turn_chat").expect("profile");
        let s = build(
            "r".into(),
            Some(chat),
            endpoint(ApiKind::Chat),
            &Overrides::none(),
        )
        .expect("spec");
        let want = SessionSpec {
            turns_mean: 5,
            turns_stddev: 2,
            think_time_ms_mean: 1000,
            think_time_ms_stddev: 500,
        };
        assert_eq!(s.sessions, Some(want));
        assert_eq!(s.prompts.input_tokens_mean, 550, "per turn");
        let agent = c.get("agent_tool_calling").expect("profile");
        let a = build(
            "r".into(),
            Some(agent),
            endpoint(ApiKind::Chat),
            &Overrides::none(),
        )
        .expect("spec");
        assert!(a.prompts.tools && a.prompts.structured_output && a.sessions.is_some());
        let mix = c.get("production_traffic_mix").expect("profile");
        let m = build(
            "r".into(),
            Some(mix),
            endpoint(ApiKind::Chat),
            &Overrides::none(),
        )
        .expect("spec");
        assert_eq!(m.prompts.distribution, LengthDistribution::Lognormal);
        assert_eq!(m.prompts.input_tokens_stddev, 1024);
        let one = Overrides {
            turns: Some(1),
            tools: Some(false),
            ..Overrides::none()
        };
        let single = build("r".into(), Some(agent), endpoint(ApiKind::Chat), &one).expect("spec");
        assert!(single.sessions.is_none() && !single.prompts.tools);
    }

    #[test]
    fn sessions_and_tools_are_refused_where_they_cannot_run() {
        let turns = Overrides {
            turns: Some(3),
            ..Overrides::none()
        };
        let e = build("r".into(), None, endpoint(ApiKind::Completions), &turns).expect_err("api");
        assert!(e.contains("chat API"), "{e}");
        let rate = Overrides {
            request_rate: vec![5.0],
            ..turns.clone()
        };
        let e = build("r".into(), None, endpoint(ApiKind::Chat), &rate).expect_err("rate");
        assert!(
            e.contains("sessions in flight") && e.contains("--turns 1"),
            "{e}"
        );
        let tools = Overrides {
            tools: Some(true),
            ..Overrides::none()
        };
        let e = build("r".into(), None, endpoint(ApiKind::Completions), &tools).expect_err("tools");
        assert!(e.contains("chat API"), "{e}");
        let many = Overrides {
            turns: Some(SessionSpec::MAX_TURNS + 1),
            ..Overrides::none()
        };
        let e = build("r".into(), None, endpoint(ApiKind::Chat), &many).expect_err("bound");
        assert!(e.contains("beyond the limit of 1000"), "{e}");
    }
}
