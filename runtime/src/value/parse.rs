//! Building [`Value`]s: from a simd-json tape (the event), or from serde_json (definition constants).

use super::Value;
use bumpalo::Bump;
use simd_json::{Node, StaticNode};

/// The event is not valid JSON.
#[derive(Debug, Clone)]
pub struct ParseError {
    /// The parser's description.
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
    on_tape(buf, scratch, |nodes, _| from_tape(arena, nodes))
}

/// Fills the worker's tape from `buf` and gives `f` the tape's nodes and the start of each
/// token (simd-json's structural indexes).
fn on_tape<'a, T>(
    buf: &'a mut [u8],
    scratch: &mut ParseBuffers,
    f: impl FnOnce(&[Node<'a>], &[u32]) -> T,
) -> Result<T, ParseError> {
    // The tape's allocation is kept between parses; `reset` empties it and rebinds its lifetime.
    let mut t: simd_json::Tape<'a> = simd_json::Tape(std::mem::take(&mut scratch.tape)).reset();
    let result = match simd_json::fill_tape(buf, &mut scratch.buffers, &mut t) {
        Ok(()) => Ok(f(&t.0, scratch.buffers.structural_indexes())),
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
    on_tape(buf, scratch, |_, _| ())
}

/// Validates `buf`, a copy of the JSON text `text`, as [`validate_in_place`] does, and tells
/// whether `text` is spelled exactly as this runtime writes the value it holds, so that it can
/// be passed through as it is: no whitespace between tokens (spaces in strings are the writer's),
/// no escape but those the writer writes (`\"`, `\\`, `\n`, `\u001f`), and every number in the
/// writer's spelling (an integer within `i64`, not `-0`; or a float below 1e9 with one to four
/// decimals and no trailing zero, `71.4`, `24.0`, as `ShortDecimal` writes it). It is
/// conservative: a text it turns down is parsed and written again, which gives the writer's
/// spelling (`2.50` becomes `2.5`, `"\u0041"` becomes `"A"`), as the unoptimised program always
/// does.
pub fn validate_canonical(buf: &mut [u8], text: &[u8], scratch: &mut ParseBuffers) -> Result<bool, ParseError> {
    on_tape(buf, scratch, |nodes, structurals| canonical_text(text, nodes, structurals))
}

/// [`validate_canonical`]'s check of a valid text, given its tape and the start of each of its
/// tokens (simd-json's structural indexes; a string's token starts at its opening quote).
/// Whitespace between tokens, and any escape the writer would not write (`\/`, `\u0041`, a
/// `\u` escape where the writer has a short one), turn it down. Then only a float, `-0` or an
/// integer past `i64` may be spelled otherwise than the writer spells it (an integer within
/// `i64` has one JSON spelling, which itoa writes), and only when the tape holds one is each
/// number's token read. Each step past the first scan runs only when the text needs it.
fn canonical_text(text: &[u8], nodes: &[Node<'_>], structurals: &[u32]) -> bool {
    // Tabs and line breaks are whitespace between tokens, and cannot stand unescaped in strings.
    if memchr::memchr3(b'\n', b'\r', b'\t', text).is_some() {
        return false;
    }
    if memchr::memchr(b'\\', text).is_some() && !escapes_as_written(text) {
        return false;
    }
    let n = text.len();
    // A token's bytes run to the start of the next token, whitespace after it included.
    let end = |k: usize| structurals.get(k + 1).map_or(n, |&e| (e as usize).min(n));
    // A space may stand in a string only: the token it falls in is a string, and the space
    // comes before that token's last byte, which is the closing quote (a space after the quote
    // would be the last byte instead). Each token is looked at once, whatever its spaces.
    let mut from = 0;
    while let Some(p) = memchr::memchr(b' ', &text[from..]).map(|i| from + i) {
        let Some(k) = structurals.partition_point(|&at| at as usize <= p).checked_sub(1) else {
            return false;
        };
        let (at, end) = (structurals[k] as usize, end(k));
        if text.get(at) != Some(&b'"') || end < at + 2 || text[end - 1] != b'"' || p + 1 >= end {
            return false;
        }
        from = end;
    }
    // simd-json reads a non-negative integer as U64, a negative one as I64: `-0` is I64(0), and
    // a U64 past i64 becomes a float when the tree is built.
    let suspect = |n: &Node<'_>| match n {
        Node::Static(StaticNode::F64(_) | StaticNode::I64(0)) => true,
        Node::Static(StaticNode::U64(u)) => i64::try_from(*u).is_err(),
        _ => false,
    };
    if !nodes.iter().any(suspect) {
        return true;
    }
    // With no whitespace between tokens, a number's token runs to the start of the next.
    structurals.iter().enumerate().all(|(k, &at)| match text.get(at as usize) {
        Some(b'-' | b'0'..=b'9') => text.get(at as usize..end(k)).is_some_and(canonical_number),
        _ => true,
    })
}

/// Whether every escape in `text` (valid JSON: escapes stand only in strings) is the one the
/// writer writes for its character: `\"`, `\\`, the short escapes of the five control
/// characters that have one, and `\u00xx` in lower-case hex for the other control characters.
fn escapes_as_written(text: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\\', &text[from..]).map(|i| from + i) {
        from = match text.get(i + 1..) {
            Some([b'"' | b'\\' | b'n' | b'r' | b't' | b'b' | b'f', ..]) => i + 2,
            Some([b'u', b'0', b'0', hi @ (b'0' | b'1'), lo, ..]) => {
                let low = match lo {
                    b'0'..=b'9' => lo - b'0',
                    b'a'..=b'f' => lo - b'a' + 10,
                    _ => return false,
                };
                // The five with a short escape are written short.
                if matches!((hi - b'0') << 4 | low, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                    return false;
                }
                i + 6
            }
            _ => return false,
        };
    }
    true
}

/// See [`validate_canonical`]: an integer of at most 18 digits (surely within `i64`) but `-0`,
/// or a float of at most 9 digits before its point and 1 to 4 after it, the fewest that read
/// back (no trailing zero but in `x.0`), at least 1e-3.
fn canonical_number(token: &[u8]) -> bool {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    let int_len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    let (int, rest) = digits.split_at(int_len);
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return false;
    }
    match rest {
        // An integer within i64, as itoa writes it.
        [] => int.len() <= 18 && token != b"-0",
        // A float in 1e-3..1e9 with at most four decimals: the fewest decimals that read back.
        [b'.', frac @ ..] => {
            let fewest = match frac {
                b"0" => int != b"0",
                _ => frac.last() != Some(&b'0') && !(int == b"0" && frac.starts_with(b"000")),
            };
            (1..=4).contains(&frac.len()) && frac.iter().all(u8::is_ascii_digit) && int.len() <= 9 && fewest
        }
        _ => false,
    }
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

    /// Whether `text` is valid and canonical, as the runtime asks it.
    fn canonical(text: &str) -> bool {
        let mut buf = text.as_bytes().to_vec();
        let mut buffers = ParseBuffers::default();
        validate_canonical(&mut buf, text.as_bytes(), &mut buffers).unwrap_or(false)
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
            assert!(!canonical(text), "{text}");
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
            assert!(canonical(text), "{text}");
            assert_eq!(rewritten(text), text);
        }
    }

    /// A JSON string spelled with spaces and escapes of every kind, the writer's and others.
    fn string() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        "([a-z0-9 .é-]|\\\\u00[01][0-9a-fA-F]|\\\\[\"nrtbf/]|\\\\\\\\|\\\\u0041){0,6}".prop_map(|s| format!("\"{s}\""))
    }

    /// A JSON text built from `pieces`, with numbers, strings and whitespace spelled in many
    /// ways, for the proptest below.
    fn document() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let number = (
            "-?",
            "(0|[1-9][0-9]{0,19})",
            proptest::option::of("[0-9]{1,6}"),
            proptest::option::of("[eE][+-]?[0-9]{1,3}"),
        )
            .prop_map(|(sign, int, frac, exp)| {
                let mut n = format!("{sign}{int}");
                if let Some(f) = frac {
                    n = format!("{n}.{f}");
                }
                n + exp.as_deref().unwrap_or("")
            });
        let string = string();
        let space = "( |\n)?";
        let leaf = prop_oneof![number, string, Just("true".to_owned()), Just("null".to_owned())];
        leaf.prop_recursive(3, 24, 4, move |inner| {
            prop_oneof![
                (proptest::collection::vec(inner.clone(), 0..4), space)
                    .prop_map(|(items, sp)| format!("[{}]", items.join(&format!("{sp},{sp}")))),
                (proptest::collection::vec(("[a-z]{1,3}", inner), 0..4), space).prop_map(|(members, sp)| {
                    let members: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\"{sp}:{sp}{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    #[test]
    fn canonical_texts_of_every_shape_pass() {
        for text in [r#"{}"#, r#"[]"#, r#"[{},[],""]"#, r#"{"ab":"x","c":[true,false,null,-1,0.5,0,7]}"#] {
            assert!(canonical(text), "{text}");
            assert_eq!(rewritten(text), text);
        }
        for text in [r#"{ }"#, r#"{"a": 1}"#, r#"[1 ,2]"#, r#"{"a":1 }"#, r#"{"a":"x" }"#, r#"{"a\"":"x\" " }"#] {
            assert!(!canonical(text), "{text}");
        }
    }

    /// Spaces in strings, and the escapes the writer writes, are as the writer spells them (an
    /// EventBridge event holds both: a user agent, a JSON document in a string).
    #[test]
    fn spaces_in_strings_and_the_writers_escapes_are_canonical() {
        for text in [
            r#"{"a":"x y","b":" ","c":"{\"k\":\"v w\"}"}"#,
            r#"["\\","\"\"","\n\r\t\b\f","\u0000\u001f\u0007","a \\"," \" "]"#,
        ] {
            assert!(canonical(text), "{text}");
            assert_eq!(rewritten(text), text);
        }
        for text in [r#"["\u000a"]"#, r#"["\u001F"]"#, r#"["\u0020"]"#, r#"["\u007f"]"#, r#"["\u00e9"]"#] {
            assert!(!canonical(text), "{text}");
            assert_ne!(rewritten(text), text);
        }
    }

    /// simd-json finds strings 64 bytes at a time, carrying quotes and backslashes from one
    /// block to the next: escapes and spaces at every offset around a block's end are judged as
    /// the writer writes them.
    #[test]
    fn escapes_and_spaces_across_simd_blocks() {
        for pad in 50..80 {
            let prefix = "p".repeat(pad);
            for tail in [r#"a\"b c"#, r#"\\ "#, r#"\\"#, r#" \n\u0001"#, r#"\/ x"#, r#"\u000A"#, r#"x\""#] {
                for text in [format!(r#"["{prefix}{tail}",1]"#), format!(r#"{{"{prefix}":"{tail} ","k":[2.5]}}"#)] {
                    assert_eq!(canonical(&text), rewritten(&text) == text, "{text}");
                }
            }
        }
    }

    proptest::proptest! {
        /// Whatever a number's spelling, a text that passes for canonical is what the writer
        /// writes for it.
        #[test]
        fn a_canonical_number_is_what_the_writer_writes(
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
            if canonical(&doc) {
                proptest::prop_assert_eq!(rewritten(&doc), doc);
            }
        }

        /// Whatever a string's spelling, a text that passes for canonical is what the writer
        /// writes for it, and one the writer writes so passes.
        #[test]
        fn a_canonical_string_is_what_the_writer_writes(s in string(), t in string(), sp in "( )?") {
            let doc = format!("[{s}{sp},{{{s}{sp}:{t}}}]");
            proptest::prop_assert_eq!(canonical(&doc), rewritten(&doc) == doc);
        }

        /// Whatever the document, one that passes for canonical is what the writer writes.
        #[test]
        fn a_canonical_document_is_what_the_writer_writes(doc in document()) {
            if canonical(&doc) {
                proptest::prop_assert_eq!(rewritten(&doc), doc);
            }
        }
    }
}
