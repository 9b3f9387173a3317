//! `--tokenizer ORG/NAME` missing from the local Hugging Face cache: fetched
//! from a Hub (tests/emulator/hub.py, also through an LFS-style redirect)
//! into the cache, in the layout huggingface_hub reads (the library AIPerf
//! and transformers load tokenizers through, from scripts/aiperf-env);
//! `HF_HUB_OFFLINE` stops it; an MCP server refuses an uncached model unless
//! its operator allows downloads. Needs MCC_BENCH_PY and MCC_BENCH_AIPERF_PY
//! (scripts/test sets them).

mod bin;
mod emulator;
mod mcp_client;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use bin::BIN;
use emulator::Service;
use mcp_client::{call, connect_with, error_text, ok, wait_done};

/// A word-level tokenizer over the built-in vocabulary (one token a word).
fn tokenizer_json() -> String {
    let mut vocab = serde_json::Map::new();
    vocab.insert("[UNK]".into(), 0.into());
    for (i, w) in mcc_bench::text::WORDS.iter().enumerate() {
        vocab.insert((*w).into(), (i + 1).into());
    }
    json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    })
    .to_string()
}

/// A Hub with `acme/words` (served directly), `acme/lfs` (through a redirect
/// to a CDN path), `acme/broken` (not a tokenizer) and `acme/gated`.
fn hub() -> (tempfile::TempDir, Service) {
    let root = tempfile::tempdir().expect("hub root");
    for (name, body, marker) in [
        ("words", tokenizer_json(), None),
        ("lfs", tokenizer_json(), Some("REDIRECT")),
        ("broken", "{\"not\": \"a tokenizer\"}".to_owned(), None),
        ("gated", tokenizer_json(), Some("GATED")),
    ] {
        let dir = root.path().join("acme").join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("tokenizer.json"), body).expect("write");
        if let Some(m) = marker {
            std::fs::write(dir.join(m), b"").expect("marker");
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulator/hub.py");
    let hub = emulator::start_script(&script, &[&root.path().display().to_string()]);
    (root, hub)
}

/// `mcc-bench run` against the simulator with `--tokenizer model`.
fn run(home: &Path, cache: &Path, hub: &str, model: &str, env: &[(&str, &str)]) -> (bool, String) {
    let out = Command::new(BIN)
        .args([
            "run",
            "-e",
            "sim",
            "-n",
            "4",
            "-c",
            "2",
            "--input-tokens",
            "32",
        ])
        .args(["--output-tokens", "8", "--tokenizer", model, "--json"])
        .env("MCC_BENCH_HOME", home)
        .env("HF_HUB_CACHE", cache)
        .env("HF_ENDPOINT", hub)
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_OFFLINE")
        .envs(env.iter().copied())
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// What huggingface_hub finds in `cache` for `model`'s tokenizer.json,
/// offline: the path, or "None".
fn hf_lookup(cache: &Path, model: &str) -> String {
    let py = std::env::var_os("MCC_BENCH_AIPERF_PY").expect(
        "MCC_BENCH_AIPERF_PY must name the python of scripts/aiperf-env (run the tests with scripts/test)",
    );
    let script = "import sys\n\
        from huggingface_hub import hf_hub_download, try_to_load_from_cache\n\
        cached = try_to_load_from_cache(sys.argv[2], 'tokenizer.json', cache_dir=sys.argv[1])\n\
        if isinstance(cached, str):\n\
        \x20   assert hf_hub_download(sys.argv[2], 'tokenizer.json', cache_dir=sys.argv[1], local_files_only=True) == cached\n\
        print(cached)\n";
    let out = Command::new(py)
        .args(["-c", script])
        .arg(cache)
        .arg(model)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The client tokenizer a `run --json` result names.
fn counted_with(out: &str) -> String {
    let start = out.find('{').expect("a JSON result");
    let mut values = serde_json::Deserializer::from_str(&out[start..]).into_iter::<Value>();
    let result = values.next().expect("one value").expect("JSON");
    result["levels"][0]["token_counts"]["tokenizer"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn snapshot(cache: &Path, model: &str) -> PathBuf {
    let repo = cache.join(format!("models--{}", model.replace('/', "--")));
    let commit = std::fs::read_to_string(repo.join("refs/main")).expect("refs/main");
    repo.join("snapshots")
        .join(commit.trim())
        .join("tokenizer.json")
}

#[test]
fn a_missing_tokenizer_is_fetched_into_the_cache_huggingface_hub_reads() {
    let (_root, hub) = hub();
    let home = tempfile::tempdir().expect("home");
    for model in ["acme/words", "acme/lfs"] {
        let cache = tempfile::tempdir().expect("cache");
        assert_eq!(hf_lookup(cache.path(), model), "None", "empty at first");
        let (ok, out) = run(home.path(), cache.path(), &hub.url, model, &[]);
        assert!(ok, "{model}: {out}");
        assert_eq!(counted_with(&out), model, "the run counted with it");
        let snap = snapshot(cache.path(), model);
        assert_eq!(
            std::fs::read_to_string(&snap).expect("snapshot"),
            tokenizer_json()
        );
        // The library that loads AIPerf's tokenizers finds the same file.
        assert_eq!(
            hf_lookup(cache.path(), model),
            snap.display().to_string(),
            "{model}"
        );
        // A second run is offline: the Hub is not needed any more.
        let (ok, out) = run(home.path(), cache.path(), "http://127.0.0.1:9", model, &[]);
        assert!(ok, "{model} from the cache: {out}");
    }
}

#[test]
fn offline_broken_and_gated_tokenizers_are_clear_errors_and_leave_no_file() {
    let (_root, hub) = hub();
    let home = tempfile::tempdir().expect("home");
    let cache = tempfile::tempdir().expect("cache");
    let offline = [("HF_HUB_OFFLINE", "1")];
    let (ok, out) = run(home.path(), cache.path(), &hub.url, "acme/words", &offline);
    assert!(!ok && out.contains("HF_HUB_OFFLINE"), "{out}");
    let (ok, out) = run(home.path(), cache.path(), &hub.url, "acme/broken", &[]);
    assert!(!ok && out.contains("does not load as a tokenizer"), "{out}");
    let (ok, out) = run(home.path(), cache.path(), &hub.url, "acme/gated", &[]);
    assert!(
        !ok && out.contains("gated or private") && out.contains("HF_TOKEN"),
        "{out}"
    );
    let (ok, out) = run(home.path(), cache.path(), &hub.url, "acme/absent", &[]);
    assert!(!ok && out.contains("HTTP 404"), "{out}");
    let left: Vec<_> = std::fs::read_dir(cache.path()).expect("cache").collect();
    assert!(left.is_empty(), "nothing enters the cache: {left:?}");
    // The gated model with the token the Hub accepts.
    let token = [("HF_TOKEN", "hf_test")];
    let (ok, out) = run(home.path(), cache.path(), &hub.url, "acme/gated", &token);
    assert!(ok, "{out}");
}

#[tokio::test]
async fn an_mcp_server_fetches_only_when_its_operator_allows_it() {
    let (_root, hub) = hub();
    let home = tempfile::tempdir().expect("home");
    let cache = tempfile::tempdir().expect("cache");
    let cache_s = cache.path().display().to_string();
    let env = [
        ("HF_HUB_CACHE", cache_s.as_str()),
        ("HF_ENDPOINT", hub.url.as_str()),
    ];
    let args = json!({"workload": "sample", "endpoint": {"url": "sim"},
        "overrides": {"request_count": 4, "input_tokens": 32, "output_tokens": 8,
                      "tokenizer": "acme/words"}});
    let closed = connect_with(home.path(), &[], &env).await;
    let refused = error_text(&call(&closed, "start_benchmark", args.clone()).await);
    assert!(refused.contains("--allow-tokenizer-download"), "{refused}");
    closed.cancel().await.expect("close");
    assert!(std::fs::read_dir(cache.path())
        .expect("cache")
        .next()
        .is_none());

    let open = connect_with(home.path(), &["--allow-tokenizer-download"], &env).await;
    let started = call(&open, "start_benchmark", args).await;
    let id = ok(&started)["run_id"].as_str().expect("run_id").to_owned();
    let done = wait_done(&open, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let r = call(
        &open,
        "fetch_results",
        json!({"run_id": id, "detail": "full"}),
    )
    .await;
    let level = &ok(&r)["full"]["levels"][0];
    assert_eq!(level["token_counts"]["tokenizer"], "acme/words", "{level}");
    assert!(snapshot(cache.path(), "acme/words").is_file());
    open.cancel().await.expect("close");
}
