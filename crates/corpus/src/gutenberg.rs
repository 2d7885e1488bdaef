//! Locating the book inside a Project Gutenberg file: everything between the "*** START OF" and
//! "*** END OF" markers (and their older variants), as a byte range of the unchanged text.

/// Returns the byte range of the book body. Text without Gutenberg markers is returned whole.
pub fn body_range(text: &str) -> std::ops::Range<usize> {
    let mut start = 0;
    let mut end = text.len();
    let mut offset = 0;
    let mut found_start = false;
    for line in text.split_inclusive('\n') {
        let line_end = offset + line.len();
        let upper = line.trim().to_ascii_uppercase();
        if !found_start && is_start_marker(&upper) {
            start = line_end;
            found_start = true;
        } else if is_end_marker(&upper) && offset >= start {
            end = offset;
            break;
        }
        offset = line_end;
    }
    if start > end {
        return 0..text.len();
    }
    start..end
}

fn is_start_marker(upper: &str) -> bool {
    (upper.starts_with("***") || upper.starts_with("*END*"))
        && (upper.contains("START OF TH") || upper.contains("START OF PROJECT") || upper.contains("THE SMALL PRINT"))
}

fn is_end_marker(upper: &str) -> bool {
    (upper.starts_with("***") && upper.contains("END OF TH") && upper.contains("GUTENBERG"))
        || upper.starts_with("END OF THE PROJECT GUTENBERG")
        || upper.starts_with("END OF PROJECT GUTENBERG")
        || (upper.starts_with("***") && upper.contains("END OF PROJECT GUTENBERG"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_header_and_footer() {
        let text = "The Project Gutenberg eBook of X\r\n\r\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\r\nCHAPTER I.\r\n\r\nBody.\r\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\r\nlicense";
        let r = body_range(text);
        assert_eq!(&text[r], "CHAPTER I.\r\n\r\nBody.\r\n");
    }

    #[test]
    fn plain_text_is_whole() {
        assert_eq!(body_range("just a book"), 0..11);
    }
}
