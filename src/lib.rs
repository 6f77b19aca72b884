//! Loket: the virtual counter of a public service mall. The library holds everything; the
//! `loket` binary (src/main.rs) only parses the command line and calls into it.

pub mod accounts;
pub mod auth;
pub mod availability;
pub mod cache;
pub mod config;
pub mod db;
pub mod demo;
pub mod directory;
pub mod domain;
pub mod error;
pub mod limits;
pub mod precheck;
pub mod routes;
pub mod signalling;
pub mod startup;
pub mod telemetry;
pub mod turn;
