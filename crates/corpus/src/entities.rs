//! Named character references in EPUB XML. XHTML 1.1 content documents (most EPUB 2 books) use
//! `&nbsp;`, `&mdash;`, `&rsquo;` and the rest, which their external DTD defines and an XML parser
//! that loads no DTD does not know; they become numeric references here, from HTML's own table.
//! Entity declarations (`<!ENTITY`) are refused instead: no content document needs them, and
//! nested ones expand a small file into gigabytes.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::error::{CorpusError, Result};

/// XML's own five, which the XML parser resolves itself.
const XML_ENTITIES: [&str; 5] = ["amp", "lt", "gt", "quot", "apos"];

/// `text` ready for the XML parser: HTML named references as numeric ones (unknown names are left
/// for the parser to report). `entry` names the file in the error.
pub(crate) fn prepare(text: String, entry: &str) -> Result<String> {
    if text.contains("<!ENTITY") {
        return Err(CorpusError::EntityDeclarations(entry.to_owned()));
    }
    if !text.contains('&') {
        return Ok(text);
    }
    match resolve(&text) {
        Cow::Borrowed(_) => Ok(text),
        Cow::Owned(s) => Ok(s),
    }
}

fn resolve(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut done = 0;
    let mut cache: HashMap<&str, Option<String>> = HashMap::new();
    for (at, _) in text.match_indices('&') {
        if at < done {
            continue;
        }
        let rest = &text[at + 1..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        if name_len == 0 || name_len > 32 || !rest[name_len..].starts_with(';') || !rest.as_bytes()[0].is_ascii_alphabetic() {
            continue;
        }
        let name = &rest[..name_len];
        if XML_ENTITIES.contains(&name) {
            continue;
        }
        let Some(numeric) = cache.entry(name).or_insert_with(|| decode(name)).as_deref() else { continue };
        out.push_str(&text[done..at]);
        out.push_str(numeric);
        done = at + 1 + name_len + 1;
    }
    if done == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[done..]);
    Cow::Owned(out)
}

/// `&name;` as numeric references (`&#x2014;`), when HTML knows the name.
fn decode(name: &str) -> Option<String> {
    let literal = format!("&{name};");
    let fragment = scraper::Html::parse_fragment(&literal);
    let decoded: String = fragment.root_element().text().collect();
    if decoded.is_empty() || decoded == literal {
        return None;
    }
    Some(decoded.chars().map(|c| format!("&#x{:X};", c as u32)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_names_become_numeric_and_xml_names_stay() {
        let text = "<p>&ldquo;Hi,&rdquo;&nbsp;said Ann&mdash;&amp; &lt;Bob&gt; &AMP; &bogus; &#8212; AT&T &x;</p>".to_string();
        let out = prepare(text, "c.xhtml").expect("prepared");
        assert_eq!(
            out,
            "<p>&#x201C;Hi,&#x201D;&#xA0;said Ann&#x2014;&amp; &lt;Bob&gt; &#x26; &bogus; &#8212; AT&T &x;</p>"
        );
        assert!(matches!(prepare("<!DOCTYPE x [<!ENTITY a \"b\">]><x/>".into(), "c.xhtml"), Err(CorpusError::EntityDeclarations(_))));
    }
}
