//! MCP server latency and footprint, over stdio with raw JSON-RPC lines (so
//! the figures are the server's, not a client library's).
//!
//! Run with `cargo bench --bench mcp_latency`. Prints cold start to the
//! initialize response, list_workloads round trip, idle RSS, and
//! start_benchmark return time.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mcc-bench");

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Server {
    fn spawn(home: &std::path::Path) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .env("MCC_BENCH_HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
            next_id: 1,
        }
    }

    fn request(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg =
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(self.stdin, "{msg}").expect("write");
        self.stdin.flush().expect("flush");
        loop {
            let mut line = String::new();
            self.stdout.read_line(&mut line).expect("read");
            let v: serde_json::Value = serde_json::from_str(&line).expect("json line");
            if v["id"] == id {
                return v;
            }
        }
    }

    fn initialize(&mut self) {
        let v = self.request(
            "initialize",
            serde_json::json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}),
        );
        assert!(v["result"]["serverInfo"].is_object(), "{v}");
        writeln!(
            self.stdin,
            r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
        )
        .expect("write");
    }

    fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pct(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    mcc_bench::metrics::percentile_sorted(v, q).unwrap_or(f64::NAN)
}

fn main() {
    let home = tempfile::tempdir().expect("home");
    let mut cold: Vec<f64> = (0..20)
        .map(|_| {
            let t0 = Instant::now();
            let mut s = Server::spawn(home.path());
            s.initialize();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let mut s = Server::spawn(home.path());
    s.initialize();
    let mut rtt: Vec<f64> = (0..500)
        .map(|_| {
            let t0 = Instant::now();
            let v = s.request(
                "tools/call",
                serde_json::json!({"name": "list_workloads", "arguments": {}}),
            );
            assert!(v["result"]["structuredContent"]["workloads"].is_array());
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let rss = s.rss_kib();
    let mut start: Vec<f64> = (0..5)
        .map(|i| {
            let args = serde_json::json!({"workload": "sample", "endpoint": {"url": "sim"}, "force": true,
                                          "label": format!("bench-{i}"), "overrides": {"request_count": 1}});
            let t0 = Instant::now();
            let v = s.request("tools/call", serde_json::json!({"name": "start_benchmark", "arguments": args}));
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            assert!(v["result"]["structuredContent"]["run_id"].is_string(), "{v}");
            ms
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3)); // let the runners finish before the home goes
    println!("| measurement | value | target |\n|---|---|---|");
    println!(
        "| cold start → initialize response, p50 / max of 20 | {:.1} ms / {:.1} ms | ≤ 50 ms |",
        pct(&mut cold, 50.0),
        pct(&mut cold, 100.0)
    );
    println!(
        "| list_workloads round trip over stdio, p50 / p99 of 500 | {:.3} ms / {:.3} ms | ≤ 1 ms |",
        pct(&mut rtt, 50.0),
        pct(&mut rtt, 99.0)
    );
    println!(
        "| idle server RSS | {:.1} MiB | ≤ 30 MB |",
        rss as f64 / 1024.0
    );
    println!("| start_benchmark return time, p50 / max of 5 | {:.1} ms / {:.1} ms | \"well under a second\" |", pct(&mut start, 50.0), pct(&mut start, 100.0));
}
