//! The results-history tools through a real MCP client: query_results,
//! compare_results, list_benchmarks filters, and the report that
//! fetch_results points to (also readable as a resource).

mod bin;
mod mcp_client;

use std::path::Path;

use mcp_client::{call, connect, error_text, ok, wait_done};
use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use serde_json::{json, Value};

fn run_args(label: &str, levels: &[u32]) -> Value {
    json!({"endpoint": {"url": "sim", "model": "org/chat-model"}, "label": label, "force": true,
           "overrides": {"concurrency_levels": levels, "request_count": 8, "output_tokens": 8, "input_tokens": 16}})
}

#[tokio::test]
async fn completed_runs_are_queryable_comparable_filterable_and_reported() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let mut ids = Vec::new();
    for (label, levels) in [("base", [1, 2]), ("tuned", [1, 2])] {
        let s = call(&c, "start_benchmark", run_args(label, &levels)).await;
        let id = ok(&s)["run_id"].as_str().expect("id").to_owned();
        assert_eq!(wait_done(&c, &id).await["status"], "completed");
        ids.push(id);
    }

    let q = call(
        &c,
        "query_results",
        json!({"sql":
        "SELECT benchmark_job_name, concurrency, output_token_throughput_tps > 0 AS ok \
         FROM mlcc_ci.benchmark_results ORDER BY benchmark_job_name, concurrency"}),
    )
    .await;
    let q = ok(&q);
    assert_eq!(q["target"], "local");
    assert_eq!(q["row_count"], 4);
    let jobs: Vec<&str> = q["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["benchmark_job_name"].as_str())
        .collect();
    assert_eq!(jobs.iter().filter(|j| **j == ids[0]).count(), 2, "{q}");
    assert!(q["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|r| r["ok"] == true));
    let refused = error_text(
        &call(
            &c,
            "query_results",
            json!({"sql": "DELETE FROM benchmark_results"}),
        )
        .await,
    );
    assert!(refused.contains("only queries"), "{refused}");
    let bad_target = error_text(
        &call(
            &c,
            "query_results",
            json!({"sql": "SELECT 1", "target": "bigquery"}),
        )
        .await,
    );
    assert!(
        bad_target.contains("\\\"local\\\" or \\\"athena\\\""),
        "{bad_target}"
    );

    let cmp = call(
        &c,
        "compare_results",
        json!({"baseline": ids[0], "candidates": [ids[1]]}),
    )
    .await;
    let cmp = ok(&cmp);
    assert_eq!(cmp["baseline"]["run_id"], ids[0].as_str());
    assert_eq!(cmp["baseline"]["label"], "base");
    assert_eq!(
        cmp["candidates"][0]["levels"].as_array().map(Vec::len),
        Some(2)
    );
    let report = cmp["report"].as_str().expect("comparison report");
    assert!(Path::new(report).is_file());
    let none = error_text(&call(&c, "compare_results", json!({"run_ids": [ids[0]]})).await);
    assert!(none.contains("at least one more run"), "{none}");
    let unknown =
        error_text(&call(&c, "compare_results", json!({"run_ids": [ids[0], "nope"]})).await);
    assert!(unknown.contains("no run with id \\\"nope\\\""), "{unknown}");

    let listed = call(
        &c,
        "list_benchmarks",
        json!({"label": "tuned", "model": "CHAT-model"}),
    )
    .await;
    let runs = ok(&listed)["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["run_id"], ids[1].as_str());
    assert_eq!(runs[0]["model"], "org/chat-model");
    let none = call(&c, "list_benchmarks", json!({"instance": "ml.g5.xlarge"})).await;
    assert_eq!(ok(&none)["runs"], json!([]));
    let base_only = call(&c, "list_benchmarks", json!({"adapter": "none"})).await;
    assert_eq!(ok(&base_only)["runs"].as_array().map(Vec::len), Some(2));

    let r = call(&c, "fetch_results", json!({"run_id": ids[0]})).await;
    let r = ok(&r);
    assert!(Path::new(r["report"].as_str().expect("report path")).is_file());
    assert_eq!(r["history"]["rows"], 2);
    let uri = r["report_uri"]
        .as_str()
        .expect("report resource")
        .to_owned();
    let read = c
        .read_resource(ReadResourceRequestParams::new(uri))
        .await
        .expect("read");
    match &read.contents[0] {
        ResourceContents::TextResourceContents {
            text, mime_type, ..
        } => {
            assert_eq!(mime_type.as_deref(), Some("text/html"));
            assert!(text.contains(&ids[0]));
        }
        other => panic!("text expected: {other:?}"),
    }
    c.cancel().await.expect("close");
}
