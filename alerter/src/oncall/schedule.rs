//! Who is on call: a schedule's rotation layers, each handing over at its start's wall-clock
//! time every `rotation` (whole days are counted on the schedule's calendar, so a 09:00
//! hand-over stays at 09:00 across daylight-saving changes), later layers on top of earlier
//! ones where their `active` hours hold, and overrides on top of every layer.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;

use crate::time_intervals::TimeInterval;

const DAY_MS: i64 = 86_400_000;

/// A schedule of a team.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Its name in the team.
    pub name: String,
    /// The zone its wall-clock times are in.
    pub tz: chrono_tz::Tz,
    /// Its layers, later ones on top.
    pub layers: Vec<Layer>,
    /// Its overrides, later ones on top.
    pub overrides: Vec<Override>,
}

/// One rotation.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Its name (`layer 1` when unnamed).
    pub name: String,
    /// The first hand-over, wall-clock in the schedule's zone.
    pub start: NaiveDateTime,
    /// How long each member's turn lasts.
    pub rotation_ms: i64,
    /// The members in turn.
    pub members: Vec<String>,
    /// When it covers (every time when empty).
    pub active: Vec<TimeInterval>,
}

/// A member standing in from `start_ms` to `end_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Who stands in.
    pub member: String,
    /// From (Unix ms).
    pub start_ms: i64,
    /// Until (Unix ms, exclusive).
    pub end_ms: i64,
}

/// Who is on call at a moment, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    /// The member.
    pub member: String,
    /// The layer that decided, or `override`.
    pub source: String,
    /// When this turn began (Unix ms).
    pub since_ms: i64,
    /// When it hands over next (Unix ms).
    pub until_ms: i64,
}

impl Schedule {
    /// Who is on call at `ms`; `None` when no layer covers it.
    pub fn on_call(&self, ms: i64) -> Option<Shift> {
        if let Some(o) = self
            .overrides
            .iter()
            .rev()
            .find(|o| o.start_ms <= ms && ms < o.end_ms)
        {
            return Some(Shift {
                member: o.member.clone(),
                source: "override".into(),
                since_ms: o.start_ms,
                until_ms: o.end_ms,
            });
        }
        let mut shift = self
            .layers
            .iter()
            .rev()
            .find_map(|l| l.on_call(self.tz, ms))?;
        // The turn ends earlier when an override starts before its hand-over.
        if let Some(next) = self
            .overrides
            .iter()
            .map(|o| o.start_ms)
            .filter(|s| *s > ms)
            .min()
        {
            shift.until_ms = shift.until_ms.min(next);
        }
        Some(shift)
    }
}

impl Layer {
    fn on_call(&self, tz: chrono_tz::Tz, ms: i64) -> Option<Shift> {
        if self.members.is_empty() || self.rotation_ms <= 0 {
            return None;
        }
        if !self.active.is_empty() && !self.active.iter().any(|a| a.contains(ms)) {
            return None;
        }
        let turn = self.turn(tz, ms)?;
        let n = i64::try_from(self.members.len()).ok()?;
        let member = self.members[usize::try_from(turn.rem_euclid(n)).ok()?].clone();
        Some(Shift {
            member,
            source: self.name.clone(),
            since_ms: self.hand_over(tz, turn)?,
            until_ms: self.hand_over(tz, turn + 1)?,
        })
    }

    /// The number of the turn at `ms` (0 from the start); `None` before the start.
    fn turn(&self, tz: chrono_tz::Tz, ms: i64) -> Option<i64> {
        let at = DateTime::<Utc>::from_timestamp_millis(ms)?;
        let elapsed_ms = if self.rotation_ms % DAY_MS == 0 {
            // Count on the wall clock: DST days are 23 or 25 hours long.
            (at.with_timezone(&tz).naive_local() - self.start).num_milliseconds()
        } else {
            ms - local_ms(tz, self.start)?
        };
        (elapsed_ms >= 0).then(|| elapsed_ms.div_euclid(self.rotation_ms))
    }

    /// When turn `k` begins (Unix ms).
    fn hand_over(&self, tz: chrono_tz::Tz, k: i64) -> Option<i64> {
        let offset = k.checked_mul(self.rotation_ms)?;
        if self.rotation_ms % DAY_MS == 0 {
            let wall = self.start + chrono::Duration::milliseconds(offset);
            local_ms(tz, wall)
        } else {
            local_ms(tz, self.start)?.checked_add(offset)
        }
    }
}

/// A wall-clock time in `tz` as Unix ms; a time skipped by a DST change reads as the
/// moment after the gap.
fn local_ms(tz: chrono_tz::Tz, wall: NaiveDateTime) -> Option<i64> {
    let mut t = wall;
    for _ in 0..4 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return Some(at.timestamp_millis());
        }
        t += chrono::Duration::minutes(30);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn at(tz: chrono_tz::Tz, text: &str) -> i64 {
        local_ms(tz, wall(text)).unwrap()
    }

    fn weekly(tz: chrono_tz::Tz) -> Schedule {
        Schedule {
            name: "primary".into(),
            tz,
            layers: vec![Layer {
                name: "weekly".into(),
                start: wall("2026-11-30 09:00"),
                rotation_ms: 7 * DAY_MS,
                members: vec!["alice".into(), "bob".into(), "carol".into()],
                active: vec![],
            }],
            overrides: vec![],
        }
    }

    #[test]
    fn a_weekly_rotation_hands_over_at_its_wall_clock_time() {
        let tz = chrono_tz::Asia::Shanghai;
        let s = weekly(tz);
        assert_eq!(
            s.on_call(at(tz, "2026-11-30 08:59")),
            None,
            "before the start"
        );
        let first = s.on_call(at(tz, "2026-11-30 09:00")).unwrap();
        assert_eq!(first.member, "alice");
        assert_eq!(first.until_ms, at(tz, "2026-12-07 09:00"));
        assert_eq!(
            s.on_call(at(tz, "2026-12-07 08:59")).unwrap().member,
            "alice"
        );
        assert_eq!(s.on_call(at(tz, "2026-12-07 09:00")).unwrap().member, "bob");
        assert_eq!(
            s.on_call(at(tz, "2026-12-14 09:00")).unwrap().member,
            "carol"
        );
        assert_eq!(
            s.on_call(at(tz, "2026-12-21 09:00")).unwrap().member,
            "alice",
            "round again"
        );
    }

    #[test]
    fn daily_hand_overs_keep_their_local_time_across_daylight_saving() {
        let tz = chrono_tz::Europe::Berlin;
        let mut s = weekly(tz);
        s.layers[0].start = wall("2026-03-27 09:00");
        s.layers[0].rotation_ms = DAY_MS;
        // Clocks go forward at 02:00 on 2026-03-29: bob's turn from the 28th is 23 hours.
        assert_eq!(
            s.on_call(at(tz, "2026-03-29 09:00")).unwrap().member,
            "carol"
        );
        assert_eq!(
            s.on_call(at(tz, "2026-03-30 08:59")).unwrap().member,
            "carol"
        );
        assert_eq!(
            s.on_call(at(tz, "2026-03-30 09:00")).unwrap().member,
            "alice"
        );
        let shift = s.on_call(at(tz, "2026-03-28 12:00")).unwrap();
        assert_eq!(shift.member, "bob");
        assert_eq!(shift.until_ms - shift.since_ms, 23 * 3_600_000);
    }

    #[test]
    fn later_layers_cover_their_hours_and_overrides_cover_everything() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut s = weekly(tz);
        let nights = serde_yaml_ng::from_str(
            "times: [{start_time: '00:00', end_time: '08:00'}]\nlocation: Asia/Shanghai",
        )
        .unwrap();
        s.layers.push(Layer {
            name: "nights".into(),
            start: wall("2026-11-30 00:00"),
            rotation_ms: DAY_MS,
            members: vec!["dave".into(), "erin".into()],
            active: vec![TimeInterval::parse(&nights, "active[0]").unwrap()],
        });
        let night = s.on_call(at(tz, "2026-12-01 03:00")).unwrap();
        assert_eq!(
            (night.member.as_str(), night.source.as_str()),
            ("erin", "nights")
        );
        assert_eq!(
            s.on_call(at(tz, "2026-12-01 10:00")).unwrap().member,
            "alice"
        );

        s.overrides.push(Override {
            member: "bob".into(),
            start_ms: at(tz, "2026-12-01 02:00"),
            end_ms: at(tz, "2026-12-01 12:00"),
        });
        let covered = s.on_call(at(tz, "2026-12-01 03:00")).unwrap();
        assert_eq!(
            (covered.member.as_str(), covered.source.as_str()),
            ("bob", "override")
        );
        assert_eq!(
            s.on_call(at(tz, "2026-12-01 12:00")).unwrap().member,
            "alice"
        );
        let before = s.on_call(at(tz, "2026-12-01 01:00")).unwrap();
        assert_eq!(
            before.until_ms,
            at(tz, "2026-12-01 02:00"),
            "the turn ends where the override begins"
        );
    }
}
