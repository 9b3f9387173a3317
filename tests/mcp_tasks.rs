//! MCP Tasks (`io.modelcontextprotocol/tasks`) through rmcp's client over
//! stdio: a client that declares the extension gets start_benchmark as a
//! task backed by the run record; one that does not keeps run_id polling.

mod bin;
mod mcp_client;

use std::time::Duration;

use mcp_client::{call, connect, ok, small_run};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ClientCapabilities,
    ClientConfig, DetailedTask, GetTaskParams, Implementation, TaskPayload, TaskStatus,
};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::ServiceExt;
use serde_json::{json, Value};

type TaskClient = RunningService<RoleClient, ClientConfig>;

/// `mcc-bench serve` with `home`, through a client declaring the extension.
async fn connect_tasks(home: &std::path::Path) -> TaskClient {
    let transport =
        TokioChildProcess::new(tokio::process::Command::new(bin::BIN).configure(|cmd| {
            cmd.arg("serve")
                .env("MCC_BENCH_HOME", home)
                .env_remove("MCC_BENCH_CATALOG")
                .env_remove("OPENAI_API_KEY");
        }))
        .expect("server starts");
    let info = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("tasks-test", "1"),
    );
    info.serve(transport).await.expect("initialize handshake")
}

/// A tool call answered with a task: its id.
async fn start_task(c: &TaskClient, tool: &str, args: Value) -> String {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    let response = c
        .call_tool_once(CallToolRequestParams::new(tool.to_owned()).with_arguments(map))
        .await
        .expect("tools/call answered");
    match response {
        CallToolResponse::Task(created) => {
            assert_eq!(created.task.poll_interval_ms, Some(2_000));
            created.task.task_id
        }
        other => panic!("expected a task, got {other:?}"),
    }
}

async fn get_task(c: &TaskClient, id: &str) -> DetailedTask {
    c.peer()
        .get_task(GetTaskParams::new(id.to_owned()))
        .await
        .expect("tasks/get")
        .task
}

/// Polls tasks/get until the task is terminal (at most 60 s).
async fn settle(c: &TaskClient, id: &str) -> DetailedTask {
    for _ in 0..300 {
        let t = get_task(c, id).await;
        if t.status().is_terminal() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("task {id} did not end");
}

fn completed_result(t: &DetailedTask) -> CallToolResult {
    match &t.payload {
        TaskPayload::Completed { result } => {
            serde_json::from_value(Value::Object(result.clone())).expect("a CallToolResult")
        }
        other => panic!("expected a completed task, got {other:?}"),
    }
}

#[tokio::test]
async fn a_benchmark_runs_as_a_task_and_its_result_is_fetch_results() {
    let home = tempfile::tempdir().expect("home");
    let c = connect_tasks(home.path()).await;
    let caps = &c.peer_info().expect("server info").capabilities;
    assert!(caps.supports_tasks(), "{caps:?}");
    let id = start_task(&c, "start_benchmark", small_run("as-task")).await;
    // The task is the run: get_status knows its id.
    let Value::Object(args) = json!({"run_id": id}) else {
        unreachable!()
    };
    let status = c
        .call_tool(CallToolRequestParams::new("get_status").with_arguments(args))
        .await
        .expect("get_status");
    assert_eq!(status.structured_content.expect("status")["run_id"], id);
    let done = settle(&c, &id).await;
    assert_eq!(done.status(), TaskStatus::Completed);
    assert_eq!(done.task.status_message.as_deref(), Some("completed"));
    let result = completed_result(&done);
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let out = result.structured_content.expect("fetch_results' output");
    assert_eq!(out["run_id"], id);
    assert_eq!(out["levels"][0]["requests"], 8);
    let link = serde_json::to_string(&result.content).expect("content");
    assert!(
        link.contains("resource_link") && link.contains("text/html"),
        "{link}"
    );
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn a_refusal_stays_a_tool_error_and_unknown_tasks_are_invalid_params() {
    let home = tempfile::tempdir().expect("home");
    let c = connect_tasks(home.path()).await;
    let Value::Object(bad) = json!({"workload": "no-such-workload", "endpoint": {"url": "sim"}})
    else {
        unreachable!()
    };
    let refused = c
        .call_tool_once(CallToolRequestParams::new("start_benchmark").with_arguments(bad))
        .await
        .expect("tools/call answered");
    match refused {
        CallToolResponse::Complete(r) => assert_eq!(r.is_error, Some(true), "{r:?}"),
        other => panic!("a refusal is answered at once: {other:?}"),
    }
    let err = c
        .peer()
        .get_task(GetTaskParams::new("no-such-run"))
        .await
        .expect_err("unknown task");
    let text = format!("{err:?}");
    assert!(
        text.contains("-32602")
            || text.contains("InvalidParams")
            || text.contains("INVALID_PARAMS"),
        "{text}"
    );
    assert!(text.contains("unknown task: no-such-run"), "{text}");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn a_task_outlives_its_server_and_tasks_cancel_cancels_the_run() {
    let home = tempfile::tempdir().expect("home");
    let first = connect_tasks(home.path()).await;
    let long = json!({"workload": "sample", "endpoint": {"url": "sim"},
                      "overrides": {"request_count": 100000}});
    let id = start_task(&first, "start_benchmark", long).await;
    first.cancel().await.expect("close");
    // Another server, another session: the same task.
    let second = connect_tasks(home.path()).await;
    // Until the progress line counts requests done.
    let done = |t: &DetailedTask| {
        let m = t.task.status_message.clone().unwrap_or_default();
        m.split("level 1/1: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n > 0)
    };
    let mut working = get_task(&second, &id).await;
    for _ in 0..100 {
        if done(&working) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        working = get_task(&second, &id).await;
    }
    assert_eq!(working.status(), TaskStatus::Working);
    let message = working.task.status_message.clone().unwrap_or_default();
    assert!(message.starts_with("running, level 1/1: "), "{message}");
    second
        .peer()
        .cancel_task(CancelTaskParams::new(id.clone()))
        .await
        .expect("tasks/cancel");
    let ended = settle(&second, &id).await;
    assert_eq!(ended.status(), TaskStatus::Cancelled);
    // Cancelling an ended task is acknowledged and changes nothing.
    second
        .peer()
        .cancel_task(CancelTaskParams::new(id.clone()))
        .await
        .expect("tasks/cancel again");
    second.cancel().await.expect("close");
    // The run keeps its partial results, as with cancel_benchmark.
    let plain = connect(home.path(), &[]).await;
    let r = call(&plain, "fetch_results", json!({"run_id": id})).await;
    assert!(ok(&r)["levels"][0]["requests"].as_u64().expect("n") > 0);
    plain.cancel().await.expect("close");
}

#[tokio::test]
async fn a_client_without_the_extension_keeps_run_ids_and_cannot_use_tasks() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let s = call(&c, "start_benchmark", small_run("plain")).await;
    assert!(ok(&s)["run_id"].is_string());
    let err = c
        .peer()
        .get_task(GetTaskParams::new(
            ok(&s)["run_id"].as_str().expect("id").to_owned(),
        ))
        .await
        .expect_err("tasks/get without the extension");
    assert!(
        format!("{err:?}").contains("-32021") || format!("{err:?}").contains("capab"),
        "{err:?}"
    );
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn a_read_only_server_offers_no_tasks() {
    let home = tempfile::tempdir().expect("home");
    let transport =
        TokioChildProcess::new(tokio::process::Command::new(bin::BIN).configure(|cmd| {
            cmd.args(["serve", "--read-only"])
                .env("MCC_BENCH_HOME", home.path())
                .env_remove("MCC_BENCH_CATALOG");
        }))
        .expect("server starts");
    let info = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("tasks-test", "1"),
    );
    let c = info.serve(transport).await.expect("initialize");
    let caps = &c.peer_info().expect("server info").capabilities;
    assert!(!caps.supports_tasks(), "{caps:?}");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn a_failed_run_is_a_completed_task_whose_result_is_an_error() {
    let home = tempfile::tempdir().expect("home");
    let c = connect_tasks(home.path()).await;
    // A port nothing listens on: every request is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let args = json!({"workload": "sample",
        "endpoint": {"url": format!("http://127.0.0.1:{port}/v1"), "model": "m"},
        "overrides": {"request_count": 4, "request_timeout_s": 5}});
    let id = start_task(&c, "start_benchmark", args).await;
    let done = settle(&c, &id).await;
    // A tool error is `completed` with `isError`, never `failed` (which the
    // extension keeps for protocol errors).
    assert_eq!(done.status(), TaskStatus::Completed);
    let message = done.task.status_message.clone().unwrap_or_default();
    assert!(message.starts_with("failed"), "{message}");
    let result = completed_result(&done);
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let text = serde_json::to_string(&result.content).expect("content");
    assert!(text.contains(&format!("run {id} is failed")), "{text}");
    c.cancel().await.expect("close");
}
