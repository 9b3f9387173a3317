//! The MCP server over streamable HTTP: a real MCP client end to end, the
//! bearer token (401), Origin validation (403), and the loopback rule.

mod bin;
mod mcp_client;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use bin::BIN;
use mcp_client::{call, ok, wait_done};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::json;

struct HttpServer {
    child: Child,
    url: String,
    _home: tempfile::TempDir,
}

impl HttpServer {
    fn start(extra: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("home");
        let mut child = Command::new(BIN)
            .args(["serve", "--http", "127.0.0.1:0"])
            .args(extra)
            .env("MCC_BENCH_HOME", home.path())
            .env_remove("MCC_BENCH_AUTH_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        stderr.read_line(&mut line).expect("address line");
        // Keep draining the server's log so it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let url = line.trim().rsplit(' ').next().expect("url").to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
            "{line}"
        );
        Self {
            child,
            url,
            _home: home,
        }
    }

    fn addr(&self) -> String {
        self.url
            .trim_start_matches("http://")
            .trim_end_matches("/mcp")
            .to_owned()
    }

    /// Status code of a raw initialize POST with the given extra headers.
    fn post_status(&self, path: &str, headers: &[&str]) -> u16 {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
        let mut s = std::net::TcpStream::connect(self.addr()).expect("connect");
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.addr(),
            body.len()
        );
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).expect("write");
        let mut head = [0u8; 12];
        s.read_exact(&mut head).expect("status line");
        String::from_utf8_lossy(&head[9..12])
            .parse()
            .expect("status code")
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_real_client_runs_start_status_results_over_http() {
    let server = HttpServer::start(&[]);
    let client =
        ().serve(StreamableHttpClientTransport::from_uri(server.url.as_str()))
            .await
            .expect("initialize");
    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 12);
    let started = call(
        &client,
        "start_benchmark",
        json!({"workload": "sample", "endpoint": {"url": "sim"}, "overrides": {"request_count": 6}}),
    )
    .await;
    let run_id = ok(&started)["run_id"].as_str().expect("id").to_owned();
    assert_eq!(wait_done(&client, &run_id).await["status"], "completed");
    let r = call(&client, "fetch_results", json!({"run_id": run_id})).await;
    assert_eq!(ok(&r)["levels"][0]["requests"], 6);
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn bearer_token_is_required_when_configured() {
    let server = HttpServer::start(&["--auth-token", "s3cret"]);
    assert_eq!(server.post_status("/mcp", &[]), 401);
    assert_eq!(
        server.post_status("/mcp", &["Authorization: Bearer wrong"]),
        401
    );
    assert_eq!(
        server.post_status("/mcp", &["Authorization: Bearer s3cret"]),
        200
    );
    let config =
        StreamableHttpClientTransportConfig::with_uri(server.url.as_str()).auth_header("s3cret");
    let client =
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .expect("authorised client");
    assert_eq!(client.list_all_tools().await.expect("tools").len(), 12);
    client.cancel().await.expect("close");
}

#[test]
fn foreign_origins_are_forbidden_and_other_paths_are_not_found() {
    let server = HttpServer::start(&[]);
    assert_eq!(
        server.post_status("/mcp", &["Origin: http://evil.example"]),
        403
    );
    assert_eq!(
        server.post_status("/mcp", &["Origin: http://localhost:3000"]),
        200
    );
    assert_eq!(server.post_status("/other", &[]), 404);
}

#[test]
fn a_non_loopback_bind_needs_a_token() {
    let o = Command::new(BIN)
        .args(["serve", "--http", "0.0.0.0:0"])
        .env_remove("MCC_BENCH_AUTH_TOKEN")
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("without a bearer token"));
}
