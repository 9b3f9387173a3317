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

fn mcp_json() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{}/mcp.json", env!("CARGO_MANIFEST_DIR")))
            .expect("mcp.json"),
    )
    .expect("json")
}

/// Each `servers/*/server.json` against the MCP registry's current schema
/// (2025-12-11, as bundled by the skillsaw linter from PyPI, in
/// scripts/python-env) with jsonschema, then through skillsaw's own registry
/// rules (name shape, exact versions, argument shapes), warnings included.
#[test]
fn server_json_files_are_valid_against_the_registry_schema() {
    let py = std::env::var_os("MCC_BENCH_PY").expect(
        "MCC_BENCH_PY must name the python of scripts/python-env (run the tests with scripts/test)",
    );
    let servers = Path::new(env!("CARGO_MANIFEST_DIR")).join("servers");
    let script = r#"
import json, sys
from importlib import resources
import jsonschema
schema_file = resources.files("skillsaw.schemas.mcp_registry.v2025_12_11") / "server.schema.json"
schema = json.loads(schema_file.read_text())
assert schema["$id"].endswith("/2025-12-11/server.schema.json"), schema["$id"]
validator = jsonschema.validators.validator_for(schema)(schema)
for path in sys.argv[1:]:
    doc = json.load(open(path))
    assert doc["$schema"] == schema["$id"], (path, doc["$schema"])
    errors = [f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
    assert not errors, errors
    print("valid:", path)
"#;
    let files: Vec<PathBuf> = ["mcc-bench", "workload-picker"]
        .iter()
        .map(|n| servers.join(n).join("server.json"))
        .collect();
    let out = Command::new(&py)
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("valid:")
            .count(),
        2
    );
    let skillsaw = Path::new(&py).with_file_name("skillsaw");
    for name in ["mcc-bench", "workload-picker"] {
        let out = Command::new(&skillsaw)
            .args(["lint", "--strict", "--no-color", "--no-progress"])
            .arg(servers.join(name))
            .output()
            .expect("skillsaw runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "servers/{name}: {text}");
        assert!(
            text.contains("Repo type: mcp-registry"),
            "skillsaw saw the manifest: {text}"
        );
    }
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
        let meta = &manifest["_meta"]["io.modelcontextprotocol.registry/publisher-provided"];
        let mut listed: Vec<String> = serde_json::from_value(meta["tools"].clone()).expect("tools");
        // Every package starts the server as mcp.json does.
        let mcp_args = mcp_json()["mcpServers"][name]["args"].clone();
        for p in manifest["packages"].as_array().expect("packages") {
            let args: Vec<Value> = p["packageArguments"]
                .as_array()
                .expect("packageArguments")
                .iter()
                .flat_map(|a| [a.get("name").cloned(), a.get("value").cloned()])
                .flatten()
                .collect();
            assert_eq!(Value::Array(args), mcp_args, "servers/{name}/server.json");
        }
        let mut registered = BenchServer::new(Arc::clone(&shared), toolset, false).tool_names();
        listed.sort();
        registered.sort();
        assert_eq!(listed, registered, "servers/{name}/server.json");
    }
    let mcp = mcp_json();
    assert_eq!(
        mcp["mcpServers"]["workload-picker"]["args"],
        json!(["serve", "--toolset", "catalog"])
    );
    assert_eq!(mcp["mcpServers"]["mcc-bench"]["args"], json!(["serve"]));
}
