//! The validity certificate: did the client deliver the load it was asked to,
//! and did it have the CPU and scheduling headroom to time it? A result whose
//! client was the bottleneck is flagged `client_bound` with the reasons; one
//! that something else distorted (connection setup, CPU contention from
//! other processes or the hypervisor) is flagged `disturbed` with the
//! figures.

use std::time::Instant;

use super::disturbance;
pub use super::disturbance::CpuContention;
use super::ms_between;
use super::stats::percentile_sorted;
use crate::domain::{LoadLevel, RequestRecord, Validity};

/// Dispatch lateness (p99) is always tolerated up to this many ms…
const LATENESS_FLOOR_MS: f64 = 1.0;
/// …and beyond it up to this fraction of the mean arrival gap (open loop)…
const LATENESS_GAP_FRACTION: f64 = 0.10;
/// …or of the median request latency (closed loop: a late send only delays
/// the next request by that fraction of its own duration).
const LATENESS_LATENCY_FRACTION: f64 = 0.05;
/// Runtime scheduling delay above this (ms, p99) distorts timestamps.
const RUNTIME_LAG_P99_LIMIT_MS: f64 = 2.0;
/// CPU use above this fraction of the available cores leaves no headroom.
pub(super) const CPU_LIMIT: f64 = 0.9;
/// Delivered load below this fraction of the target is a shortfall.
const DELIVERY_FLOOR: f64 = 0.9;
/// What the client spent while a level ran.
#[derive(Debug, Clone, Default)]
pub struct ClientLoad {
    /// CPU seconds used by the load generator (simulator excluded).
    pub cpu_seconds: f64,
    /// Wall seconds of the level.
    pub wall_seconds: f64,
    /// Cores the process may use.
    pub available_cores: u32,
    /// Runtime lag probe samples, ms.
    pub runtime_lag_ms: Vec<f64>,
    /// CPU contention, where the kernel reports it.
    pub contention: Option<CpuContention>,
    /// How late a thread sleeping 2, 5 and 10 ms in turn woke up, p50 and p99, ms.
    pub wakeup_lateness_ms: Option<(f64, f64)>,
    /// CPUs of the machine (for the steal share).
    pub machine_cores: u32,
}

/// Builds the certificate for one level from its profiling records.
pub fn validity(records: &[RequestRecord], level: &LoadLevel, load: &ClientLoad) -> Validity {
    let mut lateness: Vec<f64> = records
        .iter()
        .map(|r| ms_between(r.intended, r.send))
        .collect();
    lateness.sort_by(f64::total_cmp);
    let mut lag = load.runtime_lag_ms.clone();
    lag.sort_by(f64::total_cmp);
    let cores = if load.wall_seconds > 0.0 {
        load.cpu_seconds / load.wall_seconds
    } else {
        0.0
    };
    let available = load.available_cores.max(1);
    let (target_concurrency, target_rate) = match *level {
        LoadLevel::Concurrency { concurrency } => (Some(concurrency), None),
        LoadLevel::Rate {
            rate,
            max_concurrency,
            ..
        } => (max_concurrency, Some(rate)),
    };
    let mut v = Validity {
        target_concurrency,
        achieved_concurrency: achieved_concurrency(records),
        target_rate,
        achieved_rate: achieved_rate(records),
        dispatch_lateness_p50_ms: percentile_sorted(&lateness, 50.0).unwrap_or(0.0),
        dispatch_lateness_p99_ms: percentile_sorted(&lateness, 99.0).unwrap_or(0.0),
        client_cpu_cores: cores,
        client_cpu_utilization: cores / f64::from(available),
        available_cores: available,
        runtime_lag_p50_ms: percentile_sorted(&lag, 50.0).unwrap_or(0.0),
        runtime_lag_p99_ms: percentile_sorted(&lag, 99.0).unwrap_or(0.0),
        client_bound: false,
        reasons: Vec::new(),
        measured_by: None,
        ..Validity::default()
    };
    let limit = lateness_limit(level, records);
    v.reasons = reasons(&v, level, records.len(), limit);
    if records.iter().any(|r| r.session.is_some()) {
        for r in &mut v.reasons {
            *r = r.replace("requests in flight", "sessions in flight");
        }
    }
    v.client_bound = !v.reasons.is_empty();
    disturbance::connect_figures(&mut v, records);
    disturbance::contention_figures(&mut v, load);
    v.disturbances = disturbance::disturbances(&v, records);
    v.disturbed = !v.disturbances.is_empty();
    v
}

/// The dispatch lateness (p99, ms) above which the client counts as behind.
fn lateness_limit(level: &LoadLevel, records: &[RequestRecord]) -> f64 {
    let relative = match *level {
        LoadLevel::Rate { rate, .. } => LATENESS_GAP_FRACTION * 1000.0 / rate,
        LoadLevel::Concurrency { .. } => {
            let mut lat: Vec<f64> = records
                .iter()
                .filter_map(|r| r.responses.last().map(|&end| ms_between(r.send, end)))
                .collect();
            lat.sort_by(f64::total_cmp);
            LATENESS_LATENCY_FRACTION * percentile_sorted(&lat, 50.0).unwrap_or(0.0)
        }
    };
    relative.max(LATENESS_FLOOR_MS)
}

fn reasons(v: &Validity, level: &LoadLevel, n: usize, lateness_limit: f64) -> Vec<String> {
    let mut out = Vec::new();
    let cap_saturated = matches!(level, LoadLevel::Rate { max_concurrency: Some(c), .. }
        if v.achieved_concurrency >= 0.95 * f64::from(*c));
    if v.dispatch_lateness_p99_ms > lateness_limit && !cap_saturated {
        out.push(format!(
            "requests left {:.2} ms late at p99 (limit {lateness_limit:.2} ms): the client fell behind its schedule",
            v.dispatch_lateness_p99_ms
        ));
    }
    if v.runtime_lag_p99_ms > RUNTIME_LAG_P99_LIMIT_MS {
        out.push(format!(
            "async runtime lag p99 {:.2} ms (limit {RUNTIME_LAG_P99_LIMIT_MS} ms): timestamps may be late",
            v.runtime_lag_p99_ms
        ));
    }
    if v.client_cpu_utilization > CPU_LIMIT {
        out.push(format!(
            "client used {:.0}% of {} cores (limit {:.0}%)",
            v.client_cpu_utilization * 100.0,
            v.available_cores,
            CPU_LIMIT * 100.0
        ));
    }
    if n >= 2 {
        out.extend(shortfall(v, level));
    }
    out
}

fn shortfall(v: &Validity, level: &LoadLevel) -> Option<String> {
    match *level {
        LoadLevel::Concurrency { concurrency } => {
            let want = f64::from(concurrency);
            (v.achieved_concurrency < DELIVERY_FLOOR * want).then(|| {
                format!(
                    "kept {:.2} requests in flight of {concurrency} asked for",
                    v.achieved_concurrency
                )
            })
        }
        LoadLevel::Rate {
            rate,
            max_concurrency,
            ..
        } => {
            let capped =
                max_concurrency.is_some_and(|c| v.achieved_concurrency >= 0.95 * f64::from(c));
            (v.achieved_rate < DELIVERY_FLOOR * rate && !capped).then(|| {
                format!(
                    "sent {:.2} req/s of {rate} req/s asked for",
                    v.achieved_rate
                )
            })
        }
    }
}

/// Dispatch window: first send → last send (the tail after the last send is
/// the run draining, not the client holding back).
fn dispatch_window(records: &[RequestRecord]) -> Option<(Instant, Instant)> {
    let first = records.iter().map(|r| r.send).min()?;
    let last_send = records.iter().map(|r| r.send).max()?;
    if last_send > first {
        return Some((first, last_send));
    }
    let last_end = records.iter().map(|r| r.end).max()?;
    (last_end > first).then_some((first, last_end))
}

/// Time-averaged number of requests in flight over the dispatch window;
/// for multi-turn sessions, of sessions in flight (a session is in flight
/// from its first send to its last turn's end, think time included).
fn achieved_concurrency(records: &[RequestRecord]) -> f64 {
    let Some((start, stop)) = dispatch_window(records) else {
        return 0.0;
    };
    let busy = |from: Instant, to: Instant| ms_between(from.max(start), to.min(stop));
    let total: f64 = if records.iter().any(|r| r.session.is_some()) {
        let mut spans: std::collections::HashMap<u64, (Instant, Instant)> = Default::default();
        for r in records {
            let id = r.session.map_or(u64::MAX - r.index, |t| t.id);
            let span = spans.entry(id).or_insert((r.send, r.end));
            *span = (span.0.min(r.send), span.1.max(r.end));
        }
        spans.values().map(|&(a, b)| busy(a, b)).sum()
    } else {
        records.iter().map(|r| busy(r.send, r.end)).sum()
    };
    total / ms_between(start, stop)
}

/// Sends per second over the span of sends.
fn achieved_rate(records: &[RequestRecord]) -> f64 {
    let (Some(first), Some(last)) = (
        records.iter().map(|r| r.send).min(),
        records.iter().map(|r| r.send).max(),
    ) else {
        return 0.0;
    };
    let span = last.saturating_duration_since(first).as_secs_f64();
    if span > 0.0 {
        (records.len() - 1) as f64 / span
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ArrivalPattern, BenchmarkPhase};
    use std::time::Duration;

    fn rec(t0: Instant, intended_ms: u64, send_us: u64, end_ms: u64) -> RequestRecord {
        RequestRecord {
            index: 0,
            phase: BenchmarkPhase::Profiling,
            level: 0,
            intended: t0 + Duration::from_millis(intended_ms),
            send: t0 + Duration::from_micros(send_us),
            head: None,
            responses: vec![t0 + Duration::from_millis(end_ms)],
            first_answer: None,
            end: t0 + Duration::from_millis(end_ms),
            status: Some(200),
            error: None,
            usage: None,
            input_tokens: 1,
            output_tokens_client: Some(1),
            reasoning_tokens_client: None,
            max_tokens: 1,
            connect: None,
            session: None,
        }
    }

    fn load(cpu: f64) -> ClientLoad {
        ClientLoad {
            cpu_seconds: cpu,
            wall_seconds: 1.0,
            available_cores: 2,
            runtime_lag_ms: vec![0.01; 10],
            ..ClientLoad::default()
        }
    }

    fn closed(records: &[RequestRecord], load: &ClientLoad) -> Validity {
        validity(records, &LoadLevel::Concurrency { concurrency: 1 }, load)
    }

    #[test]
    fn a_retransmitted_syn_or_a_slow_setup_disturbs_a_level() {
        let t0 = Instant::now();
        let mut records: Vec<_> = (0..10)
            .map(|i| rec(t0, i * 100, i * 100_000, i * 100 + 90))
            .collect();
        let quiet = closed(&records, &load(0.1));
        assert!(
            !quiet.disturbed && quiet.connections_opened == 0,
            "{quiet:?}"
        );
        records[0].connect = Some(Duration::from_micros(300));
        records[1].connect = Some(Duration::from_millis(1_003));
        let v = closed(&records, &load(0.1));
        assert_eq!(v.connections_opened, 2);
        assert!(
            v.connect_max_ms.is_some_and(|m| (m - 1_003.0).abs() < 1e-6),
            "{v:?}"
        );
        assert!(v.disturbed && !v.client_bound, "{v:?}");
        assert!(
            v.disturbances[0].starts_with("1 of 2 new connections took ≥ 1 s"),
            "{v:?}"
        );
        records[1].connect = Some(Duration::from_millis(150));
        let v = closed(&records, &load(0.1));
        assert!(v.disturbances[0].contains("connection setup p99"), "{v:?}");
    }

    #[test]
    fn contention_from_other_processes_disturbs_a_level_and_own_load_does_not() {
        let t0 = Instant::now();
        let records: Vec<_> = (0..10)
            .map(|i| rec(t0, i * 100, i * 100_000, i * 100 + 90))
            .collect();
        let contended = |cpu: f64, wake_p99: f64, others_ms: u64| ClientLoad {
            contention: Some(CpuContention {
                run_queue_wait: Duration::from_millis(300),
                timeslices: 1_000,
                steal: Some(Duration::ZERO),
                others: Some(Duration::from_millis(others_ms)),
            }),
            wakeup_lateness_ms: Some((0.05, wake_p99)),
            machine_cores: 2,
            ..load(cpu)
        };
        let v = closed(&records, &contended(0.2, 3.5, 1_900));
        assert_eq!(v.cpu_wait_share, Some(0.3));
        assert_eq!(v.other_processes_cpu_cores, Some(1.9));
        assert!(v.disturbed && !v.client_bound, "{v:?}");
        assert!(
            v.disturbances[0].contains("other processes used 1.90 cores"),
            "{v:?}"
        );
        let idle_others = closed(&records, &contended(0.2, 3.5, 100));
        assert!(
            !idle_others.disturbed,
            "our own threads waiting: {idle_others:?}"
        );
        let prompt_wakeups = closed(&records, &contended(0.2, 0.4, 1_900));
        assert!(!prompt_wakeups.disturbed, "{prompt_wakeups:?}");
        let own = closed(&records, &contended(1.9, 3.5, 1_900));
        assert!(own.client_bound && !own.disturbed, "{own:?}");
    }

    #[test]
    fn a_punctual_rate_level_is_valid() {
        let t0 = Instant::now();
        // 10 req/s for 1 s, each sent 20 µs late, each lasting 50 ms.
        let records: Vec<_> = (0..11)
            .map(|i| rec(t0, i * 100, i * 100_000 + 20, i * 100 + 50))
            .collect();
        let level = LoadLevel::Rate {
            rate: 10.0,
            pattern: ArrivalPattern::Constant,
            max_concurrency: None,
        };
        let v = validity(&records, &level, &load(0.2));
        assert!(!v.client_bound, "{:?}", v.reasons);
        assert!((v.achieved_rate - 10.0).abs() < 0.01);
        assert!((v.dispatch_lateness_p99_ms - 0.02).abs() < 1e-6);
        assert!((v.achieved_concurrency - 0.5).abs() < 0.01);
        assert!((v.client_cpu_utilization - 0.1).abs() < 1e-9);
    }

    #[test]
    fn late_dispatch_and_cpu_saturation_make_it_client_bound() {
        let t0 = Instant::now();
        let records: Vec<_> = (0..11)
            .map(|i| rec(t0, i * 100, i * 100_000 + 15_000, i * 100 + 60))
            .collect();
        let level = LoadLevel::Rate {
            rate: 10.0,
            pattern: ArrivalPattern::Poisson,
            max_concurrency: None,
        };
        let v = validity(&records, &level, &load(1.95));
        assert!(v.client_bound);
        assert_eq!(v.reasons.len(), 2, "{:?}", v.reasons);
    }

    #[test]
    fn lateness_limit_scales_with_the_gap_or_the_latency() {
        let t0 = Instant::now();
        // Closed loop, 200 ms requests sent 3 ms late: 1.5% of a request's
        // duration, not a client limit; 12 ms late (6%) is.
        let on_time: Vec<_> = (0..4)
            .map(|i| rec(t0, i * 200, i * 200_000 + 3_000, i * 200 + 203))
            .collect();
        let level = LoadLevel::Concurrency { concurrency: 1 };
        assert!(!validity(&on_time, &level, &load(0.1)).client_bound);
        let late: Vec<_> = (0..4)
            .map(|i| rec(t0, i * 200, i * 200_000 + 12_000, i * 200 + 212))
            .collect();
        let v = validity(&late, &level, &load(0.1));
        assert!(
            v.reasons.iter().any(|r| r.contains("late")),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn closed_loop_shortfall_is_reported() {
        let t0 = Instant::now();
        // Asked for 4 in flight, but requests ran one after another.
        let records: Vec<_> = (0..5)
            .map(|i| rec(t0, i * 10, i * 10_000, i * 10 + 10))
            .collect();
        let v = validity(
            &records,
            &LoadLevel::Concurrency { concurrency: 4 },
            &load(0.1),
        );
        assert!(v.client_bound);
        assert!(v.reasons[0].contains("in flight"), "{:?}", v.reasons);
        assert!((v.achieved_concurrency - 1.0).abs() < 0.01);
    }
}
