//! Small helpers for SQL that both engines accept.

use crate::Engine;

/// `$start, $start+1, ...` for `count` values: the placeholder list of an `IN (...)`.
/// Built from numbers only, so the resulting SQL is safe to assert as such.
pub(crate) fn placeholders(start: usize, count: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The parameters of a statement that binds nothing else, in order: `count` of them, or
/// `rows` tuples of `columns` for the `VALUES` of a multi-row insert ([`value_rows`]).
///
/// On PostgreSQL they are numbered (`$1, $2, ...`). On SQLite they are anonymous `?`,
/// bound in the order they appear: for a numbered parameter sqlx asks SQLite for its name,
/// a linear scan of the statement's names, so binding n numbered parameters costs n²; for
/// the few hundred of a multi-row insert that scan was the inbox's largest single cost.
/// Anonymous parameters cannot be mixed with numbered ones in one statement.
pub(crate) fn anonymous_or_numbered(engine: Engine, count: usize) -> String {
    match engine {
        Engine::Sqlite => vec!["?"; count].join(", "),
        Engine::Postgres => placeholders(1, count),
    }
}

/// `(p, p, ...), (p, p, ...)`: `rows` tuples of `columns` parameters, for a multi-row
/// `INSERT ... VALUES` that binds nothing else (see [`anonymous_or_numbered`]).
pub(crate) fn value_rows(engine: Engine, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| match engine {
            Engine::Sqlite => format!("({})", vec!["?"; columns].join(", ")),
            Engine::Postgres => format!("({})", placeholders(row * columns + 1, columns)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many values go into one `IN (...)` list. Both engines accept far more; smaller
/// statements keep plans cacheable and memory flat.
pub(crate) const IN_LIST_CHUNK: usize = 500;

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
    fn value_rows_are_numbered_on_postgres_and_anonymous_on_sqlite() {
        use crate::Engine;
        assert_eq!(
            super::value_rows(Engine::Postgres, 2, 2),
            "($1, $2), ($3, $4)"
        );
        assert_eq!(super::value_rows(Engine::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(super::anonymous_or_numbered(Engine::Sqlite, 3), "?, ?, ?");
        assert_eq!(super::anonymous_or_numbered(Engine::Postgres, 2), "$1, $2");
    }
}
