//! One PHI guard per process, built on first use.

use std::fmt;
use std::sync::{Arc, OnceLock};

use super::PhiGuard;

/// The PHI guard a process shares between its parts (the client API screens posts, the inbox
/// screens relayed report comments), built on first use off the async workers: about 80 ms
/// and 18 MB once, in a release build, which a process that never screens anything (a
/// delivery-only process on a shared PostgreSQL, an idle instance) never pays.
///
/// Cheap to clone; clones share the one guard. The server builds one and hands it to every
/// state that screens; a state built alone (in a test) makes its own.
#[derive(Clone, Default)]
pub struct SharedPhiGuard {
    cell: Arc<OnceLock<Result<PhiGuard, String>>>,
}

impl fmt::Debug for SharedPhiGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPhiGuard")
            .field("built", &self.cell.get().is_some())
            .finish()
    }
}

impl SharedPhiGuard {
    /// A guard not built yet.
    pub fn new() -> Self {
        SharedPhiGuard::default()
    }

    /// The guard, built now (on a blocking thread) if this is its first use. A guard that
    /// cannot be built is an error, for this call and every later one.
    pub async fn get(&self) -> Result<&PhiGuard, String> {
        if self.cell.get().is_none() {
            let cell = Arc::clone(&self.cell);
            let built = tokio::task::spawn_blocking(move || {
                cell.get_or_init(build);
            })
            .await;
            if let Err(e) = built {
                return Err(format!("the PHI guard could not be built: {e}"));
            }
        }
        self.cell.get_or_init(build).as_ref().map_err(Clone::clone)
    }

    /// Whether the guard has been built (or failed to build) already.
    pub fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }
}

fn build() -> Result<PhiGuard, String> {
    PhiGuard::new().map_err(|e| format!("the PHI guard could not be built: {e}"))
}

#[cfg(test)]
mod tests {
    use super::SharedPhiGuard;

    #[tokio::test]
    async fn clones_share_one_guard_built_on_first_use() {
        let guard = SharedPhiGuard::new();
        let clone = guard.clone();
        assert!(!guard.is_built());
        let first: *const _ = guard.get().await.expect("builds");
        assert!(clone.is_built());
        let second: *const _ = clone.get().await.expect("builds");
        assert!(std::ptr::eq(first, second));
        assert!(!SharedPhiGuard::new().is_built());
    }
}
