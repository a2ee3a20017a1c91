//! Fuzzes the PHI guard: any UTF-8 text, any author kind, must give a decision with sorted,
//! in-bounds spans and never panic.
#![no_main]

use std::sync::LazyLock;

use cohort_model::AuthorKind;
use cohort_screening::phi::PhiGuard;
use libfuzzer_sys::fuzz_target;

static GUARD: LazyLock<Option<PhiGuard>> = LazyLock::new(|| PhiGuard::new().ok());

fuzz_target!(|data: &[u8]| {
    let Some(guard) = GUARD.as_ref() else { return };
    let Some((&first, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let author = AuthorKind::ALL[usize::from(first) % AuthorKind::ALL.len()];
    let finding = guard.screen(text, author);
    let len = text.chars().count();
    let mut last_end = 0;
    for span in &finding.spans {
        assert!(span.start < span.end && span.end <= len && span.start >= last_end);
        last_end = span.end;
    }
});
