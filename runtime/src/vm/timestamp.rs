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
    }
}
