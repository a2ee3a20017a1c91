//! The process-wide id generator.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use cohort_model::{Id, SnowflakeClock};

/// Issues time-ordered ids from the system clock.
#[derive(Debug, Default)]
pub(crate) struct IdGenerator {
    clock: Mutex<SnowflakeClock>,
}

impl IdGenerator {
    pub(crate) fn next(&self) -> Id {
        let now = now_ms();
        // A poisoned lock only means another thread panicked while holding it; the clock's
        // state (the last id issued) is still valid, so keep issuing.
        let mut clock = match self.clock.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        clock.next(now)
    }
}

/// The current time in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
