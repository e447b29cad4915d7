//! Serializing a [`Value`] as compact JSON into a caller-owned buffer.

use super::{bytes_below, half, word, Value};
use crate::common::WRITE_LIMIT;

/// A text buffer JSON is written into: a `String` (the output), an arena string (strings built
/// during an execution, such as States.JsonToString's) or a byte vector. The writer only
/// appends `&str` pieces, so a string buffer holds UTF-8 without being checked again.
pub trait Out {
    /// Appends `s`.
    fn push_str(&mut self, s: &str);
    /// Bytes written so far, by which the writer keeps to [`WRITE_LIMIT`]; a buffer that does
    /// not say (0) is written whole.
    fn written(&self) -> usize {
        0
    }
}

impl Out for String {
    #[inline]
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s)
    }
    #[inline]
    fn written(&self) -> usize {
        String::len(self)
    }
}

impl Out for bumpalo::collections::String<'_> {
    #[inline]
    fn push_str(&mut self, s: &str) {
        bumpalo::collections::String::push_str(self, s)
    }
    #[inline]
    fn written(&self) -> usize {
        bumpalo::collections::String::len(self)
    }
}

impl Out for Vec<u8> {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes())
    }
    #[inline]
    fn written(&self) -> usize {
        Vec::len(self)
    }
}

/// `v` as compact JSON in the arena, or `None` when it is longer than [`WRITE_LIMIT`].
pub fn to_json_bounded<'a>(arena: &'a bumpalo::Bump, v: &Value<'_>) -> Option<&'a str> {
    let text = to_json_in(arena, v);
    (text.len() <= WRITE_LIMIT).then_some(text)
}

/// `v` as compact JSON in the arena.
pub fn to_json_in<'a>(arena: &'a bumpalo::Bump, v: &Value<'_>) -> &'a str {
    let mut out = bumpalo::collections::String::with_capacity_in(json_len(v), arena);
    write_json(&mut out, v);
    out.into_bump_str()
}

/// Stands for the execution's input when it is passed through unparsed (a program that never
/// inspects its input): identified by address, written as the input's original bytes.
pub static INPUT: &str = "\u{0}aslrt:input";

/// Appends `v` as compact JSON to `out`, writing `raw` where the value is [`INPUT`].
pub fn write_json_with_input(out: &mut impl Out, v: &Value<'_>, raw: &str) {
    write_value::<true>(out, v, raw);
}

/// Appends `v` as compact JSON to `out`.
pub fn write_json(out: &mut impl Out, v: &Value<'_>) {
    write_value::<false>(out, v, "");
}

/// The writer behind both: with `INPUT_AWARE`, a string that is [`INPUT`] is written as `raw`.
/// The flag is a constant, so plain [`write_json`] carries no check for it.
fn write_value<const INPUT_AWARE: bool>(out: &mut impl Out, v: &Value<'_>, raw: &str) {
    match *v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => out.push_str(itoa::Buffer::new().format(i)),
        Value::Float(f) => write_float(out, f),
        Value::Str(s) if INPUT_AWARE && std::ptr::eq(s, INPUT) => {
            if out.written() <= WRITE_LIMIT {
                out.push_str(raw)
            }
        }
        Value::Str(s) => write_str(out, s),
        _ if out.written() > WRITE_LIMIT => {}
        Value::Array(items) => {
            out.push_str("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",");
                }
                write_value::<INPUT_AWARE>(out, item, raw);
            }
            out.push_str("]");
        }
        Value::Object([]) => out.push_str("{}"),
        Value::Object(members) => {
            for (i, (k, item)) in members.iter().enumerate() {
                write_key(out, k, if i == 0 { "{\"" } else { ",\"" });
                write_value::<INPUT_AWARE>(out, item, raw);
            }
            out.push_str("}");
        }
    }
}

fn write_float(out: &mut impl Out, f: f64) {
    if let Some(d) = ShortDecimal::of(f) {
        d.write(out);
    } else if f.is_finite() {
        let mut buf = zmij::Buffer::new();
        let (mantissa, exponent) = float_parts(&mut buf, f);
        out.push_str(mantissa);
        if let Some(e) = exponent {
            out.push_str("e");
            out.push_str(e);
        }
    } else {
        out.push_str("null");
    }
}

/// A float of moderate size with at most four decimals (`117.99`, `0.5`, `24.0`), the common
/// case in events, spelled without the general shortest-decimal search: the decimal
/// `units / 10^digits` is the one with the fewest decimals that reads back as the float. Below
/// 1e9 two decimals of the same length are further apart than the float's precision, so that
/// one is also the one the general algorithm picks (checked against ryu in the tests).
#[derive(Clone, Copy)]
struct ShortDecimal {
    negative: bool,
    units: u64,
    digits: u32,
}

impl ShortDecimal {
    #[inline]
    fn of(f: f64) -> Option<ShortDecimal> {
        let a = f.abs();
        if !(1e-3..1e9).contains(&a) {
            return None;
        }
        // `a * 10^4` is within 1e-3 of an integer when a decimal with at most four digits reads
        // back as `a`, so rounding finds it (a truncating conversion: no call to `round`); the
        // division (exact operands, one rounding) checks that it reads back.
        let mut units = (a * 10_000.0 + 0.5) as u64;
        if units as f64 / 10_000.0 != a {
            return None;
        }
        let mut digits = 4;
        while digits > 0 && units.is_multiple_of(10) {
            units /= 10;
            digits -= 1;
        }
        Some(ShortDecimal { negative: f < 0.0, units, digits })
    }

    #[inline]
    fn write(self, out: &mut impl Out) {
        const POW: [u64; 5] = [1, 10, 100, 1000, 10000];
        if self.negative {
            out.push_str("-");
        }
        let (whole, frac) = (self.units / POW[self.digits as usize], self.units % POW[self.digits as usize]);
        out.push_str(itoa::Buffer::new().format(whole));
        if self.digits == 0 {
            out.push_str(".0");
            return;
        }
        // The fraction with its leading zeros: `frac + 10^digits` has one digit more, a 1.
        let mut buf = itoa::Buffer::new();
        let padded = buf.format(frac + POW[self.digits as usize]);
        out.push_str(".");
        out.push_str(padded.get(1..).unwrap_or_default());
    }
}

/// The shortest decimal that reads back as `f` (zmij's Schubfach-based formatting), as
/// mantissa and exponent: `1.5`, or `1.2345678901234568` and `20`. zmij spells a positive
/// exponent `e+20`; this writer has always written `e20` (as ryu does), so the `+` is dropped.
#[inline]
fn float_parts(buf: &mut zmij::Buffer, f: f64) -> (&str, Option<&str>) {
    let s = buf.format_finite(f);
    match s.split_once('e') {
        Some((m, e)) => (m, Some(e.strip_prefix('+').unwrap_or(e))),
        None => (s, None),
    }
}

/// Bytes in `w` that are `"`, `\\` or below 0x20 (each such byte has its high bit set in the
/// result; bytes after the first may be flagged spuriously, which only costs a slow step).
#[inline(always)]
fn escapes_in(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // A byte equal to `b` is zero in `w ^ b…`, so below 1.
    let equal = |b: u8| bytes_below(w ^ (ONES * u64::from(b)), 1);
    bytes_below(w, 0x20) | equal(b'"') | equal(b'\\')
}

/// Whether any byte of `bytes` must be escaped: whole words, the last one overlapping, and a
/// string shorter than a word read as two overlapping halves or three single bytes.
#[inline(always)]
fn needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let word = |at: usize| word(bytes, at);
    let half = |at: usize| u64::from(half(bytes, at));
    match n {
        0 => false,
        // Filler bytes are 'a', which never needs escaping.
        1..=3 => {
            let w = u64::from_le_bytes([bytes[0], bytes[n / 2], bytes[n - 1], b'a', b'a', b'a', b'a', b'a']);
            escapes_in(w) != 0
        }
        4..=7 => escapes_in(half(0) | half(n - 4) << 32) != 0,
        _ => {
            let mut at = 0;
            while at + 8 < n {
                if escapes_in(word(at)) != 0 {
                    return true;
                }
                at += 8;
            }
            escapes_in(word(n - 8)) != 0
        }
    }
}

/// Writes `s` as a JSON string literal, escaping only what JSON requires (as Jackson does).
/// Runs of plain bytes are found eight at a time and copied in one go.
#[inline]
pub fn write_str(out: &mut impl Out, s: &str) {
    // The check comes first and calls nothing: only `out` and `s` stay live across the pushes.
    if needs_escape(s.as_bytes()) {
        return write_escaped_quoted(out, s);
    }
    out.push_str("\"");
    out.push_str(s);
    out.push_str("\"");
}

/// An object's key after `lead` (`{"` or `,"`), and its colon: three pushes for a plain key
/// where the punctuation alone would take four.
#[inline]
fn write_key(out: &mut impl Out, k: &str, lead: &'static str) {
    if needs_escape(k.as_bytes()) {
        out.push_str(lead.get(..1).unwrap_or_default());
        write_escaped_quoted(out, k);
        return out.push_str(":");
    }
    out.push_str(lead);
    out.push_str(k);
    out.push_str("\":");
}

#[cold]
#[inline(never)]
fn write_escaped_quoted(out: &mut impl Out, s: &str) {
    out.push_str("\"");
    write_escaped(out, s);
    out.push_str("\"");
}

/// The content of a string literal that has something to escape. Every byte that needs an
/// escape is ASCII, so the plain runs between them are whole `str` slices.
#[inline(never)]
fn write_escaped(out: &mut impl Out, s: &str) {
    let bytes = s.as_bytes();
    let plain = |from: usize, to: usize| s.get(from..to).unwrap_or_default();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if i + 8 <= bytes.len() && escapes_in(word(bytes, i)) == 0 {
            i += 8;
            continue;
        }
        let b = bytes[i];
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => {
                out.push_str(plain(start, i));
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let code = [b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]];
                out.push_str(std::str::from_utf8(&code).unwrap_or_default());
                i += 1;
                start = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(plain(start, i));
        out.push_str(escape);
        i += 1;
        start = i;
    }
    out.push_str(plain(start, bytes.len()));
}

/// `v` as a compact JSON `String`, for messages.
pub fn to_json_string(v: &Value<'_>) -> String {
    let mut out = String::new();
    write_json(&mut out, v);
    out
}

/// `v` as a compact JSON `String` of exactly its length: written into a buffer kept per
/// thread, then copied once, so that a text held while a handler waits costs no more than its
/// bytes (growing a `String` by doubling left 1,169 bytes in a 2,048-byte block). For short
/// texts made and dropped at once, [`to_json_string`] is cheaper.
pub fn to_json_exact(v: &Value<'_>) -> String {
    thread_local! {
        static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUF.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            write_json(&mut *buf, v);
            let out = String::from(buf.as_str());
            if buf.capacity() > 1 << 20 {
                *buf = String::new();
            }
            out
        }
        Err(_) => to_json_string(v),
    })
}

/// The length in bytes of `v` as compact JSON, without writing it: the writer itself, keeping
/// only the length of what it appends.
pub fn json_len(v: &Value<'_>) -> usize {
    let mut n = Length(0);
    write_json(&mut n, v);
    n.0
}

/// An [`Out`] that counts bytes instead of keeping them.
struct Length(usize);

impl Out for Length {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.0 += s.len();
    }
    #[inline]
    fn written(&self) -> usize {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_long_strings_and_every_control_byte() {
        let mut text = String::from("0123456789abcdef\"q\" back\\slash tail-without-escapes-at-all é✓");
        for b in 0u8..0x20 {
            text.push(b as char);
            text.push_str("plain12345");
        }
        let mut out = Vec::new();
        write_json(&mut out, &Value::Str(&text));
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, text);
        assert_eq!(out.len(), json_len(&Value::Str(&text)));
    }

    /// Every length up to three words, with one byte that needs escaping at every position (and
    /// with none): the short-string and overlapping-word checks must miss nothing.
    #[test]
    fn finds_an_escape_at_any_position_of_any_length() {
        for n in 0..=24 {
            let plain: String = "x é~ 0".chars().cycle().take(n).collect();
            let mut out = Vec::new();
            write_json(&mut out, &Value::Str(&plain));
            assert_eq!(out, serde_json::to_vec(&plain).unwrap(), "{plain:?}");
            for at in 0..n {
                for special in ['"', '\\', '\0', '\n', '\u{1f}'] {
                    let mut chars: Vec<char> = "abcdefghijklmnopqrstuvwxyz".chars().take(n).collect();
                    chars[at] = special;
                    let text: String = chars.into_iter().collect();
                    out.clear();
                    write_json(&mut out, &Value::Str(&text));
                    assert_eq!(out, serde_json::to_vec(&text).unwrap(), "{text:?}");
                }
            }
        }
    }

    /// Floats print as the shortest decimal that reads back the same, with ryu's spelling of
    /// exponents (`1e16`, `1e-7`): checked against ryu on a spread of bit patterns.
    #[test]
    fn floats_print_as_ryu_does() {
        let mut x: u64 = 0x1234_5678_9abc_def0;
        let mut floats = vec![1e16, 1e15, 1e-7, 1e-5, 0.1, -0.0, 5e-324, f64::MAX, 3.0, 117.99, 1e21, 1.5e-10];
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            floats.push(f64::from_bits(x));
        }
        for f in floats.into_iter().filter(|f| f.is_finite()) {
            let mut out = String::new();
            write_json(&mut out, &Value::Float(f));
            assert_eq!(out, ryu::Buffer::new().format_finite(f), "{f:e}");
            assert_eq!(json_len(&Value::Float(f)), out.len());
        }
    }

    /// The short-decimal path covers floats with up to four decimals below 1e9: every one
    /// prints as ryu prints it, and so do its neighbours (one ulp away) and random floats there.
    #[test]
    fn short_decimals_print_as_ryu_does() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut floats =
            vec![0.001, 0.0012, 0.1, 0.5, 1.0, 24.0, 117.99, 39.99, 7.25, 999_999_999.999_9, 1e9, 0.000_999_9];
        for _ in 0..200_000 {
            let digits = (next() % 5) as i32;
            let units = (next() % 10u64.pow(9 + digits as u32)) as f64;
            let f = units / 10f64.powi(digits);
            floats.extend([f, -f, f64::from_bits(f.to_bits() + 1), f64::from_bits(f.to_bits().saturating_sub(1))]);
            let r = 1e-3 + (next() >> 11) as f64 / (1u64 << 53) as f64 * 1e9;
            floats.push(r);
        }
        let mut hits = 0;
        for f in floats.into_iter().filter(|f| f.is_finite()) {
            hits += usize::from(ShortDecimal::of(f).is_some());
            let mut out = String::new();
            write_json(&mut out, &Value::Float(f));
            assert_eq!(out, ryu::Buffer::new().format_finite(f), "{f:e}");
            assert_eq!(json_len(&Value::Float(f)), out.len(), "{f:e}");
        }
        assert!(hits > 350_000, "the short path was taken {hits} times");
    }

    #[test]
    fn objects_write_as_serde_json_does() {
        let arena = bumpalo::Bump::new();
        for doc in [
            serde_json::json!({}),
            serde_json::json!({"a": {}, "b": [{}], "": 1}),
            serde_json::json!({"k\"q": 1, "back\\slash": {"n\nl": [true, null]}, "\u{1}": "x", "é✓": 2.5}),
            serde_json::json!([{"a": 1}, {"plain": {"q\"": {}}}]),
        ] {
            let v = super::super::from_serde(&arena, &doc);
            let mut out = Vec::new();
            write_json(&mut out, &v);
            assert_eq!(std::str::from_utf8(&out).unwrap(), serde_json::to_string(&doc).unwrap(), "{doc}");
            assert_eq!(out.len(), json_len(&v), "{doc}");
        }
    }

    #[test]
    fn escapes_like_json() {
        let mut out = Vec::new();
        write_json(&mut out, &Value::Str("a\"b\\c\n\u{1}é"));
        assert_eq!(std::str::from_utf8(&out).unwrap(), r#""a\"b\\c\n\u0001é""#);
        out.clear();
        write_json(&mut out, &Value::Float(3.0));
        assert_eq!(out, b"3.0");
    }
}
