//! The server started in-process, as the test network starts instances.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_server::config::Config;
use cohort_server::serve::RunningServer;
use cohort_store::testing::TestDatabase;

fn config_for(dir: &std::path::Path, database_url: Option<&str>) -> Config {
    let data_dir = dir.display().to_string();
    let database_url = database_url.map(str::to_owned);
    Config::load(None, &move |name| match name {
        "COHORT_LISTEN" => Some("127.0.0.1:0".to_owned()),
        "COHORT_DATA_DIR" => Some(data_dir.clone()),
        "COHORT_DATABASE_URL" => database_url.clone(),
        _ => None,
    })
    .unwrap()
}

#[tokio::test]
async fn health_turns_503_when_the_database_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(config_for(dir.path(), None))
        .await
        .unwrap();
    let url = format!("http://{}/health", server.addr);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    server.store.close().await;
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "unreachable");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn serves_on_postgresql_when_configured() {
    let Some(db) = TestDatabase::postgres(false).await.unwrap() else {
        eprintln!("COHORT_TEST_POSTGRES_URL not set; PostgreSQL case skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(config_for(dir.path(), Some(&db.url)))
        .await
        .unwrap();
    let url = format!("http://{}/health", server.addr);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    assert_eq!(
        server.store.schema_version().await.unwrap(),
        server.store.latest_known_version(),
        "serve migrates PostgreSQL at start"
    );
    server.stop().await.unwrap();
    db.finish().await.unwrap();
}
