//! Applying a viewer's filters to what a view is about to return.
//!
//! Filters run after the read gate, on rendered statuses: they can only take away (a
//! `hide` filter leaves the status out) or annotate (a `warn` filter adds a FilterResult to
//! the status's `filtered` array), never show more. They are the viewer's preference, so
//! they do not apply to the viewer's own posts, as in Mastodon, and an expired filter does
//! nothing.
//!
//! Matching follows Mastodon's `CustomFilter`: case-insensitive; a whole-word keyword is
//! bounded by `\b` on each side that starts or ends with a word character; the text matched
//! is the post's content with its HTML stripped, and its content warning.

use std::collections::HashSet;
use std::sync::LazyLock;

use cohort_model::Id;
use cohort_policy::Viewer;
use cohort_store::{FilterAction, FilterContext, FilterRecord};
use regex::Regex;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::routes::filters::filter_json;
use crate::state::ApiState;

/// One filter ready to match: its keywords compiled.
struct CompiledFilter {
    action: FilterAction,
    keywords: Vec<(String, Regex)>,
    statuses: HashSet<String>,
    json: Value,
}

/// The viewer's active filters for one context.
pub struct ActiveFilters {
    viewer: Option<Id>,
    filters: Vec<CompiledFilter>,
}

/// What the filters decide about one status.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// No filter matched.
    Pass,
    /// Some `warn` filters matched: their FilterResults.
    Warn(Vec<Value>),
    /// A `hide` filter matched.
    Hide,
}

/// Compiles a keyword the way Mastodon does.
pub fn keyword_regex(keyword: &str, whole_word: bool) -> Result<Regex, regex::Error> {
    let escaped = regex::escape(keyword);
    let pattern = if whole_word {
        let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        let start = if is_word(keyword.chars().next()) {
            r"\b"
        } else {
            ""
        };
        let end = if is_word(keyword.chars().last()) {
            r"\b"
        } else {
            ""
        };
        format!("(?im){start}{escaped}{end}")
    } else {
        format!("(?i){escaped}")
    };
    Regex::new(&pattern)
}

static TAG: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"<[^>]*>").ok());
static BREAK: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)<br\s*/?>|</p>\s*<p[^>]*>").ok());

/// The text of a status's HTML: line and paragraph breaks as newlines, tags dropped,
/// the entities our renderer writes decoded.
pub fn plain_text(html: &str) -> String {
    let (Some(breaks), Some(tags)) = (BREAK.as_ref(), TAG.as_ref()) else {
        return html.to_owned();
    };
    let text = breaks.replace_all(html, "\n");
    let text = tags.replace_all(&text, "");
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

impl ActiveFilters {
    /// No filters (anonymous viewers).
    pub fn none() -> ActiveFilters {
        ActiveFilters {
            viewer: None,
            filters: Vec::new(),
        }
    }

    /// Loads the viewer's filters that apply now in `context`.
    pub async fn load(
        state: &ApiState,
        viewer: &Viewer,
        context: FilterContext,
    ) -> ApiResult<ActiveFilters> {
        let Viewer::Account(party) = viewer else {
            return Ok(ActiveFilters::none());
        };
        let records = state.store.active_filters(party.id).await?;
        let filters = records
            .iter()
            .filter(|f| f.contexts.contains(&context))
            .map(compile)
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(ActiveFilters {
            viewer: Some(party.id),
            filters,
        })
    }

    /// Whether no filter applies (then [`ActiveFilters::apply`] returns what it is given).
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Decides about one rendered status (a boost is judged by the post it boosts).
    pub fn verdict(&self, status: &Value) -> Verdict {
        if self.filters.is_empty() {
            return Verdict::Pass;
        }
        let proper = match status.get("reblog") {
            Some(inner) if inner.is_object() => inner,
            _ => status,
        };
        let author = proper["account"]["id"].as_str().unwrap_or_default();
        if self.viewer.is_some_and(|v| v.to_string() == author) {
            return Verdict::Pass;
        }
        let text = format!(
            "{}\n{}",
            proper["spoiler_text"].as_str().unwrap_or_default(),
            plain_text(proper["content"].as_str().unwrap_or_default())
        );
        let mut ids: Vec<&str> = [status["id"].as_str(), proper["id"].as_str()]
            .into_iter()
            .flatten()
            .collect();
        ids.dedup();
        let mut results = Vec::new();
        for filter in &self.filters {
            let keyword_matches: Vec<&str> = filter
                .keywords
                .iter()
                .filter(|(_, re)| re.is_match(&text))
                .map(|(k, _)| k.as_str())
                .collect();
            let status_matches: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| filter.statuses.contains(*id))
                .collect();
            if keyword_matches.is_empty() && status_matches.is_empty() {
                continue;
            }
            if filter.action == FilterAction::Hide {
                return Verdict::Hide;
            }
            results.push(json!({
                "filter": filter.json,
                "keyword_matches": if keyword_matches.is_empty() { Value::Null } else { json!(keyword_matches) },
                "status_matches": if status_matches.is_empty() { Value::Null } else { json!(status_matches) },
            }));
        }
        if results.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Warn(results)
        }
    }

    /// Leaves out hidden statuses and marks warned ones (in `filtered`, on the status and
    /// on the post it boosts).
    pub fn apply(&self, statuses: Vec<Value>) -> Vec<Value> {
        if self.filters.is_empty() {
            return statuses;
        }
        statuses
            .into_iter()
            .filter_map(|mut status| match self.verdict(&status) {
                Verdict::Pass => Some(status),
                Verdict::Hide => None,
                Verdict::Warn(results) => {
                    mark(&mut status, &results);
                    if let Some(inner) = status.get_mut("reblog").filter(|v| v.is_object()) {
                        mark(inner, &results);
                    }
                    Some(status)
                }
            })
            .collect()
    }

    /// The same for notifications: one whose status a `hide` filter matches is left out.
    pub fn apply_to_notifications(&self, notifications: Vec<Value>) -> Vec<Value> {
        if self.filters.is_empty() {
            return notifications;
        }
        notifications
            .into_iter()
            .filter_map(|mut notification| {
                let Some(status) = notification.get_mut("status").filter(|s| s.is_object()) else {
                    return Some(notification);
                };
                let kept = self.apply(vec![status.take()]).into_iter().next()?;
                *status = kept;
                Some(notification)
            })
            .collect()
    }
}

fn mark(status: &mut Value, results: &[Value]) {
    match status.get_mut("filtered") {
        Some(Value::Array(existing)) => existing.extend(results.iter().cloned()),
        _ => status["filtered"] = Value::Array(results.to_vec()),
    }
}

fn compile(record: &FilterRecord) -> ApiResult<CompiledFilter> {
    let keywords = record
        .keywords
        .iter()
        .map(|k| {
            keyword_regex(&k.keyword, k.whole_word)
                .map(|re| (k.keyword.clone(), re))
                .map_err(ApiError::internal)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(CompiledFilter {
        action: record.action,
        keywords,
        statuses: record
            .statuses
            .iter()
            .map(|s| s.status_id.to_string())
            .collect(),
        json: filter_json(record),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(keyword: &str, whole_word: bool, text: &str) -> bool {
        keyword_regex(keyword, whole_word).unwrap().is_match(text)
    }

    #[test]
    fn whole_word_keywords_match_words_only_like_mastodon() {
        assert!(matches("flu", true, "I have the Flu today"));
        assert!(!matches("flu", true, "fluid intake"));
        assert!(matches("flu", false, "fluid intake"));
        assert!(matches("#covid", true, "news about #COVID."));
        assert!(matches("a.b", true, "see a.b now"));
        assert!(!matches("a.b", true, "see axb now"));
        assert!(matches("new york", true, "trip to New York!"));
    }

    #[test]
    fn plain_text_strips_tags_and_decodes_entities() {
        assert_eq!(
            plain_text("<p>a &amp; b</p><p>c<br>d &lt;3</p>"),
            "a & b\nc\nd <3"
        );
    }
}
