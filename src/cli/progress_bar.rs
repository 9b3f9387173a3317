//! A one-line progress display on stderr (only when stderr is a terminal):
//! level, requests done, live req/s, errors and ETA.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::local::Progress;

/// Refresh interval.
const EVERY: Duration = Duration::from_millis(250);

/// The drawing thread; `finish` stops and clears it.
#[derive(Debug)]
pub(crate) struct ProgressBar {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressBar {
    pub(crate) fn start(progress: Arc<Progress>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("mcc-bench-progress".into())
            .spawn(move || {
                while !flag.load(Relaxed) {
                    draw(&progress);
                    std::thread::sleep(EVERY);
                }
                eprint!("\r\x1b[2K");
            })
            .ok();
        Self { done, thread }
    }

    pub(crate) fn finish(mut self) {
        self.done.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn draw(p: &Progress) {
    let done = p.completed.load(Relaxed);
    let errors = p.errors.load(Relaxed);
    let elapsed = p.level_elapsed();
    let rate = if elapsed > 0.0 {
        done as f64 / elapsed
    } else {
        0.0
    };
    let phase = if p.warming_up.load(Relaxed) {
        "warmup"
    } else {
        "level"
    };
    let level = p.level.load(Relaxed) + 1;
    let (total, eta) = if p.per_level_target > 0 {
        let left = p.per_level_target.saturating_sub(done) as f64;
        (
            format!("/{}", p.per_level_target),
            if rate > 0.0 { left / rate } else { f64::NAN },
        )
    } else {
        (String::new(), (p.per_level_seconds - elapsed).max(0.0))
    };
    let eta = if eta.is_finite() {
        format!("{eta:.0}s")
    } else {
        "?".to_owned()
    };
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r\x1b[2K{phase} {level}/{}  {done}{total} req  {rate:.1} req/s  errors {errors}  ETA {eta}",
        p.levels
    );
    let _ = err.flush();
}
