//! The integration test binary: a real Loket over a real Postgres, spoken to over real sockets.

mod helpers;

mod admin;
mod architecture;
mod auth;
mod booking;
mod catalog;
mod embedded;
mod operations;
mod precheck;
mod queue;
mod rooms;
mod self_service;
mod staff;
mod turn;
mod webrtc_call;
mod ws;
