//! Small text helpers shared by the detectors: word tokens, windows around a span, sentence
//! bounds and byte-to-code-point offset conversion.
//!
//! Detectors work in byte offsets (what the `regex` crate reports); only the public
//! [`super::PhiSpan`] uses Unicode code-point offsets, like the evaluation corpus.

/// One word of the post: a run of letters, digits, apostrophes and inner hyphens.
#[derive(Debug, Clone)]
pub(crate) struct Word<'a> {
    pub start: usize,
    /// End of the word without a possessive `'s`.
    pub end: usize,
    pub text: &'a str,
    /// Lowercase form without the possessive suffix.
    pub lower: String,
    /// The word ended in `'s`, `’s` or a bare trailing apostrophe.
    pub possessive: bool,
}

impl Word<'_> {
    /// First letter upper-case and at least one lower-case letter: "Bev", "McDonald", "Zoë".
    pub fn is_capitalized(&self) -> bool {
        let mut chars = self.text.chars();
        matches!(chars.next(), Some(c) if c.is_uppercase())
            && self.text.chars().any(|c| c.is_lowercase())
    }

    /// Every letter upper-case and at least two letters: "HERNANDEZ", "MRN".
    pub fn is_all_caps(&self) -> bool {
        self.text.chars().filter(|c| c.is_alphabetic()).count() >= 2
            && !self.text.chars().any(|c| c.is_lowercase())
    }

    /// Only lower-case letters (names written in lower case, like "bobby").
    pub fn is_lowercase(&self) -> bool {
        self.text.chars().all(|c| !c.is_uppercase()) && self.text.chars().any(|c| c.is_alphabetic())
    }

    pub fn has_digit(&self) -> bool {
        self.text.chars().any(|c| c.is_ascii_digit())
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Splits `text` into words. Apostrophes and hyphens are kept inside a word when letters follow
/// ("Mensah-Boateng", "O'Neil"); a trailing possessive is recorded and left out of the span.
pub(crate) fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut iter = text.char_indices().peekable();
    while let Some((start, c)) = iter.next() {
        if !is_word_char(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = iter.peek() {
            if is_word_char(c) {
                end = i + c.len_utf8();
                iter.next();
            } else if matches!(c, '\'' | '’' | '-' | '.') {
                // Keep the joiner only if a word character follows it directly ("Mensah-Boateng",
                // "O'Neil"), but never a dot: "T.W." is handled by the initials rule.
                let next = text[i + c.len_utf8()..].chars().next();
                if c != '.' && next.is_some_and(is_word_char) {
                    end = i + c.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        let raw = &text[start..end];
        let (core_end, possessive) = strip_possessive(raw, start, text, end);
        let core = &text[start..core_end];
        out.push(Word {
            start,
            end: core_end,
            text: core,
            lower: core.to_lowercase(),
            possessive,
        });
    }
    out
}

fn strip_possessive(raw: &str, start: usize, text: &str, end: usize) -> (usize, bool) {
    for suffix in ["'s", "’s", "'S", "’S"] {
        if raw.len() > suffix.len() + 1 && raw.ends_with(suffix) {
            return (start + raw.len() - suffix.len(), true);
        }
    }
    // "Graves' disease": a bare apostrophe right after the word.
    let after = text[end..].chars().next();
    if let Some(apostrophe @ ('\'' | '’')) = after
        && raw.ends_with(['s', 'S'])
    {
        let following = text[end + apostrophe.len_utf8()..].chars().next();
        if !following.is_some_and(is_word_char) {
            return (end, true);
        }
    }
    (end, false)
}

/// Largest char boundary `<= i`.
pub(crate) fn floor_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Smallest char boundary `>= i`.
pub(crate) fn ceil_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Up to `bytes` bytes of text before `pos`, lower-cased.
pub(crate) fn before(text: &str, pos: usize, bytes: usize) -> String {
    let from = floor_boundary(text, pos.saturating_sub(bytes));
    text[from..floor_boundary(text, pos)].to_lowercase()
}

/// Up to `bytes` bytes of text after `pos`, lower-cased.
pub(crate) fn after(text: &str, pos: usize, bytes: usize) -> String {
    let pos = ceil_boundary(text, pos);
    let to = ceil_boundary(text, pos.saturating_add(bytes));
    text[pos..to].to_lowercase()
}

/// The sentence (or clause between strong stops) that contains byte `pos`, as byte bounds.
/// Stops are `.!?` followed by a space, new lines, and em dashes. Bounded to 400 bytes each
/// way so that pathological inputs stay linear.
pub(crate) fn sentence_bounds(text: &str, pos: usize) -> (usize, usize) {
    const LIMIT: usize = 400;
    let pos = floor_boundary(text, pos);
    let lo = floor_boundary(text, pos.saturating_sub(LIMIT));
    let hi = ceil_boundary(text, pos.saturating_add(LIMIT));
    let mut start = lo;
    let head = &text[lo..pos];
    for (i, c) in head.char_indices().rev() {
        if is_stop(c, &head[i + c.len_utf8()..]) {
            start = lo + i + c.len_utf8();
            break;
        }
    }
    let mut end = hi;
    let tail = &text[pos..hi];
    for (i, c) in tail.char_indices() {
        if is_stop(c, &tail[i + c.len_utf8()..]) {
            end = pos + i;
            break;
        }
    }
    (start, end)
}

fn is_stop(c: char, rest: &str) -> bool {
    match c {
        '\n' | '!' | '?' => true,
        '.' => rest.starts_with(' ') && !rest.trim_start().starts_with(|c: char| c.is_lowercase()),
        _ => false,
    }
}

/// Whether `hay` contains `needle` as whole words (ASCII word boundaries).
pub(crate) fn has_word(hay: &str, needle: &str) -> bool {
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let s = from + i;
        let e = s + needle.len();
        let ok_left = hay[..s]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let ok_right = hay[e..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if ok_left && ok_right {
            return true;
        }
        from = s + needle.len().max(1);
        from = ceil_boundary(hay, from);
        if from >= hay.len() {
            break;
        }
    }
    false
}

/// Whether any of `needles` occurs in `hay` as whole words.
pub(crate) fn has_any_word(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| has_word(hay, n))
}

/// Converts byte offsets into code-point offsets for an ascending list of byte positions.
pub(crate) struct CharIndex {
    /// Byte offset of every char start, plus the text length.
    starts: Vec<usize>,
}

impl CharIndex {
    pub fn new(text: &str) -> CharIndex {
        let mut starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        starts.push(text.len());
        CharIndex { starts }
    }

    /// Code-point index of byte offset `byte` (rounded down to a char boundary).
    pub fn to_char(&self, byte: usize) -> usize {
        match self.starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_hyphens_and_strip_possessives() {
        let w = words("Mr. Oyelaran's wife and Kofi Mensah-Boateng, Graves' disease");
        let texts: Vec<&str> = w.iter().map(|w| w.text).collect();
        assert_eq!(
            texts,
            [
                "Mr",
                "Oyelaran",
                "wife",
                "and",
                "Kofi",
                "Mensah-Boateng",
                "Graves",
                "disease"
            ]
        );
        assert!(w[1].possessive);
        assert!(w[6].possessive);
    }

    #[test]
    fn curly_apostrophe_after_a_word_does_not_split_a_character() {
        let w = words("Graves’ disease and Jones’");
        assert!(w[0].possessive);
        assert_eq!(w.last().map(|w| w.text), Some("Jones"));
    }

    #[test]
    fn char_index_counts_code_points() {
        let t = "Zoë: 12 Jan";
        let idx = CharIndex::new(t);
        let b = t.find("12").unwrap();
        assert_eq!(idx.to_char(b), 5);
        assert_eq!(idx.to_char(t.len()), 11);
    }
}
