//! Kernel receive timestamps on a socket (`SO_TIMESTAMPNS`): when the bytes
//! a read returns reached the socket, however late the reader got to them.

use std::os::fd::RawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::ReadBuf;

/// Asks the kernel to stamp what `fd` receives. Set on a listening socket,
/// the sockets it accepts inherit it. When no socket of the system had
/// asked before, the kernel switches stamping on a moment later (deferred
/// work): data received in between carries no stamp.
#[allow(unsafe_code)]
pub fn enable(fd: RawFd) -> std::io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads one c_int through a pointer valid for the
    // length given, for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// One non-blocking read into the unfilled part of `buf` (left
/// uninitialised: nothing is zeroed first), advancing it by the bytes read;
/// returns when the kernel received them (wall clock), if it stamped them.
#[allow(unsafe_code)]
pub fn recv(fd: RawFd, buf: &mut ReadBuf<'_>) -> std::io::Result<Option<SystemTime>> {
    // SAFETY: recvmsg only writes into this memory, never de-initialises it.
    let dst = unsafe { buf.unfilled_mut() };
    let mut iov = libc::iovec {
        iov_base: dst.as_mut_ptr().cast(),
        iov_len: dst.len(),
    };
    // Room for one SCM_TIMESTAMPNS message (a timespec), aligned for cmsghdr.
    let mut control = [0u64; 8];
    // SAFETY: an all-zero msghdr is valid (null pointers, zero lengths);
    // the fields that matter are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at one iovec over the unfilled part of `buf` and
    // at `control`, both alive for the call; recvmsg writes at most their
    // lengths.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: recvmsg initialised the first `n` bytes it was given.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(stamp_of(&msg))
}

/// The SCM_TIMESTAMPNS control message of a filled `msg`, if any.
#[allow(unsafe_code)]
fn stamp_of(msg: &libc::msghdr) -> Option<SystemTime> {
    // SAFETY: CMSG_FIRSTHDR / CMSG_NXTHDR walk the control buffer recvmsg
    // filled, bounded by the msg_controllen it set; the data of an
    // SCM_TIMESTAMPNS message is one timespec, read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                let d = Duration::new(
                    ts.tv_sec.max(0) as u64,
                    ts.tv_nsec.clamp(0, 999_999_999) as u32,
                );
                return Some(UNIX_EPOCH + d);
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

/// For tests: keeps one stamping socket open for the rest of the process
/// and waits once for the kernel's deferred switch, so no test's packets
/// race it (sockets closing in other tests could switch it off again).
#[cfg(test)]
pub(crate) fn keep_stamping_on() {
    static HOLD: std::sync::OnceLock<Option<std::net::UdpSocket>> = std::sync::OnceLock::new();
    HOLD.get_or_init(|| {
        use std::os::fd::AsRawFd;
        let s = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
        enable(s.as_raw_fd()).ok()?;
        std::thread::sleep(Duration::from_millis(100));
        Some(s)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_read_is_stamped_with_when_the_bytes_arrived_not_when_they_were_read() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        keep_stamping_on();
        enable(listener.as_raw_fd()).expect("SO_TIMESTAMPNS on the listener");
        let mut client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("send");
        let sent = SystemTime::now();
        std::thread::sleep(Duration::from_millis(40));
        let mut bytes = [0u8; 64];
        let mut buf = ReadBuf::new(&mut bytes);
        let stamp = recv(server.as_raw_fd(), &mut buf).expect("recv");
        assert_eq!(buf.filled(), b"GET / HTTP/1.1\r\n\r\n");
        let stamp = stamp.expect("the accepted socket inherits stamping");
        let late = SystemTime::now()
            .duration_since(stamp)
            .expect("in the past");
        assert!(
            late >= Duration::from_millis(35),
            "read 40 ms late, stamped {late:?} ago"
        );
        let off = stamp.duration_since(sent).unwrap_or_else(|e| e.duration());
        assert!(
            off < Duration::from_millis(5),
            "stamp {off:?} from the send"
        );
        // Nothing more: a non-blocking read says so instead of waiting.
        let again = recv(server.as_raw_fd(), &mut buf).expect_err("empty");
        assert_eq!(again.kind(), std::io::ErrorKind::WouldBlock);
    }
}
