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

pub struct Metrics {
    registry: Registry,
    pub bookings: Counter,
    pub slot_taken: Counter,
    pub logins_failed: Counter,
    /// Sign-in tries refused without checking the password (`domain::login_throttle`).
    pub logins_throttled: Counter,
    pub requests: Family<ResponseLabels, Counter>,
    pub request_seconds: HistogramFamily<RouteLabels>,
    pub signalling: SignallingMetrics,
    pub prechecks: Family<VerdictLabels, Counter>,
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
            logins_failed: Counter::default(),
            logins_throttled: Counter::default(),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram),
            signalling: SignallingMetrics::default(),
            prechecks: Family::default(),
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

    /// The registry as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
