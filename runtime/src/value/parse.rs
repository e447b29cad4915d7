//! Building [`Value`]s: from a simd-json tape (the event), or from serde_json (definition constants).

use super::Value;
use bumpalo::Bump;
use simd_json::{Node, StaticNode};

/// The event is not valid JSON.
#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// simd-json's reusable buffers and tape: one per worker, reused for every event and every
/// States.StringToJson.
pub struct ParseBuffers {
    buffers: simd_json::Buffers,
    tape: Vec<Node<'static>>,
}

impl Default for ParseBuffers {
    fn default() -> Self {
        ParseBuffers { buffers: simd_json::Buffers::new(4096), tape: Vec::new() }
    }
}

/// Parses `buf` in place with simd-json (strings are unescaped inside `buf` and borrowed from it).
pub fn parse_in_place<'a>(
    arena: &'a Bump,
    buf: &'a mut [u8],
    scratch: &mut ParseBuffers,
) -> Result<Value<'a>, ParseError> {
    // The tape's allocation is kept between parses; `reset` empties it and rebinds its lifetime.
    let mut t: simd_json::Tape<'a> = simd_json::Tape(std::mem::take(&mut scratch.tape)).reset();
    let result = match simd_json::fill_tape(buf, &mut scratch.buffers, &mut t) {
        Ok(()) => Ok(from_tape(arena, &t.0)),
        Err(e) => Err(ParseError { message: e.to_string() }),
    };
    scratch.tape = t.reset().0;
    result
}

/// Parses `text` into `arena`: simd-json unescapes strings in place, so the text is copied
/// into the arena first and the value's strings borrow that copy.
pub fn parse_copy<'a>(arena: &'a Bump, text: &str, scratch: &mut ParseBuffers) -> Result<Value<'a>, ParseError> {
    parse_in_place(arena, arena.alloc_slice_copy(text.as_bytes()), scratch)
}

/// Checks that `buf` is one JSON document, without building values (simd-json's tape only).
pub fn validate_in_place(buf: &mut [u8], scratch: &mut ParseBuffers) -> Result<(), ParseError> {
    let mut t: simd_json::Tape<'_> = simd_json::Tape(std::mem::take(&mut scratch.tape)).reset();
    let result =
        simd_json::fill_tape(buf, &mut scratch.buffers, &mut t).map_err(|e| ParseError { message: e.to_string() });
    scratch.tape = t.reset().0;
    result
}

/// Whether `text` (valid JSON) is spelled exactly as this runtime writes the value it holds, so
/// that it can be passed through as it is: compact, no escape in any string, and every number
/// in the writer's spelling (an integer of at most 18 digits, not `-0`; or a float below 1e9
/// with one to four decimals and no trailing zero, `71.4`, `24.0`, spelled as `ShortDecimal`
/// writes it). It is conservative: a text it turns down is parsed and written again, which
/// gives the writer's spelling (`2.50` becomes `2.5`, `"\u0041"` becomes `"A"`), as the
/// unoptimised program always does.
pub fn is_canonical(text: &[u8]) -> bool {
    if !is_compact(text) {
        return false;
    }
    let mut rest = text;
    loop {
        // Outside strings: up to the next quote.
        let Some(open) = memchr::memchr(b'"', rest) else {
            return numbers_canonical(rest);
        };
        if !numbers_canonical(&rest[..open]) {
            return false;
        }
        // A string without escapes ends at the next quote.
        let inside = &rest[open + 1..];
        match memchr::memchr2(b'"', b'\\', inside) {
            Some(close) if inside[close] == b'"' => rest = &inside[close + 1..],
            _ => return false,
        }
    }
}

/// Whether every number in `text`, a stretch of JSON outside any string, is spelled as the
/// writer spells it.
fn numbers_canonical(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'-' || text[i].is_ascii_digit() {
            let start = i;
            while i < text.len() && matches!(text[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            if !canonical_number(&text[start..i]) {
                return false;
            }
        } else {
            i += 1;
        }
    }
    true
}

/// See [`is_canonical`].
fn canonical_number(token: &[u8]) -> bool {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], Some(&digits[dot + 1..])),
        None => (digits, None),
    };
    let all_digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !all_digits(int) || (int.len() > 1 && int[0] == b'0') {
        return false;
    }
    match frac {
        // An integer within i64, as itoa writes it.
        None => int.len() <= 18 && token != b"-0",
        // A float in 1e-3..1e9 with at most four decimals: the fewest decimals that read back.
        Some(frac) => {
            let fewest = match frac {
                b"0" => int != b"0",
                _ => frac.last() != Some(&b'0') && !(int == b"0" && frac.starts_with(b"000")),
            };
            all_digits(frac) && frac.len() <= 4 && int.len() <= 9 && fewest
        }
    }
}

/// No whitespace byte (nor any byte below 0x20) anywhere: the text is compact JSON.
pub fn is_compact(text: &[u8]) -> bool {
    let mut chunks = text.chunks_exact(8);
    for c in &mut chunks {
        // A byte <= 0x20 is below 0x21.
        if super::bytes_below(super::word(c, 0), 0x21) != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| b > 0x20)
}

/// Builds the value that starts at `nodes[0]`.
pub fn from_tape<'a>(arena: &'a Bump, nodes: &[Node<'a>]) -> Value<'a> {
    if nodes.is_empty() {
        return Value::Null;
    }
    let mut root = Value::Null;
    build_into(&mut root, arena, nodes, 0);
    root
}

/// Builds the value at `nodes[at]` into `slot` and returns the index of the node after it.
/// Every value is written where it stays, in its parent's slot: a value returned by the call
/// and then copied into the slot would be read back whole right after being written in
/// pieces, which stalls on store forwarding. The position is passed and returned by value, so
/// that it stays in a register across the members instead of going through memory.
fn build_into<'a>(slot: &mut Value<'a>, arena: &'a Bump, nodes: &[Node<'a>], at: usize) -> usize {
    let Some(&node) = nodes.get(at) else { return at };
    let mut at = at + 1;
    match node {
        Node::String(s) => *slot = Value::Str(s),
        Node::Static(s) => *slot = static_value(s),
        Node::Array { len, .. } => {
            let items = arena.alloc_slice_fill_copy(len, Value::Null);
            for item in items.iter_mut() {
                at = child_into(item, arena, nodes, at);
            }
            *slot = Value::Array(items);
        }
        Node::Object { len, .. } => {
            let members = arena.alloc_slice_fill_copy(len, ("", Value::Null));
            for (key, member) in members.iter_mut() {
                if let Some(Node::String(k)) = nodes.get(at) {
                    *key = k;
                }
                at = child_into(member, arena, nodes, at + 1);
            }
            *slot = Value::Object(members);
        }
    }
    at
}

/// A member or element: scalars (most of a document) are made here, without the call that
/// containers take into [`build_into`].
#[inline(always)]
fn child_into<'a>(slot: &mut Value<'a>, arena: &'a Bump, nodes: &[Node<'a>], at: usize) -> usize {
    match nodes.get(at) {
        Some(&Node::String(s)) => {
            *slot = Value::Str(s);
            at + 1
        }
        Some(&Node::Static(s)) => {
            *slot = static_value(s);
            at + 1
        }
        _ => build_into(slot, arena, nodes, at),
    }
}

fn static_value(s: StaticNode) -> Value<'static> {
    match s {
        StaticNode::Null => Value::Null,
        StaticNode::Bool(b) => Value::Bool(b),
        StaticNode::I64(i) => Value::Int(i),
        StaticNode::U64(u) => i64::try_from(u).map_or(Value::Float(u as f64), Value::Int),
        StaticNode::F64(f) => Value::Float(f),
    }
}

/// Copies a serde_json value into the arena; strings are borrowed from `v`.
pub fn from_serde<'a>(arena: &'a Bump, v: &'a serde_json::Value) -> Value<'a> {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(a) => {
            Value::Array(arena.alloc_slice_fill_iter(a.iter().map(|x| from_serde(arena, x))))
        }
        serde_json::Value::Object(o) => {
            Value::Object(arena.alloc_slice_fill_iter(o.iter().map(|(k, x)| (k.as_str(), from_serde(arena, x)))))
        }
    }
}

impl Value<'_> {
    /// Converts to serde_json, for the convenience edges of the API and for tests.
    pub fn to_serde(&self) -> serde_json::Value {
        match *self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Int(i) => serde_json::Value::from(i),
            Value::Float(f) => {
                serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
            Value::Str(s) => serde_json::Value::String(s.to_owned()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_serde).collect()),
            Value::Object(o) => {
                let mut map = serde_json::Map::new();
                for (k, v) in o {
                    map.insert((*k).to_owned(), v.to_serde());
                }
                serde_json::Value::Object(map)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_in_place_and_borrows_strings() {
        let arena = Bump::new();
        let mut buf = br#"{"a":"x\ny","b":[1,2.5,true,null],"c":18446744073709551615}"#.to_vec();
        let v = parse_in_place(&arena, &mut buf, &mut ParseBuffers::default()).unwrap();
        assert_eq!(v.get("a"), Some(Value::Str("x\ny")));
        assert_eq!(v.get("b").unwrap().as_array().unwrap().len(), 4);
        assert!(matches!(v.get("c"), Some(Value::Float(_))));
    }

    #[test]
    fn rejects_malformed_json() {
        let arena = Bump::new();
        let mut buf = b"{\"a\":".to_vec();
        assert!(parse_in_place(&arena, &mut buf, &mut ParseBuffers::default()).is_err());
    }

    /// `text` parsed and written again by the runtime.
    fn rewritten(text: &str) -> String {
        let arena = Bump::new();
        let mut buf = text.as_bytes().to_vec();
        let v = parse_in_place(&arena, &mut buf, &mut ParseBuffers::default()).expect("valid JSON");
        let mut out = String::new();
        super::super::write_json(&mut out, &v);
        out
    }

    /// Issue #13: an event passed through unparsed must read as the unoptimised program writes
    /// it. Each text here is turned down, and each is indeed written otherwise.
    #[test]
    fn texts_the_writer_spells_otherwise_are_not_canonical() {
        for text in [
            r#"{"a":2.50}"#,
            r#"{"a":1e2}"#,
            r#"{"a":-0}"#,
            r#"{"a":-0.0}"#,
            r#"{"a":0.0}"#,
            r#"{"a":0.1e1}"#,
            r#"{"a":1.5E-7}"#,
            r#"{"a":0.00001}"#,
            r#"{"a":1234567890.5}"#,
            r#"{"a":"x\u0041"}"#,
            r#"{"a":"\/"}"#,
            r#"{"a\u0041":1}"#,
            r#"[1, 2]"#,
            r#"1234567890123456789012"#,
        ] {
            assert!(!is_canonical(text.as_bytes()), "{text}");
        }
        for text in [r#"{"a":2.50}"#, r#"{"a":1e2}"#, r#"{"a":-0}"#, r#"{"a":"x\u0041"}"#, r#"{"a":0.1e1}"#] {
            assert_ne!(rewritten(text), text);
        }
    }

    #[test]
    fn texts_as_the_writer_spells_them_are_canonical() {
        for text in [
            r#"{"eventId":"3f9a","reading":{"t":71.4,"h":38.2,"v":-4.7,"rpm":1480},"ok":true,"n":null,"tags":["a-0","b"]}"#,
            r#"[0,-1,24.0,0.5,0.001,999999999.9999,123456789012345678,"1.50","-0","e"]"#,
            r#""plain""#,
            "-12",
        ] {
            assert!(is_canonical(text.as_bytes()), "{text}");
            assert_eq!(rewritten(text), text);
        }
    }

    proptest::proptest! {
        /// Whatever a number's spelling, a text that passes for canonical is what the writer
        /// writes for it.
        #[test]
        fn a_canonical_text_is_what_the_writer_writes(
            sign in "-?",
            int in "(0|[1-9][0-9]{0,19})",
            frac in proptest::option::of("[0-9]{1,6}"),
            exp in proptest::option::of("[eE][+-]?[0-9]{1,3}"),
            text in "[a-z0-9. -]{0,6}",
        ) {
            let mut number = format!("{sign}{int}");
            if let Some(f) = frac {
                number.push('.');
                number.push_str(&f);
            }
            if let Some(e) = exp {
                number.push_str(&e);
            }
            let doc = format!(r#"{{"k":[{number},"{text}"]}}"#);
            let arena = Bump::new();
            let mut buf = doc.as_bytes().to_vec();
            if parse_in_place(&arena, &mut buf, &mut ParseBuffers::default()).is_ok() && is_canonical(doc.as_bytes()) {
                proptest::prop_assert_eq!(rewritten(&doc), doc);
            }
        }
    }
}
