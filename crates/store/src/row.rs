//! Reading rows written by either engine.

use cohort_model::Id;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::StoreError;

/// Reads a flag column: `BOOLEAN` on PostgreSQL, `INTEGER` 0/1 on SQLite.
pub(crate) fn flag(row: &AnyRow, column: &'static str) -> Result<bool, StoreError> {
    match row.try_get::<bool, _>(column) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

/// Reads a non-null id column.
pub(crate) fn id(row: &AnyRow, column: &'static str) -> Result<Id, StoreError> {
    let raw: i64 = row.try_get(column)?;
    Id::from_i64(raw).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

/// Reads a text column and parses it into a model type.
pub(crate) fn parsed<T>(row: &AnyRow, column: &'static str) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw: String = row.try_get(column)?;
    raw.parse().map_err(|e: T::Err| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

/// Reads a nullable text column and parses it into a model type.
pub(crate) fn parsed_opt<T>(row: &AnyRow, column: &'static str) -> Result<Option<T>, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|raw| {
        raw.parse().map_err(|e: T::Err| StoreError::Corrupt {
            column,
            detail: e.to_string(),
        })
    })
    .transpose()
}

/// Wraps a raw id read from a column.
pub(crate) fn id_from(raw: i64, column: &'static str) -> Result<Id, StoreError> {
    Id::from_i64(raw).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}
