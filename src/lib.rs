//! Loket: the virtual counter of a public service mall. The library holds everything; the
//! `loket` binary (src/main.rs) only parses the command line and calls into it.

pub mod accounts;
pub mod auth;
pub mod availability;
pub mod booking;
pub mod bus;
pub mod cache;
pub mod calendar;
pub mod catalogue;
pub mod config;
pub mod context;
pub mod db;
pub mod demo;
pub mod directory;
pub mod domain;
pub mod error;
pub mod fault;
pub mod feed;
pub mod limits;
pub mod metrics;
pub mod notify;
pub mod precheck;
pub mod privacy;
pub mod queue;
pub mod queue_feed;
pub mod reports;
pub mod rooms;
pub mod routes;
pub mod secret;
pub mod signalling;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod turn;
