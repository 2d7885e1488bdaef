//! A one-line filter language for the CLI's `--filter EXPR` and the grid's search box:
//! `status:pending,rejected strategy:B flag:narration book:1 chapter:3 tag:ball tokens:10..200 unflagged
//! free words`. Keys are case-insensitive; words that are not `key:value` are searched as text.

use grimoire_store::table::examples::{ExampleFilter, QualityFlag, Status, Strategy};

use crate::{Error, Result};

fn bad(term: &str, reason: &'static str) -> Error {
    Error::BadFilter { term: term.to_string(), reason }
}

fn number<T: std::str::FromStr>(term: &str, s: &str) -> Result<T> {
    s.parse().map_err(|_| bad(term, "expected a whole number"))
}

fn flag(s: &str) -> Option<QualityFlag> {
    let wanted = s.replace('-', "_").to_lowercase();
    QualityFlag::ALL.into_iter().find(|f| serde_json::to_value(f).ok().and_then(|v| v.as_str().map(|n| n == wanted)).unwrap_or(false))
}

/// Reads a filter expression.
pub fn parse_filter(expr: &str) -> Result<ExampleFilter> {
    let mut filter = ExampleFilter::default();
    let mut words = Vec::new();
    for term in expr.split_whitespace() {
        if term.eq_ignore_ascii_case("unflagged") {
            filter.unflagged = true;
            continue;
        }
        let Some((key, value)) = term.split_once(':') else {
            words.push(term);
            continue;
        };
        let values = value.split(',').filter(|v| !v.is_empty());
        match key.to_lowercase().as_str() {
            "status" => {
                for v in values {
                    filter.status.push(Status::parse(v).map_err(|_| bad(term, "status is pending, approved or rejected"))?);
                }
            }
            "strategy" => {
                for v in values {
                    filter.strategy.push(Strategy::parse(v).map_err(|_| bad(term, "strategy is A, B, C or imported"))?);
                }
            }
            "flag" => {
                for v in values {
                    filter.flags.push(flag(v).ok_or_else(|| bad(term, "unknown flag"))?);
                }
            }
            "book" => filter.book_id = Some(number(term, value)?),
            "chapter" => filter.chapter = Some(number(term, value)?),
            "tag" => filter.tag = Some(value.to_string()),
            "tokens" => {
                let (min, max) = value.split_once("..").ok_or_else(|| bad(term, "tokens takes MIN..MAX"))?;
                filter.min_tokens = if min.is_empty() { None } else { Some(number(term, min)?) };
                filter.max_tokens = if max.is_empty() { None } else { Some(number(term, max)?) };
            }
            "text" => words.push(value),
            _ => words.push(term),
        }
    }
    if !words.is_empty() {
        filter.text = Some(words.join(" "));
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key() {
        let f = parse_filter("status:pending,Rejected strategy:b flag:near-duplicate,narration book:2 chapter:7 tag:ball tokens:10.. pemberley walk").unwrap();
        assert_eq!(f.status, vec![Status::Pending, Status::Rejected]);
        assert_eq!(f.strategy, vec![Strategy::B]);
        assert_eq!(f.flags, vec![QualityFlag::NearDuplicate, QualityFlag::Narration]);
        assert_eq!((f.book_id, f.chapter, f.tag.as_deref()), (Some(2), Some(7), Some("ball")));
        assert_eq!((f.min_tokens, f.max_tokens), (Some(10), None));
        assert_eq!(f.text.as_deref(), Some("pemberley walk"));
        assert_eq!(parse_filter("").unwrap(), ExampleFilter::default());
        assert!(parse_filter("unflagged").unwrap().unflagged);
    }

    #[test]
    fn says_which_term_is_wrong() {
        for expr in ["status:done", "strategy:Z", "flag:ugly", "book:x", "tokens:5"] {
            assert!(matches!(parse_filter(expr), Err(Error::BadFilter { term, .. }) if term == expr), "{expr}");
        }
    }
}
