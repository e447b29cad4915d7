//! Numbers as JavaScript prints them (`Number.prototype.toString`), which is what JSONata's
//! `$string` and `&` produce.

/// The shortest digits and decimal exponent of `f` (> 0): `f = 0.d1d2… × 10^n`.
fn digits(f: f64) -> (String, i32) {
    // `{:e}` prints the shortest round-tripping digits: "1.2345e-7".
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0".to_owned() } else { digits.to_owned() };
    (digits, exp.parse::<i32>().unwrap_or(0) + 1)
}

/// `Number.prototype.toString()` for a finite number.
pub fn js_to_string(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let (d, n) = digits(f.abs());
    let k = d.len() as i32;
    let body = if k <= n && n <= 21 {
        format!("{d}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &d[..n as usize], &d[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{d}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let esign = if e < 0 { "-" } else { "+" };
        if k == 1 {
            format!("{d}e{esign}{}", e.abs())
        } else {
            format!("{}.{}e{esign}{}", &d[..1], &d[1..], e.abs())
        }
    };
    format!("{sign}{body}")
}

/// `Number(f.toPrecision(15))`: JSONata rounds numbers to 15 significant digits before printing.
pub fn precision15(f: f64) -> f64 {
    if f == 0.0 || !f.is_finite() {
        return f;
    }
    format!("{f:.14e}").parse().unwrap_or(f)
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
