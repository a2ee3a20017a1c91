//! Text preparation: folding a post into plain ASCII and cutting it into sentences.
//!
//! Every cue pattern runs on the folded text, never on the raw post, for three reasons:
//!
//! - Accents are dropped (`é` → `e`, `ñ` → `n`), so one pattern covers the correctly accented
//!   spelling and the unaccented one people type on phones ("poitrine serree", "tenia").
//! - The result is pure ASCII, so the byte regexes can use ASCII word boundaries, which keep
//!   the lazy DFA on its fast path; Unicode word boundaries would push the engine onto a
//!   slower matcher whenever a post contains an emoji.
//! - Laughing emoji become the token ` lol ` so that one "joke" cue covers both; other emoji
//!   and symbols become spaces. Case is kept, because some abbreviations (SI, CP, OD, SOB)
//!   are only cues when written in capitals.

/// The most bytes of a post that are analysed. Posts on the fediverse are a few thousand
/// characters at most; anything longer is analysed on its beginning and its end, which keeps
/// the cost of one call bounded whatever the input while still seeing a post's opening and
/// closing lines, where people state what is happening and sign off.
pub(crate) const MAX_ANALYSED_BYTES: usize = 24 * 1024;

/// Folds `text` to ASCII as described in the module documentation.
///
/// Very long inputs keep their first and last `MAX_ANALYSED_BYTES / 2` characters (roughly),
/// joined by a paragraph break so that no sentence spans the cut.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_ANALYSED_BYTES) + 8);
    if text.len() <= MAX_ANALYSED_BYTES {
        fold_into(text, &mut out);
        return out;
    }
    let half = MAX_ANALYSED_BYTES / 2;
    let head_end = floor_char_boundary(text, half);
    let tail_start = ceil_char_boundary(text, text.len() - half);
    fold_into(&text[..head_end], &mut out);
    out.push_str("\n\n");
    fold_into(&text[tail_start..], &mut out);
    out
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn fold_into(text: &str, out: &mut String) {
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        match fold_char(c) {
            Some(s) => out.push_str(s),
            None => out.push(' '),
        }
    }
}

/// The ASCII replacement of one non-ASCII character, or `None` for "a space".
fn fold_char(c: char) -> Option<&'static str> {
    let s = match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => "a",
        'Á' | 'À' | 'Â' | 'Ä' | 'Ã' | 'Å' => "A",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'É' | 'È' | 'Ê' | 'Ë' => "E",
        'í' | 'ì' | 'î' | 'ï' => "i",
        'Í' | 'Ì' | 'Î' | 'Ï' => "I",
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => "o",
        'Ó' | 'Ò' | 'Ô' | 'Ö' | 'Õ' => "O",
        'ú' | 'ù' | 'û' | 'ü' => "u",
        'Ú' | 'Ù' | 'Û' | 'Ü' => "U",
        'ñ' => "n",
        'Ñ' => "N",
        'ç' => "c",
        'Ç' => "C",
        'œ' => "oe",
        'Œ' => "OE",
        'æ' => "ae",
        'Æ' => "AE",
        'ß' => "ss",
        'ÿ' => "y",
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{00B4}' => "'",
        '\u{201C}' | '\u{201D}' | '\u{00AB}' | '\u{00BB}' => "\"",
        '\u{2013}' | '\u{2014}' | '\u{2212}' => "-",
        '\u{2026}' => "...",
        '\u{00B0}' => " deg ",
        // Laughing, grinning and winking faces: the same cue as "lol".
        '\u{1F602}' | '\u{1F923}' | '\u{1F605}' | '\u{1F606}' | '\u{1F639}' | '\u{1F643}'
        | '\u{1F61C}' | '\u{1F61D}' | '\u{1F609}' | '\u{1F92A}' | '\u{1F601}' => " lol ",
        _ => return None,
    };
    Some(s)
}

/// Byte ranges of the sentences of folded text.
///
/// A sentence ends at `.`, `!`, `?` or `;` followed by whitespace or the end, and at a line
/// break. A full stop inside a number ("38.4") or a handle ("dr.lee@x.example") does not end
/// a sentence. Quotes are not special: a quoted old post is recognised by its framing cues.
pub(crate) fn sentences(folded: &str) -> Vec<(usize, usize)> {
    let bytes = folded.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let ends = match b {
            b'\n' => true,
            b'.' | b'!' | b'?' | b';' => bytes
                .get(i + 1)
                .is_none_or(|next| next.is_ascii_whitespace()),
            _ => false,
        };
        if ends {
            if i + 1 > start {
                out.push((start, i + 1));
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < bytes.len() {
        out.push((start, bytes.len()));
    }
    if out.is_empty() {
        out.push((0, bytes.len()));
    }
    out
}

/// Index of the sentence containing byte `pos` (sentences are sorted and cover the text).
pub(crate) fn sentence_of(sentences: &[(usize, usize)], pos: usize) -> usize {
    match sentences.binary_search_by(|&(s, e)| {
        if pos < s {
            std::cmp::Ordering::Greater
        } else if pos >= e {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Equal
        }
    }) {
        Ok(i) => i,
        Err(i) => i.min(sentences.len().saturating_sub(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_accents_and_maps_laughing_emoji() {
        assert_eq!(fold("Ma poitrine serrée, j’ai"), "Ma poitrine serree, j'ai");
        assert_eq!(fold("niño 😂"), "nino  lol ");
        assert!(fold("🫠💜").trim().is_empty());
    }

    #[test]
    fn long_text_is_cut_to_head_and_tail_on_char_boundaries() {
        let text = "é".repeat(300_000);
        let folded = fold(&text);
        assert!(folded.len() <= MAX_ANALYSED_BYTES + 8);
        assert!(folded.is_ascii());
    }

    #[test]
    fn sentences_ignore_decimal_points_and_handles() {
        let s = "@dr.lee@x.example temp 38.4 now. Fine? yes\nok";
        let parts: Vec<&str> = sentences(s).iter().map(|&(a, b)| &s[a..b]).collect();
        assert_eq!(
            parts,
            vec!["@dr.lee@x.example temp 38.4 now.", " Fine?", " yes\n", "ok"]
        );
        assert_eq!(sentence_of(&sentences(s), 3), 0);
    }
}
