//! Numbers and `printf` as Go's `fmt` and `strconv` write them, so expanded alert text
//! reads exactly as Prometheus would have written it (`1e+06`, `%.4g`, `%!d(float64=1.5)`).

use super::value::Value;

/// Decimal digits of `v` (no sign, no trailing zeros) and the decimal point's position:
/// `v = 0.d1d2d3... × 10^point`. `significant` rounds to that many digits; `None` gives the
/// shortest digits that read back as `v`.
fn digits(v: f64, significant: Option<usize>) -> (String, i32) {
    let text = match significant {
        Some(n) => format!("{:.*e}", n.max(1) - 1, v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    if d == "0" {
        return (d, 1);
    }
    (d, exp + 1)
}

/// NaN and the infinities, as Go prints them.
fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

fn sign(v: f64) -> &'static str {
    if v.is_sign_negative() {
        "-"
    } else {
        ""
    }
}

/// `%e` form from digits: `d.ddde±XX` with `decimals` digits after the point.
fn exp_form(neg: &str, d: &str, point: i32, decimals: usize, upper: bool) -> String {
    let mut out = String::from(neg);
    let mut chars = d.chars();
    out.push(chars.next().unwrap_or('0'));
    if decimals > 0 {
        out.push('.');
        let rest: String = chars.collect();
        out.push_str(&rest);
        for _ in rest.len()..decimals {
            out.push('0');
        }
    }
    let exp = if d == "0" { 0 } else { point - 1 };
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// `%f` form from digits with `decimals` digits after the point.
fn fixed_form(neg: &str, d: &str, point: i32, decimals: usize) -> String {
    let mut out = String::from(neg);
    if point <= 0 {
        out.push('0');
    } else {
        for i in 0..point as usize {
            out.push(d.as_bytes().get(i).map_or('0', |b| *b as char));
        }
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals as i32 {
            let idx = point + i;
            out.push(if idx < 0 {
                '0'
            } else {
                d.as_bytes().get(idx as usize).map_or('0', |b| *b as char)
            });
        }
    }
    out
}

/// Go's `%g` (`strconv.FormatFloat(v, 'g', prec, 64)`); `None` is the shortest form, which is
/// also how `{{ $value }}` prints.
pub fn format_g(v: f64, precision: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = sign(v);
    let (d, point) = digits(v, precision.map(|p| p.max(1)));
    let nd = d.len() as i32;
    let mut prec = precision.map_or(nd, |p| p.max(1) as i32);
    let mut eprec = prec;
    if eprec > nd && nd >= point {
        eprec = nd;
    }
    if precision.is_none() {
        eprec = 6;
    }
    let exp = if d == "0" { 0 } else { point - 1 };
    if exp < -4 || exp >= eprec {
        if prec > nd {
            prec = nd;
        }
        return exp_form(neg, &d, point, (prec - 1).max(0) as usize, false);
    }
    if prec > point {
        prec = nd;
    }
    fixed_form(neg, &d, point, (prec - point).max(0) as usize)
}

/// Go's `%.Nf`.
pub(crate) fn format_f(v: f64, decimals: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    format!("{v:.decimals$}")
}

/// Go's `%.Ne`.
pub(crate) fn format_e(v: f64, decimals: usize, upper: bool) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let (d, point) = digits(v, Some(decimals + 1));
    exp_form(sign(v), &d, point, decimals, upper)
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: the shortest digits in exponent form
/// (`1e+00`, `2.5e-03`), how Prometheus's API writes alert values.
pub fn format_e_shortest(v: f64) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let (d, point) = digits(v, None);
    exp_form(sign(v), &d, point, d.len() - 1, false)
}

/// One `%` directive's flags, width and precision.
#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    fn pad(&self, body: String) -> String {
        let Some(width) = self.width else { return body };
        let len = body.chars().count();
        if len >= width {
            return body;
        }
        let fill = width - len;
        if self.minus {
            format!("{body}{}", " ".repeat(fill))
        } else if self.zero {
            let (sign, digits) = match body.strip_prefix(['-', '+']) {
                Some(rest) => (&body[..1], rest),
                None => ("", body.as_str()),
            };
            format!("{sign}{}{digits}", "0".repeat(fill))
        } else {
            format!("{}{body}", " ".repeat(fill))
        }
    }

    fn signed(&self, body: String) -> String {
        if body.starts_with('-') || body.starts_with('+') {
            return body;
        }
        if self.plus {
            format!("+{body}")
        } else if self.space {
            format!(" {body}")
        } else {
            body
        }
    }
}

/// Go's `fmt.Sprintf` for the verbs alert templates use: `%s %v %q %d %f %F %e %E %g %G %x
/// %X %o %b %t %c %%`, with flags, width and precision. Mismatches print as Go does
/// (`%!d(string=a)`).
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next_arg = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        let number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0) * 10 + d as usize);
                chars.next();
            }
            n
        };
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next_arg += 1;
        out.push_str(&directive(&spec, verb, arg));
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| format!("{}={}", a.go_type(), a.print()))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn bad_verb(verb: char, arg: &Value) -> String {
    format!("%!{verb}({}={})", arg.go_type(), arg.print())
}

fn directive(spec: &Spec, verb: char, arg: &Value) -> String {
    let body = match (verb, arg) {
        ('v', Value::Float(f)) => spec.signed(format_g(*f, spec.precision)),
        ('v', Value::Int(i)) => spec.signed(i.to_string()),
        ('v', v) | ('s', v) if !matches!(v, Value::Float(_) | Value::Int(_)) || verb == 'v' => {
            let s = v.print();
            match spec.precision {
                Some(p) if verb == 's' => s.chars().take(p).collect(),
                _ => s,
            }
        }
        ('q', Value::Str(s)) => format!("{s:?}"),
        ('t', Value::Bool(b)) => b.to_string(),
        ('d', Value::Int(i)) => spec.signed(i.to_string()),
        ('x', Value::Int(i)) => radix(*i, 16, false, spec.sharp, "0x"),
        ('X', Value::Int(i)) => radix(*i, 16, true, spec.sharp, "0X"),
        ('o', Value::Int(i)) => radix(*i, 8, false, spec.sharp, "0"),
        ('b', Value::Int(i)) => radix(*i, 2, false, false, ""),
        ('c', Value::Int(i)) => u32::try_from(*i)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{fffd}')
            .to_string(),
        ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('X', Value::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
        ('f' | 'F', Value::Float(f)) => spec.signed(format_f(*f, spec.precision.unwrap_or(6))),
        ('e' | 'E', Value::Float(f)) => {
            spec.signed(format_e(*f, spec.precision.unwrap_or(6), verb == 'E'))
        }
        ('g', Value::Float(f)) => spec.signed(format_g(*f, spec.precision)),
        ('G', Value::Float(f)) => spec.signed(format_g(*f, spec.precision).to_uppercase()),
        _ => return bad_verb(verb, arg),
    };
    spec.pad(body)
}

fn radix(i: i64, radix: u32, upper: bool, sharp: bool, prefix: &str) -> String {
    let neg = i < 0;
    let mut digits = String::new();
    let mut n = i.unsigned_abs();
    if n == 0 {
        digits.push('0');
    }
    while n > 0 {
        let d = std::char::from_digit((n % u64::from(radix)) as u32, radix).unwrap_or('0');
        digits.insert(0, if upper { d.to_ascii_uppercase() } else { d });
        n /= u64::from(radix);
    }
    format!(
        "{}{}{digits}",
        if neg { "-" } else { "" },
        if sharp { prefix } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_g_matches_go() {
        for (v, want) in [
            (0.0, "0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "+Inf"),
        ] {
            assert_eq!(format_g(v, None), want, "{v}");
        }
    }

    #[test]
    fn four_digit_g_matches_go() {
        for (v, want) in [
            (100.0, "100"),
            (1.5, "1.5"),
            (1.2345678, "1.235"),
            (12345678.0, "1.235e+07"),
            (0.000123456, "0.0001235"),
            (1234.5, "1234"),
            (0.0, "0"),
            (9.223_372_036_854_776, "9.223"),
        ] {
            assert_eq!(format_g(v, Some(4)), want, "{v}");
        }
    }

    #[test]
    fn shortest_e_matches_go() {
        assert_eq!(format_e_shortest(1.0), "1e+00");
        assert_eq!(format_e_shortest(0.0025), "2.5e-03");
        assert_eq!(format_e_shortest(-123.0), "-1.23e+02");
    }

    #[test]
    fn printf_verbs() {
        let args = [
            Value::Float(1.23456),
            Value::Str("bank-a".into()),
            Value::Int(42),
        ];
        assert_eq!(sprintf("%.2f %s %d%%", &args), "1.23 bank-a 42%");
        assert_eq!(
            sprintf("%5.1f|%-4d|", &[Value::Float(2.25), Value::Int(7)]),
            "  2.2|7   |"
        );
        assert_eq!(sprintf("%d", &[Value::Float(1.5)]), "%!d(float64=1.5)");
        assert_eq!(
            sprintf("%s %s", &[Value::Str("a".into())]),
            "a %!s(MISSING)"
        );
        assert_eq!(
            sprintf("%v %q", &[Value::Float(1e6), Value::Str("x".into())]),
            "1e+06 \"x\""
        );
        assert_eq!(sprintf("%e", &[Value::Float(1234.5678)]), "1.234568e+03");
    }
}
