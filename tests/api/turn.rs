//! The built-in TURN relay: a relay-only client runs the pre-call check through it, coturn REST
//! credentials are accepted and expired, forged or malformed ones refused, quotas hold, and it
//! answers over TCP too.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use loket::precheck::client::{Client, ClientOptions};
use loket::turn::credentials;
use serde_json::Value;
use webrtc::peer_connection::RTCIceServer;

use crate::helpers::{TestApp, spawn_app_with};
use crate::precheck::{booking, quick, start_check, wait_no_live_checks, wait_result};

pub const SECRET: &str = "turn-secret-for-tests";

fn with_relay(s: &mut loket::config::Settings) {
    quick(s);
    s.turn_secret = Some(loket::config::Secret::new(SECRET));
    s.turn_relay.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    s.turn_relay.relay_ports = (49160, 49400);
}

fn relay(app: &TestApp) -> &loket::turn::TurnRelay {
    app.state.turn.as_deref().expect("the built-in relay runs")
}

/// Tries a TURN allocation over UDP with these credentials.
async fn allocate(
    server: SocketAddr,
    user: &str,
    pass: &str,
) -> Result<turn::client::Client, String> {
    let conn = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    // The default retransmission timeout (200 ms): over UDP a request can be lost.
    let (client, _relayed) = allocate_through(Arc::new(conn), server, user, pass, 0).await?;
    Ok(client)
}

/// A `turn` client on `conn` that allocates on `server` within 10 s (a bound, not a speed: a
/// loopback allocation takes milliseconds); returns it and its relayed
/// `Conn`, or why not (the client closed).
async fn allocate_through(
    conn: Arc<dyn webrtc_util::Conn + Send + Sync>,
    server: SocketAddr,
    user: &str,
    pass: &str,
    rto_in_ms: u16,
) -> Result<(turn::client::Client, impl webrtc_util::Conn + use<>), String> {
    let client = turn::client::Client::new(turn::client::ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: user.to_string(),
        password: pass.to_string(),
        realm: "loket".into(),
        software: String::new(),
        rto_in_ms,
        conn,
        vnet: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    client.listen().await.map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(10), client.allocate()).await {
        Ok(Ok(relayed)) => Ok((client, relayed)),
        Ok(Err(e)) => {
            let _ = client.close().await;
            Err(e.to_string())
        }
        Err(_) => {
            let _ = client.close().await;
            Err("timed out".into())
        }
    }
}

fn ice_servers(config: &Value) -> Vec<RTCIceServer> {
    config["ice_servers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| RTCIceServer {
                    urls: s["urls"]
                        .as_array()
                        .map(|u| {
                            u.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                    username: s["username"].as_str().unwrap_or_default().to_string(),
                    credential: s["credential"].as_str().unwrap_or_default().to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_relay_only_client_runs_the_check_through_the_builtin_turn() {
    let app = spawn_app_with(with_relay).await;
    let (token, _, _) = booking(&app, "081234560101").await;
    let config = app.get_bearer("/api/v1/precheck/config", &token).await;
    assert_eq!(config.status, 200, "{}", config.text);
    // No external TURN configured: clients are given the built-in relay, UDP and TCP.
    let udp = relay(&app).udp_addr();
    let turn = &config.body["ice_servers"][0];
    assert_eq!(
        turn["urls"][0],
        format!("turn:127.0.0.1:{}?transport=udp", udp.port())
    );
    assert_eq!(
        turn["urls"][1],
        format!(
            "turn:127.0.0.1:{}?transport=tcp",
            relay(&app).tcp_addr().port()
        )
    );
    let user = turn["username"].as_str().expect("username");
    let (expiry, who) = user.split_once(':').expect("`<expiry>:<participant>`");
    assert!(who.starts_with("precheck-"), "{user}");
    let expiry: i64 = expiry.parse().expect("a unix time");
    assert!(expiry > credentials::now_unix(), "{user} is not expired");
    assert_eq!(
        turn["credential"].as_str(),
        Some(credentials::credential(SECRET, user).as_str())
    );

    let client = Client::new(ClientOptions {
        ice_servers: ice_servers(&config.body),
        relay_only: true,
        ..Default::default()
    })
    .await
    .expect("client");
    let (started, answer) = start_check(&app, &token, &client).await;
    client.accept(&answer).await.expect("answer");
    assert!(
        client.wait_connected(Duration::from_secs(10)).await,
        "connected through the relay"
    );
    assert!(relay(&app).allocations().await >= 1);
    client.send_media(Duration::from_secs(4), 500).await;
    let body = wait_result(&app, &token, started["id"].as_str().expect("id")).await;
    let m = &body["measurements"];
    assert_eq!(m["path"]["remote"]["type"], "relay", "{body:#}");
    assert_eq!(body["verdict"], "good", "{body:#}");
    assert!(m["video"]["packets_received"].as_u64().unwrap_or(0) > 50);
    let types = client.selected_types().await;
    assert_eq!(types.map(|t| t.0), Some("relay".to_string()));
    client.close().await;
    wait_no_live_checks(&app).await;
    // The client released its allocation on close (or it was reclaimed); none is left over.
    for _ in 0..50 {
        if relay(&app).allocations().await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(relay(&app).allocations().await, 0);
}

/// The relay's answer to a refused Allocate: `turn` 0.17 answers every refusal (by the auth
/// handler or by the message-integrity check) with 400 Bad Request.
const REFUSED: &str = "Allocate error response (error 400:";

/// An allocation that the relay must refuse: the client got the relay's error answer, not a
/// timeout or a network error, and no allocation was made.
async fn refused(app: &TestApp, user: &str, pass: &str, what: &str) {
    let server = relay(app).udp_addr();
    let before = relay(app).allocations().await;
    match allocate(server, user, pass).await {
        Ok(c) => {
            let _ = c.close().await;
            panic!("{what}: the relay allocated");
        }
        Err(e) => assert!(e.contains(REFUSED), "{what}: refused how? {e}"),
    }
    assert_eq!(relay(app).allocations().await, before, "{what}");
}

fn refusal_counts(app: &TestApp) -> [u64; 3] {
    use loket::turn::auth::Refusal;
    [Refusal::Malformed, Refusal::Expired, Refusal::Quota].map(|r| relay(app).refusals(r))
}

#[tokio::test]
async fn the_relay_accepts_rest_credentials_and_refuses_expired_forged_and_malformed_ones() {
    let app = spawn_app_with(with_relay).await;
    let server = relay(&app).udp_addr();
    let now = credentials::now_unix();

    let (user, pass) = credentials::mint(SECRET, "citizen-ok", now, 300);
    let ok = allocate(server, &user, &pass)
        .await
        .expect("valid credential");
    assert_eq!(relay(&app).allocations().await, 1);
    let _ = ok.close().await;
    assert_eq!(refusal_counts(&app), [0, 0, 0]);

    // Expired: refused by the credential check, as expired.
    let (user, pass) = credentials::mint(SECRET, "citizen-late", now - 600, 300);
    refused(&app, &user, &pass, "expired").await;
    assert_eq!(refusal_counts(&app), [0, 1, 0], "refused as expired");

    // turn 0.17's stock form (a bare timestamp) is not ours: refused as malformed.
    let bare = (now + 300).to_string();
    let pass = credentials::credential(SECRET, &bare);
    refused(&app, &bare, &pass, "bare timestamp").await;
    assert_eq!(refusal_counts(&app), [1, 1, 0], "refused as malformed");

    // A wrong password or an edited username passes the username check and fails the message
    // integrity: no refusal of the credential check, and the same username with its right
    // password is then allocated, so it was the password that was refused.
    let (user, pass) = credentials::mint(SECRET, "citizen-forged", now, 300);
    let forged = credentials::credential("not-the-secret", &user);
    refused(&app, &user, &forged, "wrong secret").await;
    let (user2, pass2) = credentials::mint(SECRET, "citizen-x", now, 300);
    let tampered = user2.replacen("citizen-x", "citizen-y", 1);
    refused(&app, &tampered, &pass2, "edited username").await;
    assert_eq!(
        refusal_counts(&app),
        [1, 1, 0],
        "integrity, not the username"
    );
    for (user, pass) in [(&user, &pass), (&user2, &pass2)] {
        let c = allocate(server, user, pass)
            .await
            .expect("the same username with its own password");
        let _ = c.close().await;
    }
}

#[tokio::test]
async fn one_credential_holds_at_most_its_quota_of_allocations() {
    let app = spawn_app_with(|s| {
        with_relay(s);
        s.turn_relay.max_allocations_per_credential = 2;
    })
    .await;
    let server = relay(&app).udp_addr();
    let now = credentials::now_unix();
    let (user, pass) = credentials::mint(SECRET, "citizen-q", now, 300);
    let a = allocate(server, &user, &pass).await.expect("first");
    let b = allocate(server, &user, &pass).await.expect("second");
    refused(&app, &user, &pass, "third is over the quota").await;
    assert_eq!(refusal_counts(&app)[2], 1, "refused for the quota");
    let (other, other_pass) = credentials::mint(SECRET, "citizen-r", now, 300);
    let c = allocate(server, &other, &other_pass)
        .await
        .expect("another credential has its own quota");
    assert_eq!(relay(&app).allocations().await, 3);
    for client in [a, b, c] {
        let _ = client.close().await;
    }
}

#[tokio::test]
async fn the_relay_speaks_stun_over_tcp() {
    use stun::attributes::ATTR_NONCE;
    use stun::integrity::MessageIntegrity;
    use stun::message::{
        CLASS_ERROR_RESPONSE, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter, METHOD_ALLOCATE,
        Message, MessageType,
    };
    use stun::textattrs::{Nonce, Realm, Username};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn roundtrip(s: &mut tokio::net::TcpStream, m: &Message) -> Message {
        s.write_all(&m.raw).await.expect("write");
        let mut head = [0u8; 20];
        s.read_exact(&mut head).await.expect("header");
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let mut raw = head.to_vec();
        raw.resize(20 + len, 0);
        s.read_exact(&mut raw[20..]).await.expect("body");
        let mut out = Message::new();
        out.raw = raw;
        out.decode().expect("a STUN message");
        out
    }

    let app = spawn_app_with(with_relay).await;
    let mut tcp = tokio::net::TcpStream::connect(relay(&app).tcp_addr())
        .await
        .expect("connect over TCP");
    let transport = || turn::proto::reqtrans::RequestedTransport {
        protocol: turn::proto::PROTO_UDP,
    };
    let mut first = Message::new();
    first
        .build(&[
            Box::new(stun::agent::TransactionId::new()),
            Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
            Box::new(transport()),
        ])
        .expect("build");
    let challenge = roundtrip(&mut tcp, &first).await;
    assert_eq!(
        challenge.typ,
        MessageType::new(METHOD_ALLOCATE, CLASS_ERROR_RESPONSE),
        "401 with a nonce"
    );
    let mut nonce = Nonce::new(ATTR_NONCE, String::new());
    nonce.get_from(&challenge).expect("nonce");
    assert_eq!(relay(&app).tcp_connections(), 1);

    let (user, pass) = credentials::mint(SECRET, "citizen-tcp", credentials::now_unix(), 300);
    let mut second = Message::new();
    second
        .build(&[
            Box::new(stun::agent::TransactionId::new()),
            Box::new(MessageType::new(METHOD_ALLOCATE, CLASS_REQUEST)),
            Box::new(transport()),
            Box::new(Username::new(stun::attributes::ATTR_USERNAME, user.clone())),
            Box::new(Realm::new(stun::attributes::ATTR_REALM, "loket".into())),
            Box::new(nonce),
            Box::new(MessageIntegrity::new_long_term_integrity(
                user,
                "loket".into(),
                pass,
            )),
        ])
        .expect("build");
    let allocated = roundtrip(&mut tcp, &second).await;
    assert_eq!(
        allocated.typ,
        MessageType::new(METHOD_ALLOCATE, CLASS_SUCCESS_RESPONSE)
    );
    let mut relayed = stun::xoraddr::XorMappedAddress::default();
    relayed
        .get_from_as(&allocated, stun::attributes::ATTR_XOR_RELAYED_ADDRESS)
        .expect("a relayed address");
    assert!((49160..=49400).contains(&relayed.port), "{}", relayed.port);
    drop(tcp);
    for _ in 0..50 {
        if relay(&app).tcp_connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        relay(&app).tcp_connections(),
        0,
        "closed connections are forgotten"
    );
}

/// A TURN client's socket to the relay over TCP. `turn::client::Client` only speaks datagrams
/// through a `Conn`, so this cuts the relay's byte stream into STUN and ChannelData frames with
/// the relay's own framing code (RFC 5766 §11.5) and hands each over as one datagram from the
/// server; what the client sends goes down the stream framed the same way.
struct TcpTurnConn {
    server: SocketAddr,
    local: SocketAddr,
    rd: tokio::sync::Mutex<tokio::net::tcp::OwnedReadHalf>,
    wr: tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>,
}

impl TcpTurnConn {
    async fn connect(server: SocketAddr) -> std::io::Result<TcpTurnConn> {
        let stream = tokio::net::TcpStream::connect(server).await?;
        stream.set_nodelay(true)?;
        let local = stream.local_addr()?;
        let (rd, wr) = stream.into_split();
        Ok(TcpTurnConn {
            server,
            local,
            rd: tokio::sync::Mutex::new(rd),
            wr: tokio::sync::Mutex::new(wr),
        })
    }
}

#[async_trait::async_trait]
impl webrtc_util::Conn for TcpTurnConn {
    async fn connect(&self, _addr: SocketAddr) -> webrtc_util::Result<()> {
        Ok(())
    }

    async fn recv(&self, buf: &mut [u8]) -> webrtc_util::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    async fn recv_from(&self, buf: &mut [u8]) -> webrtc_util::Result<(usize, SocketAddr)> {
        let frame = loket::turn::tcp::read_frame(&mut *self.rd.lock().await).await?;
        let n = frame.len().min(buf.len());
        buf[..n].copy_from_slice(&frame[..n]);
        Ok((n, self.server))
    }

    async fn send(&self, buf: &[u8]) -> webrtc_util::Result<usize> {
        self.send_to(buf, self.server).await
    }

    async fn send_to(&self, buf: &[u8], target: SocketAddr) -> webrtc_util::Result<usize> {
        if target != self.server {
            return Err(webrtc_util::Error::Other(format!(
                "a TCP TURN connection reaches only {}, not {target}",
                self.server
            )));
        }
        use tokio::io::AsyncWriteExt;
        let frame = loket::turn::tcp::to_frame(buf);
        self.wr.lock().await.write_all(&frame).await?;
        Ok(buf.len())
    }

    fn local_addr(&self) -> webrtc_util::Result<SocketAddr> {
        Ok(self.local)
    }

    fn remote_addr(&self) -> Option<SocketAddr> {
        Some(self.server)
    }

    async fn close(&self) -> webrtc_util::Result<()> {
        use tokio::io::AsyncWriteExt;
        let _ = self.wr.lock().await.shutdown().await;
        Ok(())
    }

    fn as_any(&self) -> &(dyn std::any::Any + Send + Sync) {
        self
    }
}

/// A TURN client over TCP with a credential of its own, allocated on the relay; returns the
/// client and its relayed `Conn`.
async fn allocate_over_tcp(
    server: SocketAddr,
    who: &str,
) -> Result<(turn::client::Client, impl webrtc_util::Conn), String> {
    let conn = TcpTurnConn::connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (user, pass) = credentials::mint(SECRET, who, credentials::now_unix(), 300);
    // TCP is reliable: no retransmissions (RFC 5389 §7.2.2) within any wait of these tests.
    allocate_through(Arc::new(conn), server, &user, &pass, 30_000)
        .await
        .map_err(|e| format!("allocate: {e}"))
}

/// `payload` from a relayed `Conn` to `peer` and the peer's answer back through the relay.
async fn relay_roundtrip(
    relayed: &impl webrtc_util::Conn,
    peer: &tokio::net::UdpSocket,
    payload: &[u8],
) -> Result<(), String> {
    let peer_addr = peer.local_addr().map_err(|e| e.to_string())?;
    let relayed_addr = relayed.local_addr().map_err(|e| e.to_string())?;
    let wait = Duration::from_secs(10);
    let mut buf = [0u8; 1500];
    tokio::time::timeout(wait, relayed.send_to(payload, peer_addr))
        .await
        .map_err(|_| "send through the relay: timed out".to_string())?
        .map_err(|e| format!("send through the relay: {e}"))?;
    let (n, from) = tokio::time::timeout(wait, peer.recv_from(&mut buf))
        .await
        .map_err(|_| "the peer got nothing from the relay".to_string())?
        .map_err(|e| e.to_string())?;
    if &buf[..n] != payload || from != relayed_addr {
        return Err(format!(
            "the peer got {:?} from {from}, not {payload:?} from {relayed_addr}",
            &buf[..n]
        ));
    }
    let answer = [payload, b"-back"].concat();
    peer.send_to(&answer, relayed_addr)
        .await
        .map_err(|e| e.to_string())?;
    let (n, from) = tokio::time::timeout(wait, relayed.recv_from(&mut buf))
        .await
        .map_err(|_| "the peer's answer did not come back through the relay".to_string())?
        .map_err(|e| format!("receive through the relay: {e}"))?;
    if buf[..n] != answer[..] || from != peer_addr {
        return Err(format!(
            "got {:?} from {from} back, not {answer:?} from {peer_addr}",
            &buf[..n]
        ));
    }
    Ok(())
}

/// Regression (416af98): `turn` 0.17 calls `close()` on the server's shared socket whenever one
/// allocation closes, and the TCP mux took that for a shutdown — the first TCP client to leave
/// dropped every other TCP client and the listener. Two clients allocate over TCP, one leaves
/// (Refresh with lifetime 0, as `RelayConn::close` sends and Chromium does when it prunes a
/// port); the other still relays to a UDP peer and back, and a newcomer can still allocate.
#[tokio::test]
async fn one_tcp_client_leaving_the_relay_leaves_the_other_tcp_clients_relaying() {
    use webrtc_util::Conn;

    let app = spawn_app_with(with_relay).await;
    let relay = relay(&app);
    let server = relay.tcp_addr();
    let (leaving_client, leaving) = allocate_over_tcp(server, "citizen-tcp-leaves")
        .await
        .expect("the first TCP client allocates");
    let (staying_client, staying) = allocate_over_tcp(server, "citizen-tcp-stays")
        .await
        .expect("the second TCP client allocates");
    assert_eq!(relay.allocations().await, 2);
    assert_eq!(relay.tcp_connections(), 2);
    // A UDP peer on loopback, as Loket's own WebRTC peer is to the relay.
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("peer");
    relay_roundtrip(&staying, &peer, b"before")
        .await
        .expect("relaying over TCP works to begin with");

    // The first client leaves: a Refresh with lifetime 0, and the server closes its allocation.
    leaving.close().await.expect("close the allocation");
    let mut left = relay.allocations().await;
    for _ in 0..50 {
        if left < 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = relay.allocations().await;
    }
    assert!(
        left < 2,
        "the server closed the leaving client's allocation"
    );

    // The server handles one TCP frame at a time, so whatever the staying client sends now is
    // handled after that allocation (and the socket's `close()`) is done with.
    relay_roundtrip(&staying, &peer, b"after!")
        .await
        .expect("the staying client still relays through its allocation over TCP");
    assert_eq!(
        relay.allocations().await,
        1,
        "only the leaving client's allocation is gone"
    );
    assert_eq!(
        relay.tcp_connections(),
        2,
        "leaving an allocation does not close any TCP connection"
    );

    let (newcomer_client, newcomer) = allocate_over_tcp(server, "citizen-tcp-new")
        .await
        .expect("a new TCP client can still connect and allocate");
    assert_eq!(relay.allocations().await, 2);
    relay_roundtrip(&newcomer, &peer, b"newcomer")
        .await
        .expect("and relay");

    for conn in [&staying, &newcomer] {
        let _ = conn.close().await;
    }
    for client in [leaving_client, staying_client, newcomer_client] {
        let _ = client.close().await;
    }
}
