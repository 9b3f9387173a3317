//! `mcc-bench workloads`: the catalog as a table or JSON.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use super::CliError;
use crate::catalog::Catalog;

/// Prints every profile with its numbers.
pub(crate) fn list(catalog: &Catalog, json: bool) -> Result<ExitCode, CliError> {
    let text = if json {
        let profiles: Vec<_> = catalog.profiles().collect();
        serde_json::to_string_pretty(&serde_json::json!({ "workloads": profiles }))
            .map_err(|e| CliError::System(e.to_string()))?
    } else {
        let mut s = format!(
            "{:<24} {:>5} {:>6} {:>6} {:>6} {:<16} {:<22} {}\n",
            "workload", "conc", "input", "output", "stream", "sweep", "requests carry", "use case"
        );
        for p in catalog.profiles() {
            let sweep: Vec<String> = p.concurrency_levels.iter().map(u32::to_string).collect();
            let _ = writeln!(
                s,
                "{:<24} {:>5} {:>6} {:>6} {:>6} {:<16} {:<22} {}",
                p.name,
                p.concurrency,
                p.input_tokens_mean,
                p.output_tokens_mean,
                if p.streaming { "yes" } else { "no" },
                sweep.join(","),
                carries(p),
                p.use_case
            );
        }
        s
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| CliError::System(format!("cannot write to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// What a profile's requests carry beyond one synthetic prompt: sessions,
/// tools, structured output, a lognormal spread or a mixture.
fn carries(p: &crate::domain::WorkloadProfile) -> String {
    let mut parts = Vec::new();
    if p.turns_mean > 1 {
        parts.push(format!("{}±{} turns", p.turns_mean, p.turns_stddev));
    }
    if p.tools {
        parts.push("tools".to_owned());
    }
    if p.structured_output {
        parts.push("json".to_owned());
    }
    if p.length_distribution == crate::domain::LengthDistribution::Lognormal {
        parts.push("lognormal".to_owned());
    }
    if !p.mixture.is_empty() {
        parts.push(format!("mix of {}", p.mixture.len()));
    }
    if p.shared_prefix_tokens > 0 {
        parts.push(format!("{} shared", p.shared_prefix_tokens));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}
