//! WebSocket signalling for the consultation rooms (DESIGN §6): the wire protocol, the pure room
//! state machine, the one task that owns all rooms, the per-socket sessions, the ticket redeemers, the status writers and ICE
//! servers.

pub mod arrival;
pub mod outbound;
pub mod protocol;
pub mod redeemer;
pub mod registry;
pub mod room;
pub mod session;
pub mod status_writer;

pub use registry::Rooms;
