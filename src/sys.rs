//! The few operating-system calls the measurement needs, in one place:
//! process and thread CPU time, high-resolution sleeps for the dispatcher,
//! and kernel receive timestamps of what a socket reads (`rx_timestamp`,
//! `stamped_stream`), for the simulator and the load generator.

use std::time::Duration;

pub mod rx_timestamp;
pub mod stamped_stream;

/// CPU time (user + system) used by the whole process so far.
pub fn process_cpu_time() -> Duration {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// User and system CPU time of the whole process so far, apart.
#[allow(unsafe_code)]
pub fn process_user_system_time() -> (Duration, Duration) {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the whole rusage it is given (zeroed first,
    // so a failed call leaves zeros).
    let ru = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr());
        ru.assume_init()
    };
    let tv = |t: libc::timeval| {
        Duration::new(
            t.tv_sec.max(0) as u64,
            (t.tv_usec.clamp(0, 999_999) as u32) * 1_000,
        )
    };
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// CPU time used by the calling thread so far.
pub fn thread_cpu_time() -> Duration {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

#[allow(unsafe_code)]
fn clock(id: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes it.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Asks the kernel to wake this thread's sleeps within 1 µs of their
/// deadline (the default slack is 50 µs). Best effort.
#[allow(unsafe_code)]
pub fn tighten_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches no memory.
    let _ = unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1_000 as libc::c_ulong, 0, 0, 0) };
}

/// CPUs of the machine (online), whatever this process may use.
#[allow(unsafe_code)]
pub fn machine_cores() -> u32 {
    // SAFETY: sysconf reads a configuration value and touches no memory.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u32::try_from(n).unwrap_or(1).max(1)
}

/// Cores this process may run on.
pub fn available_cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// A handle on one thread's CPU clock, readable from any thread while that
/// thread lives.
#[derive(Debug, Clone, Copy)]
pub struct ThreadClock(libc::clockid_t);

impl ThreadClock {
    /// The calling thread's CPU clock.
    #[allow(unsafe_code)]
    pub fn current() -> Option<Self> {
        let mut id: libc::clockid_t = 0;
        // SAFETY: pthread_self() is always valid for the calling thread and
        // `id` is a valid out-pointer.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
        (rc == 0).then_some(Self(id))
    }

    /// CPU time the thread has used so far.
    pub fn cpu_time(&self) -> Duration {
        clock(self.0)
    }
}

/// True when a process with this pid exists (signal 0 probe).
#[allow(unsafe_code)]
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Sends SIGKILL to a process; false if it does not exist.
#[allow(unsafe_code)]
pub fn kill(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: sending a signal touches no memory of ours.
    unsafe { libc::kill(pid, libc::SIGKILL) == 0 }
}

/// Sends SIGTERM to a process; false if it does not exist.
#[allow(unsafe_code)]
pub fn terminate(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: sending a signal touches no memory of ours.
    unsafe { libc::kill(pid, libc::SIGTERM) == 0 }
}

/// When a process started (clock ticks since boot, `/proc/PID/stat` field
/// 22): with its pid it names one process, never a later one reusing the pid.
pub fn process_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// The arguments of a process (argv, the program first), if readable.
pub fn process_args(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let raw = raw.strip_suffix(&[0]).unwrap_or(&raw);
    Some(
        raw.split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Caps this process's data segment and private anonymous mappings (the
/// heap, whatever the allocator) at `bytes` (`RLIMIT_DATA`): beyond it an
/// allocation fails and the process ends, instead of the machine swapping
/// or the OOM killer picking a victim. True when the limit was set.
#[allow(unsafe_code)]
pub fn limit_memory(bytes: u64) -> bool {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we pass and touches no other memory.
    unsafe { libc::setrlimit(libc::RLIMIT_DATA, &limit) == 0 }
}

/// Scheduler statistics of every thread of this process, by thread id:
/// (time spent waiting on a run queue for a CPU, times scheduled onto a
/// CPU), from `/proc/self/task/<tid>/schedstat`. Empty when the kernel
/// does not keep them (`CONFIG_SCHEDSTATS` off).
pub fn thread_schedstats() -> Vec<(u32, Duration, u64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|e| {
            let tid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let text = std::fs::read_to_string(e.path().join("schedstat")).ok()?;
            let (wait, slices) = parse_schedstat(&text)?;
            Some((tid, wait, slices))
        })
        .collect()
}

/// `<on-cpu ns> <run-queue wait ns> <timeslices>` → (wait, timeslices).
fn parse_schedstat(text: &str) -> Option<(Duration, u64)> {
    let mut fields = text.split_ascii_whitespace().skip(1);
    let wait = fields.next()?.parse::<u64>().ok()?;
    let slices = fields.next()?.parse::<u64>().ok()?;
    Some((Duration::from_nanos(wait), slices))
}

/// The machine's CPU time so far, summed over all CPUs, from the `cpu`
/// line of `/proc/stat`: (busy: everything but idle and I/O wait, stolen
/// by the hypervisor). `None` when it cannot be read.
#[allow(unsafe_code)]
pub fn machine_cpu_time() -> Option<(Duration, Duration)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_ascii_whitespace()
        .skip(1)
        .map_while(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let (idle, iowait, steal) = (*ticks.get(3)?, *ticks.get(4)?, *ticks.get(7)?);
    let busy = ticks.iter().take(8).sum::<u64>() - idle - iowait;
    // SAFETY: sysconf reads a configuration value and touches no memory.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let time = |t: u64| Duration::from_secs_f64(t as f64 / hz as f64);
    (hz > 0).then(|| (time(busy), time(steal)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_lines_parse_and_this_process_has_some() {
        assert_eq!(
            parse_schedstat("123 4567 89\n"),
            Some((Duration::from_nanos(4567), 89))
        );
        assert_eq!(parse_schedstat("123"), None);
        assert_eq!(parse_schedstat("a b c"), None);
        let own = thread_schedstats();
        assert!(!own.is_empty(), "this kernel keeps per-thread schedstats");
    }
}
