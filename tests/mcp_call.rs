//! `mcc-bench call` against servers from an mcp.json, and the committed
//! manifests against what the server registers.

mod bin;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use mcc_bench::domain::RunState;
use serde_json::{json, Value};

use bin::BIN;

fn config(dir: &Path, home: &Path) -> PathBuf {
    let entry = |extra: &[&str]| {
        let mut args = vec!["serve"];
        args.extend_from_slice(extra);
        json!({"command": BIN, "args": args, "env": {"MCC_BENCH_HOME": home}})
    };
    let path = dir.join("mcp.json");
    let doc = json!({"mcpServers": {"mcc-bench": entry(&[]), "workload-picker": entry(&["--toolset", "catalog"])}});
    std::fs::write(&path, doc.to_string()).expect("write config");
    path
}

fn call(cfg: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("call")
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn calls_tools_lists_them_and_fails_on_tool_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config(dir.path(), &dir.path().join("home"));
    let o = call(&cfg, &["workload-picker", "list_workloads"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
    assert_eq!(v["workloads"].as_array().expect("list").len(), 7);

    let o = call(&cfg, &["workload-picker", "--list"]);
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["tools"].as_array().expect("tools").len(), 2);

    let o = call(
        &cfg,
        &[
            "workload-picker",
            "get_workload_profile",
            "workload=multi-turn-chat",
            "--format",
            "table",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("concurrency: 10") && text.contains("input_tokens_mean: 550"),
        "{text}"
    );

    let o = call(
        &cfg,
        &["workload-picker", "get_workload_profile", "workload=nope"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown workload"));

    let o = call(&cfg, &["missing-server", "--list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("workload-picker"),
        "names the servers it has"
    );
}

#[test]
fn starts_a_benchmark_with_dotted_arguments() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config(dir.path(), &dir.path().join("home"));
    let o = call(
        &cfg,
        &[
            "mcc-bench",
            "start_benchmark",
            "workload=sample",
            "endpoint.url=sim",
            "overrides.request_count=4",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let id = v["run_id"].as_str().expect("run id");
    let mut status = String::new();
    for _ in 0..10 {
        let o = call(
            &cfg,
            &[
                "mcc-bench",
                "get_status",
                &format!("run_id={id}"),
                "wait_seconds=10",
            ],
        );
        let v: Value = serde_json::from_slice(&o.stdout).expect("json");
        status = v["status"].as_str().expect("status").to_owned();
        let state: RunState = serde_json::from_value(v["status"].clone()).expect("a run status");
        if !state.is_active() {
            break;
        }
    }
    assert_eq!(status, "completed");
}

#[test]
fn no_config_is_a_clear_error() {
    let o = Command::new(BIN)
        .args([
            "call",
            "--config",
            "/nonexistent/mcp.json",
            "mcc-bench",
            "--list",
        ])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no mcp.json found"));
}

#[test]
fn committed_manifests_and_mcp_json_match_the_registered_tools() {
    use mcc_bench::mcp::{BenchServer, Shared, Toolset};
    let home = tempfile::tempdir().expect("home");
    let shared = Arc::new(Shared::new(
        mcc_bench::catalog::Catalog::builtin(),
        mcc_bench::jobs::Jobs::new(home.path(), Path::new(BIN)),
    ));
    for (name, toolset) in [
        ("mcc-bench", Toolset::All),
        ("workload-picker", Toolset::Catalog),
    ] {
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/servers/{name}/server.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("manifest"),
        )
        .expect("json");
        let mut listed: Vec<String> =
            serde_json::from_value(manifest["_meta"]["io.github.mcc-bench/tools"].clone())
                .expect("tools");
        let mut registered = BenchServer::new(Arc::clone(&shared), toolset, false).tool_names();
        listed.sort();
        registered.sort();
        assert_eq!(listed, registered, "servers/{name}/server.json");
    }
    let mcp: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/mcp.json", env!("CARGO_MANIFEST_DIR")))
            .expect("mcp.json"),
    )
    .expect("json");
    assert_eq!(
        mcp["mcpServers"]["workload-picker"]["args"],
        json!(["serve", "--toolset", "catalog"])
    );
    assert_eq!(mcp["mcpServers"]["mcc-bench"]["args"], json!(["serve"]));
}
