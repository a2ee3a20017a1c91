//! A source scanner for architecture rules that the type system cannot express.
//!
//! Invariant 1 of the design says nothing leaves without a permit: the one function that
//! sends to a remote inbox takes a `cohort_policy::DeliveryPermit`. The type system enforces
//! that for that function; this scanner enforces that there is no other way out: no other
//! code calls activitypub_federation's sending functions or makes an HTTP POST with reqwest.

use std::path::{Path, PathBuf};

/// One forbidden use found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The file, relative to the workspace root.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// What was found.
    pub what: &'static str,
}

/// Where sending is allowed: the delivery module of the federation crate.
pub const DELIVERY_MODULE: &str = "crates/federation/src/delivery";

/// Tokens that send an activity or POST over HTTP.
const SENDING_TOKENS: &[(&str, &str)] = &[
    ("send_activity", "activitypub_federation's send_activity"),
    (
        "SendActivityTask",
        "activitypub_federation's SendActivityTask",
    ),
    (
        "activity_sending",
        "activitypub_federation's activity_sending module",
    ),
    (
        "activity_queue",
        "activitypub_federation's activity_queue module",
    ),
    ("Method::POST", "an HTTP POST"),
    ("reqwest::Client", "a reqwest client"),
    ("ClientWithMiddleware", "a reqwest client"),
    (".post(", "a reqwest POST"),
];

/// Whether a line uses `.post(` as axum routing (`get(a).post(b)` or `routing::post`) rather
/// than as an HTTP client call. Routing is always on a `MethodRouter` chain or `Router`.
fn is_axum_routing(line: &str) -> bool {
    line.contains(".route(") || line.contains("routing::") || line.contains(").post(")
}

/// Scans one file's text. `relative` is its path from the workspace root.
pub fn scan_text(relative: &Path, text: &str) -> Vec<Violation> {
    let in_delivery = relative.starts_with(DELIVERY_MODULE);
    let in_federation = relative.starts_with("crates/federation/src");
    // `cohort bench http` GETs loopback URLs only (it refuses any other host).
    let in_load_generator = relative == Path::new("crates/server/src/bench.rs");
    let mut found = Vec::new();
    let mut in_test_module = false;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            // Unit tests at the bottom of a file may use HTTP clients freely.
            in_test_module = true;
        }
        if in_test_module || trimmed.starts_with("//") {
            continue;
        }
        for (token, what) in SENDING_TOKENS {
            if !line.contains(token) {
                continue;
            }
            let allowed = in_delivery
                || (*token == ".post(" && is_axum_routing(line))
                // The federation crate fetches (GET) with reqwest; only POSTs are confined.
                || (in_federation && matches!(*token, "reqwest::Client" | "ClientWithMiddleware"))
                || (in_load_generator && *token == "reqwest::Client");
            if !allowed {
                found.push(Violation {
                    file: relative.to_path_buf(),
                    line: index + 1,
                    what,
                });
            }
        }
    }
    found
}

/// Scans every `.rs` file under `crates/*/src` of the workspace at `root`. Test directories
/// and benches are not scanned: they drive servers as clients do.
pub fn scan_workspace(root: &Path) -> std::io::Result<Vec<Violation>> {
    let mut found = Vec::new();
    let crates = root.join("crates");
    for entry in std::fs::read_dir(&crates)? {
        let src = entry?.path().join("src");
        if src.is_dir() {
            scan_dir(root, &src, &mut found)?;
        }
    }
    Ok(found)
}

fn scan_dir(root: &Path, dir: &Path, found: &mut Vec<Violation>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            scan_dir(root, &path, found)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)?;
            let relative = path.strip_prefix(root).unwrap_or(&path);
            found.extend(scan_text(relative, &text));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanner_catches_sends_outside_the_delivery_module() {
        let text = "fn f(c: reqwest::Client) {\n    c.post(url).send();\n}\n";
        let found = scan_text(Path::new("crates/api/src/handlers.rs"), text);
        let whats: Vec<&str> = found.iter().map(|v| v.what).collect();
        assert_eq!(whats, vec!["a reqwest client", "a reqwest POST"]);
        assert_eq!(found[1].line, 2);

        let queue = "use activitypub_federation::activity_sending::SendActivityTask;";
        assert_eq!(
            scan_text(Path::new("crates/server/src/x.rs"), queue).len(),
            2
        );
    }

    #[test]
    fn the_scanner_allows_the_delivery_module_and_axum_routing() {
        let text = "fn f(c: reqwest::Client) { c.post(url); }";
        assert!(scan_text(Path::new("crates/federation/src/delivery/send.rs"), text).is_empty());
        let routing = "Router::new().route(\"/x\", get(a).post(b))";
        assert!(scan_text(Path::new("crates/api/src/lib.rs"), routing).is_empty());
    }

    #[test]
    fn the_federation_crate_may_fetch_but_not_post() {
        let fetch = "let c = reqwest::Client::new(); c.get(url);";
        assert!(scan_text(Path::new("crates/federation/src/fetch.rs"), fetch).is_empty());
        let post = "c.post(url).body(b)";
        assert_eq!(
            scan_text(Path::new("crates/federation/src/fetch.rs"), post).len(),
            1
        );
    }

    #[test]
    fn the_loopback_load_generator_may_hold_a_client_but_not_post() {
        let bench = Path::new("crates/server/src/bench.rs");
        assert!(scan_text(bench, "let c = reqwest::Client::builder();").is_empty());
        assert_eq!(scan_text(bench, "c.post(url).send()").len(), 1);
        assert_eq!(
            scan_text(
                Path::new("crates/server/src/serve.rs"),
                "reqwest::Client::new()"
            )
            .len(),
            1
        );
    }
}
