//! When a connection's latest bytes arrived: the kernel's receive stamp of
//! its latest read. A response's bytes are stamped with it rather than with
//! the moment the lane's task ran, so a client thread kept off the CPU (by
//! the server beside it, or by other load) does not add its delay to time to
//! first token or to the gaps between chunks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::sys::stamped_stream::{instant_of, RxSink};

/// The receive stamp of a connection's latest read.
#[derive(Debug, Default)]
pub(crate) struct LastRx {
    /// Nanoseconds since the Unix epoch of the latest read's stamp; 0 when
    /// that read carried none. Written by the connection's reads and read
    /// after them, by the one task that drives the connection: Relaxed is
    /// enough, the atomic only makes the shared `Arc` safe.
    ns: AtomicU64,
}

impl RxSink for LastRx {
    fn note(&self, stamp: Option<SystemTime>) {
        let ns = stamp
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(0));
        self.ns.store(ns, Ordering::Relaxed);
    }
}

impl LastRx {
    /// When the bytes just handed over arrived: the latest read's receive
    /// stamp, or now when it had none.
    pub(crate) fn arrived(&self) -> Instant {
        let ns = self.ns.load(Ordering::Relaxed);
        (ns != 0)
            .then(|| UNIX_EPOCH + std::time::Duration::from_nanos(ns))
            .and_then(instant_of)
            .unwrap_or_else(Instant::now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::stamped_stream::StampedStream;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    #[tokio::test]
    async fn bytes_read_late_are_stamped_when_they_arrived() {
        crate::sys::rx_timestamp::keep_stamping_on();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (mut server, _) = listener.accept().await.expect("accept");
        let rx = Arc::new(LastRx::default());
        let mut stream = StampedStream::new(client, Arc::clone(&rx));
        server.write_all(b"data: first\n\n").await.expect("send");
        // The client is busy elsewhere for 30 ms before it reads.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let mut buf = [0u8; 64];
        assert_eq!(stream.read(&mut buf).await.expect("read"), 13);
        let late = rx.arrived().elapsed();
        assert!(late >= Duration::from_millis(25), "{late:?}");
        // Bytes read as they come are stamped within a few milliseconds.
        server.write_all(b"data: next\n\n").await.expect("send");
        assert_eq!(stream.read(&mut buf).await.expect("read"), 12);
        assert!(rx.arrived().elapsed() < Duration::from_millis(25));
    }

    #[test]
    fn a_read_without_a_stamp_is_now() {
        let rx = LastRx::default();
        rx.note(Some(SystemTime::now() - Duration::from_millis(50)));
        assert!(rx.arrived().elapsed() >= Duration::from_millis(45));
        rx.note(None);
        assert!(rx.arrived().elapsed() < Duration::from_millis(45));
    }
}
