//! Value-by-value math with Go's `math` semantics where they differ from Rust's (NaN and
//! infinities in `min`/`max`).

/// -1, 0 or 1 by sign (NaN stays NaN).
pub fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

/// Degrees to radians.
pub fn rad(v: f64) -> f64 {
    v * std::f64::consts::PI / 180.0
}

/// Radians to degrees.
pub fn deg(v: f64) -> f64 {
    v * 180.0 / std::f64::consts::PI
}

/// Go's `math.Max`: +Inf wins over NaN, NaN wins over numbers.
pub fn go_max(a: f64, b: f64) -> f64 {
    if a == f64::INFINITY || b == f64::INFINITY {
        f64::INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            b
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

/// Go's `math.Min`: -Inf wins over NaN, NaN wins over numbers.
pub fn go_min(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY || b == f64::NEG_INFINITY {
        f64::NEG_INFINITY
    } else if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == 0.0 && b == 0.0 {
        if a.is_sign_negative() {
            a
        } else {
            b
        }
    } else if a < b {
        a
    } else {
        b
    }
}

/// Rounds to the nearest multiple of the argument (default 1), ties up.
pub fn round(v: f64, args: &[f64]) -> Option<f64> {
    let to_nearest = args.first().copied().unwrap_or(1.0);
    let inverse = 1.0 / to_nearest;
    Some((v * inverse + 0.5).floor() / inverse)
}

/// Clamps into `[min, max]`; nothing when `max < min`.
pub fn clamp(v: f64, args: &[f64]) -> Option<f64> {
    let (lo, hi) = (args.first().copied()?, args.get(1).copied()?);
    if hi < lo {
        return None;
    }
    Some(go_max(lo, go_min(hi, v)))
}

/// At least the argument.
pub fn clamp_min(v: f64, args: &[f64]) -> Option<f64> {
    Some(go_max(args.first().copied()?, go_min(f64::INFINITY, v)))
}

/// At most the argument.
pub fn clamp_max(v: f64, args: &[f64]) -> Option<f64> {
    Some(go_max(f64::NEG_INFINITY, go_min(args.first().copied()?, v)))
}

/// π.
pub fn pi(_: &[f64]) -> f64 {
    std::f64::consts::PI
}

/// The smaller of two scalars (Go's `math.Min`).
pub fn min_of(v: &[f64]) -> f64 {
    v.iter().copied().reduce(go_min).unwrap_or(f64::NAN)
}

/// The larger of two scalars (Go's `math.Max`).
pub fn max_of(v: &[f64]) -> f64 {
    v.iter().copied().reduce(go_max).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_semantics_for_nan_and_infinities() {
        assert!(go_max(f64::NAN, 1.0).is_nan());
        assert_eq!(go_max(f64::NAN, f64::INFINITY), f64::INFINITY);
        assert_eq!(go_min(f64::NAN, f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(clamp(5.0, &[0.0, 3.0]), Some(3.0));
        assert_eq!(clamp(5.0, &[3.0, 0.0]), None);
        assert_eq!(round(2.5, &[]), Some(3.0));
        assert_eq!(round(-2.5, &[]), Some(-2.0));
        assert_eq!(round(7.0, &[5.0]), Some(5.0));
    }
}
