//! UTC instants as Graph writes them (`2026-11-01T10:00:00Z`, optionally with fractions), to and
//! from Unix seconds, without a date crate.

use std::time::{SystemTime, UNIX_EPOCH};

pub const DAY: i64 = 86_400;

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Unix seconds of an ISO 8601 UTC instant (`Z` or `+00:00`); None for anything else.
pub fn parse(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.len() < 19 || !t.is_char_boundary(19) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if &t[4..5] != "-" || &t[7..8] != "-" || !matches!(&t[10..11], "T" | "t" | " ") || &t[13..14] != ":" {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let rest = t[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if !(rest.is_empty() || rest.eq_ignore_ascii_case("z") || rest == "+00:00") {
        return None;
    }
    Some(days_from_civil(y, mo as u32, d as u32) * DAY + h * 3600 + mi * 60 + s)
}

/// `2026-11-01T10:00:00Z`.
pub fn format(unix: i64) -> String {
    let (date, time) = civil(unix);
    format!("{date}T{time}Z")
}

/// `2026-11-01T10:00:00.123Z`: journal records keep milliseconds.
pub fn format_millis(unix: i64, millis: u32) -> String {
    let (date, time) = civil(unix);
    format!("{date}T{time}.{millis:03}Z")
}

/// Now with milliseconds, as `format_millis` writes it.
pub fn now_millis() -> String {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format_millis(since.as_secs() as i64, since.subsec_millis())
}

/// (`yyyy-MM-dd`, `HH:mm:ss`) of Unix seconds.
fn civil(unix: i64) -> (String, String) {
    let (y, m, d) = civil_from_days(unix.div_euclid(DAY));
    let rem = unix.rem_euclid(DAY);
    (format!("{y:04}-{m:02}-{d:02}"), format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60))
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whole days from `then` to `now` (0 for the future).
pub fn days_since(then: i64, now: i64) -> i64 {
    (now - then).max(0) / DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for t in [0, 951_782_400, 1_724_029_698, 1_793_527_200, 4_102_444_800] {
            assert_eq!(parse(&format(t)), Some(t));
        }
        assert_eq!(format(1_724_029_698), "2024-08-19T01:08:18Z");
        assert_eq!(parse("2024-08-19T01:08:18.5Z"), Some(1_724_029_698));
        assert_eq!(parse("2024-08-19T01:08:18+00:00"), Some(1_724_029_698));
        assert_eq!(parse("2024-08-19T01:08:18+02:00"), None);
        assert_eq!(parse("0001-01-01T00:00:00Z").map(|t| t < 0), Some(true));
        assert_eq!(parse("soon"), None);
        assert_eq!(days_since(0, DAY * 3 - 1), 2);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(format_millis(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(1_724_029_698, 7), "2024-08-19T01:08:18.007Z");
        assert_eq!(format_millis(951_782_400, 999), "2000-02-29T00:00:00.999Z");
        assert!(now_millis().ends_with('Z'));
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-1000, 0, 1, 59, 365, 10_957, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
