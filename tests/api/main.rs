//! The integration test binary: a real Loket over a real Postgres, spoken to over real sockets.

mod helpers;

mod abuse;
mod admin;
mod architecture;
mod auth;
mod backup;
mod booking;
mod catalog;
mod catalogue_file;
mod demo_call;
mod embedded;
mod holds;
mod input;
mod logs;
mod nodes;
mod notify;
mod operations;
mod precheck;
mod privacy;
mod production;
mod providers;
mod queue;
mod queue_notify;
mod rooms;
mod self_service;
#[path = "../support/sse.rs"]
mod sse;
mod staff;
mod turn;
mod webrtc_call;
mod ws;
