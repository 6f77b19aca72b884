//! [`Fault`]: what can go wrong underneath a use-case that is nobody's mistake — the database
//! refusing or unreachable, or a broken invariant. Every use-case error enum carries one in a
//! `Fault` variant, so its own variants stay about the request (a taken slot, a wrong state).
//! HTTP maps it to 503 (database unavailable or busy) or a 500 that logs the cause.

use crate::db::PoolError;

#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("database query: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// `impl From<diesel::result::Error | PoolError | anyhow::Error> for $error` through its
/// `Fault(Fault)` variant, so `?` works on queries inside a use-case.
#[macro_export]
macro_rules! fault_from {
    ($error:ty) => {
        impl From<diesel::result::Error> for $error {
            fn from(e: diesel::result::Error) -> Self {
                <$error>::Fault($crate::fault::Fault::Db(e))
            }
        }
        impl From<$crate::db::PoolError> for $error {
            fn from(e: $crate::db::PoolError) -> Self {
                <$error>::Fault($crate::fault::Fault::Pool(e))
            }
        }
        impl From<anyhow::Error> for $error {
            fn from(e: anyhow::Error) -> Self {
                <$error>::Fault($crate::fault::Fault::Internal(e))
            }
        }
    };
}
