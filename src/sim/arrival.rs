//! When a request reached the simulator: the kernel's receive timestamp of
//! its bytes, not the moment the simulator got round to reading them.
//! A thousand requests arriving at once on a single-threaded simulator are
//! read one after another; stamping arrival lets each one's time to first
//! token start when its client started waiting, as a server with a thread
//! per request would (and the truth log then sees that queue).

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use crate::sys::stamped_stream::{instant_of, RxSink};

/// The arrival of the request a connection is reading. One per connection;
/// requests on a connection are sequential (no pipelining), so one slot
/// suffices: the handler takes it once a request's head is parsed and
/// re-arms it once the request's body has been read, so body reads never
/// stamp the next request. While armed, the latest read wins: a body left
/// unread and drained after the response is overwritten by the next head.
#[derive(Debug, Default)]
pub(crate) struct Arrival {
    /// `(armed, stamp of the latest read since armed)`.
    slot: Mutex<(bool, Option<SystemTime>)>,
}

impl Arrival {
    /// A connection's arrival slot, armed for its first request.
    pub(crate) fn new() -> Self {
        Self {
            slot: Mutex::new((true, None)),
        }
    }

    /// When the current request's bytes arrived, on the monotonic
    /// clock (`None` without a kernel stamp); stops stamping until
    /// [`Arrival::rearm`].
    pub(crate) fn take(&self) -> Option<Instant> {
        let stamp = self.slot.lock().ok().and_then(|mut s| {
            s.0 = false;
            s.1.take()
        })?;
        instant_of(stamp)
    }

    /// The request has been read: the next bytes start the next request.
    pub(crate) fn rearm(&self) {
        if let Ok(mut s) = self.slot.lock() {
            *s = (true, None);
        }
    }
}

impl RxSink for Arrival {
    /// While armed, the latest read's stamp (or its lack) is the arrival.
    fn note(&self, stamp: Option<SystemTime>) {
        if let Ok(mut s) = self.slot.lock() {
            if s.0 {
                s.1 = stamp;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::{rx_timestamp, stamped_stream::StampedStream};
    use std::os::fd::AsRawFd;
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    #[tokio::test]
    async fn the_first_read_of_a_request_stamps_it_and_body_reads_do_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        // As the simulator's listener: accepted sockets inherit stamping.
        rx_timestamp::keep_stamping_on();
        rx_timestamp::enable(listener.as_raw_fd()).expect("SO_TIMESTAMPNS");
        let mut client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let arrival = Arc::new(Arrival::new());
        let mut stream = StampedStream::new(server, Arc::clone(&arrival));
        client.write_all(b"head").await.expect("send");
        tokio::time::sleep(Duration::from_millis(30)).await;
        let mut buf = [0u8; 16];
        assert_eq!(stream.read(&mut buf).await.expect("read"), 4);
        let arrived = arrival.take().expect("stamped");
        assert!(
            arrived.elapsed() >= Duration::from_millis(25),
            "{:?}",
            arrived.elapsed()
        );
        // A body read after take leaves nothing for the next request.
        client.write_all(b"body").await.expect("send");
        assert_eq!(stream.read(&mut buf).await.expect("read"), 4);
        arrival.rearm();
        assert!(arrival.take().is_none(), "the body did not stamp");
        arrival.rearm();
        client.write_all(b"next").await.expect("send");
        assert_eq!(stream.read(&mut buf).await.expect("read"), 4);
        assert!(arrival.take().expect("next").elapsed() < Duration::from_millis(25));
    }
}
