//! The few operating-system calls the measurement needs, in one place:
//! process and thread CPU time, and high-resolution sleeps for the dispatcher.

use std::time::Duration;

/// CPU time (user + system) used by the whole process so far.
pub fn process_cpu_time() -> Duration {
    clock(libc::CLOCK_PROCESS_CPUTIME_ID)
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
