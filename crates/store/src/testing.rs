//! Fresh databases for tests, on both engines.
//!
//! SQLite always; PostgreSQL whenever `COHORT_TEST_POSTGRES_URL` is set (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`). Each test gets its own database (a temp
//! file, or a freshly created PostgreSQL database that is dropped afterwards), so tests run
//! in parallel and share nothing.

use std::future::Future;

// Database names below are generated here from hex digits, never from input, so the
// formatted DDL is safe.
use crate::{DatabaseSettings, Engine, NewLocalAccount, NewStatus, Store, StoreError};

/// The environment variable naming a PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "COHORT_TEST_POSTGRES_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    /// The migrated store.
    pub store: Store,
    /// The URL the store was opened with (to open a second store on the same database).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A migrated SQLite database in a temporary directory.
    pub async fn sqlite() -> Result<TestDatabase, StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Corrupt {
            column: "tempdir",
            detail: e.to_string(),
        })?;
        let url = format!("sqlite://{}", dir.path().join("cohort.db").display());
        let store = Store::open(&DatabaseSettings::new(&url)).await?;
        Ok(TestDatabase {
            store,
            url,
            cleanup: Cleanup::Sqlite(dir),
        })
    }

    /// An unmigrated SQLite database, for migration tests.
    pub async fn sqlite_unmigrated() -> Result<TestDatabase, StoreError> {
        let db = Self::sqlite().await?;
        // Re-open a new file in the same temp dir, without migrations.
        let Cleanup::Sqlite(dir) = db.cleanup else {
            unreachable!("sqlite() builds a Sqlite cleanup")
        };
        let url = format!("sqlite://{}", dir.path().join("empty.db").display());
        let store = Store::connect(&DatabaseSettings::new(&url)).await?;
        Ok(TestDatabase {
            store,
            url,
            cleanup: Cleanup::Sqlite(dir),
        })
    }

    /// A fresh PostgreSQL database, if `COHORT_TEST_POSTGRES_URL` is set.
    pub async fn postgres(migrate: bool) -> Result<Option<TestDatabase>, StoreError> {
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
            return Ok(None);
        };
        let name = format!("cohort_test_{:016x}", rand::random::<u64>());
        let admin = Store::connect(&DatabaseSettings::new(&admin_url)).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.writer())
            .await?;
        admin.close().await;
        let url = replace_database_name(&admin_url, &name);
        let settings = DatabaseSettings::new(&url);
        let store = if migrate {
            Store::open(&settings).await?
        } else {
            Store::connect(&settings).await?
        };
        Ok(Some(TestDatabase {
            store,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }))
    }

    /// Which engine this database runs on.
    pub fn engine(&self) -> Engine {
        self.store.engine()
    }

    /// Closes the pools and removes the database.
    pub async fn finish(self) -> Result<(), StoreError> {
        self.store.close().await;
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let admin = Store::connect(&DatabaseSettings::new(admin_url)).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(admin.writer())
            .await?;
            admin.close().await;
        }
        Ok(())
    }
}

/// Runs `test` against a fresh migrated SQLite database and, when PostgreSQL is configured,
/// against a fresh PostgreSQL database too. Panics (failing the test) on setup errors, with
/// the engine named.
pub async fn on_each_engine<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let sqlite = TestDatabase::sqlite()
        .await
        .unwrap_or_else(|e| panic!("SQLite test database: {e}"));
    test(sqlite.store.clone()).await;
    sqlite
        .finish()
        .await
        .unwrap_or_else(|e| panic!("SQLite cleanup: {e}"));

    match TestDatabase::postgres(true).await {
        Ok(Some(pg)) => {
            test(pg.store.clone()).await;
            pg.finish()
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL cleanup: {e}"));
        }
        Ok(None) => {}
        Err(e) => panic!("PostgreSQL test database ({POSTGRES_URL_VAR}): {e}"),
    }
}

/// `postgres://u@h:5432/postgres` with the path replaced by `/name`.
fn replace_database_name(url: &str, name: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{name}"));
            parsed.to_string()
        }
        Err(_) => format!("{url}/{name}"),
    }
}

impl Store {
    /// Runs a literal `SELECT COUNT(*)`-style query and returns its one integer.
    pub async fn scalar_i64_for_tests(&self, sql: &'static str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql).fetch_one(self.reader()).await?)
    }

    /// Whether a table of that name exists.
    pub async fn table_exists_for_tests(&self, table: &str) -> Result<bool, StoreError> {
        let sql = match self.engine() {
            Engine::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Engine::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1"
            }
        };
        let n: i64 = sqlx::query_scalar(sql)
            .bind(table)
            .fetch_one(self.reader())
            .await?;
        Ok(n > 0)
    }
}

/// A local account of `https://cohort.example` for store tests: a patient named `name` with
/// `role`, approved and unlocked, its URLs derived from the name, placeholder keys. Panics
/// on a name that is not a valid username (a mistake in the test).
pub fn local_account(name: &str, role: cohort_model::Role) -> NewLocalAccount {
    let base = format!("https://cohort.example/users/{name}");
    NewLocalAccount {
        username: cohort_model::Username::parse(name)
            .unwrap_or_else(|e| panic!("test username {name}: {e}")),
        email: format!("{name}@example.org"),
        role,
        author_kind: cohort_model::AuthorKind::Patient,
        password_hash: "x".into(),
        approved: true,
        locked: false,
        actor_uri: base.clone(),
        inbox_uri: format!("{base}/inbox"),
        shared_inbox_uri: "https://cohort.example/inbox".into(),
        followers_uri: format!("{base}/followers"),
        url: base.clone(),
        key_id: format!("{base}#main-key"),
        public_key_pem: "P".into(),
        private_key_pem: "K".into(),
    }
}

/// A plain local post for store tests: `text` as source and as one paragraph of HTML, to
/// `visibility`, no reply, no content warning, no addressees. Override fields with struct
/// update syntax where a test needs more.
pub fn local_status(
    id: cohort_model::Id,
    author: cohort_model::Id,
    uri: String,
    visibility: cohort_model::Visibility,
    text: &str,
) -> NewStatus {
    NewStatus {
        id,
        author,
        uri,
        url: None,
        local: true,
        audience: cohort_policy::Audience::new(visibility),
        text_source: text.to_owned(),
        content_html: format!("<p>{text}</p>"),
        spoiler_text: String::new(),
        sensitive: false,
        language: None,
        in_reply_to: None,
        reblog_of: None,
        addressed: Vec::new(),
        held_reason: None,
        expires_at: None,
    }
}
