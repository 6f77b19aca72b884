//! What Loket counts for its operators, in one Prometheus registry (the Prometheus project's
//! own client, `prometheus-client`, OpenMetrics text at `/metrics`): requests per route with
//! their latency, bookings, logins, the signalling rooms and sockets, joins and relayed
//! messages, pre-call verdicts, and — read when scraped — the database pool and the TURN relay.
//!
//! Counters are cheap clones of shared atomics, so a subsystem (the signalling registry, a
//! session) takes its own handles at start and never reaches back here on a hot path.
//! Labels are bounded: routes are the matched patterns (`/api/v1/services/{slug}`), never the
//! raw path, so a scanner cannot grow the registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    /// The matched route pattern, or `unmatched`.
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResponseLabels {
    pub method: String,
    pub route: String,
    /// `2xx`, `4xx`, `5xx`…: enough to alert on, and bounded.
    pub class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutboxLabels {
    /// The state a message reached (`domain::notify::Delivery`, a closed set).
    pub state: &'static str,
    /// `whatsapp`, `sms`, `email`.
    pub channel: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    /// `good`, `audio_only`, `will_not_connect` (a closed set).
    pub verdict: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The signalling's own handles (given to `signalling::Rooms` at start).
#[derive(Clone, Default)]
pub struct SignallingMetrics {
    pub rooms_open: Gauge,
    pub sockets_open: Gauge,
    pub joins: Counter,
    pub relayed: Counter,
}

/// The same-day queue's counters (`queue_feed` and the queue use-cases bump them).
#[derive(Clone, Default)]
pub struct QueueStats {
    pub taken: Counter,
    pub called: Counter,
    /// Snapshots rebuilt (one per burst of changes, whatever the number of readers).
    pub rebuilds: Counter,
    /// The notification points reached (`queue::notify`).
    pub near_notices: Counter,
    pub called_notices: Counter,
    /// Live queue streams open on this node (set when scraped).
    pub streams: Gauge,
}

impl QueueStats {
    pub fn bump(counter: &Counter) {
        counter.inc();
    }
    pub fn get(counter: &Counter) -> u64 {
        counter.get()
    }
}

pub struct Metrics {
    registry: Registry,
    pub bookings: Counter,
    pub slot_taken: Counter,
    /// Held bookings confirmed with their code, and holds ended unconfirmed (DESIGN §9).
    pub holds_confirmed: Counter,
    pub holds_released: Counter,
    pub logins_failed: Counter,
    /// Sign-in tries refused without checking the password (`domain::login_throttle`).
    pub logins_throttled: Counter,
    pub requests: Family<ResponseLabels, Counter>,
    pub request_seconds: HistogramFamily<RouteLabels>,
    pub signalling: SignallingMetrics,
    pub queue: QueueStats,
    pub prechecks: Family<VerdictLabels, Counter>,
    /// Outbox messages by the state they reached (worker outcomes and provider reports).
    pub outbox_messages: Family<OutboxLabels, Counter>,
    /// Set when scraped: how long the oldest due message has waited (0 when none).
    pub outbox_oldest_pending_seconds: Gauge,
    /// Set when scraped.
    pub db_pool_size: Gauge,
    pub db_pool_available: Gauge,
    pub db_pool_waiting: Gauge,
    pub turn_allocations: Gauge,
    /// 1 when the database answered the scrape's query, else 0.
    pub database_up: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("loket");
        let m = Metrics {
            bookings: Counter::default(),
            slot_taken: Counter::default(),
            holds_confirmed: Counter::default(),
            holds_released: Counter::default(),
            logins_failed: Counter::default(),
            logins_throttled: Counter::default(),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram),
            signalling: SignallingMetrics::default(),
            queue: QueueStats::default(),
            prechecks: Family::default(),
            outbox_messages: Family::default(),
            outbox_oldest_pending_seconds: Gauge::default(),
            db_pool_size: Gauge::default(),
            db_pool_available: Gauge::default(),
            db_pool_waiting: Gauge::default(),
            turn_allocations: Gauge::default(),
            database_up: Gauge::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register("bookings", "Bookings stored", m.bookings.clone());
        r.register(
            "slot_taken",
            "Bookings refused because the time was taken",
            m.slot_taken.clone(),
        );
        r.register(
            "holds_confirmed",
            "Held bookings confirmed with the code sent to their phone",
            m.holds_confirmed.clone(),
        );
        r.register(
            "holds_released",
            "Held bookings ended unconfirmed (time up or too many wrong codes)",
            m.holds_released.clone(),
        );
        r.register(
            "logins_failed",
            "Staff sign-ins refused",
            m.logins_failed.clone(),
        );
        r.register(
            "logins_throttled",
            "Staff sign-in tries refused by the throttle before the password was checked",
            m.logins_throttled.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests answered, by route and status class",
            m.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            m.request_seconds.clone(),
        );
        r.register(
            "rooms_open",
            "Consultation rooms with someone in them",
            m.signalling.rooms_open.clone(),
        );
        r.register(
            "sockets_open",
            "Signalling sockets open",
            m.signalling.sockets_open.clone(),
        );
        r.register(
            "room_joins",
            "Signalling sockets that joined a room",
            m.signalling.joins.clone(),
        );
        r.register(
            "relayed_messages",
            "Signalling messages relayed between participants",
            m.signalling.relayed.clone(),
        );
        r.register(
            "prechecks",
            "Pre-call checks finished, by verdict",
            m.prechecks.clone(),
        );
        let q = &m.queue;
        r.register("queue_taken", "Queue numbers taken", q.taken.clone());
        r.register("queue_called", "Queue numbers called", q.called.clone());
        r.register(
            "queue_rebuilds",
            "Queue snapshots rebuilt (one per burst of changes)",
            q.rebuilds.clone(),
        );
        r.register(
            "queue_near_notices",
            "Queue numbers told their turn is near",
            q.near_notices.clone(),
        );
        r.register(
            "queue_called_notices",
            "Queue numbers told they were called",
            q.called_notices.clone(),
        );
        r.register(
            "queue_streams",
            "Live queue streams open on this node",
            q.streams.clone(),
        );
        r.register(
            "outbox_messages",
            "Outbox messages by the state they reached and channel",
            m.outbox_messages.clone(),
        );
        r.register(
            "outbox_oldest_pending_seconds",
            "Seconds the oldest message due for sending has waited",
            m.outbox_oldest_pending_seconds.clone(),
        );
        r.register(
            "db_pool_size",
            "Database connections open",
            m.db_pool_size.clone(),
        );
        r.register(
            "db_pool_available",
            "Database connections idle",
            m.db_pool_available.clone(),
        );
        r.register(
            "db_pool_waiting",
            "Requests waiting for a database connection",
            m.db_pool_waiting.clone(),
        );
        r.register(
            "turn_allocations",
            "Allocations on the built-in TURN relay",
            m.turn_allocations.clone(),
        );
        r.register(
            "database_up",
            "Whether the database answered when scraped",
            m.database_up.clone(),
        );
        // Every label of the closed sets starts at 0, so the series exist (and `increase()`
        // sees the first one) before anything happened.
        for verdict in ["good", "audio_only", "will_not_connect"] {
            let _ = m.prechecks.get_or_create(&VerdictLabels { verdict });
        }
        for state in crate::domain::notify::Delivery::ALL {
            if state != crate::domain::notify::Delivery::Pending {
                for channel in crate::domain::notify::Channel::ALL {
                    let _ = m.outbox_messages.get_or_create(&OutboxLabels {
                        state: state.as_str(),
                        channel: channel.as_str(),
                    });
                }
            }
        }
        Metrics { registry, ..m }
    }

    /// One answered HTTP request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let route = route.to_string();
        // Only the methods routes answer; anything else is one label, not one per spelling.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        }
        .to_string();
        self.request_seconds
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&ResponseLabels {
                method,
                route,
                class: format!("{}xx", status / 100),
            })
            .inc();
    }

    /// One outbox message reached `state` on `channel`.
    pub fn outbox_message(&self, state: &'static str, channel: &'static str) {
        self.outbox_messages
            .get_or_create(&OutboxLabels { state, channel })
            .inc();
    }

    /// The registry as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
