//! The store's error type.

/// What went wrong in storage. The message of each variant is safe to show an operator; the
/// `source` keeps the driver's detail for logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no engine Cohort supports.
    #[error("COHORT_DATABASE_URL must start with sqlite:// or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot connect to the {engine} database ({target}): {source}")]
    Connect {
        /// Which engine was tried.
        engine: crate::Engine,
        /// The database URL with any password masked.
        target: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed; the database stays at the version it had before it.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique constraint refused the write (a username or email already taken, say).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A write the store refuses because of what is stored (media that is not the writer's
    /// own, already attached, or still processing); the message is for clients.
    #[error("{0}")]
    Refused(String),
    /// The row asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A stored value could not be read back as the type the code expects.
    #[error("corrupt value in column {column}: {detail}")]
    Corrupt {
        /// The column read.
        column: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// Any other driver error.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the error comes from a unique-constraint violation, on either engine.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Database(db) => db.is_unique_violation(),
            _ => false,
        }
    }
}
