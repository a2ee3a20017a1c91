//! The `cohort` binary as an operator runs it: real processes, real ports, real files.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cohort");

/// A command in a fresh working directory with no inherited `COHORT_*` settings.
fn cohort(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("COHORT_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    cohort(dir, args, env).output().expect("run cohort")
}

fn run_with_stdin(dir: &Path, args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
    let mut child = cohort(dir, args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Asserts a failed run whose last stderr line is `cohort: error: <setting>...`.
fn assert_fails_naming(output: &Output, setting: &str) -> String {
    assert!(
        !output.status.success(),
        "expected failure, got {:?}",
        output.status
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default().to_owned();
    assert!(
        last.starts_with(&format!("cohort: error: {setting}")),
        "last stderr line should name {setting}: {stderr}"
    );
    last
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts `cohort serve` on a free port and waits for its banner.
    fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut all = vec![("COHORT_LISTEN", "127.0.0.1:0")];
        all.extend_from_slice(env);
        let mut child = cohort(dir, &["serve"], &all)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let banner = lines.next().expect("a banner line").unwrap();
        let addr = banner
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_else(|| panic!("no address in banner: {banner}"))
            .to_owned();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[tokio::test]
async fn serve_answers_health_and_metrics_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let client = reqwest::Client::new();

    let health = client.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["database"], "ok");

    let metrics = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"cohort_http_requests_total{method="GET",route="/health",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains("cohort_db_pool_connections"), "{text}");
    assert!(text.contains("cohort_outbox_queued_deliveries 0"), "{text}");

    // A request id sent by a proxy is kept.
    let echoed = client
        .get(server.url("/health"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "abc-123");

    assert!(server.terminate().success(), "graceful shutdown exits 0");
    assert!(
        dir.path().join("data/cohort.db").exists(),
        "SQLite default under ./data"
    );
}

#[test]
fn an_unknown_key_in_the_config_file_is_refused_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cohort.toml"),
        "domain = \"a.example\"\nlisten_addr = \"x\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["--config", "cohort.toml", "serve"], &[]);
    let line = assert_fails_naming(&out, "configuration file cohort.toml");
    assert!(
        line.contains("listen_addr") && line.contains("line 2"),
        "{line}"
    );
    assert!(!dir.path().join("data").exists(), "nothing half-created");
}

#[test]
fn malformed_values_are_refused_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("COHORT_LISTEN", "8080"),
        ("COHORT_REGISTRATIONS", "everyone"),
        ("COHORT_DOMAIN", "http://x.example/"),
        ("COHORT_DATABASE_URL", "mysql://root@localhost/cohort"),
    ] {
        let out = run(dir.path(), &["serve"], &[(var, value)]);
        assert_fails_naming(&out, var);
    }
    assert!(!dir.path().join("data").exists());
}

#[test]
fn an_unreachable_database_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["serve"],
        &[
            ("COHORT_LISTEN", "127.0.0.1:0"),
            (
                "COHORT_DATABASE_URL",
                "postgres://cohort:secret@127.0.0.1:1/cohort",
            ),
        ],
    );
    let line = assert_fails_naming(&out, "COHORT_DATABASE_URL");
    assert!(line.contains("cannot connect"), "{line}");
    assert!(!line.contains("secret"), "password must be masked: {line}");
}

#[test]
fn an_unwritable_data_dir_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-file"), "not a directory").unwrap();
    let out = run(
        dir.path(),
        &["serve"],
        &[
            ("COHORT_DATA_DIR", "a-file/data"),
            ("COHORT_LISTEN", "127.0.0.1:0"),
        ],
    );
    let line = assert_fails_naming(&out, "COHORT_DATA_DIR");
    assert!(line.contains("a-file/data"), "{line}");
}

#[test]
fn a_port_in_use_is_reported_and_no_database_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(dir.path(), &["serve"], &[("COHORT_LISTEN", &addr)]);
    let line = assert_fails_naming(&out, "COHORT_LISTEN");
    assert!(line.contains("already in use"), "{line}");
    assert!(
        !dir.path().join("data/cohort.db").exists(),
        "nothing half-created"
    );
}

#[test]
fn loopback_federation_is_refused_on_a_public_listener() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["serve"],
        &[
            ("COHORT_ALLOW_LOOPBACK_FEDERATION", "true"),
            ("COHORT_LISTEN", "0.0.0.0:0"),
        ],
    );
    assert_fails_naming(&out, "COHORT_ALLOW_LOOPBACK_FEDERATION");
}

#[test]
fn config_check_prints_the_effective_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), "registrations = \"open\"\n").unwrap();
    let out = run(
        dir.path(),
        &["config", "check", "--config", "c.toml"],
        &[(
            "COHORT_DATABASE_URL",
            "postgres://cohort:hunter2@db.example/cohort",
        )],
    );
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("registrations = \"open\""), "{stdout}");
    assert!(
        stdout.contains("postgres://cohort:***@db.example/cohort"),
        "{stdout}"
    );
    assert!(!stdout.contains("hunter2"));
}

#[test]
fn migrate_reports_the_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["migrate"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("database is at migration "));
}

#[test]
fn admin_creates_lists_and_refuses_duplicate_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "admin",
            "create-account",
            "admin",
            "--email",
            "admin@example.org",
            "--role",
            "admin",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let id: i64 = lines.next().unwrap().parse().expect("first line is the id");
    assert!(id > 0);
    let password = lines
        .next()
        .unwrap()
        .strip_prefix("password: ")
        .expect("generated password");
    assert!(password.len() >= 16);

    let out = run_with_stdin(
        dir.path(),
        &[
            "admin",
            "create-account",
            "Dr_Lee",
            "--email",
            "lee@example.org",
            "--role",
            "clinician",
            "--password-stdin",
        ],
        &[],
        "a long enough password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "no password printed"
    );

    let dup = run(
        dir.path(),
        &[
            "admin",
            "create-account",
            "ADMIN",
            "--email",
            "other@example.org",
        ],
        &[],
    );
    assert_fails_naming(&dup, "USERNAME");

    let listed = run(dir.path(), &["admin", "list-accounts"], &[]);
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        table.contains(&id.to_string()) && table.contains("admin@example.org"),
        "{table}"
    );
    assert!(
        table.contains("Dr_Lee") && table.contains("clinician"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 3, "header and two accounts: {table}");
}

#[test]
fn admin_refuses_bad_arguments_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str, &str); 4] = [
        (
            &[
                "admin",
                "create-account",
                "bad name",
                "--email",
                "a@example.org",
            ],
            "USERNAME",
            "",
        ),
        (
            &["admin", "create-account", "pat", "--email", "not-an-email"],
            "--email",
            "",
        ),
        (
            &[
                "admin",
                "create-account",
                "pat",
                "--email",
                "a@example.org",
                "--role",
                "root",
            ],
            "--role",
            "",
        ),
        (
            &[
                "admin",
                "create-account",
                "pat",
                "--email",
                "a@example.org",
                "--password-stdin",
            ],
            "--password-stdin",
            "short\n",
        ),
    ];
    for (args, setting, input) in cases {
        let out = run_with_stdin(dir.path(), args, &[], input);
        assert_fails_naming(&out, setting);
    }
    let listed = run(dir.path(), &["admin", "list-accounts"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).lines().count(),
        1,
        "only the header"
    );
}

fn shared_corpus(name: &str) -> Option<std::path::PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name)
        .join("dev.jsonl");
    path.exists().then_some(path)
}

#[test]
fn phi_eval_prints_its_metrics_as_the_last_line() {
    let Some(corpus) = shared_corpus("phi") else {
        eprintln!("shared/data/phi/dev.jsonl not found; skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["phi-eval", corpus.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let metrics: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for key in [
        "posts",
        "precision",
        "recall",
        "f2",
        "benign_hold_rate",
        "span_recall",
        "p99_us",
    ] {
        assert!(metrics.get(key).is_some(), "missing {key}: {metrics}");
    }
    assert_eq!(metrics["posts"], 221);
}

#[test]
fn urgent_eval_prints_its_metrics_as_the_last_line() {
    let Some(corpus) = shared_corpus("urgent") else {
        eprintln!("shared/data/urgent/dev.jsonl not found; skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["urgent-eval", corpus.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let metrics: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for key in [
        "posts",
        "macro_f1",
        "emergency_recall",
        "crisis_recall",
        "sensitive_recall",
        "false_alarm_rate",
        "p99_us",
    ] {
        assert!(metrics.get(key).is_some(), "missing {key}: {metrics}");
    }
    assert_eq!(metrics["posts"], 200);
}

#[test]
fn evals_refuse_missing_and_malformed_corpora() {
    let dir = tempfile::tempdir().unwrap();
    for command in ["phi-eval", "urgent-eval"] {
        let out = run(dir.path(), &[command, "no-such-file.jsonl"], &[]);
        assert_fails_naming(&out, "PATH");
        std::fs::write(dir.path().join("bad.jsonl"), "{\"id\": 1}\nnot json\n").unwrap();
        let out = run(dir.path(), &[command, "bad.jsonl"], &[]);
        let line = assert_fails_naming(&out, "PATH");
        assert!(line.contains("line"), "{line}");
    }
}

#[test]
fn admin_approves_accounts_waiting_for_approval() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["admin", "approve-account", "nobody"], &[]);
    assert_fails_naming(&out, "USERNAME");
    let out = run(
        dir.path(),
        &[
            "admin",
            "create-account",
            "pat",
            "--email",
            "pat@example.org",
        ],
        &[],
    );
    assert!(out.status.success());
    // Created by an admin: approved already.
    let out = run(dir.path(), &["admin", "approve-account", "pat"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "@pat was already approved"
    );
}
