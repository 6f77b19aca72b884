//! TURN over TCP (RFC 5766 §2.1, §11.5) for the built-in relay. The `turn` 0.17 server only
//! reads datagrams from a `Conn`, so this module accepts TCP connections, cuts each byte stream
//! into STUN and ChannelData frames, and presents all of them as one datagram-like `Conn`: a frame
//! arrives with the client's address, and an answer to that address goes back down its stream.
//!
//! Everything is bounded: the number of connections, the frame size, each connection's outbound
//! queue (a slow reader loses frames, as it would over UDP) and the shared inbound queue. A
//! connection silent for longer than the idle timeout is closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use webrtc_util::Conn;

/// Larger frames are not TURN traffic we relay (the server reads 1500-byte datagrams).
const MAX_FRAME: usize = 4096;
const INBOUND_QUEUE: usize = 1024;
const OUTBOUND_QUEUE: usize = 256;

type Inbound = (Vec<u8>, SocketAddr);

/// One `Conn` over every TCP client of the relay.
pub struct TcpMux {
    local: SocketAddr,
    inbound: tokio::sync::Mutex<mpsc::Receiver<Inbound>>,
    writers: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>,
    accept: Mutex<Option<JoinHandle<()>>>,
    /// Per-connection tasks, aborted on close so no socket outlives the relay.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpMux {
    /// Starts accepting on `listener`; at most `max_connections` at once, each closed after
    /// `idle` without a frame.
    pub fn start(listener: TcpListener, max_connections: usize, idle: Duration) -> Arc<TcpMux> {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
        let writers: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>> = Arc::default();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let slots = Arc::new(Semaphore::new(max_connections.max(1)));
        let accept = tokio::spawn(accept_loop(
            listener,
            tx,
            Arc::clone(&writers),
            Arc::clone(&tasks),
            slots,
            idle,
        ));
        Arc::new(TcpMux {
            local,
            inbound: tokio::sync::Mutex::new(rx),
            writers,
            accept: Mutex::new(Some(accept)),
            tasks,
        })
    }

    /// Open TCP connections right now (for tests and metrics).
    pub fn connections(&self) -> usize {
        self.writers.lock().map(|w| w.len()).unwrap_or(0)
    }

    /// Closes the listener and every connection now.
    pub fn shutdown(&self) {
        if let Ok(mut a) = self.accept.lock()
            && let Some(h) = a.take()
        {
            h.abort();
        }
        if let Ok(mut t) = self.tasks.lock() {
            for h in t.drain(..) {
                h.abort();
            }
        }
        if let Ok(mut w) = self.writers.lock() {
            w.clear();
        }
    }
}

impl Drop for TcpMux {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept_loop(
    listener: TcpListener,
    inbound: mpsc::Sender<Inbound>,
    writers: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    slots: Arc<Semaphore>,
    idle: Duration,
) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            // Out of descriptors or similar: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!("turn/tcp: connection limit reached; refusing a client");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (out_tx, out_rx) = mpsc::channel(OUTBOUND_QUEUE);
        if let Ok(mut w) = writers.lock() {
            w.insert(peer, out_tx);
        }
        let handle = tokio::spawn(serve(
            stream,
            peer,
            inbound.clone(),
            out_rx,
            Arc::clone(&writers),
            idle,
            permit,
        ));
        if let Ok(mut t) = tasks.lock() {
            t.retain(|h| !h.is_finished());
            t.push(handle);
        }
    }
}

async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
    mut outbound: mpsc::Receiver<Vec<u8>>,
    writers: Arc<Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>>,
    idle: Duration,
    _permit: tokio::sync::OwnedSemaphorePermit,
) {
    let (mut rd, mut wr) = stream.into_split();
    let writer = async move {
        while let Some(frame) = outbound.recv().await {
            if wr.write_all(&frame).await.is_err() {
                break;
            }
        }
    };
    let reader = async move {
        // Ends on a read error, a bad frame or `idle` without one.
        while let Ok(Ok(frame)) = tokio::time::timeout(idle, read_frame(&mut rd)).await {
            // A full queue means the server is behind: drop, as UDP would.
            let _ = inbound.try_send((frame, peer));
        }
    };
    tokio::select! {
        _ = writer => {},
        _ = reader => {},
    }
    if let Ok(mut w) = writers.lock() {
        w.remove(&peer);
    }
}

/// Reads one STUN message or ChannelData frame. ChannelData over TCP is padded to four bytes;
/// the padding is read and dropped. Public for the tests' TCP TURN client, which reads the
/// relay's stream the same way.
pub async fn read_frame(rd: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut head = [0u8; 4];
    rd.read_exact(&mut head).await?;
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let (body, pad) = match head[0] >> 6 {
        // STUN: 20-byte header (4 read so far) + attributes, always 4-aligned.
        0b00 => (16 + len, 0),
        // ChannelData: 4-byte header + data, padded over TCP.
        0b01 => (len, (4 - len % 4) % 4),
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not STUN or ChannelData",
            ));
        }
    };
    if 4 + body > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut frame = vec![0u8; 4 + body];
    frame[..4].copy_from_slice(&head);
    rd.read_exact(&mut frame[4..]).await?;
    if pad > 0 {
        let mut skip = [0u8; 3];
        rd.read_exact(&mut skip[..pad]).await?;
    }
    Ok(frame)
}

/// One datagram as it goes down a TCP stream: RFC 5766 §11.5 pads ChannelData to a multiple of
/// four; a STUN message already is one. The inverse of [`read_frame`].
pub fn to_frame(datagram: &[u8]) -> Vec<u8> {
    let mut frame = datagram.to_vec();
    if frame.first().is_some_and(|b| b >> 6 == 0b01) {
        let pad = (4 - frame.len() % 4) % 4;
        frame.extend(std::iter::repeat_n(0u8, pad));
    }
    frame
}

fn closed() -> webrtc_util::Error {
    webrtc_util::Error::Other("turn/tcp: closed".into())
}

#[async_trait]
impl Conn for TcpMux {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Err(webrtc_util::Error::Other("turn/tcp: not a client".into()))
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let mut rx = self.inbound.lock().await;
        loop {
            let (frame, from) = rx.recv().await.ok_or_else(closed)?;
            // The server's buffer is one MTU; a bigger frame cannot be handed over whole.
            if frame.len() <= buf.len() {
                buf[..frame.len()].copy_from_slice(&frame);
                return Ok((frame.len(), from));
            }
        }
    }

    async fn send(&self, _buf: &[u8]) -> webrtc_util::Result<usize> {
        Err(webrtc_util::Error::Other(
            "turn/tcp: send needs an address".into(),
        ))
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        // A client that has gone: the datagram is lost, as over UDP. An error here would only be
        // logged by the server as a failed request.
        let Some(tx) = self
            .writers
            .lock()
            .ok()
            .and_then(|w| w.get(&target).cloned())
        else {
            return Ok(buf.len());
        };
        // Full queue: the client reads too slowly; drop like a lossy datagram path would.
        let _ = tx.try_send(to_frame(buf));
        Ok(buf.len())
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.local)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    // Not a shutdown: `turn` 0.17 calls `close()` on the server's socket from every
    // `Allocation::close` (turn-0.17.x src/allocation/mod.rs, `self.turn_socket.close()`), i.e.
    // whenever one client refreshes to 0 or its allocation expires. On a UDP socket that is
    // harmless; here it closed the listener and every TCP client, so the first client to leave
    // (Chromium drops its redundant TURN ports right after gathering) took all the others with
    // it. `TurnRelay::close` (and dropping the mux) shut the mux down instead.
    async fn close(&self) -> webrtc_util::Result<()> {
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_cut_at_stun_and_padded_channel_data_boundaries() {
        // A STUN binding request with no attributes, then ChannelData of 5 bytes padded to 8.
        let mut bytes = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
        bytes.extend([7u8; 12]);
        bytes.extend([0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0]);
        bytes.extend([0x00, 0x01, 0x00, 0x00]);
        let mut rd = std::io::Cursor::new(bytes);
        let a = read_frame(&mut rd).await.unwrap();
        assert_eq!(a.len(), 20);
        let b = read_frame(&mut rd).await.unwrap();
        assert_eq!(b, vec![0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5]);
        let truncated = read_frame(&mut rd)
            .await
            .expect_err("truncated STUN header");
        assert_eq!(truncated.kind(), std::io::ErrorKind::UnexpectedEof);
        let mut junk = std::io::Cursor::new(vec![0xff, 0, 0, 0]);
        let junk = read_frame(&mut junk).await.expect_err("junk");
        assert_eq!(junk.to_string(), "not STUN or ChannelData");
        let mut huge = std::io::Cursor::new(vec![0x00, 0x01, 0xff, 0xfc]);
        let huge = read_frame(&mut huge).await.expect_err("huge");
        assert_eq!(huge.to_string(), "frame too large");
    }
}
