//! Named time intervals (`time_intervals`, `mute_time_intervals`): when a route is muted
//! (`mute_time_intervals`) or active (`active_time_intervals`). An interval holds a time when
//! every field it sets holds (times of day, weekdays, days of the month counted from either
//! end, months, years), read in its `location`; a named set holds when any interval does.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::Deserialize;
use taishan_core::config::FieldError;

/// One interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeInterval {
    /// Minutes of the day, `[start, end)`.
    pub times: Vec<(u32, u32)>,
    /// Weekdays, 0 = Sunday, inclusive ranges.
    pub weekdays: Vec<(u32, u32)>,
    /// Days of the month, negative from the end (-1 = last day), inclusive ranges.
    pub days_of_month: Vec<(i32, i32)>,
    /// Months 1–12, inclusive ranges.
    pub months: Vec<(u32, u32)>,
    /// Years, inclusive ranges.
    pub years: Vec<(i32, i32)>,
    /// Where the fields are read; UTC when absent.
    pub location: Option<chrono_tz::Tz>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterval {
    #[serde(default)]
    times: Vec<RawTimes>,
    #[serde(default)]
    weekdays: Vec<String>,
    #[serde(default)]
    days_of_month: Vec<String>,
    #[serde(default)]
    months: Vec<String>,
    #[serde(default)]
    years: Vec<String>,
    #[serde(default)]
    location: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimes {
    start_time: String,
    end_time: String,
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl TimeInterval {
    /// Reads one interval as written, every problem placed under `path`.
    pub fn parse(value: &serde_yaml_ng::Value, path: &str) -> Result<Self, Vec<FieldError>> {
        let raw: RawInterval = serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            vec![FieldError::new(
                format!("{path}.{}", e.path()),
                e.into_inner().to_string(),
            )]
        })?;
        let mut errors = Vec::new();
        let mut out = TimeInterval::default();
        for (i, t) in raw.times.iter().enumerate() {
            match (minute_of_day(&t.start_time), minute_of_day(&t.end_time)) {
                (Ok(s), Ok(e)) if s < e => out.times.push((s, e)),
                (Ok(_), Ok(_)) => errors.push(FieldError::new(
                    format!("{path}.times[{i}]"),
                    "start time must be before end time",
                )),
                (Err(m), _) | (_, Err(m)) => {
                    errors.push(FieldError::new(format!("{path}.times[{i}]"), m))
                }
            }
        }
        out.weekdays = each(path, "weekdays", &raw.weekdays, &mut errors, |s| {
            named_range(s, &WEEKDAYS, 0, "weekday")
        });
        out.days_of_month = each(
            path,
            "days_of_month",
            &raw.days_of_month,
            &mut errors,
            day_range,
        );
        out.months = each(path, "months", &raw.months, &mut errors, |s| {
            named_range(s, &MONTHS, 1, "month")
        });
        out.years = each(path, "years", &raw.years, &mut errors, year_range);
        if let Some(loc) = &raw.location {
            match loc.parse::<chrono_tz::Tz>() {
                Ok(tz) => out.location = Some(tz),
                Err(_) => errors.push(FieldError::new(
                    format!("{path}.location"),
                    format!("unknown time zone {loc:?} (an IANA name such as Asia/Shanghai)"),
                )),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Whether it holds at `ms` (Unix milliseconds).
    pub fn contains(&self, ms: i64) -> bool {
        let Some(utc) = DateTime::<Utc>::from_timestamp_millis(ms) else {
            return false;
        };
        let local = match self.location {
            Some(tz) => utc.with_timezone(&tz).naive_local(),
            None => utc.naive_utc(),
        };
        let minute = local.hour() * 60 + local.minute();
        let weekday = local.weekday().num_days_from_sunday();
        let (day, month, year) = (local.day() as i32, local.month(), local.year());
        let month_days = days_in_month(year, month) as i32;
        let any = |ranges: &[(u32, u32)], v: u32| {
            ranges.is_empty() || ranges.iter().any(|(a, b)| *a <= v && v <= *b)
        };
        let times =
            self.times.is_empty() || self.times.iter().any(|(s, e)| *s <= minute && minute < *e);
        let days = self.days_of_month.is_empty()
            || self.days_of_month.iter().any(|(a, b)| {
                let at = |d: i32| if d < 0 { month_days + d + 1 } else { d };
                let (a, b) = (at(*a), at(*b).min(month_days));
                a <= month_days && a <= day && day <= b
            });
        let years =
            self.years.is_empty() || self.years.iter().any(|(a, b)| *a <= year && year <= *b);
        times && any(&self.weekdays, weekday) && days && any(&self.months, month) && years
    }
}

/// Each item of a field parsed; the errors placed at `path.name[i]`.
fn each<T>(
    path: &str,
    name: &str,
    items: &[String],
    errors: &mut Vec<FieldError>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match parse(item) {
            Ok(v) => out.push(v),
            Err(m) => errors.push(FieldError::new(format!("{path}.{name}[{i}]"), m)),
        }
    }
    out
}

fn year_range(s: &str) -> Result<(i32, i32), String> {
    let (a, b) = split_range(s);
    let year = |t: &str| {
        t.trim()
            .parse::<i32>()
            .map_err(|_| format!("{t:?} is not a year"))
    };
    let (a, b) = (year(a)?, year(b)?);
    if a > b {
        return Err(format!("end year {b} is before start year {a}"));
    }
    Ok((a, b))
}

fn minute_of_day(s: &str) -> Result<u32, String> {
    let bad = || format!("{s:?} is not a time of day (HH:MM, 00:00 to 24:00)");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m > 0) || h.to_string().len() > 2 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn split_range(s: &str) -> (&str, &str) {
    s.split_once(':').unwrap_or((s, s))
}

fn named_range(s: &str, names: &[&str], first: u32, what: &str) -> Result<(u32, u32), String> {
    let (a, b) = split_range(s);
    let one = |t: &str| -> Result<u32, String> {
        let t = t.trim().to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == t) {
            return Ok(i as u32 + first);
        }
        match t.parse::<u32>() {
            Ok(n) if first == 1 && (1..=12).contains(&n) => Ok(n),
            _ => Err(format!("{t:?} is not a {what}")),
        }
    };
    let (a, b) = (one(a)?, one(b)?);
    if a > b {
        return Err(format!("end {what} {b} is before start {what} {a}"));
    }
    Ok((a, b))
}

fn day_range(s: &str) -> Result<(i32, i32), String> {
    let (a, b) = split_range(s);
    let day = |t: &str| -> Result<i32, String> {
        match t.trim().parse::<i32>() {
            Ok(d) if d != 0 && (-31..=31).contains(&d) => Ok(d),
            _ => Err(format!(
                "{t:?} is not a valid day of the month (1 to 31, or -1 to -31 from the end)"
            )),
        }
    };
    let (a, b) = (day(a)?, day(b)?);
    if a < 0 && b > 0 {
        return Err("end day must be negative if start day is negative".into());
    }
    let norm = |d: i32| if d < 0 { 28 + d } else { d };
    if norm(a) > norm(b) {
        return Err(format!("end day {b} is always before start day {a}"));
    }
    Ok((a, b))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

/// Every named set of intervals.
#[derive(Debug, Clone, Default)]
pub struct TimeIntervals(pub BTreeMap<String, Vec<TimeInterval>>);

impl TimeIntervals {
    /// Whether the set `name` holds at `ms`; an unknown name never holds.
    pub fn holds(&self, name: &str, ms: i64) -> bool {
        self.0
            .get(name)
            .is_some_and(|set| set.iter().any(|t| t.contains(ms)))
    }

    /// Whether a route with these interval names is muted at `ms`.
    pub fn mutes(&self, mute: &[String], active: &[String], ms: i64) -> bool {
        mute.iter().any(|n| self.holds(n, ms))
            || (!active.is_empty() && !active.iter().any(|n| self.holds(n, ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(yaml: &str) -> TimeInterval {
        TimeInterval::parse(&serde_yaml_ng::from_str(yaml).unwrap(), "t").unwrap()
    }

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn business_hours_in_a_time_zone() {
        let t = interval("times: [{start_time: '09:00', end_time: '18:00'}]\nweekdays: ['monday:friday']\nlocation: Asia/Shanghai\n");
        // Wednesday 2026-12-02 10:00 in Shanghai is 02:00 UTC.
        assert!(t.contains(at("2026-12-02T02:00:00Z")));
        assert!(
            !t.contains(at("2026-12-02T10:00:00Z")),
            "18:00 in Shanghai: over"
        );
        assert!(!t.contains(at("2026-12-05T02:00:00Z")), "Saturday");
    }

    #[test]
    fn days_count_from_the_end_of_the_month_and_months_by_name() {
        let t = interval(
            "days_of_month: ['-3:-1']\nmonths: ['february', '11:12']\nyears: ['2026:2027']\n",
        );
        assert!(t.contains(at("2027-02-26T12:00:00Z")));
        assert!(!t.contains(at("2027-02-25T12:00:00Z")));
        assert!(t.contains(at("2026-11-30T00:00:00Z")));
        assert!(!t.contains(at("2026-10-31T00:00:00Z")), "October");
        assert!(!t.contains(at("2028-02-29T00:00:00Z")), "2028");
    }

    #[test]
    fn bad_fields_are_placed_and_explained() {
        let err = TimeInterval::parse(
            &serde_yaml_ng::from_str("times: [{start_time: '18:00', end_time: '09:00'}]\nweekdays: [funday]\ndays_of_month: ['-1:5']\nlocation: Mars/Olympus\n").unwrap(),
            "time_intervals[0].time_intervals[0]",
        )
        .unwrap_err();
        let all: Vec<String> = err
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect();
        let all = all.join("\n");
        for expected in [
            "time_intervals[0].time_intervals[0].times[0]: start time must be before end time",
            "weekdays[0]: \"funday\" is not a weekday",
            "days_of_month[0]: end day must be negative",
            "location: unknown time zone \"Mars/Olympus\"",
        ] {
            assert!(all.contains(expected), "{expected} missing in\n{all}");
        }
    }

    #[test]
    fn routes_are_muted_inside_mute_intervals_and_outside_active_ones() {
        let mut sets = TimeIntervals::default();
        sets.0.insert(
            "nights".into(),
            vec![interval(
                "times: [{start_time: '00:00', end_time: '06:00'}]\n",
            )],
        );
        let night = at("2026-12-02T03:00:00Z");
        let day = at("2026-12-02T12:00:00Z");
        let nights = ["nights".to_string()];
        assert!(sets.mutes(&nights, &[], night));
        assert!(!sets.mutes(&nights, &[], day));
        assert!(sets.mutes(&[], &nights, day));
        assert!(!sets.mutes(&[], &nights, night));
    }
}
