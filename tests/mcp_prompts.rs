//! MCP prompts through a real client over stdio: listed with their
//! arguments, rendered with the caller's values, precise errors, and absent
//! where the tools they drive are absent.

mod bin;
mod mcp_client;

use std::path::Path;

use rmcp::model::GetPromptRequestParams;
use serde_json::json;

/// `mcc-bench serve EXTRA` with `home` as its home, otherwise in the
/// test's environment.
async fn connect(home: &Path, extra: &[&str]) -> mcp_client::Client {
    mcp_client::connect_in(extra, [("MCC_BENCH_HOME", home)], &[]).await
}

fn request(name: &str, args: serde_json::Value) -> GetPromptRequestParams {
    let mut p = GetPromptRequestParams::new(name);
    p.arguments = args.as_object().cloned();
    p
}

#[tokio::test]
async fn prompts_are_listed_and_rendered_with_arguments() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let listed = c.list_all_prompts().await.expect("prompts/list");
    let names: Vec<&str> = listed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["benchmark_endpoint", "find_max_concurrency"]);
    let url = listed[0]
        .arguments
        .as_ref()
        .and_then(|a| a.iter().find(|a| a.name == "url"))
        .expect("url argument");
    assert_eq!(url.required, Some(true));

    let got = c
        .get_prompt(request(
            "find_max_concurrency",
            json!({"url": "http://127.0.0.1:8000/v1", "workload": "rag_document_qa", "ttft_p99_ms": "300"}),
        ))
        .await
        .expect("prompts/get");
    let text = &got.messages[0]
        .content
        .as_text()
        .expect("a text message")
        .text;
    assert!(text.contains("http://127.0.0.1:8000/v1"), "{text}");
    assert!(
        text.contains("within 300 ms") && text.contains("`rag_document_qa`"),
        "{text}"
    );

    let missing = c
        .get_prompt(request("benchmark_endpoint", json!({})))
        .await
        .expect_err("url is required");
    assert!(
        missing.to_string().contains("needs the argument \"url\""),
        "{missing}"
    );
    let unknown = c
        .get_prompt(request("nope", json!({})))
        .await
        .expect_err("unknown prompt");
    assert!(unknown.to_string().contains("prompts/list"), "{unknown}");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn read_only_and_catalog_servers_offer_no_prompts() {
    let home = tempfile::tempdir().expect("home");
    for mode in [["--read-only"], ["--toolset=catalog"]] {
        let c = connect(home.path(), &mode).await;
        let info = c.peer_info().expect("server info");
        assert!(info.capabilities.prompts.is_none(), "{mode:?}");
        assert!(c.list_all_prompts().await.expect("list").is_empty());
        c.cancel().await.expect("close");
    }
}
