//! Plain text in, safe HTML out: what a local status's `content` is made of.
//!
//! Everything is escaped; then links, mentions and hashtags become anchors, paragraphs
//! become `<p>` and line breaks `<br>`. Nothing the author types can produce markup.
//! Mentions keep their port (`@bob@beta.localhost:18082`), which Mastodon's own parser
//! drops.

use std::sync::LazyLock;

use regex::Regex;

/// A mention as written: `@name` or `@name@domain[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenMention {
    /// The username.
    pub username: String,
    /// The domain, if written.
    pub domain: Option<String>,
}

/// A resolved mention, for linking.
#[derive(Clone, Debug)]
pub struct LinkedMention {
    /// As written (without `@`), e.g. `bob` or `bob@beta.example`.
    pub written: String,
    /// The profile URL.
    pub url: String,
    /// The account's username (shown in the link).
    pub username: String,
}

// The patterns are constants; a unit test proves they compile.
#[allow(clippy::expect_used)]
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<url>https?://[^\s<>]+[^\s<>.,;:!?)\]}'])|(?P<mention>(?:^|[^\w@/.])@(?P<user>[A-Za-z0-9_]+)(?:@(?P<domain>[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9](?::\d{1,5})?))?)|(?P<tag>(?:^|[^\w&/#])#(?P<name>[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*))",
    )
    .expect("constant pattern")
});

/// The mentions written in `text`, in order, without duplicates.
pub fn mentions(text: &str) -> Vec<WrittenMention> {
    let mut out: Vec<WrittenMention> = Vec::new();
    for caps in TOKENS.captures_iter(text) {
        if let Some(user) = caps.name("user") {
            let m = WrittenMention {
                username: user.as_str().to_owned(),
                domain: caps.name("domain").map(|d| d.as_str().to_ascii_lowercase()),
            };
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// The hashtags written in `text`, lowercased, without duplicates.
pub fn hashtags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for caps in TOKENS.captures_iter(text) {
        if let Some(name) = caps.name("name") {
            let tag = name.as_str().to_lowercase();
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
    }
    out
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders `text` as HTML. `mentions` are the resolved ones; a mention not in the list stays
/// plain text. `tag_url` gives a hashtag's page.
pub fn to_html(text: &str, mentions: &[LinkedMention], tag_url: &dyn Fn(&str) -> String) -> String {
    let paragraphs: Vec<String> = text
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p
                .split('\n')
                .map(|line| linkify(line, mentions, tag_url))
                .collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect();
    paragraphs.concat()
}

/// A profile field's value as Mastodon shows it: one line, links and hashtags linkified,
/// everything else escaped (no paragraph).
pub fn field_value_html(value: &str, tag_url: &dyn Fn(&str) -> String) -> String {
    linkify(value.trim(), &[], tag_url)
}

fn linkify(line: &str, mentions: &[LinkedMention], tag_url: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut last = 0;
    for caps in TOKENS.captures_iter(line) {
        if let Some(url) = caps.name("url") {
            out.push_str(&escape(&line[last..url.start()]));
            let href = escape(url.as_str());
            out.push_str(&format!(
                "<a href=\"{href}\" target=\"_blank\" rel=\"nofollow noopener noreferrer\">{href}</a>"
            ));
            last = url.end();
        } else if let Some(user) = caps.name("user") {
            let written = match caps.name("domain") {
                Some(d) => format!("{}@{}", user.as_str(), d.as_str().to_ascii_lowercase()),
                None => user.as_str().to_owned(),
            };
            let Some(linked) = mentions
                .iter()
                .find(|m| m.written.eq_ignore_ascii_case(&written))
            else {
                continue;
            };
            let at = user.start() - 1;
            out.push_str(&escape(&line[last..at]));
            let end = caps.name("domain").map_or(user.end(), |d| d.end());
            out.push_str(&format!(
                "<span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
                escape(&linked.url),
                escape(&linked.username)
            ));
            last = end;
        } else if let Some(name) = caps.name("name") {
            let hash = name.start() - 1;
            out.push_str(&escape(&line[last..hash]));
            out.push_str(&format!(
                "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                escape(&tag_url(&name.as_str().to_lowercase())),
                escape(name.as_str())
            ));
            last = name.end();
        }
    }
    out.push_str(&escape(&line[last..]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str) -> String {
        format!("https://c.example/tags/{name}")
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            to_html("<script>alert(1)</script> & co", &[], &tag),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>"
        );
    }

    #[test]
    fn links_mentions_and_tags_are_linked() {
        let linked = [LinkedMention {
            written: "bob@beta.localhost:18082".into(),
            url: "http://beta.localhost:18082/@bob".into(),
            username: "bob".into(),
        }];
        let html = to_html(
            "hi @bob@beta.localhost:18082 see https://example.org/x. #CareTips",
            &linked,
            &tag,
        );
        assert!(html.contains("<a href=\"http://beta.localhost:18082/@bob\" class=\"u-url mention\">@<span>bob</span></a>"), "{html}");
        assert!(html.contains("<a href=\"https://example.org/x\""), "{html}");
        assert!(
            html.contains("href=\"https://c.example/tags/caretips\""),
            "{html}"
        );
        assert!(html.ends_with("#<span>CareTips</span></a></p>"), "{html}");
    }

    #[test]
    fn unresolved_mentions_stay_text_and_paragraphs_split() {
        assert_eq!(
            to_html("@nobody hi\nthere\n\nbye", &[], &tag),
            "<p>@nobody hi<br>there</p><p>bye</p>"
        );
    }

    #[test]
    fn mentions_keep_their_port_and_emails_are_not_mentions() {
        assert_eq!(
            mentions("@pat and @bob@Beta.localhost:18082, mail pat@example.org"),
            vec![
                WrittenMention {
                    username: "pat".into(),
                    domain: None
                },
                WrittenMention {
                    username: "bob".into(),
                    domain: Some("beta.localhost:18082".into())
                },
            ]
        );
        assert_eq!(hashtags("#One #one #2x and a&#39;"), vec!["one", "2x"]);
    }
}
