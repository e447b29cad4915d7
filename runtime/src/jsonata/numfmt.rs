//! Numbers as JavaScript prints them (`Number.prototype.toString`), which is what JSONata's
//! `$string` and `&` produce. Everything is formatted on the stack: no heap allocation.

use std::fmt::{self, Write};

/// Text on the stack, enough for any `f64` in `{:e}` or `{:.14e}` form.
struct Stack {
    buf: [u8; 40],
    len: usize,
}

impl Stack {
    fn new() -> Stack {
        Stack { buf: [0; 40], len: 0 }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s and ASCII digits are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl Write for Stack {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        let end = self.len + b.len();
        self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(b);
        self.len = end;
        Ok(())
    }
}

/// The shortest digits and decimal exponent of `f` (> 0): `f = 0.d1d2… × 10^n`.
fn digits(f: f64) -> (Stack, i32) {
    // `{:e}` prints the shortest round-tripping digits: "1.2345e-7".
    let mut text = Stack::new();
    let _ = write!(text, "{f:e}");
    let (mantissa, exp) = text.as_str().split_once('e').unwrap_or((text.as_str(), "0"));
    let mut d = Stack::new();
    for c in mantissa.bytes().filter(u8::is_ascii_digit) {
        let _ = d.write_char(c as char);
    }
    while d.len > 1 && d.buf[d.len - 1] == b'0' {
        d.len -= 1;
    }
    if d.len == 0 {
        let _ = d.write_char('0');
    }
    (d, exp.parse::<i32>().unwrap_or(0) + 1)
}

/// Writes `Number.prototype.toString()` of `f` to `out`.
pub fn write_js(out: &mut impl Write, f: f64) -> fmt::Result {
    if f == 0.0 {
        return out.write_str("0");
    }
    if f.is_nan() {
        return out.write_str("NaN");
    }
    if f.is_infinite() {
        return out.write_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    }
    if f < 0.0 {
        out.write_char('-')?;
    }
    let (d, n) = digits(f.abs());
    let d = d.as_str();
    let k = d.len() as i32;
    let zeros = |out: &mut dyn Write, count: i32| (0..count).try_for_each(|_| out.write_char('0'));
    if k <= n && n <= 21 {
        out.write_str(d)?;
        zeros(out, n - k)
    } else if 0 < n && n <= 21 {
        out.write_str(&d[..n as usize])?;
        out.write_char('.')?;
        out.write_str(&d[n as usize..])
    } else if -6 < n && n <= 0 {
        out.write_str("0.")?;
        zeros(out, -n)?;
        out.write_str(d)
    } else {
        let e = n - 1;
        let esign = if e < 0 { "-" } else { "+" };
        if k == 1 {
            write!(out, "{d}e{esign}{}", e.abs())
        } else {
            write!(out, "{}.{}e{esign}{}", &d[..1], &d[1..], e.abs())
        }
    }
}

/// `Number.prototype.toString()` for a number, as a `String`.
pub fn js_to_string(f: f64) -> String {
    let mut s = String::new();
    let _ = write_js(&mut s, f);
    s
}

/// `Number(f.toPrecision(15))`: JSONata rounds numbers to 15 significant digits before printing.
pub fn precision15(f: f64) -> f64 {
    if f == 0.0 || !f.is_finite() {
        return f;
    }
    let mut text = Stack::new();
    let _ = write!(text, "{f:.14e}");
    text.as_str().parse().unwrap_or(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_javascript() {
        for (f, s) in [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012345680000.0, "123456789012345680000"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (1.5e-10, "1.5e-10"),
            (-0.0, "0"),
            (100.0, "100"),
            (1.25, "1.25"),
        ] {
            assert_eq!(js_to_string(f), s, "{f}");
        }
        assert_eq!(js_to_string(precision15(0.1 + 0.2)), "0.3");
    }
}
