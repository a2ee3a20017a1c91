//! A small language guess (English, Spanish or French) from function words.
//!
//! The guess is reported with the finding (so the caller can show crisis lines and emergency
//! numbers in the right language) but does not gate the cues: every language's cues are tried
//! on every post, because posts mix languages and short posts are hard to guess.

/// Function words that are frequent in one language and rare in the other two. Words shared
/// by Spanish and French ("de", "la", "en", "que") are left out on purpose.
const EN: &[&str] = &[
    "the", "and", "my", "is", "i", "i'm", "it", "of", "to", "with", "for", "this", "that", "was",
    "have", "you", "but", "not", "what", "should", "can", "been", "just", "now", "he", "she",
    "his", "her", "are", "im", "me", "do", "does", "since", "about", "or", "on", "at", "from",
];
const ES: &[&str] = &[
    "el", "los", "las", "y", "mi", "mis", "es", "con", "por", "para", "una", "muy", "ya", "pero",
    "estoy", "tengo", "del", "al", "lo", "le", "se", "hijo", "hija", "hoy", "esta", "este", "como",
    "mas", "puedo", "debo", "nadie", "cuando", "donde", "porque", "hace", "todo", "nada",
];
const FR: &[&str] = &[
    "le",
    "les",
    "et",
    "est",
    "je",
    "j'ai",
    "mon",
    "ma",
    "mes",
    "pas",
    "qui",
    "du",
    "au",
    "avec",
    "pour",
    "il",
    "elle",
    "ce",
    "c'est",
    "ne",
    "plus",
    "tres",
    "une",
    "des",
    "sur",
    "mais",
    "fils",
    "fille",
    "depuis",
    "est-ce",
    "ai",
    "suis",
    "moi",
    "tout",
    "rien",
    "quelqu'un",
    "d'etre",
];

/// Guesses the language of folded (ASCII) text. `None` when fewer than two function words are
/// found or two languages tie.
pub(crate) fn detect(folded: &str) -> Option<&'static str> {
    let mut scores = [0u32; 3];
    for raw in folded.split(|c: char| !(c.is_ascii_alphanumeric() || c == '\'' || c == '-')) {
        if raw.is_empty() || raw.len() > 12 {
            continue;
        }
        let word = raw
            .trim_matches(|c| c == '\'' || c == '-')
            .to_ascii_lowercase();
        if EN.contains(&word.as_str()) {
            scores[0] += 1;
        }
        if ES.contains(&word.as_str()) {
            scores[1] += 1;
        }
        if FR.contains(&word.as_str()) {
            scores[2] += 1;
        }
        // French elisions ("j'ai", "l'an", "d'etre") are strong French evidence.
        if word.len() > 2
            && matches!(
                &word[..2],
                "j'" | "l'" | "d'" | "n'" | "qu" | "c'" | "m'" | "s'"
            )
            && word.as_bytes()[1] == b'\''
        {
            scores[2] += 1;
        }
    }
    let best = scores.iter().copied().max().unwrap_or(0);
    if best < 2 || scores.iter().filter(|&&s| s == best).count() > 1 {
        return None;
    }
    match scores.iter().position(|&s| s == best) {
        Some(0) => Some("en"),
        Some(1) => Some("es"),
        Some(2) => Some("fr"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn language_detection_recognises_three_languages() {
        assert_eq!(detect("my chest hurts and I am sweating"), Some("en"));
        assert_eq!(
            detect("Ya no puedo mas con este dolor, nadie lo notaria"),
            Some("es")
        );
        assert_eq!(
            detect("J'ai plus envie d'etre la. J'ai arrete mes traitements"),
            Some("fr")
        );
        assert_eq!(detect(""), None);
        assert_eq!(detect("ok"), None);
    }
}
