//! The queue's two messages outside the page (issue 11 item 2, through the outbox of issue 10):
//! `queue_near` once per number and `queue_called` per call and recall, to a number's phone —
//! against the real outbox and workers, and the fake WhatsApp Cloud API of `providers` (the one
//! allowed fake: the outside service).

use serde_json::{Value, json};

use crate::notify::params;
use crate::providers::{Provider, with_providers};
use crate::queue::{Queue, queue_app};

/// A queue whose messages go to a fresh fake WhatsApp (SMS as its fallback).
async fn queue_with_provider() -> (Provider, Queue) {
    let provider = Provider::start().await;
    let q = queue_app(|s| with_providers(s, &provider, None)).await;
    (provider, q)
}

/// The WhatsApp messages of one template sent to one number (digits without the plus).
fn sent(all: &[Value], template: &str, to: &str) -> Vec<Value> {
    all.iter()
        .filter(|m| m["template"]["name"] == template && m["to"] == to)
        .cloned()
        .collect()
}

/// The outbox rows of a ticket as `kind/channel/round/status`, in order.
async fn outbox_of(q: &Queue, ticket: &str) -> Vec<String> {
    q.app
        .scalar(&format!(
            "SELECT string_agg(kind || '/' || channel || '/' || round || '/' || status, ',' \
                    ORDER BY kind, round, channel) \
             FROM outbox WHERE subject_kind = 'queue_ticket' AND subject_id = '{ticket}'"
        ))
        .await
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Waits until the ticket's WhatsApp rows of the kinds starting with `kinds` are exactly `want`
/// (the provider answered; recording the answer follows). Bounded at 30 s only so a failure
/// does not hang.
async fn until_whatsapp_rows(q: &Queue, ticket: &str, kinds: &str, want: &[&str]) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let rows: Vec<String> = outbox_of(q, ticket)
            .await
            .into_iter()
            .filter(|r| r.starts_with(kinds) && r.contains("/whatsapp/"))
            .collect();
        if rows == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ticket's WhatsApp messages stayed {rows:?}, wanted {want:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_called_remote_number_gets_its_number_room_and_links_on_whatsapp() {
    let (provider, q) = queue_with_provider().await;
    let staff = q.clerk_token().await;
    let clerk_name = q
        .app
        .scalar(&format!(
            "SELECT name FROM staff WHERE email = '{}'",
            q.clerk
        ))
        .await
        .unwrap();
    let (token, id) = q.take_ok("remote", Some("081234560101")).await;
    let called = q.next(&staff, json!({"counter": "3"})).await;
    assert_eq!(called.status, 200, "{}", called.text);

    let all = provider
        .until_whatsapp("the queue_called message", |m| {
            !sent(m, "loket_queue_called", "6281234560101").is_empty()
        })
        .await;
    let msg = &sent(&all, "loket_queue_called", "6281234560101")[0];
    assert_eq!(msg["template"]["language"]["code"], "id");
    let p = params(msg);
    // name, ticket, service, counter, step, status — in the template's order.
    assert_eq!(p.len(), 6, "{p:?}");
    assert_eq!(p[0], "Siti Aminah");
    assert_eq!(p[1], q.number(1));
    assert_eq!(
        p[3],
        format!("ruang konsultasi video bersama {clerk_name}"),
        "a remote number is called to the room, not the counter"
    );
    // The room's link opens the walk-in appointment; the status link is the number's own page.
    let join = p[4]
        .split_once("/join#t=")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("a join link in {:?}", p[4]));
    let appt = q
        .app
        .get_bearer("/api/v1/appointments/current", &join)
        .await;
    assert_eq!(appt.status, 200, "{}", appt.text);
    assert_eq!(appt.body["id"], called.body["ticket"]["appointment"]);
    let status = p[5]
        .split_once("/queue#t=")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("a status link in {:?}", p[5]));
    let now = q.current(&status).await;
    assert_eq!(now.status, 200, "{}", now.text);
    assert_eq!(now.body["state"], "called");
    assert_eq!(q.current(&token).await.body["id"], now.body["id"]);

    // One row, about the ticket, sent (its `queue_near` too, if the line was rebuilt before the
    // call: number 1 is near at once); the admin's Outbox lists it with the number and without
    // the links' tokens.
    until_whatsapp_rows(&q, &id, "queue_called", &["queue_called/whatsapp/1/sent"]).await;
    let admin = q.app.login("admin@loket.example").await;
    let mut listed = None;
    // Bounded at 30 s only so a failure does not hang.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let r = q.app.get_bearer("/api/v1/admin/outbox", &admin).await;
        assert_eq!(r.status, 200, "{}", r.text);
        listed = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["kind"] == "queue_called" && m["status"] == "sent")
            .cloned();
        if listed.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let listed = listed.expect("the Outbox lists the sent queue_called");
    assert_eq!(listed["ticket"], q.number(1));
    let text = listed["text"].as_str().expect("its text");
    assert!(text.contains(&q.number(1)), "{text}");
    assert!(!text.contains(&token) && !text.contains(&join), "{text}");
    assert!(
        text.contains("/join#t=…") && text.contains("/queue#t=…"),
        "{listed}"
    );
}

#[tokio::test]
async fn near_is_told_once_a_kiosk_number_without_phone_nothing_and_a_recall_again() {
    let (provider, q) = queue_with_provider().await;
    let staff = q.clerk_token().await;
    // Number 1 at the kiosk without a phone; number 2 remote, with one.
    let (_, kiosk) = q.take_ok("in_person", None).await;
    let (_, remote) = q.take_ok("remote", Some("081234560102")).await;
    let to = "6281234560102";
    let all = provider
        .until_whatsapp("the queue_near message", |m| {
            !sent(m, "loket_queue_near", to).is_empty()
        })
        .await;
    let near = &sent(&all, "loket_queue_near", to)[0];
    let p = params(near);
    // name, ticket, service, minutes, status
    assert_eq!(p[1], q.number(2));
    assert_eq!(p[3], "20", "behind one number of 20 minutes: {p:?}");
    assert!(p[4].contains("/queue#t="), "{p:?}");

    // More changes rebuild the line again and again: still one `queue_near`.
    for _ in 0..3 {
        q.take_ok("in_person", None).await;
    }
    // The kiosk number is called (no phone: nothing), finished; then the remote one, twice.
    let first = q.next(&staff, json!({"counter": "2"})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["ticket"]["id"], kiosk);
    q.complete(
        &staff,
        first.body["ticket"]["appointment"].as_str().unwrap(),
    )
    .await;
    let second = q.next(&staff, json!({"counter": "2"})).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["ticket"]["id"], remote);
    provider
        .until_whatsapp("the first queue_called", |m| {
            sent(m, "loket_queue_called", to).len() == 1
        })
        .await;
    let r = q.act(&staff, &remote, "recall", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = provider
        .until_whatsapp("the recall's queue_called", |m| {
            sent(m, "loket_queue_called", to).len() == 2
        })
        .await;
    assert_eq!(
        sent(&all, "loket_queue_near", to).len(),
        1,
        "near is told once"
    );
    assert_eq!(
        all.iter().filter(|m| m["to"] != to).count(),
        0,
        "nobody else was messaged: {all:?}"
    );
    // One message per moment; the recall is a new round.
    until_whatsapp_rows(
        &q,
        &remote,
        "queue_",
        &[
            "queue_called/whatsapp/1/sent",
            "queue_called/whatsapp/2/sent",
            "queue_near/whatsapp/1/sent",
        ],
    )
    .await;
    assert_eq!(
        outbox_of(&q, &kiosk).await,
        Vec::<String>::new(),
        "a number without a phone gets no message"
    );
    assert_eq!(
        q.app
            .scalar(&format!(
                "SELECT count(*) FROM outbox WHERE subject_kind = 'queue_ticket' \
                 AND subject_id <> '{remote}'"
            ))
            .await
            .as_deref(),
        Some("0"),
        "the kiosk numbers without phones have none either"
    );
}
