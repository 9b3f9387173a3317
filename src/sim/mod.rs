//! The built-in simulated endpoint: an OpenAI-compatible server (chat and
//! completions, streaming or not, `/v1/models`, usage in the final chunk) with
//! a latency model and fault injection, on hyper. It logs the instant each
//! content chunk is handed to the connection, so tests can compare the
//! client's measurements with ground truth.

mod arrival;
mod config;
mod handler;
mod stream;
mod timer;
mod truth;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use config::{Fault, Faults, SimConfig};
pub use truth::{TruthLog, TruthRecord};

use crate::sys::ThreadClock;

/// Simulator failures.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is unusable.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The simulator thread could not start.
    #[error("cannot start the simulator: {0}")]
    Start(String),
}

/// Serves until `shutdown` is cancelled; every connection task is tracked and
/// awaited (aborted) before returning.
pub async fn serve(
    listener: TcpListener,
    config: SimConfig,
    truth: Option<Arc<TruthLog>>,
    shutdown: CancellationToken,
) {
    let timer = match timer::PreciseTimer::start() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("simulator cannot start its timer thread: {e}");
            return;
        }
    };
    let state = Arc::new(handler::State::new(config, truth, timer));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let state = Arc::clone(&state);
                    let arrival = Arc::new(arrival::Arrival::new());
                    let io = crate::sys::stamped_stream::StampedStream::new(stream, Arc::clone(&arrival));
                    conns.spawn(async move {
                        let svc = service_fn(move |req| {
                            handler::handle(req, Arc::clone(&state), Arc::clone(&arrival))
                        });
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(io), svc).await;
                    });
                }
                Err(e) => tracing::warn!("simulator accept failed: {e}"),
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

/// Binds a listener, checking the configuration first.
pub async fn bind(addr: &str, config: &SimConfig) -> Result<TcpListener, SimError> {
    if let Some(p) = config.faults.problems() {
        return Err(SimError::Config(p));
    }
    let bad = |what: &str| {
        SimError::Config(format!(
            "{what} must be a finite number of milliseconds ≥ 0"
        ))
    };
    for (v, what) in [
        (config.ttft_ms, "ttft"),
        (config.itl_ms, "itl"),
        (config.itl_jitter_ms, "itl jitter"),
        (config.faults.stall_ms, "stall"),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad(what));
        }
    }
    let failed = |source| SimError::Bind {
        addr: addr.to_owned(),
        source,
    };
    let at = tokio::net::lookup_host(addr)
        .await
        .map_err(failed)?
        .next()
        .ok_or_else(|| failed(std::io::Error::other("the address resolves to nothing")))?;
    listen(at).map_err(failed)
}

/// Accept-queue length asked for (the kernel caps it at `somaxconn`): a
/// thousand clients connecting at once must not have SYNs dropped, which
/// would cost each a one-second retransmit before its first token.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(at: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if at.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    // Accepted connections inherit kernel receive timestamps (best effort:
    // without them a request's clock starts when it is read).
    let _ = crate::sys::rx_timestamp::enable(std::os::fd::AsRawFd::as_raw_fd(&socket));
    socket.bind(at)?;
    socket.listen(LISTEN_BACKLOG)
}

/// A simulator running on its own thread (single-threaded runtime), for
/// `run --endpoint sim` and tests. Its CPU is measured separately so the
/// client's own CPU can be certified.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    truth: Arc<TruthLog>,
    shutdown: CancellationToken,
    cpu: Option<ThreadClock>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimServer {
    /// Starts on `127.0.0.1:0` (an ephemeral port).
    pub fn start(config: SimConfig) -> Result<Self, SimError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let shutdown = CancellationToken::new();
        let truth = Arc::new(TruthLog::default());
        let (stop, log) = (shutdown.clone(), Arc::clone(&truth));
        let thread = std::thread::Builder::new()
            .name("mcc-bench-sim".into())
            .spawn(move || sim_thread(config, log, stop, tx))
            .map_err(|e| SimError::Start(e.to_string()))?;
        let (addr, cpu) = rx
            .recv()
            .map_err(|_| SimError::Start("simulator thread exited".into()))??;
        Ok(Self {
            addr,
            truth,
            shutdown,
            cpu,
            thread: Some(thread),
        })
    }

    /// Base URL (`http://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Ground truth logged so far.
    pub fn truth(&self) -> Vec<TruthRecord> {
        self.truth.snapshot()
    }

    /// CPU clock of the simulator thread.
    pub fn cpu_clock(&self) -> Option<ThreadClock> {
        self.cpu
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Started = Result<(SocketAddr, Option<ThreadClock>), SimError>;

fn sim_thread(
    config: SimConfig,
    truth: Arc<TruthLog>,
    stop: CancellationToken,
    tx: std::sync::mpsc::Sender<Started>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = tx.send(Err(SimError::Start(e.to_string())));
            return;
        }
    };
    rt.block_on(async move {
        let listener = match bind("127.0.0.1:0", &config).await {
            Ok(l) => l,
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let addr = listener
            .local_addr()
            .map_err(|e| SimError::Start(e.to_string()));
        let _ = tx.send(addr.map(|a| (a, ThreadClock::current())));
        serve(listener, config, Some(truth), stop).await;
    });
}
