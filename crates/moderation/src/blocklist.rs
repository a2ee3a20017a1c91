//! Domain blocklists in Mastodon's CSV format, for import (reviewed as a draft before it
//! applies) and export.
//!
//! Mastodon writes `#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`
//! with one block per line; shared blocklists (Oliphant, Garden Fence...) use the same columns,
//! sometimes without the `#`, sometimes in another order, and sometimes only a `#domain`
//! column. A file without a header is read as one domain per line. Missing columns take
//! Mastodon's defaults (`suspend`, flags off). Every line that cannot be read is reported with
//! its number and why, and nothing of it is kept: the moderator decides whether to apply the
//! valid rows.

use std::collections::HashSet;

use cohort_model::Domain;

use crate::Severity;

/// The header Mastodon writes, in its order.
pub const CSV_HEADER: [&str; 6] = [
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
];

/// Longest public comment kept from an imported line, in characters.
pub const MAX_PUBLIC_COMMENT_CHARS: usize = 1000;

/// One block read from a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlocklistRow {
    /// 1-based line number in the file it was read from (0 when not read from a file).
    pub line: u64,
    /// The blocked domain.
    pub domain: Domain,
    /// How hard.
    pub severity: Severity,
    /// Media from the domain is not stored.
    pub reject_media: bool,
    /// Reports from the domain are refused.
    pub reject_reports: bool,
    /// The reason shown publicly.
    pub public_comment: String,
    /// Shown partly hidden in public lists.
    pub obfuscate: bool,
}

/// A line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: u64,
    /// Why, in words a moderator can act on.
    pub message: String,
}

/// What a file held: the rows that can apply and the lines that cannot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedBlocklist {
    /// Valid rows, in file order.
    pub rows: Vec<BlocklistRow>,
    /// Invalid lines, in file order.
    pub errors: Vec<LineError>,
}

/// Column positions, from the header or the header-less default.
#[derive(Clone, Copy, Debug, Default)]
struct Columns {
    domain: usize,
    severity: Option<usize>,
    reject_media: Option<usize>,
    reject_reports: Option<usize>,
    public_comment: Option<usize>,
    obfuscate: Option<usize>,
}

impl Columns {
    /// Reads a header row; `None` when the row is data, not a header.
    fn from_header(record: &csv::StringRecord) -> Option<Columns> {
        let names: Vec<String> = record
            .iter()
            .map(|f| f.trim().trim_start_matches('#').to_ascii_lowercase())
            .collect();
        let at = |name: &str| names.iter().position(|n| n == name);
        let domain = at("domain")?;
        Some(Columns {
            domain,
            severity: at("severity"),
            reject_media: at("reject_media"),
            reject_reports: at("reject_reports"),
            public_comment: at("public_comment").or_else(|| at("comment")),
            obfuscate: at("obfuscate"),
        })
    }
}

fn flag(value: Option<&str>, column: &str) -> Result<bool, String> {
    match value.map(str::trim).unwrap_or("") {
        "" | "false" | "FALSE" | "False" | "0" => Ok(false),
        "true" | "TRUE" | "True" | "1" => Ok(true),
        other => Err(format!("{column} must be true or false, not {other:?}")),
    }
}

fn row_from(
    record: &csv::StringRecord,
    columns: Columns,
    line: u64,
) -> Result<BlocklistRow, String> {
    let field = |at: Option<usize>| at.and_then(|i| record.get(i));
    let raw_domain = record.get(columns.domain).unwrap_or("").trim();
    if raw_domain.is_empty() {
        return Err("the domain is missing".to_owned());
    }
    if raw_domain.contains('*') {
        return Err(format!(
            "{raw_domain:?} is obfuscated or a wildcard; only whole domains can be blocked"
        ));
    }
    let domain =
        Domain::parse(raw_domain).map_err(|e| format!("{raw_domain:?} is not a domain: {e}"))?;
    let severity = match field(columns.severity).map(str::trim).unwrap_or("") {
        "" => Severity::Suspend,
        s => s.parse::<Severity>().map_err(|e| e.to_string())?,
    };
    let public_comment = field(columns.public_comment)
        .unwrap_or("")
        .trim()
        .to_owned();
    let length = public_comment.chars().count();
    if length > MAX_PUBLIC_COMMENT_CHARS {
        return Err(format!(
            "public_comment is too long ({length} characters; at most {MAX_PUBLIC_COMMENT_CHARS})"
        ));
    }
    Ok(BlocklistRow {
        line,
        domain,
        severity,
        reject_media: flag(field(columns.reject_media), "reject_media")?,
        reject_reports: flag(field(columns.reject_reports), "reject_reports")?,
        public_comment,
        obfuscate: flag(field(columns.obfuscate), "obfuscate")?,
    })
}

/// Reads a blocklist. Never fails as a whole: every unreadable line is an entry of
/// `errors`, and a domain listed twice is an error on its second line.
pub fn parse_blocklist(text: &str) -> ParsedBlocklist {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(None)
        .from_reader(text.as_bytes());
    let mut parsed = ParsedBlocklist::default();
    let mut columns: Option<Columns> = None;
    let mut seen: HashSet<Domain> = HashSet::new();
    for (index, record) in reader.records().enumerate() {
        let fallback_line = u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(fallback_line, |p| p.line());
                parsed.errors.push(LineError {
                    line,
                    message: format!("unreadable CSV: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(fallback_line, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let current = match columns {
            Some(c) => c,
            None => {
                // The first line with content is either a header or the first domain of a
                // header-less list.
                if let Some(header) = Columns::from_header(&record) {
                    columns = Some(header);
                    continue;
                }
                let plain = Columns::default();
                columns = Some(plain);
                plain
            }
        };
        match row_from(&record, current, line) {
            Ok(row) if !seen.insert(row.domain.clone()) => parsed.errors.push(LineError {
                line,
                message: format!("{} is listed twice", row.domain.as_str()),
            }),
            Ok(row) => parsed.rows.push(row),
            Err(message) => parsed.errors.push(LineError { line, message }),
        }
    }
    parsed
}

/// Writes blocks in Mastodon's format (its header and column order), readable by Mastodon's
/// import and by [`parse_blocklist`].
pub fn write_blocklist(rows: &[BlocklistRow]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER)?;
    for row in rows {
        writer.write_record([
            row.domain.as_str(),
            row.severity.as_str(),
            if row.reject_media { "true" } else { "false" },
            if row.reject_reports { "true" } else { "false" },
            row.public_comment.as_str(),
            if row.obfuscate { "true" } else { "false" },
        ])?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn mastodons_export_format_is_read_row_by_row() {
        let text = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                    spam.example,suspend,true,true,\"Spam, harassment\",false\n\
                    loud.example,silence,false,false,,true\n";
        let parsed = parse_blocklist(text);
        assert_eq!(parsed.errors, vec![]);
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].domain.as_str(), "spam.example");
        assert_eq!(parsed.rows[0].severity, Severity::Suspend);
        assert!(parsed.rows[0].reject_media && parsed.rows[0].reject_reports);
        assert_eq!(parsed.rows[0].public_comment, "Spam, harassment");
        assert_eq!(parsed.rows[1].severity, Severity::Silence);
        assert!(parsed.rows[1].obfuscate);
    }

    #[test]
    fn a_list_without_header_is_one_domain_per_line_suspended() {
        let parsed = parse_blocklist("a.example\n\nb.example\n");
        assert_eq!(parsed.errors, vec![]);
        let domains: Vec<&str> = parsed.rows.iter().map(|r| r.domain.as_str()).collect();
        assert_eq!(domains, vec!["a.example", "b.example"]);
        assert!(parsed.rows.iter().all(|r| r.severity == Severity::Suspend));
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number_and_the_rest_kept() {
        let text = "#domain,#severity,#reject_media\n\
                    good.example,silence,false\n\
                    ,suspend,false\n\
                    bad domain!,suspend,false\n\
                    nuked.example,nuke,false\n\
                    flags.example,suspend,maybe\n\
                    ex**ple.com,suspend,false\n\
                    good.example,suspend,false\n";
        let parsed = parse_blocklist(text);
        assert_eq!(parsed.rows.len(), 1);
        let lines: Vec<u64> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7, 8], "{:?}", parsed.errors);
        assert!(parsed.errors[0].message.contains("missing"));
        assert!(parsed.errors[2].message.contains("unknown severity"));
        assert!(parsed.errors[3].message.contains("reject_media"));
        assert!(parsed.errors[4].message.contains("obfuscated"));
        assert!(parsed.errors[5].message.contains("twice"));
    }

    #[test]
    fn an_export_reads_back_as_the_same_rows() {
        let rows = parse_blocklist(
            "domain,severity,public_comment\nq.example,noop,\"said \"\"hi\"\", left\"\n",
        )
        .rows;
        assert_eq!(rows[0].public_comment, "said \"hi\", left");
        let written = write_blocklist(&rows).unwrap();
        assert!(written.starts_with(
            "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
        ));
        assert_eq!(parse_blocklist(&written).rows, rows);
    }
}
