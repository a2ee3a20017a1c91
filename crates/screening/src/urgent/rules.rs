//! The rule table in `data/urgent/rules.txt`: which combinations of signals make a label.
//!
//! Rules are data, so that each decision can be explained by the name of the rule that fired
//! and the cues it used, and so that a reviewer can audit the clusters ("chest pain AND one of
//! sweating, arm or jaw pain, breathlessness…") without reading Rust. The grammar is tiny:
//!
//! ```text
//! <kind> <name> = <term> & <term> & ...      kind: emergency | crisis | sensitive_care | derive
//! unless <label> = <term> & ...              suppresses every rule of that label
//! term = ['!'] signal ('|' signal)*          a negated or plain alternation
//! ```
//!
//! `derive` defines a new signal from earlier ones; later lines may use it. Rules are checked
//! when loading: every signal they name must exist, so a typo is an error, not a silent miss.

use super::UrgentError;
use super::UrgentLabel;

/// The embedded rule table.
pub(crate) const RULE_FILE: (&str, &str) =
    ("rules.txt", include_str!("../../data/urgent/rules.txt"));

/// One alternation of signals, possibly negated.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    pub negated: bool,
    pub any_of: Vec<usize>,
}

/// What a rule line does when its condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Label(UrgentLabel),
    Derive(usize),
    Unless(UrgentLabel),
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub name: String,
    pub kind: Kind,
    pub terms: Vec<Term>,
}

impl Rule {
    /// True when every term holds on `active`.
    pub(crate) fn holds(&self, active: &[bool]) -> bool {
        self.terms.iter().all(|t| {
            let any = t
                .any_of
                .iter()
                .any(|&s| active.get(s).copied().unwrap_or(false));
            any != t.negated
        })
    }
}

fn parse_label(word: &str) -> Option<UrgentLabel> {
    match word {
        "emergency" => Some(UrgentLabel::Emergency),
        "crisis" => Some(UrgentLabel::Crisis),
        "sensitive_care" => Some(UrgentLabel::SensitiveCare),
        _ => None,
    }
}

/// Parses the rule table. Derived signals are appended to `names`/`ids` as they are defined.
pub(crate) fn parse(
    (file, body): (&str, &str),
    names: &mut Vec<String>,
    ids: &mut std::collections::HashMap<String, usize>,
) -> Result<Vec<Rule>, UrgentError> {
    let mut rules = Vec::new();
    for (n, raw) in body.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |message: String| UrgentError::Data {
            file: file.to_owned(),
            line: n + 1,
            message,
        };
        let Some((head, cond)) = line.split_once('=') else {
            return Err(bad("expected `<kind> <name> = <condition>`".to_owned()));
        };
        let mut words = head.split_whitespace();
        let (Some(kind_word), Some(name), None) = (words.next(), words.next(), words.next()) else {
            return Err(bad(
                "expected exactly a kind and a name before `=`".to_owned()
            ));
        };
        let mut terms = Vec::new();
        for raw_term in cond.split('&') {
            let raw_term = raw_term.trim();
            let (negated, body) = match raw_term.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, raw_term),
            };
            let mut any_of = Vec::new();
            for sig in body.split('|') {
                let sig = sig.trim();
                let Some(&id) = ids.get(sig) else {
                    return Err(bad(format!("rule {name} uses unknown signal {sig:?}")));
                };
                any_of.push(id);
            }
            terms.push(Term { negated, any_of });
        }
        if terms.iter().all(|t| t.negated) {
            return Err(bad(format!("rule {name} needs at least one positive term")));
        }
        let kind = match kind_word {
            "derive" => {
                if ids.contains_key(name) {
                    return Err(bad(format!("derived signal {name} already exists")));
                }
                let id = names.len();
                names.push(name.to_owned());
                ids.insert(name.to_owned(), id);
                Kind::Derive(id)
            }
            "unless" => match parse_label(name) {
                Some(l) => Kind::Unless(l),
                None => return Err(bad(format!("unknown label {name:?} after `unless`"))),
            },
            other => match parse_label(other) {
                Some(l) => Kind::Label(l),
                None => return Err(bad(format!("unknown rule kind {other:?}"))),
            },
        };
        rules.push(Rule {
            name: name.to_owned(),
            kind,
            terms,
        });
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn table(sigs: &[&str]) -> (Vec<String>, HashMap<String, usize>) {
        let names: Vec<String> = sigs.iter().map(|s| (*s).to_owned()).collect();
        let ids = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        (names, ids)
    }

    #[test]
    fn rule_grammar_parses_terms_negation_and_derived_signals() {
        let (mut names, mut ids) = table(&["a", "b", "c"]);
        let src = "derive ab = a | b\nemergency r = ab & !c\nunless crisis = c\n";
        let rules = parse(("t", src), &mut names, &mut ids);
        let Ok(rules) = rules else {
            panic!("{:?}", rules.err())
        };
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].kind, Kind::Derive(3));
        assert!(rules[1].holds(&[false, false, false, true]));
        assert!(!rules[1].holds(&[false, false, true, true]));
    }

    #[test]
    fn unknown_signal_is_an_error_with_its_line() {
        let (mut names, mut ids) = table(&["a"]);
        match parse(("t", "\nemergency r = a & zz\n"), &mut names, &mut ids) {
            Err(UrgentError::Data { line, message, .. }) => {
                assert_eq!(line, 2);
                assert!(message.contains("zz"));
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }
}
