//! Each service's own embedded transactional database (SQLite, in WAL mode).
//!
//! SQLite because each service's state is small, local and needs real transactions: a
//! posting's legs, a payment and its outbox row commit together or not at all. Every commit
//! is synced (`synchronous = FULL`), so what a service acknowledged survives `kill -9` and a
//! power cut alike.

use std::path::Path;
use std::sync::Arc;

use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer};
use opentelemetry::{Context, KeyValue};
use parking_lot::Mutex;
use rusqlite::Connection;

use crate::error::ServiceError;
use crate::telemetry::ServiceTelemetry;

/// A service's database; statements run on the blocking pool, one transaction at a time.
#[derive(Debug, Clone)]
pub struct Database {
    conn: Arc<Mutex<Connection>>,
    /// Name of the database in spans (`peer.service`), e.g. `ledger-db`.
    peer: &'static str,
}

impl Database {
    /// Opens (creating) the database at `path` and applies `schema` (idempotent DDL).
    pub fn open(path: &Path, peer: &'static str, schema: &str) -> Result<Self, ServiceError> {
        let conn = Connection::open(path)
            .map_err(|e| ServiceError::Internal(format!("opening {}: {e}", path.display())))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(schema)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            peer,
        })
    }

    /// Runs `f` with the connection on the blocking pool, as a client span of `cx` named
    /// `operation` with the database as its peer.
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
        let conn = self.conn.clone();
        let result = tokio::task::spawn_blocking(move || f(&mut conn.lock()))
            .await
            .unwrap_or_else(|e| Err(ServiceError::Internal(format!("database task: {e}"))));
        if let Err(e @ ServiceError::Internal(_)) = &result {
            span.set_status(Status::error(e.to_string()));
        }
        span.end();
        result
    }

    /// Runs `f` with the connection on the calling thread (start-up, tests, reports).
    pub fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        f(&mut self.conn.lock())
    }
}
