//! The MCP server through a real MCP client (rmcp's) over stdio: schemas,
//! every tool's happy path, bad arguments, runs that outlive the server, and
//! two servers sharing one home.

mod bin;
mod mcp_client;

use std::path::Path;

use mcp_client::{call, connect, error_text, ok, small_run, wait_done};
use rmcp::model::CallToolRequestParams;
use serde_json::{json, Value};

#[tokio::test]
async fn tools_have_object_schemas_and_truthful_annotations() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let tools = c.list_all_tools().await.expect("tools/list");
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "cancel_benchmark",
            "clean",
            "compare_results",
            "fetch_results",
            "find_capacity",
            "get_status",
            "get_workload_profile",
            "list_benchmarks",
            "list_workloads",
            "query_results",
            "stage_model",
            "start_benchmark"
        ]
    );
    for t in &tools {
        assert_eq!(
            t.input_schema.get("type").and_then(Value::as_str),
            Some("object"),
            "{} input",
            t.name
        );
        let out = t
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{} has an output schema", t.name));
        assert_eq!(
            out.get("type").and_then(Value::as_str),
            Some("object"),
            "{} output",
            t.name
        );
        let a = t.annotations.as_ref().expect("annotations");
        let writes = [
            "start_benchmark",
            "find_capacity",
            "stage_model",
            "cancel_benchmark",
            "clean",
            "compare_results",
        ]
        .contains(&t.name.as_ref());
        assert_eq!(a.read_only_hint, Some(!writes), "{}", t.name);
        // Overwrites S3 objects and do/config; removes runs and files; ends
        // a run for good.
        let destroys = ["stage_model", "clean", "cancel_benchmark"].contains(&t.name.as_ref());
        if writes {
            assert_eq!(a.destructive_hint, Some(destroys), "{}", t.name);
        }
        assert!(
            t.title.as_ref().is_some_and(|s| s.len() >= 8),
            "{} has a title",
            t.name
        );
        assert!(
            t.description.as_ref().is_some_and(|d| d.len() > 20),
            "{}",
            t.name
        );
    }
    let start = tools
        .iter()
        .find(|t| t.name == "start_benchmark")
        .expect("start");
    let schema = serde_json::to_string(&start.input_schema).expect("schema");
    assert!(
        schema.contains("OpenAI-compatible base URL"),
        "field docs become schema text"
    );
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn catalog_tools() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let list = call(&c, "list_workloads", json!({})).await;
    let workloads = ok(&list)["workloads"].as_array().expect("list").clone();
    assert_eq!(workloads.len(), 7);
    let chat = workloads
        .iter()
        .find(|w| w["name"] == "multi_turn_chat")
        .expect("chat");
    assert_eq!(
        (
            chat["concurrency"].as_u64(),
            chat["input_tokens_mean"].as_u64()
        ),
        (Some(10), Some(550))
    );
    let one = call(
        &c,
        "get_workload_profile",
        json!({"workload": "agent-tool-calling"}),
    )
    .await;
    assert_eq!(ok(&one)["streaming"], false);
    let bad = error_text(&call(&c, "get_workload_profile", json!({"workload": "rag-qa"})).await);
    assert!(
        bad.contains("unknown workload") && bad.contains("rag_document_qa"),
        "{bad}"
    );
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn start_wait_fetch_list_and_clean_against_the_simulator() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let started = std::time::Instant::now();
    let s = call(&c, "start_benchmark", small_run("first")).await;
    assert!(
        started.elapsed().as_millis() < 1000,
        "start returns at once"
    );
    let run_id = ok(&s)["run_id"].as_str().expect("run_id").to_owned();
    assert_eq!(ok(&s)["reused"], false);
    let done = wait_done(&c, &run_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"]["completed"], 8);
    let live_ttft = done["progress"]["ttft_p50_ms"]
        .as_f64()
        .expect("interim TTFT p50");
    assert!(
        live_ttft > 10.0 && live_ttft < 60.0,
        "simulated TTFT is ~20 ms: {live_ttft}"
    );
    let r = call(&c, "fetch_results", json!({"run_id": run_id})).await;
    let r = ok(&r);
    assert_eq!(r["levels"][0]["level"], "c2");
    assert_eq!(r["levels"][0]["requests"], 8);
    assert!(r["levels"][0]["ttft_ms"]["p50"].as_f64().expect("ttft") > 0.0);
    assert!(r["levels"][0]["client_bound"].is_boolean());
    for f in r["files"].as_array().expect("files") {
        assert!(Path::new(f.as_str().expect("path")).is_file(), "{f}");
    }
    let full = call(
        &c,
        "fetch_results",
        json!({"run_id": run_id, "detail": "full"}),
    )
    .await;
    assert_eq!(ok(&full)["full"]["status"], "completed");
    let latest = call(&c, "get_status", json!({})).await;
    assert_eq!(ok(&latest)["run_id"], run_id.as_str());
    let listed = call(
        &c,
        "list_benchmarks",
        json!({"status": "completed", "workload": "sample"}),
    )
    .await;
    assert_eq!(ok(&listed)["runs"][0]["label"], "first");
    let cleaned = call(
        &c,
        "clean",
        json!({"run_id": run_id, "delete_local_artifacts": true}),
    )
    .await;
    assert_eq!(ok(&cleaned)["removed"][0], run_id.as_str());
    let gone = error_text(&call(&c, "get_status", json!({"run_id": run_id})).await);
    assert!(gone.contains("no run with id"), "{gone}");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn an_active_run_is_reused_unless_forced_and_cancel_keeps_partial_results() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let long = json!({"workload": "sample", "endpoint": {"url": "sim"}, "overrides": {"request_count": 100000}});
    let a = call(&c, "start_benchmark", long.clone()).await;
    let id = ok(&a)["run_id"].as_str().expect("id").to_owned();
    let again = call(&c, "start_benchmark", long.clone()).await;
    assert_eq!(
        (
            ok(&again)["reused"].as_bool(),
            ok(&again)["run_id"].as_str()
        ),
        (Some(true), Some(id.as_str()))
    );
    let mut forced = long.clone();
    forced["force"] = json!(true);
    let b = call(&c, "start_benchmark", forced).await;
    let id_b = ok(&b)["run_id"].as_str().expect("id").to_owned();
    assert_ne!(id_b, id);
    let busy = error_text(&call(&c, "clean", json!({"run_id": id})).await);
    assert!(busy.contains("force"), "{busy}");
    for run in [&id, &id_b] {
        call(&c, "get_status", json!({"run_id": run, "wait_seconds": 10})).await;
        ok(&call(&c, "cancel_benchmark", json!({"run_id": run})).await);
    }
    for run in [&id, &id_b] {
        let done = wait_done(&c, run).await;
        assert_eq!(done["status"], "cancelled", "{done}");
        let r = call(&c, "fetch_results", json!({"run_id": run})).await;
        assert!(ok(&r)["levels"][0]["requests"].as_u64().expect("n") > 0);
    }
    let again = error_text(&call(&c, "cancel_benchmark", json!({"run_id": id})).await);
    assert!(again.contains("already ended"), "{again}");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_with_the_reason() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let unknown = error_text(
        &call(
            &c,
            "start_benchmark",
            json!({"workload": "nope", "endpoint": {"url": "sim"}}),
        )
        .await,
    );
    assert!(unknown.contains("unknown workload"), "{unknown}");
    let zero = error_text(
        &call(
            &c,
            "start_benchmark",
            json!({"endpoint": {"url": "sim"}, "overrides": {"concurrency": 0}}),
        )
        .await,
    );
    assert!(zero.contains("concurrency must be at least 1"), "{zero}");
    let bad_url = error_text(
        &call(
            &c,
            "start_benchmark",
            json!({"endpoint": {"url": "sim"}, "overrides": {"duration_s": -1}}),
        )
        .await,
    );
    assert!(bad_url.contains("duration"), "{bad_url}");
    let negative = error_text(
        &call(
            &c,
            "start_benchmark",
            json!({"endpoint": {"url": "sim"}, "overrides": {"concurrency": -1}}),
        )
        .await,
    );
    assert!(negative.contains("-1"), "{negative}");
    let wrong_type = error_text(&call(&c, "start_benchmark", json!({"endpoint": "sim"})).await);
    assert!(
        wrong_type.contains("expected struct Endpoint"),
        "{wrong_type}"
    );
    let unknown_field = error_text(
        &call(
            &c,
            "start_benchmark",
            json!({"endpoint": {"url": "sim"}, "bogus": 1}),
        )
        .await,
    );
    assert!(
        unknown_field.contains("unknown field `bogus`"),
        "{unknown_field}"
    );
    let no_run = error_text(&call(&c, "fetch_results", json!({"run_id": "missing"})).await);
    assert!(
        no_run.contains("no run with id \\\"missing\\\""),
        "{no_run}"
    );
    let wait = error_text(&call(&c, "get_status", json!({"wait_seconds": 500})).await);
    assert!(
        wait.contains("between 0 and 50") || wait.contains("no benchmark"),
        "{wait}"
    );
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn toolsets_and_read_only_mode() {
    let home = tempfile::tempdir().expect("home");
    let picker = connect(home.path(), &["--toolset", "catalog"]).await;
    let mut names: Vec<String> = picker
        .list_all_tools()
        .await
        .expect("list")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["get_workload_profile", "list_workloads"]);
    picker.cancel().await.expect("close");
    let ro = connect(home.path(), &["--read-only"]).await;
    let names: Vec<String> = ro
        .list_all_tools()
        .await
        .expect("list")
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(names.len(), 7);
    assert!(!names.iter().any(|n| [
        "start_benchmark",
        "stage_model",
        "cancel_benchmark",
        "clean"
    ]
    .contains(&n.as_str())));
    ro.cancel().await.expect("close");
}

#[tokio::test]
async fn a_run_outlives_a_killed_server_and_two_servers_share_one_home() {
    let home = tempfile::tempdir().expect("home");
    let first = connect(home.path(), &[]).await;
    let s = call(&first, "start_benchmark", small_run("survivor")).await;
    let id = ok(&s)["run_id"].as_str().expect("id").to_owned();
    drop(first); // the child server process is killed with its transport
    let (a, b) = (
        connect(home.path(), &[]).await,
        connect(home.path(), &[]).await,
    );
    let done = wait_done(&a, &id).await;
    assert_eq!(
        done["status"], "completed",
        "the run finished without its server: {done}"
    );
    // Both servers start runs at the same time.
    let mut tasks = Vec::new();
    for (i, peer) in [
        a.peer().clone(),
        b.peer().clone(),
        a.peer().clone(),
        b.peer().clone(),
        a.peer().clone(),
        b.peer().clone(),
    ]
    .into_iter()
    .enumerate()
    {
        let mut args = small_run(&format!("concurrent-{i}"));
        args["force"] = json!(true);
        let Value::Object(map) = args else {
            unreachable!("object")
        };
        tasks.push(tokio::spawn(async move {
            peer.call_tool(CallToolRequestParams::new("start_benchmark").with_arguments(map))
                .await
                .expect("call")
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let r = t.await.expect("task");
        ids.push(ok(&r)["run_id"].as_str().expect("id").to_owned());
    }
    let listed = call(&b, "list_benchmarks", json!({"limit": 100})).await;
    let listed: Vec<&str> = ok(&listed)["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["run_id"].as_str().expect("id"))
        .collect();
    for id in &ids {
        assert!(listed.contains(&id.as_str()), "record {id} lost");
    }
    assert_eq!(listed.len(), 7);
    for id in &ids {
        wait_done(&a, id).await;
    }
    a.cancel().await.expect("close");
    b.cancel().await.expect("close");
}

#[tokio::test]
async fn resources_expose_the_catalog_run_status_and_aiperf_exports() {
    use rmcp::model::{ReadResourceRequestParams, ResourceContents};
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let s = call(&c, "start_benchmark", small_run("res")).await;
    let id = ok(&s)["run_id"].as_str().expect("id").to_owned();
    assert_eq!(wait_done(&c, &id).await["status"], "completed");
    let uris: Vec<String> = c
        .list_all_resources()
        .await
        .expect("resources/list")
        .iter()
        .map(|r| r.uri.clone())
        .collect();
    let listed = c.list_all_resources().await.expect("resources/list");
    let mime = |uri: &str| {
        listed
            .iter()
            .find(|r| r.uri == uri)
            .and_then(|r| r.mime_type.clone())
    };
    assert_eq!(
        mime(&format!("mcc-bench://runs/{id}/report.html")).as_deref(),
        Some("text/html")
    );
    assert_eq!(
        mime(&format!("mcc-bench://runs/{id}/status")).as_deref(),
        Some("application/json")
    );
    let templates = c
        .list_all_resource_templates()
        .await
        .expect("resources/templates/list");
    let shapes: Vec<(String, Option<String>)> = templates
        .iter()
        .map(|t| (t.uri_template.clone(), t.mime_type.clone()))
        .collect();
    for (t, m) in [
        ("mcc-bench://runs/{run_id}/status", "application/json"),
        ("mcc-bench://runs/{run_id}/report.html", "text/html"),
        (
            "mcc-bench://runs/{run_id}/{level}/profile_export_aiperf.json",
            "application/json",
        ),
    ] {
        assert!(
            shapes.contains(&(t.to_owned(), Some(m.to_owned()))),
            "{t} in {shapes:?}"
        );
    }
    let fetched = call(&c, "fetch_results", json!({"run_id": id})).await;
    let link = fetched
        .content
        .iter()
        .find_map(|b| b.as_resource_link())
        .expect("fetch_results links its report");
    assert_eq!(link.uri, format!("mcc-bench://runs/{id}/report.html"));
    assert_eq!(link.mime_type.as_deref(), Some("text/html"));
    assert_eq!(
        ok(&fetched)["report_uri"].as_str(),
        Some(link.uri.as_str()),
        "the same report in the structured content"
    );
    let export = format!("mcc-bench://runs/{id}/profile_export_aiperf.json");
    for want in [
        "mcc-bench://catalog".to_owned(),
        format!("mcc-bench://runs/{id}/status"),
        export.clone(),
    ] {
        assert!(uris.contains(&want), "{want} in {uris:?}");
    }
    let text = |uri: String| {
        let c = &c;
        async move {
            let r = c
                .read_resource(ReadResourceRequestParams::new(uri))
                .await
                .expect("resources/read");
            match &r.contents[0] {
                ResourceContents::TextResourceContents { text, .. } => {
                    serde_json::from_str::<Value>(text).expect("json")
                }
                other => panic!("text expected: {other:?}"),
            }
        }
    };
    assert_eq!(
        text("mcc-bench://catalog".into()).await["workloads"]
            .as_array()
            .expect("list")
            .len(),
        7
    );
    assert_eq!(
        text(format!("mcc-bench://runs/{id}/status")).await["status"],
        "completed"
    );
    assert_eq!(text(export).await["request_count"]["avg"], 8.0);
    let missing = c
        .read_resource(ReadResourceRequestParams::new(
            "mcc-bench://runs/nope/status",
        ))
        .await;
    assert!(
        missing.is_err(),
        "unknown resources are a protocol error (resource not found)"
    );
    c.cancel().await.expect("close");
}

/// `serve --project DIR`: tool calls that name no project use DIR, not the
/// server's working directory.
#[tokio::test]
async fn serve_project_is_the_default_project_of_tool_calls() {
    let home = tempfile::tempdir().expect("home");
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir_all(project.path().join("do")).expect("do/");
    std::fs::write(
        project.path().join("do/config"),
        "export PROJECT_NAME=\"p\"\n",
    )
    .expect("config");
    let dir = project.path().to_str().expect("utf-8");
    let c = connect(home.path(), &["--project", dir]).await;
    let r = call(&c, "start_benchmark", json!({"workload": "sample"})).await;
    let text = error_text(&r);
    let canonical = std::fs::canonicalize(project.path()).expect("canonical");
    assert!(
        text.contains(canonical.to_str().expect("utf-8")) && text.contains("has none"),
        "the --project directory is the one looked at: {text}"
    );
    c.cancel().await.expect("close");
}

/// The load-shape overrides reach the run with the meaning `mcc-bench run`
/// gives the same flags; a tokenizer path outside the allowed directories
/// is refused.
#[tokio::test]
async fn load_shape_overrides_reach_the_run() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let args = json!({"endpoint": {"url": "sim"}, "force": true, "overrides": {
        "request_rate_levels": [200, 400], "arrival_pattern": "constant", "max_concurrency": 4,
        "request_count": 20, "input_tokens": 40, "input_tokens_stddev": 5,
        "output_tokens": 6, "output_tokens_stddev": 1, "shared_prefix_tokens": 8,
        "token_count": "client", "seed": 42, "extra_body": {"ignore_eos": true},
        "sim_ttft_ms": 2, "sim_itl_ms": 1}});
    let started = call(&c, "start_benchmark", args).await;
    let id = ok(&started)["run_id"].as_str().expect("id").to_owned();
    assert_eq!(wait_done(&c, &id).await["status"], "completed");
    let full = call(&c, "fetch_results", json!({"run_id": id, "detail": "full"})).await;
    let spec = &ok(&full)["full"]["spec"];
    assert_eq!(spec["seed"], 42, "{spec}");
    assert_eq!(spec["token_count"], "client", "{spec}");
    assert_eq!(spec["prompts"]["input_tokens_stddev"], 5, "{spec}");
    assert_eq!(spec["prompts"]["output_tokens_stddev"], 1, "{spec}");
    assert_eq!(spec["prompts"]["shared_prefix_tokens"], 8, "{spec}");
    assert_eq!(spec["endpoint"]["extra_body"]["ignore_eos"], true, "{spec}");
    let levels = spec["levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 2, "{spec}");
    for (l, rate) in levels.iter().zip([200.0, 400.0]) {
        assert_eq!(l["mode"], "rate", "{l}");
        assert_eq!(l["rate"].as_f64(), Some(rate), "{l}");
        assert_eq!(l["pattern"], "constant", "{l}");
        assert_eq!(l["max_concurrency"], 4, "{l}");
    }
    let refused = call(
        &c,
        "start_benchmark",
        json!({"endpoint": {"url": "sim"}, "overrides": {"tokenizer": "/etc/passwd"}}),
    )
    .await;
    assert!(error_text(&refused).contains("overrides.tokenizer"));
    let refused = call(
        &c,
        "start_benchmark",
        json!({"endpoint": {"url": "sim"}, "overrides": {"dataset": "/etc/passwd"}}),
    )
    .await;
    assert!(
        error_text(&refused).contains("overrides.dataset"),
        "{refused:?}"
    );
    let sessions = json!({"endpoint": {"url": "sim"}, "force": true, "overrides": {
        "concurrency": 2, "request_count": 6, "turns": 3, "turns_stddev": 0,
        "think_time_ms": 5, "tools": true, "structured_output": true,
        "length_distribution": "lognormal", "input_tokens": 30, "input_tokens_stddev": 10,
        "output_tokens": 5, "sim_ttft_ms": 2, "sim_itl_ms": 1}});
    let started = call(&c, "start_benchmark", sessions).await;
    let id = ok(&started)["run_id"].as_str().expect("id").to_owned();
    assert_eq!(wait_done(&c, &id).await["status"], "completed");
    let full = call(&c, "fetch_results", json!({"run_id": id, "detail": "full"})).await;
    let full = &ok(&full)["full"];
    let spec = &full["spec"];
    assert_eq!(spec["sessions"]["turns_mean"], 3, "{spec}");
    assert_eq!(spec["sessions"]["think_time_ms_mean"], 5, "{spec}");
    assert_eq!(spec["prompts"]["tools"], true, "{spec}");
    assert_eq!(spec["prompts"]["structured_output"], true, "{spec}");
    assert_eq!(spec["prompts"]["distribution"], "lognormal", "{spec}");
    let sessions = &full["levels"][0]["metrics"]["sessions"];
    assert!(sessions["session_count"].as_u64() >= Some(2), "{sessions}");
    c.cancel().await.expect("close");
}
