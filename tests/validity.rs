//! The validity certificate sees what distorts a number: connections that
//! take a retransmitted SYN to open (a listener whose accept queue is full)
//! and CPU contention from other processes beside the run. Everything on
//! 127.0.0.1.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{await_truth, run, spec};
use mcc_bench::sim::{SimConfig, SimServer};
use tokio::net::{TcpSocket, TcpStream};

/// The tests of this file one at a time: busy processes beside one would
/// disturb the other, and the relay's hold starts when it is made, not when
/// its run gets its turn.
static ONE_TEST_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_TEST_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn sim(ttft_ms: f64, itl_ms: f64) -> SimServer {
    SimServer::start(SimConfig {
        ttft_ms,
        itl_ms,
        ..SimConfig::default()
    })
    .expect("sim starts")
}

/// A TCP relay to `upstream` whose listener has an accept queue of one and
/// accepts nothing for `hold`: connections beyond the queue have their SYN
/// dropped until the kernel's retransmit. Returns its URL and the thread.
fn slow_accept_relay(upstream: &str, hold: Duration) -> String {
    let upstream = upstream
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host:port")
        .to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let socket = TcpSocket::new_v4().expect("socket");
            socket
                .bind("127.0.0.1:0".parse().expect("addr"))
                .expect("bind");
            let listener = socket.listen(1).expect("listen");
            let addr = listener.local_addr().expect("addr");
            tx.send(addr).expect("send addr");
            tokio::time::sleep(hold).await;
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let up = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(up).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        });
    });
    let addr = rx.recv().expect("relay address");
    format!("http://{addr}/v1")
}

#[test]
fn connections_that_wait_for_a_full_accept_queue_are_flagged() {
    let _turn = one_at_a_time();
    let sim = sim(5.0, 1.0);
    let url = slow_accept_relay(&sim.url(), Duration::from_millis(1500));
    let mut s = spec(&url, 6, 12, 16, 4);
    // Named, so no discovery request waits out the hold first: the lanes
    // connect while the relay accepts nothing, and all but two SYNs are
    // dropped (an accept queue of one holds two).
    s.endpoint.model = Some("mcc-bench-sim".into());
    let ran = run(&s, Some(&sim));
    let v = &ran.ok().levels[0].validity;
    assert_eq!(v.connections_opened, 6, "one per lane: {v:?}");
    assert!(
        v.connect_max_ms.is_some_and(|m| m >= 900.0),
        "a SYN waited for its retransmit: {v:?}"
    );
    assert!(v.disturbed, "{v:?}");
    assert!(
        v.disturbances
            .iter()
            .any(|d| d.contains("took ≥ 1 s to open") && d.contains("listen backlog")),
        "{v:?}"
    );
    assert!(!v.client_bound, "the client kept up: {v:?}");
}

/// Busy processes, two per core and one more, until dropped.
struct Hogs(Vec<Child>);

impl Hogs {
    fn start() -> Self {
        let n = 2 * std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
        Self(
            (0..n)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("sh")
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Client TTFT minus the simulator's logged TTFT, p99, ms, and the level's
/// certificate, for one run at c=8 (TTFT 50 ms, ITL 10 ms).
fn paired_run() -> (f64, mcc_bench::domain::Validity) {
    let sim = sim(50.0, 10.0);
    let mut s = spec(&sim.url(), 8, 200, 64, 20);
    s.warmup_requests = 8;
    let ran = run(&s, Some(&sim));
    let truth = await_truth(&sim, 208);
    let mut err = Vec::new();
    for rec in ran.jsonl("profile_export.jsonl") {
        let id = rec["metadata"]["x_request_id"].as_str().unwrap_or("");
        let Some(t) = truth.iter().find(|t| t.request_id == id) else {
            continue;
        };
        let Some(ttft) = rec["metrics"]["time_to_first_token"]["value"].as_f64() else {
            continue;
        };
        err.push(ttft - (t.chunks[0] - t.received).as_secs_f64() * 1e3);
    }
    err.sort_by(f64::total_cmp);
    let p99 = mcc_bench::metrics::percentile_sorted(&err, 99.0).expect("paired values");
    (p99, ran.ok().levels[0].validity.clone())
}

#[test]
fn cpu_contention_beside_the_run_is_measured() {
    let _turn = one_at_a_time();
    let (quiet_err, quiet) = paired_run();
    let hogs = Hogs::start();
    let t = Instant::now();
    let (busy_err, busy) = paired_run();
    drop(hogs);
    println!(
        "quiet: TTFT error p99 {quiet_err:.3} ms, wake-up p99 {:?} ms, wait share {:?}\nbusy ({:.1} s): TTFT error p99 {busy_err:.3} ms, wake-up p99 {:?} ms, wait share {:?}, disturbed {} {:?}",
        quiet.wakeup_lateness_p99_ms,
        quiet.cpu_wait_share,
        t.elapsed().as_secs_f64(),
        busy.wakeup_lateness_p99_ms,
        busy.cpu_wait_share,
        busy.disturbed,
        busy.disturbances
    );
    for v in [&quiet, &busy] {
        assert!(v.wakeup_lateness_p99_ms.is_some(), "{v:?}");
        assert!(v.cpu_wait_share.is_some(), "{v:?}");
    }
    assert!(
        busy.other_processes_cpu_cores.is_some_and(|c| c >= 1.0),
        "the busy processes are seen: {busy:?}"
    );
    assert!(busy.disturbed && !busy.client_bound, "{busy:?}");
    assert!(
        busy.disturbances
            .iter()
            .any(|d| d.contains("other processes used")),
        "{busy:?}"
    );
}
