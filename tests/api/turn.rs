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
    let conn = Arc::new(
        tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?,
    );
    let client = turn::client::Client::new(turn::client::ClientConfig {
        stun_serv_addr: server.to_string(),
        turn_serv_addr: server.to_string(),
        username: user.to_string(),
        password: pass.to_string(),
        realm: "loket".into(),
        software: String::new(),
        rto_in_ms: 0,
        conn,
        vnet: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    client.listen().await.map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(5), client.allocate()).await {
        Ok(Ok(_relay)) => Ok(client),
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
    assert!(
        user.ends_with(":precheck-") || user.contains(":precheck-"),
        "{user}"
    );
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
        client.wait_connected(Duration::from_secs(8)).await,
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

#[tokio::test]
async fn the_relay_accepts_rest_credentials_and_refuses_expired_forged_and_malformed_ones() {
    let app = spawn_app_with(with_relay).await;
    let server = relay(&app).udp_addr();
    let now = credentials::now_unix();

    let (user, pass) = credentials::mint(SECRET, "citizen-ok", now, 300);
    let ok = allocate(server, &user, &pass)
        .await
        .expect("valid credential");
    let _ = ok.close().await;

    let (user, pass) = credentials::mint(SECRET, "citizen-late", now - 600, 300);
    assert!(allocate(server, &user, &pass).await.is_err(), "expired");

    let (user, _) = credentials::mint(SECRET, "citizen-forged", now, 300);
    let forged = credentials::credential("not-the-secret", &user);
    assert!(
        allocate(server, &user, &forged).await.is_err(),
        "wrong secret"
    );

    let (user, pass) = credentials::mint(SECRET, "citizen-x", now, 300);
    let tampered = user.replacen("citizen-x", "citizen-y", 1);
    assert!(
        allocate(server, &tampered, &pass).await.is_err(),
        "edited username"
    );

    // turn 0.17's stock form (a bare timestamp) is not ours.
    let bare = (now + 300).to_string();
    let pass = credentials::credential(SECRET, &bare);
    assert!(
        allocate(server, &bare, &pass).await.is_err(),
        "bare timestamp"
    );
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
    assert!(
        allocate(server, &user, &pass).await.is_err(),
        "third is over the quota"
    );
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
