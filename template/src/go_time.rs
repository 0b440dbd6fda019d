//! Go's `time.Time` as templates see it: its fields (`.Unix`, `.UTC`, `.Local`, `.IsZero`,
//! …), its methods (`.Format "2006-01-02"`, `.Add`, `.Sub`, `.Before`, `.After`) and its
//! layouts, written with Go's reference time `Mon Jan 2 15:04:05 MST 2006`.

use chrono::{DateTime, Datelike, FixedOffset, Offset, Timelike, Utc};

/// Seconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch.
const ZERO_UNIX_SECS: i64 = -62_135_596_800;

/// A point in time with the zone it is shown in.
#[derive(Debug, Clone, PartialEq)]
pub struct GoTime {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
    /// The zone's offset east of UTC, in seconds.
    pub offset_secs: i32,
    /// The zone's abbreviation (`UTC`, `CST`), or Go's numeric stand-in (`+08`).
    pub zone: String,
}

impl GoTime {
    /// `ns` nanoseconds since the epoch, in UTC.
    pub fn from_unix_nanos(ns: i64) -> Self {
        Self {
            secs: ns.div_euclid(1_000_000_000),
            nanos: ns.rem_euclid(1_000_000_000) as u32,
            offset_secs: 0,
            zone: "UTC".into(),
        }
    }

    /// `ms` milliseconds since the epoch, in UTC; 0 is Go's zero time, which is how an
    /// alert's unset `EndsAt` reads in Alertmanager.
    pub fn from_unix_millis_or_zero(ms: i64) -> Self {
        if ms == 0 {
            return Self {
                secs: ZERO_UNIX_SECS,
                ..Self::from_unix_nanos(0)
            };
        }
        Self {
            secs: ms.div_euclid(1000),
            nanos: (ms.rem_euclid(1000) * 1_000_000) as u32,
            ..Self::from_unix_nanos(0)
        }
    }

    fn local_time(&self) -> Option<DateTime<FixedOffset>> {
        let offset = FixedOffset::east_opt(self.offset_secs)?;
        DateTime::<Utc>::from_timestamp(self.secs, self.nanos).map(|t| t.with_timezone(&offset))
    }

    fn unix_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// The same instant in `offset_secs` named `zone`.
    fn in_zone(&self, offset_secs: i32, zone: String) -> Self {
        Self {
            offset_secs,
            zone,
            ..self.clone()
        }
    }

    /// The same instant in the machine's zone (Go's `Local`).
    fn local(&self) -> Self {
        let offset = DateTime::<Utc>::from_timestamp(self.secs, 0)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .offset()
                    .fix()
                    .local_minus_utc()
            })
            .unwrap_or(0);
        self.in_zone(offset, numeric_zone(offset))
    }

    /// A zero-argument method or field: `None` when it has no such.
    pub fn field(&self, name: &str) -> Option<FieldValue> {
        let t = self.local_time()?;
        Some(match name {
            "Unix" => FieldValue::Int(self.secs),
            "UnixMilli" => FieldValue::Int(
                i64::try_from(self.unix_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX),
            ),
            "UnixNano" => FieldValue::Int(i64::try_from(self.unix_nanos()).unwrap_or(i64::MAX)),
            "UTC" => FieldValue::Time(self.in_zone(0, "UTC".into())),
            "Local" => FieldValue::Time(self.local()),
            "IsZero" => FieldValue::Bool(self.secs == ZERO_UNIX_SECS && self.nanos == 0),
            "String" => FieldValue::Str(self.to_string()),
            "Year" => FieldValue::Int(t.year().into()),
            "YearDay" => FieldValue::Int(t.ordinal().into()),
            "Day" => FieldValue::Int(t.day().into()),
            "Hour" => FieldValue::Int(t.hour().into()),
            "Minute" => FieldValue::Int(t.minute().into()),
            "Second" => FieldValue::Int(t.second().into()),
            "Nanosecond" => FieldValue::Int(self.nanos.into()),
            _ => return None,
        })
    }

    /// `.Format layout`.
    pub fn format(&self, layout: &str) -> String {
        match self.local_time() {
            Some(t) => format_layout(&t, &self.zone, layout),
            None => String::new(),
        }
    }

    /// `.Add d` for `d` nanoseconds.
    pub fn add_nanos(&self, d: i64) -> Self {
        let total = self.unix_nanos() + i128::from(d);
        Self {
            secs: i64::try_from(total.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
            nanos: total.rem_euclid(1_000_000_000) as u32,
            ..self.clone()
        }
    }

    /// `.Sub u`: nanoseconds from `u` to this time, saturated as Go's `Duration`.
    pub fn sub(&self, u: &GoTime) -> i64 {
        let d = self.unix_nanos() - u.unix_nanos();
        i64::try_from(d).unwrap_or(if d > 0 { i64::MAX } else { i64::MIN })
    }

    /// Whether this time is before `u`.
    pub fn before(&self, u: &GoTime) -> bool {
        self.unix_nanos() < u.unix_nanos()
    }
}

/// What a field of a time reads as.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A number.
    Int(i64),
    /// A truth.
    Bool(bool),
    /// A text.
    Str(String),
    /// Another time.
    Time(GoTime),
}

impl std::fmt::Display for GoTime {
    /// Go's `Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.format("2006-01-02 15:04:05.999999999 -0700 MST"))
    }
}

/// Go's name for a zone it knows no abbreviation of: `+08`, `-0530`.
fn numeric_zone(offset_secs: i32) -> String {
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let m = offset_secs.unsigned_abs() / 60;
    if m % 60 == 0 {
        format!("{sign}{:02}", m / 60)
    } else {
        format!("{sign}{:02}{:02}", m / 60, m % 60)
    }
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// One element of a layout: text as is, or a piece of the time.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Chunk<'a> {
    Literal(&'a str),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// A numeric zone: `Z` for UTC when `iso`, the separator and whether seconds show.
    Offset {
        iso: bool,
        colon: bool,
        hours_only: bool,
        seconds: bool,
    },
    /// Fractional seconds: digits, and whether trailing zeros are trimmed (`.999`).
    Fraction {
        digits: usize,
        trim: bool,
        sep: char,
    },
}

/// The chunk at the start of `s` and its length, as Go's `nextStdChunk` reads layouts.
fn chunk_at(s: &str) -> Option<(Chunk<'static>, usize)> {
    use Chunk::*;
    const TABLE: &[(&str, Chunk<'static>)] = &[
        ("January", LongMonth),
        ("Jan", Month),
        ("Monday", LongWeekDay),
        ("Mon", WeekDay),
        ("MST", TZ),
        ("2006", LongYear),
        ("002", ZeroYearDay),
        ("01", ZeroMonth),
        ("02", ZeroDay),
        ("03", ZeroHour12),
        ("04", ZeroMinute),
        ("05", ZeroSecond),
        ("06", Year),
        ("15", Hour),
        ("1", NumMonth),
        ("2", Day),
        ("__2", UnderYearDay),
        ("_2", UnderDay),
        ("3", Hour12),
        ("4", Minute),
        ("5", Second),
        ("PM", PM),
        ("pm", Pm),
        (
            "-07:00:00",
            Offset {
                iso: false,
                colon: true,
                hours_only: false,
                seconds: true,
            },
        ),
        (
            "-070000",
            Offset {
                iso: false,
                colon: false,
                hours_only: false,
                seconds: true,
            },
        ),
        (
            "-07:00",
            Offset {
                iso: false,
                colon: true,
                hours_only: false,
                seconds: false,
            },
        ),
        (
            "-0700",
            Offset {
                iso: false,
                colon: false,
                hours_only: false,
                seconds: false,
            },
        ),
        (
            "-07",
            Offset {
                iso: false,
                colon: false,
                hours_only: true,
                seconds: false,
            },
        ),
        (
            "Z07:00:00",
            Offset {
                iso: true,
                colon: true,
                hours_only: false,
                seconds: true,
            },
        ),
        (
            "Z070000",
            Offset {
                iso: true,
                colon: false,
                hours_only: false,
                seconds: true,
            },
        ),
        (
            "Z07:00",
            Offset {
                iso: true,
                colon: true,
                hours_only: false,
                seconds: false,
            },
        ),
        (
            "Z0700",
            Offset {
                iso: true,
                colon: false,
                hours_only: false,
                seconds: false,
            },
        ),
        (
            "Z07",
            Offset {
                iso: true,
                colon: false,
                hours_only: true,
                seconds: false,
            },
        ),
    ];
    if let Some((text, chunk)) = TABLE.iter().find(|(text, _)| s.starts_with(text)) {
        return Some((*chunk, text.len()));
    }
    let mut chars = s.chars();
    let sep = chars.next().filter(|c| matches!(c, '.' | ','))?;
    let digit = chars.next().filter(|c| matches!(c, '0' | '9'))?;
    let digits = s[1..].chars().take_while(|c| *c == digit).count();
    // `.000` is a fraction only when no other digit follows it, as in Go.
    if s[1 + digits..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((
        Fraction {
            digits,
            trim: digit == '9',
            sep,
        },
        1 + digits,
    ))
}

/// The layout split into chunks.
fn chunks(layout: &str) -> Vec<Chunk<'_>> {
    let mut out = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i < layout.len() {
        match chunk_at(&layout[i..]) {
            Some((chunk, len)) => {
                if literal_start < i {
                    out.push(Chunk::Literal(&layout[literal_start..i]));
                }
                out.push(chunk);
                i += len;
                literal_start = i;
            }
            None => i += layout[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if literal_start < layout.len() {
        out.push(Chunk::Literal(&layout[literal_start..]));
    }
    out
}

fn format_layout(t: &DateTime<FixedOffset>, zone: &str, layout: &str) -> String {
    use std::fmt::Write;
    use Chunk::*;
    let mut out = String::new();
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    for chunk in chunks(layout) {
        let _ = match chunk {
            Literal(text) => write!(out, "{text}"),
            LongMonth => write!(out, "{}", LONG_MONTHS[t.month0() as usize]),
            Month => write!(out, "{}", &LONG_MONTHS[t.month0() as usize][..3]),
            NumMonth => write!(out, "{}", t.month()),
            ZeroMonth => write!(out, "{:02}", t.month()),
            LongWeekDay => write!(
                out,
                "{}",
                LONG_DAYS[t.weekday().num_days_from_monday() as usize]
            ),
            WeekDay => write!(
                out,
                "{}",
                &LONG_DAYS[t.weekday().num_days_from_monday() as usize][..3]
            ),
            Day => write!(out, "{}", t.day()),
            UnderDay => write!(out, "{:>2}", t.day()),
            ZeroDay => write!(out, "{:02}", t.day()),
            UnderYearDay => write!(out, "{:>3}", t.ordinal()),
            ZeroYearDay => write!(out, "{:03}", t.ordinal()),
            Hour => write!(out, "{:02}", t.hour()),
            Hour12 => write!(out, "{hour12}"),
            ZeroHour12 => write!(out, "{hour12:02}"),
            Minute => write!(out, "{}", t.minute()),
            ZeroMinute => write!(out, "{:02}", t.minute()),
            Second => write!(out, "{}", t.second()),
            ZeroSecond => write!(out, "{:02}", t.second()),
            LongYear => write!(out, "{:04}", t.year()),
            Year => write!(out, "{:02}", t.year().rem_euclid(100)),
            PM => write!(out, "{}", if t.hour() >= 12 { "PM" } else { "AM" }),
            Pm => write!(out, "{}", if t.hour() >= 12 { "pm" } else { "am" }),
            TZ => write!(out, "{zone}"),
            Offset {
                iso,
                colon,
                hours_only,
                seconds,
            } => write_offset(
                &mut out,
                t.offset().local_minus_utc(),
                iso,
                colon,
                hours_only,
                seconds,
            ),
            Fraction { digits, trim, sep } => {
                write_fraction(&mut out, t.nanosecond(), digits, trim, sep)
            }
        };
    }
    out
}

fn write_offset(
    out: &mut String,
    offset: i32,
    iso: bool,
    colon: bool,
    hours_only: bool,
    seconds: bool,
) -> std::fmt::Result {
    use std::fmt::Write;
    if iso && offset == 0 {
        return write!(out, "Z");
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let sep = if colon { ":" } else { "" };
    write!(out, "{sign}{:02}", abs / 3600)?;
    if !hours_only {
        write!(out, "{sep}{:02}", abs / 60 % 60)?;
    }
    if seconds {
        write!(out, "{sep}{:02}", abs % 60)?;
    }
    Ok(())
}

fn write_fraction(
    out: &mut String,
    nanos: u32,
    digits: usize,
    trim: bool,
    sep: char,
) -> std::fmt::Result {
    use std::fmt::Write;
    let all = format!("{:09}", nanos.min(999_999_999));
    let mut shown = &all[..digits.min(9)];
    if trim {
        shown = shown.trim_end_matches('0');
        if shown.is_empty() {
            return Ok(());
        }
    }
    write!(out, "{sep}{shown}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's reference time, 2006-01-02T15:04:05.123456789-07:00.
    fn reference() -> GoTime {
        GoTime::from_unix_nanos(1_136_239_445_123_456_789).in_zone(-7 * 3600, "MST".into())
    }

    #[test]
    fn layouts_print_as_go_prints_them() {
        let t = reference();
        let cases = [
            ("2006-01-02 15:04:05", "2006-01-02 15:04:05"),
            (
                "Mon Jan _2 15:04:05 MST 2006",
                "Mon Jan  2 15:04:05 MST 2006",
            ),
            (
                "Monday, 02-Jan-06 03:04:05PM -0700",
                "Monday, 02-Jan-06 03:04:05PM -0700",
            ),
            (
                "2006-01-02T15:04:05.000Z07:00",
                "2006-01-02T15:04:05.123-07:00",
            ),
            ("15:04:05.999999999", "15:04:05.123456789"),
            ("1/2 3:4:5 pm January 002", "1/2 3:4:5 pm January 002"),
            ("2006.01.02 at 15h", "2006.01.02 at 15h"),
        ];
        for (layout, want) in cases {
            assert_eq!(t.format(layout), want, "{layout}");
        }
        let utc = reference().in_zone(0, "UTC".into());
        assert_eq!(utc.format(time_rfc3339()), "2006-01-02T22:04:05Z");
        assert_eq!(utc.to_string(), "2006-01-02 22:04:05.123456789 +0000 UTC");
        assert_eq!(
            GoTime::from_unix_millis_or_zero(1500).format("05.999"),
            "01.5"
        );
    }

    fn time_rfc3339() -> &'static str {
        "2006-01-02T15:04:05Z07:00"
    }

    #[test]
    fn the_zero_time_and_arithmetic_behave_as_in_go() {
        let zero = GoTime::from_unix_millis_or_zero(0);
        assert_eq!(zero.field("IsZero"), Some(FieldValue::Bool(true)));
        assert_eq!(zero.to_string(), "0001-01-01 00:00:00 +0000 UTC");
        let t = reference();
        assert_eq!(t.field("Unix"), Some(FieldValue::Int(1_136_239_445)));
        assert_eq!(t.field("Hour"), Some(FieldValue::Int(15)));
        let later = t.add_nanos(90 * 1_000_000_000);
        assert_eq!(later.sub(&t), 90_000_000_000);
        assert!(t.before(&later));
        assert_eq!(numeric_zone(8 * 3600), "+08");
        assert_eq!(numeric_zone(-(5 * 3600 + 1800)), "-0530");
    }

    #[test]
    fn timestamps_print_as_go_times() {
        let s = |ns| GoTime::from_unix_nanos(ns).to_string();
        assert_eq!(s(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(s(-1_000_000_000), "1969-12-31 23:59:59 +0000 UTC");
        assert_eq!(s(1_234_567_000_000_000), "1970-01-15 06:56:07 +0000 UTC");
        assert_eq!(
            s(1_435_065_584_128_000_000),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
    }
}
