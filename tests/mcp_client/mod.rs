//! A real MCP client (rmcp's) driving `mcc-bench serve` over stdio, shared
//! by the MCP test files (which also declare `mod bin;`).

#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
use std::path::Path;

use mcc_bench::domain::RunState;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::ServiceExt;
use serde_json::{json, Value};

use crate::bin::BIN;

pub type Client = RunningService<RoleClient, ()>;

/// `mcc-bench serve EXTRA` with `home` as its home, and neither a user
/// catalog nor an OpenAI key from the test's environment.
pub async fn connect(home: &Path, extra: &[&str]) -> Client {
    connect_with(home, extra, &[]).await
}

/// `connect` with extra environment variables for the server.
pub async fn connect_with(home: &Path, extra: &[&str], env: &[(&str, &str)]) -> Client {
    let mut all: Vec<(&OsStr, &OsStr)> = vec![("MCC_BENCH_HOME".as_ref(), home.as_os_str())];
    all.extend(env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))));
    connect_in(extra, all, &["MCC_BENCH_CATALOG", "OPENAI_API_KEY"]).await
}

/// `mcc-bench serve ARGS` in the test's environment without `env_remove`
/// and with `env` (set after the removals, so `env` wins).
pub async fn connect_in<K, V>(
    args: &[&str],
    env: impl IntoIterator<Item = (K, V)>,
    env_remove: &[&str],
) -> Client
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let transport = TokioChildProcess::new(tokio::process::Command::new(BIN).configure(|cmd| {
        cmd.arg("serve").args(args);
        for k in env_remove {
            cmd.env_remove(k);
        }
        cmd.envs(env);
    }))
    .expect("server starts");
    ().serve(transport).await.expect("initialize handshake")
}

pub async fn call(c: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    c.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(map))
        .await
        .expect("tools/call answered")
}

pub fn ok(r: &CallToolResult) -> &Value {
    assert_ne!(r.is_error, Some(true), "unexpected tool error: {r:?}");
    r.structured_content.as_ref().expect("structured content")
}

pub fn error_text(r: &CallToolResult) -> String {
    assert_eq!(r.is_error, Some(true), "expected isError: {r:?}");
    serde_json::to_string(&r.content).expect("content")
}

pub async fn wait_done(c: &Client, run_id: &str) -> Value {
    for _ in 0..12 {
        let s = call(
            c,
            "get_status",
            json!({"run_id": run_id, "wait_seconds": 5}),
        )
        .await;
        let s = ok(&s).clone();
        if !still_active(&s) {
            return s;
        }
    }
    panic!("run {run_id} did not finish");
}

/// True while a `get_status` answer's run is queued, running or collecting
/// (the domain's own notion of active).
pub fn still_active(status: &Value) -> bool {
    serde_json::from_value::<RunState>(status["status"].clone())
        .expect("a known run status")
        .is_active()
}

pub fn small_run(label: &str) -> Value {
    json!({"workload": "sample", "endpoint": {"url": "sim"}, "label": label,
           "overrides": {"request_count": 8, "output_tokens": 8, "input_tokens": 16}})
}
