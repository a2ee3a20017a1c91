//! Real `cohort` instances for tests: each with its own data directory and database
//! (SQLite, or a fresh PostgreSQL database when `COHORT_TEST_POSTGRES_URL` is set), serving
//! over HTTP on a free loopback port, driven with a real HTTP client.

use std::collections::HashMap;

use cohort_model::{AuthorKind, Id, Role, Username};
use cohort_server::config::Config;
use cohort_server::serve::RunningServer;
use cohort_store::testing::TestDatabase;
use cohort_store::{NewLocalAccount, Store};
use serde_json::Value;

/// Which database an instance uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// A file in the instance's data directory.
    Sqlite,
    /// A fresh database on `COHORT_TEST_POSTGRES_URL`.
    Postgres,
}

/// The engines to run a scenario on: SQLite always, PostgreSQL when configured.
pub fn engines() -> Vec<Engine> {
    let mut out = vec![Engine::Sqlite];
    if std::env::var(cohort_store::testing::POSTGRES_URL_VAR).is_ok() {
        out.push(Engine::Postgres);
    }
    out
}

/// A running instance.
pub struct Instance {
    /// The server.
    pub server: RunningServer,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A client that does not follow redirects (OAuth tests look at them).
    pub http: reqwest::Client,
    /// The instance's domain (`localhost:PORT`, or `NAME.localhost:PORT` on a test network).
    pub domain: String,
    _dir: tempfile::TempDir,
    database: Option<TestDatabase>,
    tokens: HashMap<String, String>,
}

/// The password every harness account gets.
pub const PASSWORD: &str = "correct horse battery staple";

impl Instance {
    /// Starts an instance with extra settings (`COHORT_*` names).
    pub async fn start(engine: Engine, settings: &[(&str, &str)]) -> Instance {
        Self::start_as(engine, None, settings).await
    }

    /// Starts an instance of a test network: domain `NAME.localhost:PORT`, federating over
    /// plain HTTP on loopback (`COHORT_ALLOW_LOOPBACK_FEDERATION`).
    pub async fn start_named(engine: Engine, name: &str, settings: &[(&str, &str)]) -> Instance {
        let mut all: Vec<(&str, &str)> = vec![("COHORT_ALLOW_LOOPBACK_FEDERATION", "true")];
        all.extend_from_slice(settings);
        Self::start_as(engine, Some(name), &all).await
    }

    async fn start_as(engine: Engine, name: Option<&str>, settings: &[(&str, &str)]) -> Instance {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let database = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => TestDatabase::postgres(false)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL test database: {e}")),
        };
        let mut vars: HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        vars.insert("COHORT_LISTEN".into(), "127.0.0.1:0".into());
        vars.insert("COHORT_DATA_DIR".into(), dir.path().display().to_string());
        if let Some(db) = &database {
            vars.insert("COHORT_DATABASE_URL".into(), db.url.clone());
        }
        // The domain must be known before the port is: bind first to learn a free port, and
        // hand the bound listener to the server (released in between, an outgoing
        // connection could take the port as its own).
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("addr: {e}"));
        vars.insert("COHORT_LISTEN".into(), format!("127.0.0.1:{port}"));
        let domain = match name {
            Some(name) => format!("{name}.localhost:{port}"),
            None => format!("localhost:{port}"),
        };
        vars.entry("COHORT_DOMAIN".into())
            .or_insert_with(|| domain.clone());
        // COHORT_TEST_LOG=<filter> shows the instances' logs (to stderr) when a test fails.
        if let Ok(filter) = std::env::var("COHORT_TEST_LOG") {
            vars.insert("COHORT_LOG".into(), filter);
        }
        let config = Config::load(None, &|key| vars.get(key).cloned())
            .unwrap_or_else(|e| panic!("harness configuration: {e}"));
        if std::env::var("COHORT_TEST_LOG").is_ok() {
            cohort_server::logging::init(&config);
        }
        let server = RunningServer::start_on(config, listener)
            .await
            .unwrap_or_else(|e| panic!("start instance: {e}"));
        let base = format!("http://{}", server.addr);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        Instance {
            server,
            base,
            http,
            domain,
            _dir: dir,
            database,
            tokens: HashMap::new(),
        }
    }

    /// The instance's store (for setting up facts the API cannot yet, and for checking that
    /// nothing was written).
    pub fn store(&self) -> &Store {
        &self.server.store
    }

    /// The instance's data dir (media files live in its `media/`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a local account directly in the store (password [`PASSWORD`]).
    pub async fn create_account(&self, name: &str, role: Role, locked: bool) -> Id {
        let username = Username::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let public = format!("http://{}", self.domain);
        let base = format!("{public}/users/{name}");
        let hash = cohort_server_passwords::hash(PASSWORD);
        let keys = tokio::task::spawn_blocking(cohort_federation::keys::generate_actor_keys)
            .await
            .unwrap_or_else(|e| panic!("keygen task: {e}"))
            .unwrap_or_else(|e| panic!("keygen: {e}"));
        self.store()
            .create_local_account(&NewLocalAccount {
                username,
                email: format!("{name}@example.org"),
                role,
                author_kind: if role == Role::Clinician {
                    AuthorKind::Clinician
                } else {
                    AuthorKind::Patient
                },
                password_hash: hash,
                approved: true,
                locked,
                actor_uri: base.clone(),
                inbox_uri: format!("{base}/inbox"),
                shared_inbox_uri: format!("{public}/inbox"),
                followers_uri: format!("{base}/followers"),
                url: format!("{public}/@{name}"),
                key_id: format!("{base}#main-key"),
                public_key_pem: keys.public_key_pem,
                private_key_pem: keys.private_key_pem,
            })
            .await
            .unwrap_or_else(|e| panic!("create {name}: {e}"))
            .id
    }

    /// Registers an app and signs `name` in through the authorization-code flow, submitting
    /// the HTML form as a browser would; caches the token.
    pub async fn sign_in(&mut self, name: &str, scopes: &str) -> String {
        let key = format!("{name} {scopes}");
        if let Some(token) = self.tokens.get(&key) {
            return token.clone();
        }
        let app: Value = self
            .http
            .post(self.url("/api/v1/apps"))
            .form(&[
                ("client_name", "harness"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ("scopes", scopes),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|e| panic!("register app: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("app json: {e}"));
        let client_id = app["client_id"].as_str().unwrap_or_default().to_owned();
        let client_secret = app["client_secret"].as_str().unwrap_or_default().to_owned();
        let page = self
            .http
            .post(self.url("/oauth/authorize"))
            .form(&[
                ("client_id", client_id.as_str()),
                ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
                ("scope", scopes),
                ("response_type", "code"),
                ("username", name),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("authorize: {e}"))
            .text()
            .await
            .unwrap_or_default();
        let code = page
            .split("id=\"code\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or_else(|| panic!("no code on the page: {page}"))
            .to_owned();
        let token: Value = self
            .http
            .post(self.url("/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.as_str()),
                ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
            ])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|e| panic!("token: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("token json: {e}"));
        let access = token["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.tokens.insert(key, access.clone());
        access
    }

    /// The account signed in with `token` looks `acct` (`user@host`) up through WebFinger and
    /// follows it; returns the remote account's id here. Settle the network for the follow
    /// to be accepted.
    pub async fn follow_remote(&self, token: &str, acct: &str) -> String {
        let (status, account) = self
            .get(&format!("/api/v1/accounts/lookup?acct={acct}"), Some(token))
            .await;
        assert_eq!(status, 200, "lookup of {acct}: {account}");
        let id = account["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no account id for {acct}: {account}"))
            .to_owned();
        let (status, relationship) = self
            .post(&format!("/api/v1/accounts/{id}/follow"), Some(token), &[])
            .await;
        assert_eq!(status, 200, "follow of {acct}: {relationship}");
        id
    }

    /// The account signed in with `token` finds the community `name@host`, hosted on another
    /// instance, through WebFinger and joins it through the communities API. Settle the
    /// network for the membership to reach the community's instance.
    pub async fn join_remote_community(&self, token: &str, community: &str) {
        let (status, body) = self
            .get(
                &format!("/api/v1/accounts/lookup?acct={community}"),
                Some(token),
            )
            .await;
        assert_eq!(status, 200, "lookup of {community}: {body}");
        let (status, body) = self
            .post(
                &format!("/api/v1/communities/{community}/join"),
                Some(token),
                &[],
            )
            .await;
        assert_eq!(status, 200, "joining {community}: {body}");
    }

    /// A community hosted here, joined from other instances: the account signed in with
    /// `owner` creates it (`form`: its `name` and any other fields of
    /// `POST /api/v1/communities`), each of `members` (an instance and a token there) finds
    /// and joins it ([`Instance::join_remote_community`]), and `network` is settled so that
    /// the memberships have reached this instance. Returns the community as the other
    /// instances name it (`name@host`) and the creation's answer.
    pub async fn community_with_remote_members(
        &self,
        owner: &str,
        form: &[(&str, &str)],
        members: &[(&Instance, &str)],
        network: &[&Instance],
    ) -> (String, Value) {
        let (status, created) = self.post("/api/v1/communities", Some(owner), form).await;
        assert_eq!(status, 201, "creating a community: {created}");
        let name = created["name"]
            .as_str()
            .unwrap_or_else(|| panic!("no community name: {created}"));
        let community = format!("{name}@{}", self.domain);
        for (instance, token) in members {
            instance.join_remote_community(token, &community).await;
        }
        settle(network).await;
        (community, created)
    }

    /// GET with an optional token; returns status and JSON (Null if not JSON).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POST a form with a token; returns status and JSON.
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// PATCH a form with a token; returns status and JSON.
    pub async fn patch(
        &self,
        path: &str,
        token: Option<&str>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self.http.patch(self.url(path)).form(form);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("PATCH {path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// DELETE with a token.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.delete(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Work still to do: deliveries queued (some may wait for a retry), received activities
    /// queued, and outbox events not planned yet.
    pub async fn queued_work(&self) -> usize {
        let store = self.store();
        let deliveries = store
            .outbox_depth()
            .await
            .unwrap_or_else(|e| panic!("outbox depth: {e}"))
            .queued_deliveries;
        let inbox = store
            .inbox_queue_len()
            .await
            .unwrap_or_else(|e| panic!("inbox queue: {e}"));
        // Events written but not planned yet: the server's own inbox processor (which runs
        // beside the harness's draining) may have just written them.
        let unplanned = store
            .unplanned_outbox_events(1)
            .await
            .unwrap_or_else(|e| panic!("outbox: {e}"))
            .len();
        usize::try_from(deliveries + inbox).unwrap_or(usize::MAX) + unplanned
    }

    /// How many delivery rows this instance's pipeline has finished so far (delivered,
    /// refused, retried or denied), by the harness's drains and by the server's own
    /// background workers alike.
    pub fn deliveries_done(&self) -> u64 {
        let stats = self.server.delivery.stats();
        stats.delivered + stats.refused + stats.retried + stats.denied
    }

    /// Runs this instance's background work once: delivers what is queued and processes
    /// what arrived. Returns how much happened.
    pub async fn drain_once(&self) -> usize {
        // Aggregates first: a refresh may record contributions and summary Notes to deliver.
        let refreshed = self
            .server
            .refresh_aggregates()
            .await
            .unwrap_or_else(|e| panic!("aggregates: {e}"));
        let delivered = self
            .server
            .delivery
            .run_until_idle()
            .await
            .unwrap_or_else(|e| panic!("delivery: {e}"));
        let processed = self
            .server
            .federation
            .inbox_processor()
            .run_until_idle()
            .await
            .unwrap_or_else(|e| panic!("inbox: {e}"));
        let planned =
            delivered.delivered + delivered.refused + delivered.retried + delivered.denied;
        usize::try_from(planned).unwrap_or(usize::MAX) + processed + refreshed
    }

    /// Stops the server and drops its database.
    pub async fn stop(self) {
        self.server
            .stop()
            .await
            .unwrap_or_else(|e| panic!("stop: {e}"));
        if let Some(db) = self.database {
            db.finish()
                .await
                .unwrap_or_else(|e| panic!("drop database: {e}"));
        }
    }
}

/// Password hashing for harness accounts (the API's own function).
mod cohort_server_passwords {
    pub fn hash(password: &str) -> String {
        cohort_api::passwords::hash_password(password).unwrap_or_else(|e| panic!("hash: {e}"))
    }
}

/// Drains every instance's outbox and inbox queue until a whole round moves nothing and
/// nothing waits for a retry: what tests wait for instead of sleeping. A send or an activity
/// that failed transiently (a timeout on a loaded machine) backs off for about a second; a
/// quiet round with such work still queued waits for it (up to 20 s, then returns and lets
/// the test's own assertions speak).
///
/// The servers' own background workers run meanwhile. The instances' queues are read one
/// after the other, so an activity that a background worker delivers from an instance read
/// later to one read earlier is in neither queue when each is read: the round counts as
/// quiet only if no instance finished a delivery while its queues were being read.
pub async fn settle(instances: &[&Instance]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut busy_rounds = 0;
    loop {
        let mut moved = 0;
        for instance in instances {
            moved += instance.drain_once().await;
        }
        if moved > 0 {
            busy_rounds += 1;
            assert!(
                busy_rounds <= 40,
                "the test network did not settle in 40 rounds"
            );
            continue;
        }
        let delivered_before: Vec<u64> = instances.iter().map(|i| i.deliveries_done()).collect();
        let mut waiting = 0;
        for instance in instances {
            waiting += instance.queued_work().await;
        }
        let delivered_after: Vec<u64> = instances.iter().map(|i| i.deliveries_done()).collect();
        // Something that moved between instances while the queues were read may be in
        // none of them: such a round is not quiet.
        let moved_meanwhile = delivered_after != delivered_before;
        if (waiting == 0 && !moved_meanwhile) || std::time::Instant::now() > deadline {
            return;
        }
        if moved_meanwhile {
            continue;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
