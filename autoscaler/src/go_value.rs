//! Go's `strconv` scalar syntax (`ParseBool`, `ParseFloat`, `ParseInt`), because
//! Knative reads `config-autoscaler` and the autoscaling annotations with it.

/// `strconv.ParseBool`: exactly these twelve spellings.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `strconv.ParseFloat(s, 64)` restricted to finite values.
///
/// Go also accepts `Inf`/`NaN` and hexadecimal floats; we refuse non-finite
/// values on purpose (an infinite rate or a NaN threshold makes every later
/// comparison meaningless, and Go's float-to-int32 conversion of them is
/// platform-defined), and Rust's parser has no hex floats.
pub(crate) fn parse_go_finite_f64(s: &str) -> Option<f64> {
    // Decimal forms ("1.", ".5", "+1e3") agree between the two parsers; the
    // non-finite spellings both accept are filtered out here.
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `strconv.ParseInt(s, 10, 32)`: optional sign, decimal digits, int32 range.
pub(crate) fn parse_go_i32(s: &str) -> Option<i32> {
    s.parse::<i32>().ok()
}

/// `strconv.Atoi`: like [`parse_go_i32`] but with the 64-bit range.
pub(crate) fn parse_go_i64(s: &str) -> Option<i64> {
    s.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools() {
        assert_eq!(parse_go_bool("True"), Some(true));
        assert_eq!(parse_go_bool("0"), Some(false));
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(parse_go_bool("tRUE"), None);
        assert_eq!(parse_go_bool(" true"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_go_finite_f64("10.0"), Some(10.0));
        assert_eq!(parse_go_finite_f64("+.5"), Some(0.5));
        assert_eq!(parse_go_finite_f64("1e2"), Some(100.0));
        assert_eq!(parse_go_finite_f64("-1"), Some(-1.0));
        for bad in ["", "1,5", "Inf", "NaN", "1e400", " 1", "0x10"] {
            assert_eq!(parse_go_finite_f64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ints() {
        assert_eq!(parse_go_i32("+7"), Some(7));
        assert_eq!(parse_go_i32("-7"), Some(-7));
        assert_eq!(parse_go_i32("2147483648"), None);
        assert_eq!(parse_go_i32("1.0"), None);
        assert_eq!(parse_go_i64("2147483648"), Some(2_147_483_648));
    }
}
