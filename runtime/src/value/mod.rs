//! The JSON value the VM works on: `Copy`, borrowed from the event buffer or the execution arena.
//!
//! A [`Value`] never owns anything. Strings point into the event buffer (simd-json unescapes them
//! in place) or into the per-execution [`bumpalo::Bump`]; arrays and objects are slices in that
//! arena. Copying a `Value` copies 24 bytes, never the document it stands for, so a state that
//! passes its input on, or a path that selects a sub-tree, costs nothing.

mod parse;
mod small;
mod syntax;
mod write;

pub use parse::{
    from_serde, from_tape, parse_copy, parse_in_place, validate_canonical, validate_in_place, ParseBuffers, ParseError,
};
pub use small::parse_small;
pub use syntax::{explain, explain_invalid_json};
pub use write::{
    json_len, to_json_bounded, to_json_exact, to_json_in, to_json_string, write_json, write_json_with_input, write_str,
    Out, INPUT,
};

use bumpalo::Bump;

/// The per-execution arena type, for callers that build values themselves.
pub type Arena = Bump;

/// A JSON value borrowed for the lifetime `'a` of one execution.
///
/// Objects keep their members in document order, which is the order AWS prints them in.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number written without fraction or exponent that fits an `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string, borrowed from the event or allocated in the execution's arena.
    Str(&'a str),
    /// An array, in the arena.
    Array(&'a [Value<'a>]),
    /// An object's members in document order; a repeated key is kept, and reading it gives the
    /// last one, as Jackson does.
    Object(&'a [(&'a str, Value<'a>)]),
}

const _: () = assert!(std::mem::size_of::<Value<'static>>() == 24);

impl Value<'_> {
    /// The very same value: equal scalars, or the same string, array or object in memory.
    /// Cheaper than `==`, which compares containers member by member.
    pub(crate) fn is_same(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len(),
            (Value::Array(a), Value::Array(b)) => std::ptr::eq(a.as_ptr(), b.as_ptr().cast()) && a.len() == b.len(),
            (Value::Object(a), Value::Object(b)) => std::ptr::eq(a.as_ptr(), b.as_ptr().cast()) && a.len() == b.len(),
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        }
    }
}

/// The 8 bytes of `s` at `at`, little-endian: one unaligned load (a slice-to-array conversion).
#[inline(always)]
pub(crate) fn word(s: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// The 4 bytes of `s` at `at`, little-endian.
#[inline(always)]
pub(crate) fn half(s: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]))
}

/// The bytes of `w` below `n` (`n` ≤ 0x80), each flagged by its high bit; bytes after the first
/// flagged one may be flagged spuriously (a borrow), which callers only use as a yes/no.
#[inline(always)]
pub(crate) fn bytes_below(w: u64, n: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH
}

/// The last member named `key` (a repeated key's last value wins, as in Jackson). Every key
/// length is compared by word or byte loads in plain loops, so that nothing here becomes a
/// call: a definite path's walk inlines it and stays a function that calls nothing.
#[inline(always)]
pub(crate) fn last_member<'a>(members: &'a [(&'a str, Value<'a>)], key: &[u8]) -> Option<&'a Value<'a>> {
    if let Some(words) = KeyWords::of(key) {
        return words.last_in(members);
    }
    let n = key.len();
    if n <= 3 {
        // A key this short is its bytes, as one number.
        let bytes = |k: &[u8]| match *k {
            [a] => u32::from(a),
            [a, b] => u32::from_le_bytes([a, b, 0, 0]),
            [a, b, c] => u32::from_le_bytes([a, b, c, 0]),
            _ => 0,
        };
        let a = bytes(key);
        return last_of_len(members, n, |k| bytes(k) == a);
    }
    // Longer than 16 bytes: the last 8 bytes, then words at 0, 8, 16, … (the last overlapping them).
    let last = word(key, n - 8);
    last_of_len(members, n, |k| {
        if word(k, n - 8) != last {
            return false;
        }
        let mut at = 0;
        while at + 8 < n && word(k, at) == word(key, at) {
            at += 8;
        }
        at + 8 >= n
    })
}

/// The last member whose key is `n` bytes long and `same`; `same` sees only keys of that
/// length, so it may load any of their bytes.
#[inline(always)]
fn last_of_len<'a>(
    members: &'a [(&'a str, Value<'a>)],
    n: usize,
    same: impl Fn(&[u8]) -> bool,
) -> Option<&'a Value<'a>> {
    let mut i = members.len();
    while i > 0 {
        i -= 1;
        let (k, v) = &members[i];
        if k.len() == n && same(k.as_bytes()) {
            return Some(v);
        }
    }
    None
}

/// A key of 4 to 16 bytes as a member lookup compares it: its length, and its first and last
/// four bytes (up to 7 bytes) or eight bytes (8 to 16), which together cover every byte. A
/// path keeps its names' words from compile time (`Path::names`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeyWords {
    len: usize,
    first: u64,
    last: u64,
}

impl KeyWords {
    /// The words of `key` when it is 4 to 16 bytes long.
    #[inline(always)]
    pub fn of(key: &[u8]) -> Option<KeyWords> {
        let len = key.len();
        match len {
            4..=7 => Some(KeyWords { len, first: half(key, 0).into(), last: half(key, len - 4).into() }),
            8..=16 => Some(KeyWords { len, first: word(key, 0), last: word(key, len - 8) }),
            _ => None,
        }
    }

    /// The last member with this key.
    #[inline(always)]
    pub(crate) fn last_in<'a>(&self, members: &'a [(&'a str, Value<'a>)]) -> Option<&'a Value<'a>> {
        let KeyWords { len, first, last } = *self;
        if len < 8 {
            let (a, b) = (first as u32, last as u32);
            last_of_len(members, len, |k| half(k, 0) == a && half(k, len - 4) == b)
        } else {
            last_of_len(members, len, |k| word(k, 0) == first && word(k, len - 8) == last)
        }
    }
}

/// [`last_member`] out of line, for [`Value::member`]: callers that inline it grow by its
/// four loops.
#[inline(never)]
fn find_member<'a>(members: &'a [(&'a str, Value<'a>)], key: &[u8]) -> Option<&'a Value<'a>> {
    last_member(members, key)
}

/// The JSON type names AWS uses in its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `null`
    Null,
    /// `boolean`
    Boolean,
    /// `number`
    Number,
    /// `string`
    String,
    /// `array`
    Array,
    /// `object`
    Object,
}

impl Kind {
    /// The name AWS's messages and JSONata's `$type` use: `null`, `boolean`, `number`, …
    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Boolean => "boolean",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

impl<'a> Value<'a> {
    /// `{}`.
    pub const EMPTY_OBJECT: Value<'static> = Value::Object(&[]);
    /// `[]`.
    pub const EMPTY_ARRAY: Value<'static> = Value::Array(&[]);

    /// The value's JSON type.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Boolean,
            Value::Int(_) | Value::Float(_) => Kind::Number,
            Value::Str(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    /// The member `key` of an object. With duplicate keys the last one wins, as in Jackson.
    #[inline]
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.member(key).copied()
    }

    /// [`get`](Self::get) as a reference into the object's members. Walking a path through
    /// references copies no value until its end: a `Value` returned from each step would be
    /// stored in pieces and reloaded whole, which stalls on store forwarding.
    #[inline]
    pub fn member(&self, key: &str) -> Option<&'a Value<'a>> {
        match *self {
            Value::Object(members) => find_member(members, key.as_bytes()),
            _ => None,
        }
    }

    /// The element at `index` of an array, counted from the end when negative (`[-1]`).
    #[inline]
    pub fn element(&self, index: i64) -> Option<&'a Value<'a>> {
        let items = self.as_array()?;
        let at = if index < 0 { items.len() as i64 + index } else { index };
        usize::try_from(at).ok().and_then(|i| items.get(i))
    }

    /// The string, if this is one.
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is an array.
    #[inline]
    pub fn as_array(&self) -> Option<&'a [Value<'a>]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    #[inline]
    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&'a [(&'a str, Value<'a>)]> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The number as a float, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Whether this is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Float(_))
    }

    /// An integer value, also from a float without fraction (`3.0`), as Jackson's `canConvertToLong`.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 9.2e18 => Some(*f as i64),
            _ => None,
        }
    }

    /// The same value with `key` set to `value`, in a shallow copy of this object's member list:
    /// a new key goes after the members, an existing key takes the value at its first position
    /// and its later repeats are dropped (a non-object counts as an empty object).
    pub fn with_member(&self, arena: &'a Bump, key: &'a str, value: Value<'a>) -> Value<'a> {
        let members = self.as_object().unwrap_or(&[]);
        if last_member(members, key.as_bytes()).is_none() {
            // A new key (the usual ResultPath): the members copied whole, the new one after them.
            let out = arena.alloc_slice_fill_copy(members.len() + 1, (key, value));
            out[..members.len()].copy_from_slice(members);
            return Value::Object(out);
        }
        let mut out = bumpalo::collections::Vec::with_capacity_in(members.len() + 1, arena);
        let mut replaced = false;
        for &(k, v) in members {
            if k == key {
                if !replaced {
                    out.push((k, value));
                    replaced = true;
                }
            } else {
                out.push((k, v));
            }
        }
        if !replaced {
            out.push((key, value));
        }
        Value::Object(out.into_bump_slice())
    }
}

/// JSON equality: numbers compare by value (`1` equals `1.0`), objects ignore member order.
impl PartialEq for Value<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (a, b) if a.is_number() && b.is_number() => a.as_f64() == b.as_f64(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| other.get(k).is_some_and(|w| w == *v))
            }
            _ => false,
        }
    }
}

/// Why a text given as JSON is not JSON: what was found or missing, and where (line and
/// column), in plain words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidJson {
    message: String,
}

impl std::fmt::Display for InvalidJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidJson {}

impl Value<'_> {
    /// The value as compact JSON, exactly as the runtime writes an execution's output.
    ///
    /// # Example
    /// ```
    /// use aslrt::{ArenaExt, Value};
    /// let arena = bumpalo::Bump::new();
    /// let v = arena.object([("id", Value::Int(7)), ("tags", arena.array([arena.string("a")]))]);
    /// assert_eq!(v.to_json(), r#"{"id":7,"tags":["a"]}"#);
    /// ```
    ///
    /// The `String` is exactly as long as the text (no spare capacity), since hosts keep it.
    pub fn to_json(&self) -> String {
        to_json_exact(self)
    }

    /// Appends the value as compact JSON to `out` (see [`Value::to_json`]).
    pub fn write_json_to(&self, out: &mut String) {
        write_json(out, self);
    }
}

/// Allocation helpers over the per-execution arena.
pub trait ArenaExt<'a> {
    /// An array of `items`, in the arena.
    fn array(&'a self, items: impl IntoIterator<Item = Value<'a>>) -> Value<'a>;
    /// An object of `members`, in order, in the arena.
    fn object(&'a self, members: impl IntoIterator<Item = (&'a str, Value<'a>)>) -> Value<'a>;
    /// A copy of `s` in the arena.
    fn string(&'a self, s: &str) -> Value<'a>;
    /// `text` parsed as one JSON document into the arena (a handler's result given as text).
    ///
    /// # Example
    /// ```
    /// use aslrt::ArenaExt;
    /// let arena = bumpalo::Bump::new();
    /// let v = arena.parse_json(r#"{"a": [1, 2.5, "x"]}"#).unwrap();
    /// assert_eq!(v.get("a").unwrap().to_json(), r#"[1,2.5,"x"]"#);
    /// let e = arena.parse_json("[1,").unwrap_err();
    /// assert_eq!(e.to_string(), "the text ends where a value was expected (line 1, column 3)");
    /// ```
    fn parse_json(&'a self, text: &str) -> Result<Value<'a>, InvalidJson>;
}

impl<'a> ArenaExt<'a> for Bump {
    fn array(&'a self, items: impl IntoIterator<Item = Value<'a>>) -> Value<'a> {
        Value::Array(bumpalo::collections::Vec::from_iter_in(items, self).into_bump_slice())
    }
    fn object(&'a self, members: impl IntoIterator<Item = (&'a str, Value<'a>)>) -> Value<'a> {
        Value::Object(bumpalo::collections::Vec::from_iter_in(members, self).into_bump_slice())
    }
    fn string(&'a self, s: &str) -> Value<'a> {
        Value::Str(self.alloc_str(s))
    }
    fn parse_json(&'a self, text: &str) -> Result<Value<'a>, InvalidJson> {
        thread_local! {
            static BUFFERS: std::cell::RefCell<ParseBuffers> = std::cell::RefCell::new(ParseBuffers::default());
        }
        let parsed = BUFFERS.with(|b| match b.try_borrow_mut() {
            Ok(mut buffers) => parse_copy(self, text, &mut buffers),
            // Called from inside itself (a handler parsing on this thread): buffers of its own.
            Err(_) => parse_copy(self, text, &mut ParseBuffers::default()),
        });
        parsed.map_err(|e| InvalidJson { message: explain_invalid_json(text.as_bytes(), &e.to_string()) })
    }
}

/// Objects for testing member lookups at every key length.
#[cfg(test)]
pub(crate) mod key_lengths {
    use super::Value;

    /// The key of `n` bytes (`abc…`), then the keys that must be told apart from it: those of
    /// `n` bytes that differ from it in one byte, and those one byte shorter or longer
    /// (a NUL byte included).
    pub fn keys(n: usize) -> (String, Vec<String>) {
        let key: String = "abcdefghijklmnopqrstuvwxyz".chars().take(n).collect();
        let mut near: Vec<String> =
            (0..n).map(|i| key.chars().enumerate().map(|(j, c)| if i == j { 'Z' } else { c }).collect()).collect();
        near.extend([format!("{key}a"), format!("{key}\0"), format!("\0{key}")]);
        if n > 0 {
            near.extend([key[..n - 1].to_owned(), key[1..].to_owned()]);
        }
        (key, near)
    }

    /// Two objects in which a lookup must give 2 for `key` and -2 for each other key: the other
    /// keys (value -1) with `key` (1) among them, then `key` again (2) and the other keys again
    /// (-2); and the other keys (-2) followed by `key` (2), seen first from the end.
    pub fn objects<'k>(key: &'k str, near: &'k [String]) -> [Vec<(&'k str, Value<'k>)>; 2] {
        let mut members: Vec<(&str, Value<'_>)> = near.iter().map(|k| (k.as_str(), Value::Int(-1))).collect();
        members.insert(members.len() / 2, (key, Value::Int(1)));
        members.push((key, Value::Int(2)));
        members.extend(near.iter().map(|k| (k.as_str(), Value::Int(-2))));
        let mut key_last: Vec<(&str, Value<'_>)> = near.iter().map(|k| (k.as_str(), Value::Int(-2))).collect();
        key_last.push((key, Value::Int(2)));
        [members, key_last]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Member lookup at every key length up to 24 (one number for up to 3 bytes, two words or
    /// half-words for 4 to 16, words for the rest): keys differing from the one looked up in
    /// any single byte, or one byte shorter or longer, are told apart, and a repeated key gives
    /// its last value.
    #[test]
    fn member_lookup_at_every_key_length() {
        for n in 0..=24usize {
            let (key, near) = key_lengths::keys(n);
            for members in key_lengths::objects(&key, &near) {
                let object = Value::Object(&members);
                assert_eq!(object.get(&key), Some(Value::Int(2)), "{key:?}");
                for k in &near {
                    assert_eq!(object.get(k), Some(Value::Int(-2)), "{k:?}");
                }
                let longer = format!("{key}b");
                assert_eq!(object.get(&longer), None, "{longer:?}");
            }
        }
    }

    #[test]
    fn equality_is_by_json_value() {
        let arena = Bump::new();
        let (x, y) = (serde_json::json!({"a": 1, "b": [1.0, "x"]}), serde_json::json!({"b": [1, "x"], "a": 1.0}));
        let (a, b) = (from_serde(&arena, &x), from_serde(&arena, &y));
        assert_eq!(a, b);
        assert_ne!(a, Value::Null);
    }
}

/// A constant of the compiled program (a literal in the definition), owned by the program.
#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(Box<str>),
    /// An array.
    Array(Box<[Const]>),
    /// An object, members in order.
    Object(Box<[(Box<str>, Const)]>),
}

impl Const {
    /// The constant a serde_json value holds.
    pub fn from_serde(v: &serde_json::Value) -> Const {
        match v {
            serde_json::Value::Null => Const::Null,
            serde_json::Value::Bool(b) => Const::Bool(*b),
            serde_json::Value::Number(n) => n.as_i64().map_or(Const::Float(n.as_f64().unwrap_or(0.0)), Const::Int),
            serde_json::Value::String(s) => Const::Str(s.as_str().into()),
            serde_json::Value::Array(a) => Const::Array(a.iter().map(Const::from_serde).collect()),
            serde_json::Value::Object(o) => {
                Const::Object(o.iter().map(|(k, v)| (k.as_str().into(), Const::from_serde(v))).collect())
            }
        }
    }

    /// The value of this constant for one execution. Scalars take no allocation; arrays and
    /// objects get their slices in the arena, with strings borrowed from the program.
    #[inline]
    pub fn materialize<'a>(&'a self, arena: &'a Bump) -> Value<'a> {
        let mut v = Value::Null;
        self.materialize_into(&mut v, arena);
        v
    }

    /// [`materialize`](Self::materialize) written into `slot`, where the value stays: a value
    /// returned and then copied into its slot is read back whole right after being written in
    /// pieces, which stalls on store forwarding.
    pub fn materialize_into<'a>(&'a self, slot: &mut Value<'a>, arena: &'a Bump) {
        match self {
            Const::Null => *slot = Value::Null,
            Const::Bool(b) => *slot = Value::Bool(*b),
            Const::Int(i) => *slot = Value::Int(*i),
            Const::Float(f) => *slot = Value::Float(*f),
            Const::Str(s) => *slot = Value::Str(s),
            Const::Array(items) => {
                let out = arena.alloc_slice_fill_copy(items.len(), Value::Null);
                for (c, item) in items.iter().zip(out.iter_mut()) {
                    c.materialize_into(item, arena);
                }
                *slot = Value::Array(out);
            }
            Const::Object(members) => {
                let out = arena.alloc_slice_fill_copy(members.len(), ("", Value::Null));
                for ((k, c), member) in members.iter().zip(out.iter_mut()) {
                    member.0 = k;
                    c.materialize_into(&mut member.1, arena);
                }
                *slot = Value::Object(out);
            }
        }
    }
}

/// The simd-json implementation that parses events on this CPU, chosen at run time
/// (`AVX2`, `SSE42`, or the portable fallback).
pub fn simd_implementation() -> String {
    simd_json::Deserializer::algorithm().to_string()
}

#[cfg(all(test, target_arch = "x86_64"))]
mod simd_tests {
    /// Runtime detection must pick the widest stage-1 parser the CPU supports.
    #[test]
    fn uses_the_cpus_simd_path() {
        let expect = if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("pclmulqdq") {
            "AVX2"
        } else if std::is_x86_feature_detected!("sse4.2") {
            "SSE42"
        } else {
            "Rust Native"
        };
        assert_eq!(super::simd_implementation(), expect);
    }
}
