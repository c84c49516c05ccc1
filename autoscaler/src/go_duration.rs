//! Go's `time.ParseDuration` syntax, because Knative's ConfigMap keys and
//! annotations are read with it: `"60s"`, `"1m30s"`, `"1.5h"`, `"-2s"`, `"0"`.

/// Nanoseconds, signed as in Go: negative values parse so that validation can
/// say "cannot be negative" instead of "not a duration".
pub(crate) type GoNanos = i64;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Parses a Go duration string; `None` when Go would return an error
/// (bad syntax, unknown unit, or overflow of an `int64` of nanoseconds).
pub(crate) fn parse_go_duration(text: &str) -> Option<GoNanos> {
    let mut s = text.as_bytes();
    let mut negative = false;
    if let Some((&sign @ (b'-' | b'+'), rest)) = s.split_first() {
        negative = sign == b'-';
        s = rest;
    }
    // Go special-cases a bare zero: it is the only unit-less duration.
    if s == b"0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let limit: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return None;
        }
        let (whole, rest) = leading_int(s)?;
        let had_whole = rest.len() != s.len();
        s = rest;
        let (mut frac, mut scale, mut had_frac) = (0_u64, 1.0_f64, false);
        if let Some((b'.', rest)) = s.split_first() {
            let (f, sc, rest2) = leading_fraction(rest);
            had_frac = rest2.len() != rest.len();
            (frac, scale, s) = (f, sc, rest2);
        }
        if !had_whole && !had_frac {
            return None;
        }
        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return None;
        }
        let unit = unit_nanos(&s[..unit_len])?;
        s = &s[unit_len..];
        if whole > limit / unit {
            return None;
        }
        let mut value = whole * unit;
        if frac > 0 {
            // Go computes the fractional part in float64 and truncates; doing
            // the same keeps odd inputs like "0.3333333333333333333s" identical.
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            let part = (frac as f64 * (unit as f64 / scale)) as u64;
            value = value.checked_add(part)?;
            if value > limit {
                return None;
            }
        }
        total = total.checked_add(value)?;
        if total > limit {
            return None;
        }
    }
    if negative {
        // -(1<<63) is representable; anything at or below the limit negates.
        return Some(0_i64.wrapping_sub_unsigned(total));
    }
    i64::try_from(total).ok()
}

/// Consumes `[0-9]*`; `None` on overflow past `1<<63`, as Go's `leadingInt`.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut x: u64 = 0;
    for &c in &s[..digits] {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > 1 << 63 {
            return None;
        }
    }
    Some((x, &s[digits..]))
}

/// Consumes `[0-9]*` after the dot; digits past `int64` precision are read and
/// dropped, as Go's `leadingFraction` does.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let (mut x, mut scale, mut overflow) = (0_u64, 1.0_f64, false);
    for &c in &s[..digits] {
        if overflow {
            continue;
        }
        if x > (i64::MAX as u64) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[digits..])
}

fn unit_nanos(unit: &[u8]) -> Option<u64> {
    Some(match unit {
        b"ns" => 1,
        // "us", micro sign U+00B5, Greek mu U+03BC.
        b"us" | b"\xC2\xB5s" | b"\xCE\xBCs" => 1_000,
        b"ms" => 1_000_000,
        b"s" => 1_000_000_000,
        b"m" => 60_000_000_000,
        b"h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Whether a duration is a whole number of seconds (Go's `d.Round(time.Second) == d`).
pub(crate) fn is_whole_seconds(nanos: GoNanos) -> bool {
    nanos % NANOS_PER_SECOND == 0
}

/// A validated non-negative duration as `std::time::Duration`.
pub(crate) fn to_std(nanos: GoNanos) -> std::time::Duration {
    std::time::Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NANOS_PER_SECOND;

    #[test]
    fn accepts_go_forms() {
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("-0"), Some(0));
        assert_eq!(parse_go_duration("6s"), Some(6 * S));
        assert_eq!(parse_go_duration("1m30s"), Some(90 * S));
        assert_eq!(parse_go_duration("1h"), Some(3600 * S));
        assert_eq!(parse_go_duration("1.5s"), Some(S + S / 2));
        assert_eq!(parse_go_duration(".5s"), Some(S / 2));
        assert_eq!(parse_go_duration("5.s"), Some(5 * S));
        assert_eq!(parse_go_duration("-2s"), Some(-2 * S));
        assert_eq!(parse_go_duration("+2s"), Some(2 * S));
        assert_eq!(parse_go_duration("1500ms"), Some(S + S / 2));
        assert_eq!(parse_go_duration("3us"), Some(3_000));
        assert_eq!(parse_go_duration("3µs"), Some(3_000));
        assert_eq!(parse_go_duration("3μs"), Some(3_000));
        assert_eq!(
            parse_go_duration("1h2m3s4ms5us6ns"),
            Some(3_723_004_005_006)
        );
        assert_eq!(
            parse_go_duration("2562047h47m16.854775807s"),
            Some(i64::MAX)
        );
        assert_eq!(
            parse_go_duration("-2562047h47m16.854775808s"),
            Some(i64::MIN)
        );
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            "",
            "-",
            "+",
            "s",
            "60",
            "1.s.",
            ".s",
            "1x",
            "1 s",
            " 1s",
            "1S",
            "1sec",
            "1h-2m",
            "2562047h47m16.854775808s",
            "99999999999999999999s",
        ] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn whole_seconds() {
        assert!(is_whole_seconds(6 * S));
        assert!(is_whole_seconds(0));
        assert!(!is_whole_seconds(1_500_000_000));
    }
}
