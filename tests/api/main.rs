//! The integration test binary: a real Loket over a real Postgres, spoken to over real sockets.

mod helpers;

mod booking;
mod catalog;
mod operations;
mod rooms;
mod webrtc_call;
mod ws;
