//! A message's HTML as its sender formatted it, made safe to show inside
//! the workspace (ammonia): paragraphs, emphasis, lists, tables and
//! headings stay; script, styles, forms, frames, pictures, links and every
//! attribute that could run or fetch anything go. The page's
//! Content-Security-Policy would block script and other hosts anyway; this
//! is the first wall, not the only one.

use std::collections::HashSet;

/// HTML larger than this is not shown formatted (its text still is).
pub(super) const MAX_HTML_BYTES: usize = 512 * 1024;

/// What the message page shows of a message's HTML.
pub(super) enum Formatted {
    /// Sanitised markup, safe to print unescaped.
    Shown(String),
    /// There is HTML, but too much of it to show formatted.
    TooLarge,
}

/// The sanitised form of `html`, or why it is not shown.
pub(super) fn formatted(html: &str) -> Formatted {
    if html.len() > MAX_HTML_BYTES {
        return Formatted::TooLarge;
    }
    Formatted::Shown(sanitiser().clean(html).to_string())
}

fn sanitiser() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    // Pictures would be fetched from wherever the sender points (a tracking
    // pixel tells the sender who read the message and when); links are
    // kept as their text, so nothing in a constituent's mail can be
    // clicked through from a children's records system.
    b.rm_tags(["img", "a", "map", "area"])
        .url_schemes(HashSet::new())
        .url_relative(ammonia::UrlRelative::Deny)
        .strip_comments(true);
    // ammonia's defaults allow no id, class or style: nothing from the
    // sender can take the look of the page's own buttons and banners.
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> String {
        match formatted(html) {
            Formatted::Shown(s) => s,
            Formatted::TooLarge => panic!("too large"),
        }
    }

    #[test]
    fn formatting_stays() {
        let out = clean(
            "<p>Dear <b>Sir</b>,</p><ul><li>one</li></ul><table><tr><td>2 May</td></tr></table>",
        );
        assert_eq!(
            out,
            "<p>Dear <b>Sir</b>,</p><ul><li>one</li></ul><table><tbody><tr><td>2 May</td></tr></tbody></table>"
        );
    }

    #[test]
    fn what_could_run_fetch_or_be_clicked_goes() {
        let out = clean(concat!(
            "<script>alert(1)</script><style>p{color:red}</style>",
            "<p onclick=\"x()\" style=\"color:red\" class=\"govuk-button\" id=\"main-content\">text</p>",
            "<img src=\"https://tracker.example/p.gif\" alt=\"pixel\">",
            "<a href=\"javascript:alert(1)\">click</a><a href=\"https://phish.example/\">here</a>",
            "<iframe src=\"https://x.example/\"></iframe><form action=\"/cases/x/close\"><input name=a></form>",
            "<!-- a comment --><svg><script>alert(2)</script></svg>",
        ));
        assert_eq!(out, "<p>text</p>clickhere");
    }

    #[test]
    fn too_much_html_is_not_formatted() {
        let big = "<p>x</p>".repeat(MAX_HTML_BYTES / 8 + 1);
        assert!(matches!(formatted(&big), Formatted::TooLarge));
    }
}
