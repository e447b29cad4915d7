//! A scalar parser for small, plain JSON texts (an embedded document such as
//! States.StringToJson's `{"campaign":"spring-sale","medium":"email"}`), where simd-json's
//! fixed cost per document outweighs its speed. Strings are borrowed from the text itself.
//!
//! It takes only what it can read exactly as simd-json does: strings without escapes or control
//! characters, integers of at most 18 digits, decimals in JSON's grammar (read by `str::parse`,
//! correctly rounded like simd-json's), at most 32 levels deep. Anything else, valid or not, is
//! `None`, and the caller parses with simd-json (which also words the errors).

use super::Value;
use bumpalo::Bump;

/// Longer texts go to simd-json.
const MAX_LEN: usize = 512;
const MAX_DEPTH: u32 = 32;

/// `text` as a value, if it is small and plain enough (see the module documentation).
pub fn parse_small<'a>(arena: &'a Bump, text: &'a str) -> Option<Value<'a>> {
    if text.len() > MAX_LEN {
        return None;
    }
    let mut p = Parser { arena, text, at: 0 };
    let v = p.value(0)?;
    p.skip_ws();
    (p.at == text.len()).then_some(v)
}

struct Parser<'a> {
    arena: &'a Bump,
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        let hit = self.peek() == Some(b);
        self.at += usize::from(hit);
        hit
    }

    fn value(&mut self, depth: u32) -> Option<Value<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.peek()? {
            b'{' => {
                self.at += 1;
                let mut members = bumpalo::collections::Vec::new_in(self.arena);
                if !self.eat(b'}') {
                    loop {
                        self.skip_ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return None;
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Value::Object(members.into_bump_slice()))
            }
            b'[' => {
                self.at += 1;
                let mut items = bumpalo::collections::Vec::new_in(self.arena);
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                    }
                }
                Some(Value::Array(items.into_bump_slice()))
            }
            b'"' => self.string().map(Value::Str),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &str, v: Value<'a>) -> Option<Value<'a>> {
        let hit = self.text.as_bytes().get(self.at..self.at + word.len()) == Some(word.as_bytes());
        self.at += word.len();
        hit.then_some(v)
    }

    /// A string without escapes or control characters, borrowed from the text.
    fn string(&mut self) -> Option<&'a str> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.at + 1;
        let len = self.text.as_bytes()[start..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if self.text.as_bytes()[start + len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    /// JSON's number grammar; integers of up to 18 digits are `Int`, decimals `Float`.
    fn number(&mut self) -> Option<Value<'a>> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        let mut at = start + usize::from(bytes.get(start) == Some(&b'-'));
        let int_digits = digits(&mut at);
        // No leading zeros ("01"), and "-0" (whose kind simd-json decides) is left to it.
        if int_digits == 0 || (bytes[at - int_digits] == b'0' && (int_digits > 1 || bytes[start] == b'-')) {
            return None;
        }
        let mut decimal = false;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            decimal = true;
            if digits(&mut at) == 0 {
                return None;
            }
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            decimal = true;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if digits(&mut at) == 0 {
                return None;
            }
        }
        let text = self.text.get(start..at)?;
        self.at = at;
        if decimal {
            text.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::Float)
        } else if int_digits <= 18 {
            text.parse::<i64>().ok().map(Value::Int)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{parse_copy, to_json_string, ParseBuffers};
    use proptest::prelude::*;

    /// What simd-json makes of `text`, written back as JSON with each number's kind.
    fn by_simd_json(text: &str) -> Option<String> {
        let arena = Bump::new();
        parse_copy(&arena, text, &mut ParseBuffers::default()).ok().map(|v| shape(&v))
    }

    /// JSON text, with every number marked as integer or float.
    fn shape(v: &Value<'_>) -> String {
        match v {
            Value::Int(i) => format!("i{i}"),
            Value::Float(f) => format!("f{f:?}"),
            Value::Array(items) => format!("[{}]", items.iter().map(shape).collect::<Vec<_>>().join(",")),
            Value::Object(m) => {
                format!("{{{}}}", m.iter().map(|(k, v)| format!("{k:?}:{}", shape(v))).collect::<Vec<_>>().join(","))
            }
            other => to_json_string(other),
        }
    }

    fn agrees(text: &str) {
        let arena = Bump::new();
        if let Some(v) = parse_small(&arena, text) {
            assert_eq!(Some(shape(&v)), by_simd_json(text), "{text}");
        }
    }

    #[test]
    fn reads_plain_documents_and_leaves_the_rest() {
        let arena = Bump::new();
        let v = parse_small(&arena, r#" {"campaign":"spring-sale","n":[1,-2,3.5,1e2,true,null],"o":{}} "#).unwrap();
        assert_eq!(shape(&v), r#"{"campaign":"spring-sale","n":[i1,i-2,f3.5,f100.0,true,null],"o":{}}"#);
        for other in [
            r#""a\nb""#,
            "-0",
            "01",
            "1.",
            ".5",
            "1e",
            "12345678901234567890",
            "[1,]",
            "{\"a\" 1}",
            "tru",
            "[1] x",
            "\"\u{1}\"",
            "NaN",
            "",
        ] {
            assert!(parse_small(&arena, other).is_none(), "{other:?}");
        }
        for text in ["0", "-1", "1.5e-7", "[]", "{}", "\"é✓\"", "[[[]]]", " [ 1 , 2 ] ", "123456789012345678"] {
            assert!(parse_small(&arena, text).is_some(), "{text:?}");
            agrees(text);
        }
    }

    proptest! {
        /// Whatever it reads, it reads as simd-json does (value and number kind).
        #[test]
        fn agrees_with_simd_json(text in r#"[ \[\]{}:,"a-e0-9.\-+Eetrufasln]{0,40}"#) {
            agrees(&text);
        }

        #[test]
        fn agrees_on_generated_documents(v in proptest::collection::vec((any::<i32>(), any::<f64>(), "[a-z ]{0,6}"), 0..6)) {
            let doc = serde_json::Value::Array(v.iter().map(|(i, f, s)| serde_json::json!({"i": i, "f": f, "s": s})).collect());
            agrees(&doc.to_string());
        }
    }
}
