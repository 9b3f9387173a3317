//! The legacy HTTP+SSE transport (`GET /sse` + `POST /message`), driven
//! with raw HTTP so every byte on the wire is checked: the endpoint event,
//! replies as `message` events, keep-alive comments, the bearer token and
//! Origin rules, malformed and oversized posts, and session cleanup when
//! the stream closes.

mod bin;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use bin::BIN;
const TOKEN: &str = "legacy-s3cret";
const AUTH: &str = "Authorization: Bearer legacy-s3cret";

struct Server {
    child: Child,
    addr: String,
    _home: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let home = tempfile::tempdir().expect("home");
        let mut child = Command::new(BIN)
            .args(["serve", "--http", "127.0.0.1:0", "--keep-alive", "1"])
            .args(["--auth-token", TOKEN])
            .env("MCC_BENCH_HOME", home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("address line");
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|u| u.strip_prefix("http://"))
            .and_then(|u| u.strip_suffix("/mcp"))
            .expect("address")
            .to_owned();
        Self {
            child,
            addr,
            _home: home,
        }
    }

    /// Sends a raw HTTP/1.0 request (so the reply body is close-delimited)
    /// and returns the connection positioned after the response head, with
    /// the status code.
    fn request(&self, line: &str, headers: &[&str], body: &[u8]) -> (u16, BufReader<TcpStream>) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut req = format!(
            "{line} HTTP/1.0\r\nHost: {}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
            self.addr,
            body.len()
        );
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        s.write_all(req.as_bytes()).expect("write head");
        s.write_all(b"\r\n").expect("end head");
        s.write_all(body).expect("write body");
        let mut r = BufReader::new(s);
        let mut status = String::new();
        r.read_line(&mut status).expect("status line");
        let code = status
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status code");
        loop {
            let mut line = String::new();
            r.read_line(&mut line).expect("header");
            if line.trim().is_empty() {
                return (code, r);
            }
        }
    }

    fn open_stream(&self) -> (BufReader<TcpStream>, String) {
        let (code, mut stream) = self.request("GET /sse", &[AUTH], b"");
        assert_eq!(code, 200);
        let (event, data) = next_event(&mut stream);
        assert_eq!(event, "endpoint");
        assert!(data.starts_with("/message?sessionId="), "{data}");
        (stream, data)
    }

    fn post(&self, endpoint: &str, msg: &Value) -> u16 {
        let body = serde_json::to_vec(msg).expect("json");
        self.request(&format!("POST {endpoint}"), &[AUTH], &body).0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next event (name, data), skipping keep-alive comments.
fn next_event(stream: &mut BufReader<TcpStream>) -> (String, String) {
    let (mut event, mut data) = (String::new(), String::new());
    loop {
        let mut line = String::new();
        let n = stream.read_line(&mut line).expect("event line");
        assert!(n > 0, "stream ended");
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(v) = line.strip_prefix("event: ") {
            event = v.to_owned();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = v.to_owned();
        } else if line.is_empty() && !event.is_empty() {
            return (event, data);
        }
    }
}

fn next_message(stream: &mut BufReader<TcpStream>) -> Value {
    let (event, data) = next_event(stream);
    assert_eq!(event, "message");
    serde_json::from_str(&data).expect("message is JSON")
}

fn initialize(server: &Server, stream: &mut BufReader<TcpStream>, endpoint: &str) {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "raw-sse", "version": "1"}}});
    assert_eq!(server.post(endpoint, &init), 202);
    let reply = next_message(stream);
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["result"]["serverInfo"]["name"], "mcc-bench");
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(server.post(endpoint, &done), 202);
}

#[test]
fn a_legacy_client_initializes_lists_and_calls_tools() {
    let server = Server::start();
    let (mut stream, endpoint) = server.open_stream();
    initialize(&server, &mut stream, &endpoint);
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    assert_eq!(server.post(&endpoint, &list), 202);
    let tools = next_message(&mut stream);
    assert_eq!(
        tools["result"]["tools"].as_array().expect("tools").len(),
        12
    );
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "get_workload_profile", "arguments": {"workload": "multi-turn-chat"}}});
    assert_eq!(server.post(&endpoint, &call), 202);
    let reply = next_message(&mut stream);
    assert_eq!(reply["id"], 3);
    assert_eq!(reply["result"]["isError"], false);
    assert_eq!(
        reply["result"]["structuredContent"]["name"],
        "multi_turn_chat"
    );
}

#[test]
fn idle_streams_get_keep_alive_comments() {
    let server = Server::start();
    let (mut stream, _) = server.open_stream();
    let started = Instant::now();
    let mut line = String::new();
    while line.trim().is_empty() {
        line.clear();
        stream
            .read_line(&mut line)
            .expect("keep-alive within the timeout");
    }
    assert_eq!(line.trim_end(), ": keep-alive");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn token_and_origin_rules_apply_to_the_legacy_routes() {
    let server = Server::start();
    assert_eq!(server.request("GET /sse", &[], b"").0, 401);
    let wrong = "Authorization: Bearer wrong";
    assert_eq!(server.request("GET /sse", &[wrong], b"").0, 401);
    let evil = "Origin: http://evil.example";
    assert_eq!(server.request("GET /sse", &[AUTH, evil], b"").0, 403);
    let local = "Origin: http://localhost:5173";
    assert_eq!(server.request("GET /sse", &[AUTH, local], b"").0, 200);
    let (_, endpoint) = server.open_stream();
    let post = format!("POST {endpoint}");
    assert_eq!(server.request(&post, &[], b"{}").0, 401);
    assert_eq!(server.request(&post, &[AUTH, evil], b"{}").0, 403);
    assert_eq!(server.request("DELETE /sse", &[AUTH], b"").0, 405);
}

#[test]
fn bad_posts_get_precise_statuses_and_closed_sessions_are_forgotten() {
    let server = Server::start();
    let (mut stream, endpoint) = server.open_stream();
    let post_raw = |target: &str, body: &[u8]| {
        let (code, mut r) = server.request(&format!("POST {target}"), &[AUTH], body);
        let mut text = String::new();
        let _ = r.read_to_string(&mut text);
        (code, text)
    };
    let (code, text) = post_raw("/message", b"{}");
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("missing sessionId"), "{text}");
    let (code, text) = post_raw("/message?sessionId=0000", b"{}");
    assert_eq!(code, 404, "{text}");
    assert!(text.contains("GET /sse"), "{text}");
    let (code, text) = post_raw(&endpoint, b"{not json");
    assert_eq!(code, 400, "{text}");
    assert!(text.contains("not a JSON-RPC message"), "{text}");
    let (code, _) = post_raw(&endpoint, &vec![b' '; (1 << 20) + 1]);
    assert_eq!(code, 413);
    // The session still works after the refused posts.
    initialize(&server, &mut stream, &endpoint);
    // Closing the stream ends the session: its endpoint answers 404.
    stream.get_ref().shutdown(Shutdown::Both).expect("close");
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(5);
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"});
    while server.post(&endpoint, &ping) != 404 {
        assert!(Instant::now() < deadline, "session outlived its stream");
        std::thread::sleep(Duration::from_millis(50));
    }
}
