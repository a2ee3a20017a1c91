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

/// `($start, ..), (..), ...`: `rows` tuples of `columns` numbered placeholders, for a
/// multi-row `VALUES` list (an `INSERT` of many rows, or a row-value `IN (VALUES ...)`).
pub(crate) fn value_rows(start: usize, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(start + row * columns, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many rows go into one multi-row statement: with up to a handful of columns, well
/// under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
pub(crate) const MULTI_ROW_CHUNK: usize = 200;

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_from_start() {
        assert_eq!(super::placeholders(2, 3), "$2, $3, $4");
        assert_eq!(super::placeholders(1, 0), "");
    }

    #[test]
    fn value_rows_number_each_tuple_after_the_previous() {
        assert_eq!(super::value_rows(1, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::value_rows(3, 1, 2), "($3, $4)");
    }
}
