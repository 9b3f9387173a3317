//! mcc-bench: benchmark LLM inference endpoints from an AI agent or a shell.
//!
//! # Layout
//!
//! Layers, each using only those below it:
//!
//! - [`mcp`] — the MCP server (tools, schemas, stdio and streamable HTTP,
//!   the operator's allowances for what a tool call may reach, the one
//!   tool-error type) and the `call` client; the only user of rmcp.
//! - `cli` — the command line (`run`, `capacity`, `status`, `stage`, `sim`,
//!   `workloads`, `serve`, `call`, `query`, `compare`, `report`, the hidden
//!   `runner` and `query-worker`): parses flags, drives the layers below,
//!   prints.
//! - [`jobs`] — runs (benchmarks and staging), whoever starts them: the
//!   state file of run records, detached runner processes, reconciliation;
//!   [`jobs::local_run`] is the one path a local benchmark runs on (the
//!   foreground `mcc-bench run`, a runner, the capacity search on top of
//!   them); [`jobs::query_worker`] runs each history query in a
//!   memory-capped process of its own; [`jobs::history`] adds each completed run to the
//!   results history (local Parquet, S3, and Athena behind
//!   [`jobs::history::athena`]'s trait) and writes its report;
//!   [`jobs::compare`] puts runs side by side.
//! - [`aws`] — the AWS SDK adapters, the only users of `aws-config` and the
//!   `aws-sdk-*` crates: each implements a trait owned by its consumer (the
//!   engines' cloud traits, the runtime-API invoker, the history's Athena
//!   trait); the job layer builds the clients and hands them down. The one
//!   reference up: `aws::athena` implements [`jobs::history::athena`]'s
//!   trait.
//! - [`engine`] — benchmark engines, which import no AWS SDK.
//!   [`engine::local`] is the embedded load generator: prompts → the one
//!   load loop → raw records → results (an endpoint behind a runtime API
//!   through the [`engine::invoke`] trait, connected by the caller);
//!   [`engine::sagemaker`] drives SageMaker AI benchmark jobs behind a
//!   cloud-API trait; [`engine::stage`] puts model weights into S3 behind an
//!   object-store trait. `sagemaker` and `stage` do not import each other;
//!   they share [`engine::CloudError`] and [`engine::Backoff`].
//! - [`storage`] — every file a run writes (AIPerf exports, spec, results,
//!   history Parquet files) and the locked state file, written atomically;
//!   SQL over the history with the embedded engine (the only user of arrow,
//!   parquet, SQLite and the SQL parser).
//!
//! Shared by every layer:
//!
//! - [`domain`] — profiles, run specs, request records, results (their
//!   per-level metrics and statistics included); uses no other module.
//! - [`metrics`] — pure functions from records to AIPerf-exact metrics (the
//!   domain's `LevelMetrics` and `Stats`), the validity certificate, key
//!   indicators and comparison math.
//! - [`report`] — pure rendering of results (and comparisons) into one
//!   self-contained HTML file with SVG plots.
//! - [`catalog`] — the workload catalog (built-in + user).
//! - [`dataset`] — prompt datasets and traces (OpenAI chat JSONL, ShareGPT,
//!   mooncake traces), read and validated line by line.
//! - [`plan`] — profile + overrides → run spec, the engine choice and the
//!   documented number limits, shared by CLI and MCP.
//! - [`project`] — ml-container-creator project files (`do/config`,
//!   `do/ic`, `do/adapters`, the bootstrap profile), read as they are.
//! - [`sim`] — the built-in simulated OpenAI-compatible endpoint.
//! - [`text`] — the built-in vocabulary and token count, shared by the local
//!   engine's prompts and tokenizer and by the simulator.
//! - [`rng`], [`sys`], [`wallclock`] — seeded randomness, OS clocks, and
//!   monotonic → wall-clock conversion.

pub mod aws;
pub mod catalog;
pub mod cli;
pub mod dataset;
pub mod domain;
pub mod engine;
pub mod jobs;
pub mod mcp;
pub mod metrics;
pub mod plan;
pub mod project;
pub mod report;
pub mod rng;
pub mod sim;
pub mod storage;
pub mod sys;
pub mod text;
pub mod wallclock;
