//! The HTTP server under attack, for real, on 127.0.0.1: slow and silent
//! clients (header timeout), more connections than `--max-connections`, an
//! accept-error storm under a low open-file limit (no busy loop, no log
//! flood, recovery), more legacy SSE sessions than `--max-sessions`, and a
//! legacy client that never reads its stream while a peer floods its
//! message URL (bounded memory, session dropped).

mod bin;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use bin::BIN;

struct Server {
    child: Child,
    addr: String,
    /// Everything the server wrote to stderr after its address line.
    log: Arc<Mutex<Vec<u8>>>,
    _home: tempfile::TempDir,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        Self::spawn(Command::new(BIN), args)
    }

    /// The server with at most `files` open file descriptors.
    fn start_with_nofile(files: u32, args: &[&str]) -> Self {
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            &format!("ulimit -n {files} && exec \"$0\" \"$@\""),
            BIN,
        ]);
        Self::spawn(sh, args)
    }

    fn spawn(mut cmd: Command, args: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("home");
        let mut child = cmd
            .args(["serve", "--http", "127.0.0.1:0"])
            .args(args)
            .env("MCC_BENCH_HOME", home.path())
            .env_remove("MCC_BENCH_AUTH_TOKEN")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("address line");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                sink.lock().expect("log").extend_from_slice(&buf[..n]);
            }
        });
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|u| u.strip_prefix("http://"))
            .and_then(|u| u.strip_suffix("/mcp"))
            .unwrap_or_else(|| panic!("address in {line:?}"))
            .to_owned();
        Self {
            child,
            addr,
            log,
            _home: home,
        }
    }

    fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().expect("log")).into_owned()
    }

    fn log_bytes(&self) -> usize {
        self.log.lock().expect("log").len()
    }

    /// `/proc/<pid>/<file>`.
    fn proc(&self, file: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{file}", self.child.id())).expect("proc")
    }

    /// CPU time used so far (user + system), in clock ticks (1/100 s).
    fn cpu_ticks(&self) -> u64 {
        let stat = self.proc("stat");
        // Fields after the command name (which is in parentheses).
        let rest = &stat[stat.rfind(')').expect("stat") + 2..];
        let f: Vec<u64> = rest
            .split(' ')
            .skip(11)
            .take(2)
            .map(|v| v.parse().expect("ticks"))
            .collect();
        f[0] + f[1]
    }

    /// Resident memory, KiB.
    fn rss_kib(&self) -> u64 {
        self.proc("status")
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        s
    }

    /// Sends one HTTP/1.0 request; the status code and the whole reply, or
    /// `None` when the connection was closed or reset without an answer.
    fn request(&self, line: &str, body: &[u8]) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(&self.addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let head = format!(
            "{line} HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        s.write_all(body).ok()?;
        let mut reply = String::new();
        s.read_to_string(&mut reply).ok()?;
        let code = reply.split(' ').nth(1)?.parse().ok()?;
        Some((code, reply))
    }

    /// Waits (bounded) until a plain request gets its answer.
    fn wait_serving(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.request("GET /nowhere", b"").map(|r| r.0) != Some(404) {
            assert!(
                Instant::now() < deadline,
                "not serving; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn post(&self, target: &str, msg: &serde_json::Value) -> Option<u16> {
        let body = serde_json::to_vec(msg).expect("json");
        self.request(&format!("POST {target}"), &body).map(|r| r.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long until the server closes `s` (reads until end of stream or
/// reset, discarding data).
fn time_to_close(s: &mut TcpStream, started: Instant) -> Duration {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                panic!("still open after {:?}", started.elapsed())
            }
            Err(_) => return started.elapsed(),
        }
    }
}

#[test]
fn slow_and_silent_clients_are_cut_off_at_the_header_timeout() {
    let server = Server::start(&["--header-timeout-ms", "1000"]);
    let started = Instant::now();
    // Half a header line, then nothing.
    let mut half = server.connect();
    half.write_all(b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aa")
        .expect("write");
    // Nothing at all.
    let mut silent = server.connect();
    // A trickle: one byte every 100 ms, which never completes the head.
    let mut trickle = server.connect();
    let drip = std::thread::spawn(move || {
        for b in b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            .iter()
            .cycle()
        {
            if trickle.write_all(&[*b]).is_err() {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
            if started.elapsed() > Duration::from_secs(10) {
                panic!("the trickling client was never cut off");
            }
        }
        unreachable!()
    });
    for (name, s) in [("half header", &mut half), ("silent", &mut silent)] {
        let t = time_to_close(s, started);
        assert!(
            t >= Duration::from_millis(900) && t < Duration::from_secs(3),
            "{name}: closed after {t:?}"
        );
    }
    let t = drip.join().expect("trickle");
    assert!(t < Duration::from_secs(4), "trickle: cut after {t:?}");
    // A client that sends its request at once is served.
    server.wait_serving(Duration::from_secs(2));
}

#[test]
fn the_default_header_timeout_is_ten_seconds() {
    let server = Server::start(&[]);
    let started = Instant::now();
    let mut half = server.connect();
    half.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
        .expect("write");
    let t = time_to_close(&mut half, started);
    assert!(
        t >= Duration::from_millis(9_500) && t < Duration::from_secs(12),
        "closed after {t:?}"
    );
}

#[test]
fn connections_over_the_limit_are_refused_and_the_server_keeps_serving() {
    let server = Server::start(&["--max-connections", "4"]);
    server.wait_serving(Duration::from_secs(2));
    // Let the server finish with that connection, then take every slot.
    std::thread::sleep(Duration::from_millis(300));
    let idle: Vec<TcpStream> = (0..4).map(|_| server.connect()).collect();
    std::thread::sleep(Duration::from_millis(300));
    for s in &idle {
        s.set_nonblocking(true).expect("nonblocking");
        let open = matches!(s.peek(&mut [0]), Err(e) if e.kind() == ErrorKind::WouldBlock);
        assert!(open, "an idle connection within the limit was refused");
    }
    // The fifth and later ones: 503 at once, or closed.
    for _ in 0..40 {
        let mut extra = server.connect();
        let started = Instant::now();
        let _ = extra
            .write_all(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let mut reply = String::new();
        let _ = extra.read_to_string(&mut reply);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            reply.is_empty() || reply.starts_with("HTTP/1.1 503 "),
            "{reply}"
        );
        if !reply.is_empty() {
            assert!(reply.contains("Retry-After: 1"), "{reply}");
        }
    }
    let log = server.log();
    let warned = log
        .matches("refused a connection: 4 connections already open")
        .count();
    assert!((1..=2).contains(&warned), "one warning a second:\n{log}");
    drop(idle);
    server.wait_serving(Duration::from_secs(3));
}

#[test]
fn an_accept_error_storm_neither_spins_nor_floods_the_log_and_recovers() {
    let server = Server::start_with_nofile(64, &["--max-connections", "1000"]);
    server.wait_serving(Duration::from_secs(3));
    // Twice as many connections as descriptors: accept fails with EMFILE
    // while the rest wait in the listen backlog (which holds them all).
    let conns: Vec<TcpStream> = (0..120).map(|_| server.connect()).collect();
    std::thread::sleep(Duration::from_millis(500));
    let (cpu0, log0, t0) = (server.cpu_ticks(), server.log_bytes(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (cpu1, log1, t1) = (server.cpu_ticks(), server.log_bytes(), Instant::now());
    let used = (cpu1 - cpu0) as f64 / 100.0 / (t1 - t0).as_secs_f64();
    let log = server.log();
    eprintln!(
        "EMFILE storm: {used:.3} cores and {} bytes of log over {:?} ({} bytes in all)",
        log1 - log0,
        t1 - t0,
        log.len()
    );
    assert!(log.contains("accept failed"), "no storm happened:\n{log}");
    assert!(log.contains("Too many open files"), "{log}");
    assert!(
        used < 0.2,
        "the server used {used:.2} cores during the storm"
    );
    // One warning a second (~200 bytes each, with colours).
    assert!(log1 - log0 < 1024, "{} bytes of log:\n{log}", log1 - log0);
    assert!(log.len() < 4096, "{} bytes of log:\n{log}", log.len());
    drop(conns);
    let closed = Instant::now();
    server.wait_serving(Duration::from_secs(5));
    eprintln!(
        "EMFILE storm: serving again {:?} after the clients left",
        closed.elapsed()
    );
}

/// Opens a legacy stream; the reader positioned after the endpoint event,
/// and the message URL.
fn open_stream(server: &Server) -> Result<(BufReader<TcpStream>, String), String> {
    let mut s = server.connect();
    let head = format!("GET /sse HTTP/1.0\r\nHost: {}\r\n\r\n", server.addr);
    s.write_all(head.as_bytes()).expect("write");
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status).expect("status");
    let mut head = status.clone();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).expect("header");
        head.push_str(&line);
        if line.trim().is_empty() {
            break;
        }
    }
    if !status.contains(" 200 ") {
        return Err(head);
    }
    loop {
        let mut line = String::new();
        r.read_line(&mut line).expect("event");
        if let Some(url) = line.trim().strip_prefix("data: ") {
            return Ok((r, url.to_owned()));
        }
    }
}

#[test]
fn legacy_sessions_over_the_limit_get_503() {
    let server = Server::start(&["--max-sessions", "2"]);
    let (first, _) = open_stream(&server).expect("first");
    let _second = open_stream(&server).expect("second");
    let refused = open_stream(&server).expect_err("third refused");
    assert!(refused.starts_with("HTTP/1.0 503 "), "{refused}");
    assert!(refused.contains("retry-after: 5"), "{refused}");
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_stream(&server).is_err() {
        assert!(Instant::now() < deadline, "closed session never freed");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_client_that_does_not_read_its_stream_is_dropped_with_bounded_memory() {
    let server = Server::start(&[]);
    let (victim, url) = open_stream(&server).expect("stream");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "never-reads", "version": "1"}}});
    assert_eq!(server.post(&url, &init), Some(202));
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(server.post(&url, &done), Some(202));
    std::thread::sleep(Duration::from_millis(300));
    let before = server.rss_kib();
    // Each call is answered with its 400 kB run id quoted back.
    let big = "x".repeat(400_000);
    let mut peak = before;
    let mut dropped_after = None;
    for i in 1..=1000 {
        let call = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "get_status", "arguments": {"run_id": big}}});
        let code = server.post(&url, &call);
        peak = peak.max(server.rss_kib());
        match code {
            Some(202 | 503) => {}
            Some(404) => {
                dropped_after = Some(i);
                break;
            }
            other => panic!("POST {i}: {other:?}"),
        }
    }
    let after = server.rss_kib();
    eprintln!(
        "non-reading client: VmRSS {before} kB before, peak {peak} kB, {after} kB after; dropped after {dropped_after:?} posts"
    );
    let dropped_after = dropped_after.expect("the session was never dropped");
    assert!(dropped_after < 200, "dropped after {dropped_after} posts");
    assert!(
        peak - before < 64 << 10,
        "RSS grew from {before} kB to {peak} kB"
    );
    // The victim's connection was closed: past what its socket buffers
    // held, its stream ends.
    let mut victim = victim.into_inner();
    let started = Instant::now();
    let t = time_to_close(&mut victim, started);
    assert!(t < Duration::from_secs(5), "{t:?}");
    assert!(
        server
            .log()
            .contains("legacy SSE client not reading its event stream"),
        "{}",
        server.log()
    );
    // Other clients are unaffected.
    let (_stream, url) = open_stream(&server).expect("a new stream");
    assert_eq!(server.post(&url, &init), Some(202));
}
