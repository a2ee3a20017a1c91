//! Errors that stop a command. Each prints as one line naming the setting or path at fault.

use std::path::PathBuf;

use crate::config::ConfigError;

/// Why a `cohort` command failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory cannot be created or written.
    #[error("COHORT_DATA_DIR: cannot write to {path}: {reason}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS's reason.
        reason: String,
    },
    /// The listen address is taken or not allowed.
    #[error("COHORT_LISTEN: cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        reason: String,
    },
    /// The database cannot be opened or migrated.
    #[error("COHORT_DATABASE_URL: {0}")]
    Store(#[from] cohort_store::StoreError),
    /// A command-line argument is invalid.
    #[error("{argument}: {reason}")]
    Argument {
        /// The argument (`USERNAME`, `--email`).
        argument: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Anything else (IO on stdin, the server failing while running).
    #[error("{0}")]
    Other(String),
}
