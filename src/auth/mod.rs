//! Who is asking: staff passwords (argon2id), signed tokens for citizens and staff, the NIK
//! vault, and the signed-in staff member ([`StaffSession`]). Reading them off an HTTP request is
//! `routes::extract`.

pub mod keys;
pub mod otp;
pub mod password;
pub mod session;
pub mod tokens;

pub use keys::Keys;
pub use session::StaffSession;
