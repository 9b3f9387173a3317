//! A precise timer for the simulator. The async runtime's timer rounds every
//! sleep up to a 1 ms tick, which would make all streams emit in lock-step
//! bursts; this one wakes each deadline individually from a dedicated thread
//! (1 µs timer slack), so token gaps land within tens of microseconds.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Pending wake-ups, earliest first; `closed` ends the thread.
#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<Entry>>,
    closed: bool,
}

struct Entry {
    at: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

#[derive(Default)]
struct Shared {
    queue: Mutex<(Queue, u64)>,
    changed: Condvar,
}

/// Handle on the timer thread; the thread ends when the last handle drops.
#[derive(Clone)]
pub(crate) struct PreciseTimer {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

impl std::fmt::Debug for PreciseTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreciseTimer")
    }
}

/// Closes the queue when the last timer handle goes away.
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        if let Ok(mut g) = self.0.queue.lock() {
            g.0.closed = true;
        }
        self.0.changed.notify_all();
    }
}

impl PreciseTimer {
    /// Starts the timer thread.
    pub(crate) fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("mcc-bench-sim-timer".into())
            .spawn(move || run(&worker))?;
        Ok(Self {
            _owner: Arc::new(Owner(Arc::clone(&shared))),
            shared,
        })
    }

    /// A future ready at `at`.
    pub(crate) fn sleep_until(&self, at: Instant) -> Sleep {
        Sleep {
            timer: self.clone(),
            at,
        }
    }

    fn register(&self, at: Instant, waker: Waker) {
        if let Ok(mut g) = self.shared.queue.lock() {
            g.1 += 1;
            let seq = g.1;
            let earliest = g.0.heap.peek().is_none_or(|Reverse(e)| at < e.at);
            g.0.heap.push(Reverse(Entry { at, seq, waker }));
            if earliest {
                self.shared.changed.notify_one();
            }
        }
    }
}

fn run(shared: &Shared) {
    crate::sys::tighten_timer_slack();
    let Ok(mut g) = shared.queue.lock() else {
        return;
    };
    loop {
        if g.0.closed {
            return;
        }
        let now = Instant::now();
        while g.0.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            if let Some(Reverse(e)) = g.0.heap.pop() {
                e.waker.wake();
            }
        }
        let next = g.0.heap.peek().map(|Reverse(e)| e.at);
        g = match next {
            Some(at) => match shared
                .changed
                .wait_timeout(g, at.saturating_duration_since(now))
            {
                Ok((g, _)) => g,
                Err(_) => return,
            },
            None => match shared.changed.wait(g) {
                Ok(g) => g,
                Err(_) => return,
            },
        };
    }
}

/// A sleep on the precise timer.
pub(crate) struct Sleep {
    timer: PreciseTimer,
    at: Instant,
}

impl Sleep {
    /// Moves the deadline.
    pub(crate) fn reset(&mut self, at: Instant) {
        self.at = at;
    }

    /// The deadline.
    pub(crate) fn deadline(&self) -> Instant {
        self.at
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep").field("at", &self.at).finish()
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        self.timer.register(self.at, cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "current_thread")]
    async fn wakes_each_deadline_without_rounding_to_a_tick() {
        let timer = PreciseTimer::start().expect("timer");
        let mut late = Vec::new();
        for i in 0..20u64 {
            let at = Instant::now() + Duration::from_micros(300 + i * 37);
            timer.sleep_until(at).await;
            late.push(Instant::now() - at);
        }
        late.sort();
        // The runtime's own timer would be up to 1 ms late; this one is not.
        assert!(
            late[10] < Duration::from_micros(500),
            "median lateness {:?}",
            late[10]
        );
    }
}
