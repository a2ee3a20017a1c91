//! Connecting to either engine, applying migrations, pool health.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cohort_model::Id;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::StoreError;
use crate::ids::IdGenerator;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Pragmas applied to every SQLite connection. WAL lets readers run beside the writer;
/// `synchronous = NORMAL` is durable in WAL mode except for the last transactions before a
/// power cut (not a process crash); the busy timeout makes a reader wait for a checkpoint
/// instead of failing.
const SQLITE_CONNECTION_PRAGMAS: &str =
    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";

/// How long a PostgreSQL connection may sit idle in the pool before it is pinged when
/// handed out again.
const PING_IDLE_CONNECTIONS_AFTER: Duration = Duration::from_secs(30);

/// The database engine behind a [`Store`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: one file.
    Sqlite,
    /// For multi-process deployments.
    Postgres,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        })
    }
}

impl Engine {
    /// Which engine a database URL names.
    pub fn of_url(url: &str) -> Result<Engine, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(mask_password(url)))
        }
    }
}

/// How to reach the database.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    pub url: String,
    /// Upper bound of the read pool (and of the whole pool on PostgreSQL).
    pub max_connections: u32,
    /// How long a request waits for a connection before failing.
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    /// Settings with the default pool size for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseSettings {
            url: url.into(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The storage handle: cheap to clone, shared by every request and worker.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    /// Reads. On PostgreSQL the same pool as `writer`.
    reader: AnyPool,
    /// Writes. On SQLite exactly one connection: SQLite allows one writer at a time, and
    /// queueing in the pool is cheaper and fairer than retrying on `SQLITE_BUSY`.
    writer: AnyPool,
    ids: IdGenerator,
    /// Live events for the streaming API (see `stream.rs`).
    bus: crate::stream::SharedBus,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.inner.engine)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the pools (without migrating). Fails if the database cannot be reached now,
    /// rather than on the first request.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        install_default_drivers();
        let engine = Engine::of_url(&settings.url)?;
        let connect_error = |source| StoreError::Connect {
            engine,
            target: mask_password(&settings.url),
            source,
        };
        let (reader, writer) = match engine {
            Engine::Sqlite => {
                let url = sqlite_url_creating_file(&settings.url);
                let writer = sqlite_pool_options(1, settings.acquire_timeout)
                    .connect(&url)
                    .await
                    .map_err(connect_error)?;
                // journal_mode is stored in the file: setting it once on the writer is enough,
                // and it must happen before readers open the file.
                writer
                    .execute("PRAGMA journal_mode = WAL;")
                    .await
                    .map_err(connect_error)?;
                let reader =
                    sqlite_pool_options(settings.max_connections, settings.acquire_timeout)
                        .connect(&url)
                        .await
                        .map_err(connect_error)?;
                (reader, writer)
            }
            Engine::Postgres => {
                // sqlx pings every connection it hands out by default: on PostgreSQL that is
                // a second round trip for every statement run on the pool (and live events
                // wait on chains of them). Only a connection idle long enough for the server
                // or a proxy to have dropped it is checked; one that broke sooner fails
                // the statement that finds out, as it could between a ping and its use.
                let pool = AnyPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PING_IDLE_CONNECTIONS_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect(&settings.url)
                    .await
                    .map_err(connect_error)?;
                (pool.clone(), pool)
            }
        };
        Ok(Store {
            inner: Arc::new(Inner {
                engine,
                reader,
                writer,
                ids: IdGenerator::default(),
                bus: Arc::new(crate::stream::StreamBus::new(engine, &settings.url)),
            }),
        })
    }

    /// Connects and applies every pending migration.
    pub async fn open(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        let store = Store::connect(settings).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the embedded migrations of this engine. Each runs in its own transaction.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrate_with(self.migrator()).await
    }

    /// Applies the migrations of `migrator` (tests use this to prove that a failing
    /// migration leaves the schema at its previous version).
    pub async fn migrate_with(&self, migrator: &Migrator) -> Result<(), StoreError> {
        migrator.run(&self.inner.writer).await?;
        Ok(())
    }

    /// The embedded migrations for this engine.
    pub fn migrator(&self) -> &'static Migrator {
        match self.inner.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The newest applied migration version, if any.
    pub async fn schema_version(&self) -> Result<Option<i64>, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.inner.reader)
                .await?;
        Ok(version)
    }

    /// The newest migration this binary knows.
    pub fn latest_known_version(&self) -> Option<i64> {
        self.migrator().iter().map(|m| m.version).max()
    }

    /// A round trip to the database, for `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.inner.reader).await?;
        Ok(())
    }

    /// Refreshes the query planner's statistics: `PRAGMA optimize` on SQLite (which analyses
    /// the tables whose statistics are missing or stale, each from a bounded sample),
    /// `ANALYZE` on PostgreSQL (which autovacuum also does, in its own time). SQLite gathers
    /// none by itself, and without them it cannot tell a selective index from one holding
    /// every follower of a popular account: a fan-out's follow checks then read all of the
    /// author's follows once per batch of candidates. `cohort serve` calls this at start and
    /// about hourly.
    pub async fn refresh_planner_statistics(&self) -> Result<(), StoreError> {
        let statement = match self.inner.engine {
            Engine::Sqlite => "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;",
            Engine::Postgres => "ANALYZE",
        };
        sqlx::query(statement).execute(&self.inner.writer).await?;
        Ok(())
    }

    /// Which engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.inner.engine
    }

    /// A fresh time-ordered id.
    pub fn next_id(&self) -> Id {
        self.inner.ids.next()
    }

    /// Open and idle connections of the read and write pools, for `/metrics`.
    pub fn pool_stats(&self) -> PoolStats {
        let same = self.inner.engine == Engine::Postgres;
        PoolStats {
            reader_size: self.inner.reader.size(),
            reader_idle: self.inner.reader.num_idle(),
            writer_size: if same { 0 } else { self.inner.writer.size() },
            writer_idle: if same {
                0
            } else {
                self.inner.writer.num_idle()
            },
        }
    }

    /// Closes every connection; waits for those in use to be returned.
    pub async fn close(&self) {
        self.inner.bus.close();
        self.inner.writer.close().await;
        self.inner.reader.close().await;
    }

    pub(crate) fn reader(&self) -> &AnyPool {
        &self.inner.reader
    }

    pub(crate) fn writer(&self) -> &AnyPool {
        &self.inner.writer
    }

    pub(crate) fn inner_bus(&self) -> &crate::stream::StreamBus {
        &self.inner.bus
    }
}

/// Connection counts of the pools.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Open read connections (all connections on PostgreSQL).
    pub reader_size: u32,
    /// Idle read connections.
    pub reader_idle: usize,
    /// Open write connections (0 on PostgreSQL, where the pools are one).
    pub writer_size: u32,
    /// Idle write connections.
    pub writer_idle: usize,
}

/// SQLite pools hand out connections unchecked: sqlx would otherwise ping each one before
/// every statement, a round trip to the connection's own thread (two thread hand-offs) that
/// cannot find anything wrong with an open file. In the fan-out benchmark those pings were
/// a visible share of the SQLite threads' wake-ups.
fn sqlite_pool_options(max: u32, acquire_timeout: Duration) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max.max(1))
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(SQLITE_CONNECTION_PRAGMAS).await?;
                Ok(())
            })
        })
}

/// SQLite opens read-write and creates the file when the URL says `mode=rwc`; add it unless
/// the operator chose a mode.
fn sqlite_url_creating_file(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The URL with its password replaced by `***`, for messages and `cohort config check`.
pub fn mask_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot carry credentials, which a URL
            // that has a password can.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_read_from_the_url_scheme() {
        assert_eq!(Engine::of_url("sqlite://x.db").unwrap(), Engine::Sqlite);
        assert_eq!(
            Engine::of_url("postgres://u@h/db").unwrap(),
            Engine::Postgres
        );
        assert!(matches!(
            Engine::of_url("mysql://u@h/db"),
            Err(StoreError::UnsupportedUrl(_))
        ));
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask_password("postgres://cohort:s3cret@db:5432/cohort"),
            "postgres://cohort:***@db:5432/cohort"
        );
        assert_eq!(mask_password("sqlite://data/c.db"), "sqlite://data/c.db");
    }

    #[test]
    fn sqlite_urls_get_create_mode_unless_given() {
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db"),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite://a.db?mode=ro"),
            "sqlite://a.db?mode=ro"
        );
    }
}
