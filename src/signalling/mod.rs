//! WebSocket signalling for the consultation rooms (DESIGN §6): the wire protocol, the pure room
//! state machine, the one task that owns all rooms, the per-socket sessions and ICE servers.

pub mod ice;
pub mod protocol;
pub mod registry;
pub mod room;
pub mod session;

pub use registry::Rooms;
