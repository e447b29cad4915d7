//! RFC 3339 timestamps as AWS accepts them (uppercase `T`, `Z` or a numeric offset), as
//! nanoseconds since the Unix epoch.

/// Parses a timestamp; `None` if it is not one AWS would accept.
pub fn parse(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || !(s.ends_with('Z') || matches!(b[b.len() - 6], b'+' | b'-')) {
        return None;
    }
    let dt = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    Some(dt.timestamp() as i128 * 1_000_000_000 + dt.timestamp_subsec_nanos() as i128)
}

/// Formats milliseconds since the epoch as AWS prints times: `2024-01-01T00:00:00.000Z`.
pub fn format_millis(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

/// Formats milliseconds since the epoch like [`format_millis`], into the arena (no heap).
pub fn format_millis_in(arena: &bumpalo::Bump, ms: i64) -> &str {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return arena.alloc_str(&format_millis(ms));
    }
    let (h, min, s, milli) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000);
    let mut out = [0u8; 24];
    let mut put = |at: usize, v: i64, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, m, 2);
    put(8, d, 2);
    put(11, h, 2);
    put(14, min, 2);
    put(17, s, 2);
    put(20, milli, 3);
    for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (23, b'Z')] {
        out[at] = c;
    }
    arena.alloc_str(std::str::from_utf8(&out).unwrap_or_default())
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_aws_accepts() {
        assert_eq!(parse("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse("1970-01-01T01:00:01+01:00"), Some(1_000_000_000));
        assert!(parse("2016-03-14T01:59:00.123456Z").is_some());
        assert!(parse("2016-03-14t01:59:00Z").is_none());
        assert!(parse("2016-03-14 01:59:00Z").is_none());
        assert!(parse("2016-03-14T01:59:00").is_none());
        assert!(parse("not a time").is_none());
        assert_eq!(format_millis(1_000), "1970-01-01T00:00:01.000Z");
        let arena = bumpalo::Bump::new();
        for ms in [0, 1_000, 951_782_400_123, 1_709_251_199_999, 4_102_444_800_000, 1_234_567_890_123] {
            assert_eq!(format_millis_in(&arena, ms), format_millis(ms), "{ms}");
        }
    }
}
