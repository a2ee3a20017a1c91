//! Store behaviour that must hold on SQLite and PostgreSQL alike.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{AuthorKind, Role, Username};
use cohort_store::testing::{TestDatabase, on_each_engine};
use cohort_store::{NewLocalAccount, Store, StoreError};
use sqlx::migrate::Migrator;

fn new_account(name: &str, email: &str) -> NewLocalAccount {
    let base = format!("https://cohort.example/users/{name}");
    NewLocalAccount {
        username: Username::parse(name).unwrap(),
        email: email.to_owned(),
        role: Role::Member,
        author_kind: AuthorKind::Patient,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        approved: true,
        locked: false,
        actor_uri: base.clone(),
        inbox_uri: format!("{base}/inbox"),
        shared_inbox_uri: "https://cohort.example/inbox".to_owned(),
        followers_uri: format!("{base}/followers"),
        url: format!("https://cohort.example/@{name}"),
        key_id: format!("{base}#main-key"),
        public_key_pem: "PUBLIC".to_owned(),
        private_key_pem: "PRIVATE".to_owned(),
    }
}

async fn count(store: &Store, table: &str) -> i64 {
    let sql = match table {
        "accounts" => "SELECT COUNT(*) FROM accounts",
        "actor_keys" => "SELECT COUNT(*) FROM actor_keys",
        other => panic!("no count query for {other}"),
    };
    store.scalar_i64_for_tests(sql).await.unwrap()
}

#[tokio::test]
async fn migrations_bring_a_fresh_database_to_the_latest_version() {
    on_each_engine(|store| async move {
        assert_eq!(
            store.schema_version().await.unwrap(),
            store.latest_known_version(),
            "{:?}",
            store.engine()
        );
        // Applying again is a no-op.
        store.migrate().await.unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            store.latest_known_version()
        );
    })
    .await;
}

/// Writes a copy of the engine's migrations plus a broken one into a temp dir.
fn migrations_with_a_broken_one(engine_dir: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(engine_dir);
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("99990001_broken.sql"),
        "CREATE TABLE half_done (id BIGINT PRIMARY KEY);\nALTER TABLE no_such_table ADD COLUMN x BIGINT;\n",
    )
    .unwrap();
    dir
}

async fn assert_failed_migration_rolls_back(db: TestDatabase, engine_dir: &str) {
    let dir = migrations_with_a_broken_one(engine_dir);
    let migrator = Migrator::new(dir.path()).await.unwrap();
    let before = db.store.schema_version().await.unwrap();
    let result = db.store.migrate_with(&migrator).await;
    assert!(matches!(result, Err(StoreError::Migrate(_))), "{result:?}");
    assert_eq!(db.store.schema_version().await.unwrap(), before);
    assert!(
        !db.store.table_exists_for_tests("half_done").await.unwrap(),
        "the failed migration's first statement must be rolled back ({:?})",
        db.engine()
    );
    db.finish().await.unwrap();
}

#[tokio::test]
async fn a_failing_migration_leaves_the_previous_version_on_sqlite() {
    let db = TestDatabase::sqlite().await.unwrap();
    assert_failed_migration_rolls_back(db, "sqlite").await;
}

#[tokio::test]
async fn a_failing_migration_leaves_the_previous_version_on_postgres() {
    if let Some(db) = TestDatabase::postgres(true).await.unwrap() {
        assert_failed_migration_rolls_back(db, "postgres").await;
    }
}

#[tokio::test]
async fn local_accounts_are_created_and_listed() {
    on_each_engine(|store| async move {
        let a = store
            .create_local_account(&new_account("Pat", "pat@example.org"))
            .await
            .unwrap();
        let b = store
            .create_local_account(&new_account("sam", "sam@example.org"))
            .await
            .unwrap();
        assert!(a.id < b.id, "ids are time-ordered");
        assert_eq!(a.username, "Pat");
        assert_eq!(a.domain, None);
        assert_eq!(a.acct(), "Pat");
        assert!(a.approved && !a.locked && !a.bot);
        let listed = store.list_local_accounts().await.unwrap();
        assert_eq!(listed, vec![a.clone(), b]);
        assert_eq!(store.local_account_by_username("pat").await.unwrap(), a);
        assert!(matches!(
            store.local_account_by_username("nobody").await,
            Err(StoreError::NotFound("account"))
        ));
    })
    .await;
}

#[tokio::test]
async fn duplicate_usernames_and_emails_are_refused_and_nothing_is_written() {
    on_each_engine(|store| async move {
        store
            .create_local_account(&new_account("pat", "pat@example.org"))
            .await
            .unwrap();
        let dup_name = store
            .create_local_account(&new_account("PAT", "other@example.org"))
            .await;
        assert!(
            matches!(dup_name, Err(StoreError::Conflict("username"))),
            "{dup_name:?}"
        );
        let dup_email = store
            .create_local_account(&new_account("sam", "Pat@Example.org"))
            .await;
        assert!(
            matches!(dup_email, Err(StoreError::Conflict("email"))),
            "{dup_email:?}"
        );
        assert_eq!(count(&store, "accounts").await, 1);
        assert_eq!(count(&store, "actor_keys").await, 1);
    })
    .await;
}

#[tokio::test]
async fn the_database_answers_pings() {
    on_each_engine(|store| async move {
        store.ping().await.unwrap();
        let stats = store.pool_stats();
        assert!(stats.reader_size >= 1);
    })
    .await;
}

/// `cohort serve` refreshes the planner's statistics at start and hourly: afterwards the
/// engine has statistics for a table that has rows (SQLite's `sqlite_stat1`, PostgreSQL's
/// `pg_stats`), and a second refresh with nothing changed succeeds too.
#[tokio::test]
async fn refreshing_the_planner_statistics_records_them_for_tables_with_rows() {
    on_each_engine(|store| async move {
        for n in 0..5 {
            store
                .create_local_account(&new_account(
                    &format!("pat{n}"),
                    &format!("p{n}@example.org"),
                ))
                .await
                .unwrap();
        }
        store.refresh_planner_statistics().await.unwrap();
        let sql = match store.engine() {
            cohort_store::Engine::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'accounts'"
            }
            cohort_store::Engine::Postgres => {
                "SELECT COUNT(*) FROM pg_stats WHERE tablename = 'accounts'"
            }
        };
        assert!(store.scalar_i64_for_tests(sql).await.unwrap() > 0, "{sql}");
        store.refresh_planner_statistics().await.unwrap();
    })
    .await;
}
