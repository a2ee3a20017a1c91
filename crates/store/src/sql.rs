//! Small helpers for SQL that both engines accept.

use cohort_model::Id;

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

/// `column` is one of the ids bound (by [`id_set_value`]) as parameter `param`: one
/// parameter for the whole set, an array on PostgreSQL, a JSON array on SQLite, so that a
/// set of thousands is one statement with one bound value (numbered parameters cost n² to
/// bind on SQLite, see [`anonymous_or_numbered`], and an `IN` list of them had to be cut
/// into chunks of [`IN_LIST_CHUNK`], a statement each). Written as `IN (SELECT ...)` on
/// both, so that the planner hashes or joins the set: PostgreSQL's `= ANY(array)` is a
/// linear search per row in a prepared statement's generic plan (33 ms instead of 2 for
/// 1,000 viewers following one author).
pub(crate) fn in_id_set(engine: Engine, column: &str, param: usize) -> String {
    match engine {
        Engine::Postgres => {
            format!("{column} IN (SELECT unnest(CAST(${param} AS BIGINT[])))")
        }
        Engine::Sqlite => format!("{column} IN (SELECT value FROM json_each(${param}))"),
    }
}

/// The value of an id set parameter (see [`in_id_set`]): `{1,2}` or `[1,2]`.
pub(crate) fn id_set_value(engine: Engine, ids: &[Id]) -> String {
    let list = ids
        .iter()
        .map(|id| id.as_i64().to_string())
        .collect::<Vec<_>>()
        .join(",");
    match engine {
        Engine::Postgres => format!("{{{list}}}"),
        Engine::Sqlite => format!("[{list}]"),
    }
}

/// [`in_id_set`] for text values (domains, URIs), bound by [`text_set_value`]: a JSON array
/// of strings on both engines.
pub(crate) fn in_text_set(engine: Engine, column: &str, param: usize) -> String {
    match engine {
        Engine::Postgres => {
            format!("{column} IN (SELECT jsonb_array_elements_text(CAST(${param} AS JSONB)))")
        }
        Engine::Sqlite => format!("{column} IN (SELECT value FROM json_each(${param}))"),
    }
}

/// The value of a text set parameter (see [`in_text_set`]): a JSON array of the strings.
pub(crate) fn text_set_value<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    serde_json::Value::Array(
        values
            .into_iter()
            .map(|v| serde_json::Value::String(v.to_owned()))
            .collect(),
    )
    .to_string()
}

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
