//! Sanitising remote HTML to what Mastodon keeps (its `Sanitize::Config::MASTODON_STRICT`
//! plus the relaxed elements of 4.x): paragraphs, line breaks, links, spans with
//! microformat/mention classes, lists, quotes, code, emphasis, headings and ruby.
//! Everything else is dropped (scripts, styles, images, iframes, event handlers, `style`
//! attributes, `javascript:` links). Links get `rel="nofollow noopener noreferrer"`.

use std::collections::{HashMap, HashSet};

/// Returns `html` with only the allowed tags, attributes, classes and URL schemes.
pub fn sanitize_html(html: &str) -> String {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "span",
        "a",
        "del",
        "s",
        "pre",
        "blockquote",
        "code",
        "b",
        "strong",
        "u",
        "i",
        "em",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ruby",
        "rt",
        "rp",
    ]
    .into_iter()
    .collect();
    let mut attributes: HashMap<&str, HashSet<&str>> = HashMap::new();
    attributes.insert("a", ["href", "translate"].into_iter().collect());
    attributes.insert("span", ["translate"].into_iter().collect());
    attributes.insert("ol", ["start", "reversed"].into_iter().collect());
    attributes.insert("li", ["value"].into_iter().collect());
    let classes: HashSet<&str> = [
        "h-card",
        "u-url",
        "mention",
        "hashtag",
        "invisible",
        "ellipsis",
        "quote-inline",
        "e-content",
        "h-entry",
    ]
    .into_iter()
    .collect();
    let mut allowed_classes: HashMap<&str, HashSet<&str>> = HashMap::new();
    allowed_classes.insert("a", classes.clone());
    allowed_classes.insert("span", classes);
    let schemes: HashSet<&str> = [
        "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini",
    ]
    .into_iter()
    .collect();
    ammonia::Builder::default()
        .tags(tags)
        .tag_attributes(attributes)
        .generic_attributes(HashSet::new())
        .allowed_classes(allowed_classes)
        .url_schemes(schemes)
        .link_rel(Some("nofollow noopener noreferrer"))
        .clean(html)
        .to_string()
}

/// Plain text for a content warning: tags removed, entities kept escaped, trimmed. A CW of
/// only zero-width spaces (Misskey's empty CW) is no CW.
pub fn plain_summary(summary: &str) -> String {
    let text = ammonia::Builder::empty().clean(summary).to_string();
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{200b}');
    trimmed.to_owned()
}

/// A titled post's HTML: the title as a bold first paragraph, then the (already sanitised)
/// content. Lemmy's `Page` and blogs' `Article` keep the title in `name`, which Mastodon apps
/// never show, so without this a thread would lose its subject line. The title is plain text
/// (as ActivityStreams defines `name`) and is escaped, never parsed as HTML.
pub fn with_title(title: &str, content_html: &str) -> String {
    let title = title.trim();
    if title.is_empty() {
        return content_html.to_owned();
    }
    format!(
        "<p><strong>{}</strong></p>{content_html}",
        escape_html(title)
    )
}

/// `text` escaped for HTML element content, the form the sanitiser itself writes
/// (`ammonia::clean_text` also escapes spaces, which peers would show as `&#32;`). Not for
/// attribute values: quotes are kept.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_styles_and_handlers_are_removed() {
        let out = sanitize_html(
            "<p onclick=\"x()\" style=\"color:red\">hi<script>alert(1)</script>\
             <img src=x onerror=y><a href=\"javascript:alert(1)\">j</a>\
             <a href=\"https://e.example/\" class=\"mention evil\">@e</a></p>",
        );
        assert!(!out.contains("script"), "{out}");
        assert!(!out.contains("onclick"), "{out}");
        assert!(!out.contains("style"), "{out}");
        assert!(!out.contains("img"), "{out}");
        assert!(!out.contains("javascript"), "{out}");
        assert!(out.contains("class=\"mention\""), "{out}");
        assert!(
            out.contains("rel=\"nofollow noopener noreferrer\""),
            "{out}"
        );
    }

    #[test]
    fn an_empty_misskey_cw_is_no_cw() {
        assert_eq!(plain_summary("\u{200b}"), "");
        assert_eq!(plain_summary(" <b>CW</b> "), "CW");
    }

    #[test]
    fn a_title_becomes_a_bold_first_paragraph() {
        assert_eq!(
            with_title(
                " Respite care options: what worked for you? ",
                "<p>Ask the provider.</p>"
            ),
            "<p><strong>Respite care options: what worked for you?</strong></p><p>Ask the provider.</p>"
        );
        // A link post without a body still shows its title.
        assert_eq!(with_title("Guide", ""), "<p><strong>Guide</strong></p>");
    }

    #[test]
    fn a_title_is_text_not_html() {
        let out = with_title("<script>x()</script> & \"Q's\"", "");
        assert_eq!(
            out,
            "<p><strong>&lt;script&gt;x()&lt;/script&gt; &amp; \"Q's\"</strong></p>"
        );
        // What the title produces survives sanitising unchanged (nothing is dropped twice).
        assert_eq!(sanitize_html(&out), out);
    }

    #[test]
    fn a_blank_title_adds_nothing() {
        assert_eq!(with_title("  ", "<p>body</p>"), "<p>body</p>");
    }
}
