//! Contact identifiers: phone and fax numbers (digits, spaced digits, spelled-out words),
//! e-mail addresses (including "(at)"/"[dot]" obfuscation), URLs, IPv4/IPv6 addresses and
//! fediverse handles (`@user@host`, reported as `other_id`).

use regex::Regex;

use super::text::before;
use super::{Found, Hint, PhiError, PhiKind, compile};

pub(crate) struct ContactRules {
    handle: Regex,
    email: Regex,
    obfuscated_email: Regex,
    url: Regex,
    ipv4: Regex,
    ipv6: Regex,
    phone: Regex,
    spaced_digits: Regex,
    spelled_digits: Regex,
}

const DIGIT_WORD: &str =
    r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple)";
const TLD: &str = r"(?:com|org|net|edu|gov|example|io|co|uk|ca|au|de|fr|info|me|us|nz|ie|in)";

impl ContactRules {
    pub fn new() -> Result<ContactRules, PhiError> {
        Ok(ContactRules {
            handle: compile(
                r"(?i)(?:^|[^\w@.])(@[a-z0-9_][a-z0-9_.]*@[a-z0-9-]+(?:\.[a-z0-9-]+)+)",
            )?,
            email: compile(
                r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b",
            )?,
            obfuscated_email: compile(&format!(
                r"(?i)\b[a-z0-9][a-z0-9._%+-]*\s*(?:\(at\)|\[at\]|\{{at\}}|<at>|\sat\s)\s*[a-z0-9-]+(?:\s*(?:\.|\(dot\)|\[dot\]|\{{dot\}}|\sdot\s)\s*[a-z0-9-]+)*?\s*(?:\.|\(dot\)|\[dot\]|\{{dot\}}|\sdot\s)\s*{TLD}\b"
            ))?,
            url: compile(r#"(?i)\b(?:https?://|www\.)[^\s<>()\[\]"'“”‘’]+"#)?,
            ipv4: compile(
                r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
            )?,
            ipv6: compile(r"(?i)\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}")?,
            phone: compile(
                r"(?:\+?1[\s.-]?)?(?:\(\d{3}\)|\b\d{3})[\s.-]?\d{3}[\s.-]\d{4}\b|\b\d{3}-\d{4}\b|(?:\+44\s?|\b0)\d{2,4}[\s-]?\d{3}[\s-]?\d{3,4}\b",
            )?,
            spaced_digits: compile(r"\b\d(?:[ \t]*[-.]?[ \t]*\d){6,10}\b")?,
            spelled_digits: compile(&format!(
                r"(?i)\b{DIGIT_WORD}(?:[\s,-]+{DIGIT_WORD}){{5,}}\b"
            ))?,
        })
    }

    pub fn detect(&self, text: &str, out: &mut Vec<Found>) {
        for c in self.handle.captures_iter(text) {
            if let Some(m) = c.get(1) {
                out.push(Found::new(m.start(), m.end(), PhiKind::OtherId, Hint::None));
            }
        }
        for m in self.email.find_iter(text) {
            out.push(Found::new(m.start(), m.end(), PhiKind::Email, Hint::None));
        }
        for m in self.obfuscated_email.find_iter(text) {
            out.push(Found::new(m.start(), m.end(), PhiKind::Email, Hint::None));
        }
        for m in self.url.find_iter(text) {
            let trimmed = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
            out.push(Found::new(
                m.start(),
                m.start() + trimmed.len(),
                PhiKind::Url,
                Hint::None,
            ));
        }
        for m in self.ipv4.find_iter(text) {
            // "1.2.3.4.5" is a version or outline number, not an address.
            let next = text[m.end()..].chars().next();
            let prev = text[..m.start()].chars().next_back();
            let continues =
                next == Some('.') && text[m.end() + 1..].starts_with(|c: char| c.is_ascii_digit());
            if !continues && prev != Some('.') {
                out.push(Found::new(m.start(), m.end(), PhiKind::Ip, Hint::None));
            }
        }
        for m in self.ipv6.find_iter(text) {
            if is_plausible_ipv6(m.as_str()) {
                out.push(Found::new(m.start(), m.end(), PhiKind::Ip, Hint::None));
            }
        }
        for m in self.phone.find_iter(text) {
            out.push(Found::new(
                m.start(),
                m.end(),
                phone_or_fax(text, m.start()),
                Hint::None,
            ));
        }
        for m in self.spaced_digits.find_iter(text) {
            let s = m.as_str();
            let digits = s.chars().filter(char::is_ascii_digit).count();
            // Spaced digits read as a phone number; hyphen-only chains are left to the record
            // number rules ("chart is 4-4-7-1-9-0-2").
            if s.contains([' ', '\t']) && (digits == 7 || digits == 10 || digits == 11) {
                out.push(Found::new(
                    m.start(),
                    m.end(),
                    phone_or_fax(text, m.start()),
                    Hint::None,
                ));
            }
        }
        for m in self.spelled_digits.find_iter(text) {
            let s = m.as_str().to_lowercase();
            let digits: usize = s
                .split(|c: char| !c.is_alphabetic())
                .filter(|w| !w.is_empty())
                .map(|w| match w {
                    "double" | "triple" => 0,
                    _ => 1,
                })
                .sum();
            let real_digits = s
                .split(|c: char| !c.is_alphabetic())
                .any(|w| w != "o" && w != "oh" && !w.is_empty());
            if digits >= 7 && real_digits {
                out.push(Found::new(
                    m.start(),
                    m.end(),
                    phone_or_fax(text, m.start()),
                    Hint::None,
                ));
            }
        }
    }
}

/// A number is a fax when "fax" appears shortly before it.
fn phone_or_fax(text: &str, start: usize) -> PhiKind {
    if before(text, start, 40).contains("fax") {
        PhiKind::Fax
    } else {
        PhiKind::Phone
    }
}

/// Accept colon groups that look like an IPv6 address, not a clock time ("03:10:22") or an
/// HLA allele ("57:01"): it needs "::" or seven colons, and a hex group of 3+ characters.
fn is_plausible_ipv6(s: &str) -> bool {
    let colons = s.matches(':').count();
    let compressed = s.contains("::");
    let long_group = s.split(':').any(|g| g.len() >= 3);
    (compressed && colons >= 2 || colons == 7) && long_group
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, PhiKind)> {
        let rules = ContactRules::new().unwrap();
        let mut out = Vec::new();
        rules.detect(text, &mut out);
        out.iter()
            .map(|f| (text[f.start..f.end].to_owned(), f.kind))
            .collect()
    }

    #[test]
    fn detects_phone_numbers_in_common_layouts() {
        let found = kinds("call (603) 555-0172 or 1-802-555-0175 or 555-0111 or 020 7946 0018");
        let phones: Vec<&str> = found
            .iter()
            .filter(|(_, k)| *k == PhiKind::Phone)
            .map(|(s, _)| s.as_str())
            .collect();
        assert!(phones.contains(&"(603) 555-0172"));
        assert!(phones.contains(&"1-802-555-0175"));
        assert!(phones.contains(&"555-0111"));
        assert!(phones.contains(&"020 7946 0018"));
    }

    #[test]
    fn detects_spelled_out_phone_numbers() {
        let found = kinds("ring five five five oh one two three today, or 5 5 5 - 0 1 4 7");
        assert!(
            found
                .iter()
                .any(|(s, k)| s == "five five five oh one two three" && *k == PhiKind::Phone)
        );
        assert!(
            found
                .iter()
                .any(|(s, k)| s == "5 5 5 - 0 1 4 7" && *k == PhiKind::Phone)
        );
    }

    #[test]
    fn detects_fax_numbers() {
        let found = kinds("please fax (802) 555-0139 today");
        assert!(
            found
                .iter()
                .any(|(s, k)| s == "(802) 555-0139" && *k == PhiKind::Fax)
        );
    }

    #[test]
    fn detects_plain_and_obfuscated_emails() {
        assert!(
            kinds("mail tina.m.harlow@example.com now")
                .iter()
                .any(|(s, k)| s == "tina.m.harlow@example.com" && *k == PhiKind::Email)
        );
        assert!(
            kinds("to ruby.s.okeke at example dot org — ok")
                .iter()
                .any(|(s, k)| s == "ruby.s.okeke at example dot org" && *k == PhiKind::Email)
        );
        assert!(
            kinds("x [at] example [dot] com")
                .iter()
                .any(|(s, k)| s == "x [at] example [dot] com" && *k == PhiKind::Email)
        );
        assert!(kinds("meet me at noon. Come early").is_empty());
    }

    #[test]
    fn detects_urls() {
        let found = kinds("Read https://fund.example.org/teddy-vs-neuroblastoma. Thanks");
        assert!(found.iter().any(
            |(s, k)| s == "https://fund.example.org/teddy-vs-neuroblastoma" && *k == PhiKind::Url
        ));
    }

    #[test]
    fn detects_ipv4_and_ipv6_addresses() {
        assert!(
            kinds("from 203.0.113.57 today")
                .iter()
                .any(|(s, k)| s == "203.0.113.57" && *k == PhiKind::Ip)
        );
        assert!(
            kinds("host 2001:db8::1f")
                .iter()
                .any(|(s, k)| s == "2001:db8::1f" && *k == PhiKind::Ip)
        );
        assert!(
            kinds("at 03:10:22 and HLA-B*57:01")
                .iter()
                .all(|(_, k)| *k != PhiKind::Ip)
        );
    }

    #[test]
    fn detects_fediverse_handles_as_other_id() {
        let found = kinds("cc @nurse_jo@care.example thanks");
        assert!(
            found
                .iter()
                .any(|(s, k)| s == "@nurse_jo@care.example" && *k == PhiKind::OtherId)
        );
    }
}
