//! Each service's own embedded transactional database (SQLite, in WAL mode).
//!
//! SQLite because each service's state is small, local and needs real transactions: a
//! posting's legs, a payment and its outbox row commit together or not at all. Every commit
//! is synced (`synchronous = FULL`), so what a service acknowledged survives `kill -9` and a
//! power cut alike.
//!
//! One connection writes, on the blocking pool so that a sync never holds an async worker;
//! a second, read-only connection answers reads, which in WAL mode never wait for a writer.

use std::path::Path;
use std::sync::Arc;

use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer};
use opentelemetry::{Context, KeyValue};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use crate::error::ServiceError;
use crate::telemetry::ServiceTelemetry;

/// A service's database.
#[derive(Debug, Clone)]
pub struct Database {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
    /// Name of the database in spans (`peer.service`), e.g. `ledger-db`.
    peer: &'static str,
}

impl Database {
    /// Opens (creating) the database at `path` and applies `schema` (idempotent DDL).
    pub fn open(path: &Path, peer: &'static str, schema: &str) -> Result<Self, ServiceError> {
        let failed =
            |e: rusqlite::Error| ServiceError::Internal(format!("opening {}: {e}", path.display()));
        let writer = Connection::open(path).map_err(failed)?;
        writer.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )?;
        writer.busy_timeout(std::time::Duration::from_secs(5))?;
        writer.execute_batch(schema)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(failed)?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
            peer,
        })
    }

    /// Runs `f` with the writing connection on the blocking pool, as a client span of `cx`
    /// named `operation` with the database as its peer.
    pub async fn run<T, F>(
        &self,
        telemetry: &ServiceTelemetry,
        cx: &Context,
        operation: &'static str,
        f: F,
    ) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ServiceError> + Send + 'static,
    {
        let tracer = telemetry.tracer();
        let mut span = tracer
            .span_builder(operation)
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("db.system.name", "sqlite"),
                KeyValue::new("peer.service", self.peer),
                KeyValue::new("db.operation.name", operation),
            ])
            .start_with_context(tracer, cx);
        let result = self.write(f).await;
        if let Err(e @ ServiceError::Internal(_)) = &result {
            span.set_status(Status::error(e.to_string()));
        }
        span.end();
        result
    }

    /// Runs `f` with the writing connection on the blocking pool (bookkeeping of the
    /// service's own workers, not worth a span).
    pub async fn write<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, ServiceError> + Send + 'static,
    {
        let conn = self.writer.clone();
        tokio::task::spawn_blocking(move || f(&mut conn.lock()))
            .await
            .unwrap_or_else(|e| Err(ServiceError::Internal(format!("database task: {e}"))))
    }

    /// Runs `f` with the writing connection on the calling thread (start-up, tests).
    pub fn write_now<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        f(&mut self.writer.lock())
    }

    /// Runs a read on the read-only connection, on the calling thread: reads see the last
    /// commit and never wait for a sync.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        f(&self.reader.lock())
    }
}
