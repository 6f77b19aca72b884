//! The built-in TURN relay over TCP, end to end: Chromium runs the pre-call check from the join
//! page with only `turn:…?transport=tcp` to use and `iceTransportPolicy: "relay"`, so the one
//! path there is — browser ⇄ (TCP) relay ⇄ (UDP) Loket's peer — is the one measured.

use std::net::SocketAddr;
use std::time::Duration;

use loket::config::Secret;
use loket::turn::{RelaySettings, TurnRelay};
use serde_json::{Value, json};

use crate::harness::{Browser, stored, wait_until};
use crate::helpers::{next_working_day, spawn_app_with};
use crate::{book, free_slots};

const SECRET: &str = "browser-turn-tcp-secret";

/// The selected pair of the page's first connection, from the browser's side.
const SELECTED_PAIR: &str = "const pc = (window.__pcs || [])[0];\
  if (!pc) return null;\
  const byId = new Map();\
  (await pc.getStats()).forEach((r) => byId.set(r.id, r));\
  let pair = null;\
  byId.forEach((r) => {\
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = byId.get(r.selectedCandidatePairId);\
  });\
  if (!pair || pair.state !== 'succeeded') return null;\
  const local = byId.get(pair.localCandidateId) || {};\
  return { type: local.candidateType, relayProtocol: local.relayProtocol || null,\
           url: local.url || null, bytesReceived: pair.bytesReceived || 0,\
           policy: pc.getConfiguration().iceTransportPolicy };";

#[tokio::test]
async fn chromium_runs_the_connection_test_through_the_builtin_turn_over_tcp() {
    // The relay first, so its TCP port can be the only ICE server the app hands out.
    let relay = TurnRelay::start(
        &RelaySettings {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            relay_ports: (49160, 49400),
            ..Default::default()
        },
        Secret::new(SECRET),
    )
    .await
    .expect("relay");
    let tcp_url = format!("turn:127.0.0.1:{}?transport=tcp", relay.tcp_addr().port());
    let url = tcp_url.clone();
    let app = &spawn_app_with(move |s| {
        s.turn_urls = vec![url];
        s.turn_secret = Some(Secret::new(SECRET));
    })
    .await;
    let day = next_working_day(2);
    let start = free_slots(app, "pbg", day, 1).await[0];
    let booking = book(app, "pbg", start, "Wulan Sari", "081234567016").await;
    let config = app
        .get_bearer("/api/v1/precheck/config", &booking.token)
        .await;
    assert_eq!(
        config.body["ice_servers"][0]["urls"],
        json!([tcp_url]),
        "the page is given the TCP relay only: {}",
        config.text
    );

    let b = &Browser::phone("citizen").await;
    // Relay-only, as a network that blocks everything but the relay would force.
    b.keep_connections(Some("relay")).await;
    b.goto(&format!("{}&check=1", crate::absolute(app, &booking.join)))
        .await;

    // While the check runs: the browser's selected pair is its relay candidate, allocated over
    // TCP, and media comes back through it; the relay holds a TCP client and an allocation.
    let pair: Value = wait_until(
        Duration::from_secs(30),
        "the browser's connection to be up through the relay",
        || async move {
            let p = b.js_await(SELECTED_PAIR, vec![]).await;
            if p["bytesReceived"].as_u64().unwrap_or(0) > 10_000 {
                Ok(p)
            } else {
                Err(format!("{p}"))
            }
        },
    )
    .await;
    assert_eq!(pair["policy"], "relay", "{pair}");
    assert_eq!(pair["type"], "relay", "{pair}");
    assert_eq!(pair["relayProtocol"], "tcp", "{pair}");
    assert!(
        relay.tcp_connections() >= 1,
        "the browser reached the relay over TCP"
    );
    assert!(
        relay.allocations().await >= 1,
        "and holds an allocation there"
    );

    let verdict = crate::citizen::precheck_verdict(b).await;
    assert_eq!(verdict, "good", "{}", b.describe().await);
    // Loket's side of the same check, as stored for the clerk: the citizen came in relayed.
    let sql = format!(
        "SELECT verdict || ' ' || (result->'measurements'->'path'->'remote'->>'type') \
         FROM prechecks WHERE appointment_id = '{}'",
        booking.id
    );
    let saved = stored(app, "the verdict to be stored", &sql).await;
    assert_eq!(saved, "good relay");
    b.quit().await;
    relay.close().await;
}
