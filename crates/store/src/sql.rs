//! Small helpers for SQL that both engines accept.

/// `$start, $start+1, ...` for `count` values: the placeholder list of an `IN (...)`.
/// Built from numbers only, so the resulting SQL is safe to assert as such.
pub(crate) fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many values go into one `IN (...)` list. Both engines accept far more; smaller
/// statements keep plans cacheable and memory flat.
pub(crate) const IN_LIST_CHUNK: usize = 500;

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_from_start() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
        assert_eq!(super::placeholders(1, 0), "");
    }
}
