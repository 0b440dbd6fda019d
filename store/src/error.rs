//! Errors of the store.

use std::io;
use std::path::PathBuf;

use crate::block::BlockError;

/// What can go wrong opening, querying or maintaining the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// File trouble, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A block could not be written or read.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// The writer stopped (shutdown, or a failed fsync made the store read-only).
    #[error("storage writer is not running: {0}")]
    WriterStopped(String),
}

impl StoreError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Stored data under `path` that does not read back as it was written.
    pub fn corrupt(path: impl Into<PathBuf>, why: impl std::fmt::Display) -> Self {
        Self::io(
            path,
            io::Error::new(io::ErrorKind::InvalidData, why.to_string()),
        )
    }
}
