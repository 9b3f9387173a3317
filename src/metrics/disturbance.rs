//! What distorts a level's figures without the client being the
//! bottleneck, for the validity certificate: connection setup (a
//! retransmitted SYN, a slow handshake) and CPU contention from other
//! processes or the hypervisor. Each becomes a figure in the certificate
//! and, beyond its limit, one of its `disturbances`.

use std::time::Duration;

use super::stats::percentile_sorted;
use super::validity::{ClientLoad, CPU_LIMIT};
use crate::domain::{RequestRecord, Validity};

/// A connection setup this long (ms) is a retransmitted SYN (the first
/// retransmit waits 1 s): the server's accept queue overflowed or a packet
/// was lost.
const CONNECT_RETRY_MS: f64 = 900.0;
/// Connection setup p99 above this (ms) weighs on the TTFT of the requests
/// that opened one.
const CONNECT_SLOW_MS: f64 = 100.0;
/// Wake-up lateness p99 above this (ms) delays timestamps by more than the
/// figures tolerate (the accuracy the engine is held to: 1 ms)…
const WAKEUP_LIMIT_MS: f64 = 1.0;
/// …and is contention from outside when other processes used at least
/// this many cores meanwhile.
const OTHERS_CORES_FLOOR: f64 = 0.5;
/// Levels shorter than this (s) get no machine-wide figures (steal, other
/// processes' CPU).
const MACHINE_FIGURES_MIN_S: f64 = 1.0;
/// Hypervisor steal above this share of the machine's CPU time.
const STEAL_LIMIT: f64 = 0.05;

/// CPU contention while a level ran.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuContention {
    /// Run-queue wait of every thread of the process, summed.
    pub run_queue_wait: Duration,
    /// Times its threads were scheduled onto a CPU.
    pub timeslices: u64,
    /// CPU time the hypervisor took from the machine (all CPUs), if known.
    pub steal: Option<Duration>,
    /// CPU time other processes used on the machine, if known.
    pub others: Option<Duration>,
}

/// Connection setup of the requests that opened a connection.
pub(super) fn connect_figures(v: &mut Validity, records: &[RequestRecord]) {
    let mut ms: Vec<f64> = records
        .iter()
        .filter_map(|r| r.connect.map(|d| d.as_secs_f64() * 1e3))
        .collect();
    ms.sort_by(f64::total_cmp);
    v.connections_opened = ms.len() as u64;
    v.connect_p50_ms = percentile_sorted(&ms, 50.0);
    v.connect_p99_ms = percentile_sorted(&ms, 99.0);
    v.connect_max_ms = ms.last().copied();
}

/// Run-queue wait per scheduling and as a share of the wall time; steal as
/// a share of the machine's CPU time.
pub(super) fn contention_figures(v: &mut Validity, load: &ClientLoad) {
    if let Some((p50, p99)) = load.wakeup_lateness_ms {
        v.wakeup_lateness_p50_ms = Some(p50);
        v.wakeup_lateness_p99_ms = Some(p99);
    }
    let Some(c) = load.contention else {
        return;
    };
    let wait_ms = c.run_queue_wait.as_secs_f64() * 1e3;
    if c.timeslices > 0 {
        v.cpu_wait_per_slice_ms = Some(wait_ms / c.timeslices as f64);
    }
    if load.wall_seconds > 0.0 {
        v.cpu_wait_share = Some(wait_ms / 1e3 / load.wall_seconds);
    }
    // The machine's counters tick every 10 ms: over a shorter level one
    // tick would read as a large share.
    if load.wall_seconds >= MACHINE_FIGURES_MIN_S {
        let cpus = f64::from(load.machine_cores.max(1));
        v.cpu_steal_share = c
            .steal
            .map(|s| s.as_secs_f64() / (load.wall_seconds * cpus));
        v.other_processes_cpu_cores = c.others.map(|o| o.as_secs_f64() / load.wall_seconds);
    }
}

/// Other processes competing for the CPUs enough to delay this process's
/// timestamps: a thread of it woke up late at p99 while others used a
/// share of the machine (its own load is the client-bound check's).
fn external_contention(v: &Validity) -> Option<String> {
    let others = v.other_processes_cpu_cores?;
    let wake = v.wakeup_lateness_p99_ms?;
    if others < OTHERS_CORES_FLOOR
        || v.client_cpu_utilization > CPU_LIMIT
        || wake <= WAKEUP_LIMIT_MS
    {
        return None;
    }
    Some(format!(
        "other processes used {others:.2} cores of this machine while this one's threads woke up {wake:.2} ms late at p99 (limit {WAKEUP_LIMIT_MS} ms) and waited for a CPU {:.0}% of the time: its timestamps may be late by that much; run on an idle machine",
        v.cpu_wait_share.unwrap_or(0.0) * 100.0
    ))
}

/// What distorted the figures without the client being the bottleneck.
pub(super) fn disturbances(v: &Validity, records: &[RequestRecord]) -> Vec<String> {
    let mut out = Vec::new();
    let retried = records
        .iter()
        .filter(|r| {
            r.connect
                .is_some_and(|d| d.as_secs_f64() * 1e3 >= CONNECT_RETRY_MS)
        })
        .count();
    let p50 = v.connect_p50_ms.unwrap_or(0.0);
    if retried > 0 {
        out.push(format!(
            "{retried} of {} new connections took ≥ 1 s to open (median {p50:.2} ms): the server's accept queue overflowed or a SYN was lost and sent again after 1 s, and those requests' TTFT include it; raise the server's listen backlog, or open the connections first (--warmup-requests ≥ concurrency)",
            v.connections_opened
        ));
    } else if let Some(p99) = v.connect_p99_ms.filter(|p| *p > CONNECT_SLOW_MS) {
        out.push(format!(
            "connection setup p99 {p99:.1} ms over {} new connections (limit {CONNECT_SLOW_MS} ms): those requests' TTFT include it",
            v.connections_opened
        ));
    }
    if let Some(why) = external_contention(v) {
        out.push(why);
    }
    if let Some(s) = v.cpu_steal_share.filter(|s| *s > STEAL_LIMIT) {
        out.push(format!(
            "the hypervisor took {:.1}% of this machine's CPU time (limit {:.0}%): timestamps may be late",
            s * 100.0,
            STEAL_LIMIT * 100.0
        ));
    }
    out
}
