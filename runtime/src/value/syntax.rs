//! Why a text is not valid JSON, in plain words: what was found or missing, and where.
//!
//! The fast parsers (simd-json, [`super::parse_small`]) only say that a text is malformed. On
//! that cold path serde_json parses it again to find the place, and its terse message
//! ("expected ident", "EOF while parsing a list") is put in words a user of the runtime knows.

/// Why `text` is not JSON: "what (line L, column C)", or `fallback` if serde_json reads it.
/// What serde_json reads and simd-json does not is an integer past 64 bits (simd-json says
/// "InvalidNumber at character N"): that is said in words too. Nesting past simd-json's 1,024
/// levels is said with simd-json's place (serde_json would stop at 128).
pub fn explain_invalid_json(text: &[u8], fallback: &str) -> String {
    // serde_json stops at 128 levels, simd-json at 1024: its place is the one to give.
    if let Some(rest) = fallback.strip_prefix("DepthLimitExceeded at character ") {
        let at = rest.split_whitespace().next().unwrap_or(rest);
        return format!("arrays and objects nest more than {} deep (character {at})", crate::common::EVENT_JSON_DEPTH);
    }
    match serde_json::from_slice::<serde_json::Value>(text) {
        Ok(_) => match fallback.strip_prefix("InvalidNumber at character ") {
            Some(rest) => {
                let at = rest.split_whitespace().next().unwrap_or(rest);
                format!(
                    "an integer outside the range aslrt reads exactly, -9223372036854775808 to \
                     18446744073709551615 (write it with a fraction or an exponent to read it as a \
                     float) (character {at})"
                )
            }
            None => fallback.to_owned(),
        },
        Err(e) => explain(&e),
    }
}

/// A serde_json syntax error in plain words, with its line and column.
pub fn explain(e: &serde_json::Error) -> String {
    let full = e.to_string();
    // serde_json's message is "<what> at line L column C"; only <what> is reworded.
    let what = full.rsplit_once(" at line ").map_or(full.as_str(), |(what, _)| what);
    let plain = match what {
        "expected ident" => "a word that is not true, false or null",
        "expected value" => "expected a value (an object, array, string, number, true, false or null)",
        "EOF while parsing a value" => "the text ends where a value was expected",
        "EOF while parsing an object" => "the text ends inside an object: a closing } is missing",
        "EOF while parsing a list" => "the text ends inside an array: a closing ] is missing",
        "EOF while parsing a string" => "the text ends inside a string: a closing \" is missing",
        "expected `:`" => "expected a colon after the member's name",
        "expected `,` or `}`" => "expected a comma or a closing } after the member's value",
        "expected `,` or `]`" => "expected a comma or a closing ] after the element",
        "key must be a string" => "expected a member name in double quotes",
        "trailing comma" => "a comma before a closing bracket, with nothing after it",
        "trailing characters" => "more text after the end of the JSON value",
        "invalid escape" => "an escape that JSON does not have (it has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
        "control character (\\u0000-\\u001F) found while parsing a string" => {
            "a control character (U+0000 to U+001F) that must be escaped in a string"
        }
        "invalid number" => "a malformed number",
        "number out of range" => "a number too large to represent",
        "invalid unicode code point" => "a \\u escape or bytes that are not a Unicode character",
        // serde_json's names: a low surrogate with no high one before it (or a high one followed
        // by an escape that is no low one); a high surrogate with no escape after it.
        "lone leading surrogate in hex escape" => {
            "a \\u escape of a surrogate that is not half of a pair: a low surrogate (\\uDC00 to \\uDFFF) must follow a high one (\\uD800 to \\uDBFF)"
        }
        "unexpected end of hex escape" => {
            "a \\u escape of a high surrogate (\\uD800 to \\uDBFF) without the \\u escape of its low surrogate after it"
        }
        "recursion limit exceeded" => "arrays and objects nested too deeply",
        other => other,
    };
    if e.line() == 0 {
        plain.to_owned()
    } else {
        format!("{plain} (line {}, column {})", e.line(), e.column())
    }
}

#[cfg(test)]
mod tests {
    use super::explain_invalid_json;

    #[test]
    fn every_mistake_is_named_in_plain_words_with_its_place() {
        for (text, expect) in [
            ("{\"a\":1,}", "a comma before a closing bracket, with nothing after it (line 1, column 8)"),
            ("{nope}", "expected a member name in double quotes (line 1, column 2)"),
            ("[tru]", "a word that is not true, false or null (line 1, column 5)"),
            ("{\"a\":\n  [1, 2", "the text ends inside an array: a closing ] is missing (line 2, column 7)"),
            ("{\"a\" 1}", "expected a colon after the member's name (line 1, column 6)"),
            ("{\"a\":1 \"b\":2}", "expected a comma or a closing } after the member's value (line 1, column 8)"),
            ("{} {}", "more text after the end of the JSON value (line 1, column 4)"),
            ("\"\\q\"", "an escape that JSON does not have (it has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) (line 1, column 3)"),
            ("", "the text ends where a value was expected (line 1, column 0)"),
            ("[01]", "a malformed number (line 1, column 3)"),
            ("[1 2]", "expected a comma or a closing ] after the element (line 1, column 4)"),
            // A low surrogate alone was once called a "lone leading surrogate".
            (
                "\"\\udc00\"",
                "a \\u escape of a surrogate that is not half of a pair: a low surrogate (\\uDC00 to \\uDFFF) must follow a high one (\\uD800 to \\uDBFF) (line 1, column 7)",
            ),
            (
                "\"\\ud800\"",
                "a \\u escape of a high surrogate (\\uD800 to \\uDBFF) without the \\u escape of its low surrogate after it (line 1, column 8)",
            ),
        ] {
            assert_eq!(explain_invalid_json(text.as_bytes(), "?"), expect, "{text:?}");
        }
        assert_eq!(explain_invalid_json(b"[1]", "what simd-json said"), "what simd-json said");
        // An integer past 64 bits: simd-json's "InvalidNumber at character 25" was all it said.
        let big =
            explain_invalid_json(b"{\"n\":123456789012345678901234567890}", "InvalidNumber at character 25 ('1')");
        assert!(big.starts_with("an integer outside the range aslrt reads exactly"), "{big}");
        assert!(big.ends_with("(character 25)"), "{big}");
    }
}
