//! Deadlines on the raw connection, below HTTP.
//!
//! `axum::serve` gives hyper no timer, so hyper never times out a client
//! that sends its headers one line every few seconds, stays silent after
//! connecting, or stops reading what it is sent. (Giving hyper its own
//! timer, in an own accept loop, cost 4 KiB more per idle WebSocket: see
//! docs/BENCHMARKS.md.) Instead, each accepted socket is wrapped in
//! [`Guarded`], which fails a read or a write that waits too long:
//!
//! - **a request head**: from accepting the connection, and again from the
//!   end of each answer (keep-alive), the client has `head` to get a request
//!   to the router; otherwise the next read fails and hyper closes the
//!   connection. While a request is being answered, and for good once the
//!   connection is upgraded to a WebSocket, reads have no deadline.
//! - **a stalled write**: a write the peer has not made room for within
//!   `write_stall` fails (a client that stopped reading an event stream).
//!
//! The router learns the phase through [`watch_requests`], the outermost
//! middleware: it marks the connection busy when a request arrives, idle
//! again when the answer's body has been sent (or dropped), and upgraded on
//! `101 Switching Protocols`. A timer exists only while a deadline runs, so
//! an idle WebSocket carries none.

use super::metrics::{self, Dropped};
use axum::{
    body::Body,
    extract::{connect_info::Connected, ConnectInfo, Request},
    http::StatusCode,
    middleware::Next,
    response::Response,
    serve::{IncomingStream, Listener},
};
use futures::task::AtomicWaker;
use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::Sleep,
};

/// How long a client may take, see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// To get a request's head to the router, from connecting or from the
    /// end of the previous answer (so also the idle keep-alive timeout).
    pub head: Duration,
    /// For a write to make progress.
    pub write_stall: Duration,
    /// The kernel's send buffer per connection (`SO_SNDBUF`; the kernel
    /// doubles it), or `None` for the kernel's own sizing (which grows to
    /// megabytes: `net.ipv4.tcp_wmem`). What a client that stops reading
    /// can hold before its writes stall.
    pub send_buffer: Option<usize>,
}

/// A TCP listener whose connections carry [`Deadlines`] (and `TCP_NODELAY`:
/// small live frames go out at once instead of waiting for the previous
/// one's ACK).
pub struct GuardedListener {
    inner: TcpListener,
    deadlines: Deadlines,
}

impl GuardedListener {
    /// Wraps a bound listener.
    pub fn new(inner: TcpListener, deadlines: Deadlines) -> Self {
        Self { inner, deadlines }
    }
}

impl Listener for GuardedListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Guarded, SocketAddr) {
        let (tcp, address) = Listener::accept(&mut self.inner).await;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        if let Some(bytes) = self.deadlines.send_buffer {
            if let Err(e) = socket2::SockRef::from(&tcp).set_send_buffer_size(bytes) {
                tracing::debug!(error = %e, "could not set SO_SNDBUF");
            }
        }
        let guarded = Guarded {
            io: tcp,
            phase: Arc::new(Phase::default()),
            deadlines: self.deadlines,
            head_timer: None,
            write_timer: None,
        };
        (guarded, address)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// What every request learns about its connection (`ConnectInfo<Peer>`).
#[derive(Clone, Debug)]
pub struct Peer {
    /// The client's address.
    pub address: SocketAddr,
    phase: Arc<Phase>,
}

impl Peer {
    /// The same client for a request that has no connection of its own (a
    /// call made over a live connection, `live::calls`): its phase is its
    /// own, so answering it never touches the live connection's deadlines.
    pub fn detached(&self) -> Peer {
        Peer {
            address: self.address,
            phase: Arc::default(),
        }
    }
}

impl Connected<IncomingStream<'_, GuardedListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        Peer {
            address: *stream.remote_addr(),
            phase: stream.io().phase.clone(),
        }
    }
}

const WAITING: u32 = 0;
const BUSY: u32 = 1;
const UPGRADED: u32 = 2;

/// Where a connection is: waiting for a request head, answering, or
/// upgraded. The bits above the lowest two count the waits, so the socket
/// can tell a new wait (a new deadline) from the one it is timing.
#[derive(Debug, Default)]
struct Phase {
    state: AtomicU32,
    /// The task reading the socket, woken when a wait starts so the
    /// deadline starts with it.
    reader: AtomicWaker,
}

impl Phase {
    fn set(&self, phase: u32) {
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                (state & 3 != UPGRADED).then(|| {
                    let waits = state >> 2;
                    let waits = if phase == WAITING {
                        waits.wrapping_add(1)
                    } else {
                        waits
                    };
                    (waits << 2) | phase
                })
            });
        if phase == WAITING {
            // A read may be waiting already: poll it, so its deadline starts.
            self.reader.wake();
        } else {
            // No deadline to start, so no poll: an extra read before an
            // upgrade made hyper grow its read buffer to 16 KiB. And the
            // waker is dropped: after an upgrade it would keep the finished
            // HTTP connection's task (kilobytes) alive as long as the
            // WebSocket lives.
            drop(self.reader.take());
        }
    }

    fn get(&self) -> (u32, u32) {
        let state = self.state.load(Ordering::Acquire);
        (state & 3, state >> 2)
    }
}

/// An accepted TCP stream with deadlines on reads and writes.
pub struct Guarded {
    io: TcpStream,
    phase: Arc<Phase>,
    deadlines: Deadlines,
    /// Running while a request head is awaited: (which wait, timer).
    head_timer: Option<(u32, Pin<Box<Sleep>>)>,
    /// Running while a write waits for room.
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl Guarded {
    /// Called when a read would wait: fails it if a request head is overdue.
    fn head_overdue(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.phase.get().0 == UPGRADED {
            self.head_timer = None;
            return Poll::Pending;
        }
        self.phase.reader.register(cx.waker());
        let (phase, wait) = self.phase.get();
        if phase != WAITING {
            self.head_timer = None;
            return Poll::Pending;
        }
        let head = self.deadlines.head;
        let timer = match &mut self.head_timer {
            Some((timing, timer)) if *timing == wait => timer,
            other => &mut other.insert((wait, Box::pin(tokio::time::sleep(head)))).1,
        };
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                metrics::dropped(Dropped::HeaderTimeout);
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request head within the header timeout",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Called after a write: fails it if it has waited for room too long.
    fn stalled<T>(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if written.is_ready() {
            self.write_timer = None;
            return written;
        }
        let stall = self.deadlines.write_stall;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                metrics::dropped(Dropped::StalledWrite);
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client has not read for the write-stall timeout",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => this.head_overdue(cx),
            ready => ready,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        this.stalled(cx, written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.stalled(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.io).poll_flush(cx);
        this.stalled(cx, flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The outermost middleware: tells the connection when a request is being
/// answered, when it is upgraded, and (when the answer's body is done) that
/// the next request head is awaited.
pub async fn watch_requests(request: Request, next: Next) -> Response {
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<Peer>>().cloned() else {
        return next.run(request).await;
    };
    peer.phase.set(BUSY);
    let response = next.run(request).await;
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        peer.phase.set(UPGRADED);
        return response;
    }
    let done = AnswerDone(peer.phase);
    response.map(|body| Body::new(Answer { body, _done: done }))
}

/// Marks the connection as waiting for its next request when dropped.
struct AnswerDone(Arc<Phase>);

impl Drop for AnswerDone {
    fn drop(&mut self) {
        self.0.set(WAITING);
    }
}

pin_project_lite::pin_project! {
    /// An answer's body that reports its end (see [`AnswerDone`]).
    struct Answer {
        #[pin]
        body: Body,
        _done: AnswerDone,
    }
}

impl http_body::Body for Answer {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
