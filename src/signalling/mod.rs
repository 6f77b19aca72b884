//! WebSocket signalling for the consultation rooms (DESIGN §6).
