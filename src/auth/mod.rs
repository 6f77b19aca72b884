//! Who is asking: staff passwords (argon2id), signed tokens for citizens and staff, the NIK
//! vault, and the actix extractors that turn a request into a [`Citizen`] or a [`StaffSession`].

pub mod extractors;
pub mod keys;
pub mod password;
pub mod tokens;

pub use extractors::{Citizen, StaffSession};
pub use keys::Keys;
