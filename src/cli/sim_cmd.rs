//! `mcc-bench sim`: serve the simulated endpoint until Ctrl+C.

use std::io::Write;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::args::SimArgs;
use super::CliError;
use crate::sim::{self, Faults, SimConfig};

/// Serves the simulator in the foreground.
pub(crate) fn sim(args: &SimArgs) -> Result<ExitCode, CliError> {
    let config = SimConfig {
        model: args.model.clone(),
        ttft_ms: args.ttft_ms,
        itl_ms: args.itl_ms,
        itl_jitter_ms: args.itl_jitter_ms,
        default_max_tokens: args.default_max_tokens,
        seed: args.seed,
        faults: Faults {
            http_500: args.error_rate,
            http_429: args.rate_limit_rate,
            cut: args.cut_rate,
            error_event: args.error_event_rate,
            malformed: args.malformed_rate,
            stall: args.stall_rate,
            stall_ms: args.stall_ms,
        },
        slots: args.slots,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads.filter(|n| *n > 0) {
        builder.worker_threads(n);
    }
    let rt = builder
        .enable_all()
        .build()
        .map_err(|e| CliError::System(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let listener = sim::bind(&format!("{}:{}", args.host, args.port), &config).await?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::System(e.to_string()))?;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "mcc-bench sim listening on http://{addr}/v1");
        let _ = out.flush();
        drop(out);
        let stop = CancellationToken::new();
        let server = tokio::spawn(sim::serve(listener, config, None, stop.clone()));
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
        let _ = server.await;
        Ok(ExitCode::SUCCESS)
    })
}
