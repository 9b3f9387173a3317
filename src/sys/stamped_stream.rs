//! A TCP stream whose every read is reported with the kernel's receive
//! timestamp of its bytes (`SO_TIMESTAMPNS`, read back with `recvmsg`):
//! when they reached this host, not when a thread got round to reading
//! them. The simulator uses it to start a request's clock when it arrived;
//! the load generator, to stamp a response's bytes when they arrived.

use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Instant, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

use super::rx_timestamp;

/// Told of every read that returned bytes: when the kernel received them
/// (wall clock), or `None` when it did not stamp them (stamping not yet on).
pub trait RxSink: Send + Sync {
    fn note(&self, stamp: Option<SystemTime>);
}

/// A wall-clock receive stamp as an instant on the monotonic clock (`None`
/// when it would lie in the future or before the clock's start).
pub fn instant_of(stamp: SystemTime) -> Option<Instant> {
    let age = SystemTime::now().duration_since(stamp).ok()?;
    Instant::now().checked_sub(age)
}

/// A TCP stream that reports each read's receive stamp to its sink.
#[derive(Debug)]
pub struct StampedStream<S> {
    inner: TcpStream,
    sink: Arc<S>,
}

impl<S: RxSink> StampedStream<S> {
    /// Wraps `inner`, asking the kernel to stamp what it receives (a socket
    /// accepted from a stamping listener already is); without stamping,
    /// reads report `None`.
    pub fn new(inner: TcpStream, sink: Arc<S>) -> Self {
        let _ = rx_timestamp::enable(inner.as_raw_fd());
        Self { inner, sink }
    }
}

impl<S: RxSink> AsyncRead for StampedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let fd = this.inner.as_raw_fd();
        loop {
            ready!(this.inner.poll_read_ready(cx))?;
            let before = buf.filled().len();
            match this
                .inner
                .try_io(Interest::READABLE, || rx_timestamp::recv(fd, &mut *buf))
            {
                Ok(stamp) => {
                    if buf.filled().len() > before {
                        this.sink.note(stamp);
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl<S: Unpin> AsyncWrite for StampedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
