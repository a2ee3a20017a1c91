//! Architecture checks over the whole workspace, run by `cargo test`.

use std::path::Path;

use cohort_tests::tidy::{DELIVERY_MODULE, scan_workspace};

/// Invariant 1: nothing leaves without a permit. Only the delivery module sends.
#[test]
fn only_the_delivery_module_sends_to_other_servers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let violations = match scan_workspace(&root) {
        Ok(v) => v,
        Err(e) => panic!("cannot scan the workspace: {e}"),
    };
    let report: Vec<String> = violations
        .iter()
        .map(|v| format!("{}:{}: {}", v.file.display(), v.line, v.what))
        .collect();
    assert!(
        report.is_empty(),
        "code outside {DELIVERY_MODULE} sends to other servers; route it through a DeliveryPermit:\n{}",
        report.join("\n")
    );
}
