//! `mcc-bench sim` at zero latency in its own process, shared by the
//! benches that load it (`#[path]`-included: each bench is its own crate).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `mcc-bench sim` at zero latency in its own process.
pub(crate) struct SimProcess {
    child: Child,
    pub(crate) url: String,
    last_cpu: std::cell::Cell<f64>,
}

impl SimProcess {
    pub(crate) fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcc-bench"))
            .args(["sim", "--port", "0", "--ttft-ms", "0", "--itl-ms", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("url");
        let url = line.trim().rsplit(' ').next().expect("url").to_owned();
        std::thread::sleep(Duration::from_millis(100));
        Self {
            child,
            url,
            last_cpu: std::cell::Cell::new(0.0),
        }
    }

    /// CPU seconds of the simulator process (utime + stime from /proc).
    fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        let after = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        Some(ticks / 100.0)
    }

    #[allow(dead_code)]
    pub(crate) fn mark(&self) {
        self.last_cpu.set(self.cpu_seconds().unwrap_or(0.0));
    }

    #[allow(dead_code)]
    pub(crate) fn cpu_since_mark(&self) -> Option<f64> {
        Some(self.cpu_seconds()? - self.last_cpu.get())
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
