//! The integration test binary: a real Loket over a real Postgres, spoken to over real sockets.

mod helpers;

mod booking;
mod catalog;
mod embedded;
mod operations;
mod precheck;
mod turn;
