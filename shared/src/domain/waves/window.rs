//! Deployment windows: a cron schedule in a time zone, open for a duration after each firing,
//! closed on blocked dates. A wave starts only while its window is open; otherwise it waits.
//!
//! The window is open at instant `t` when some firing `f` has `f ≤ t < f + durationMinutes` and
//! `t`'s local date (in `timeZone`) is not blocked. Local times are mapped to instants through
//! the IANA database (`chrono-tz`):
//! - a firing at a local time the clock skips (spring forward: in Europe/Dublin 01:00–01:59 on
//!   the last Sunday of March) happens when the clock resumes, at 02:00 local (01:00 UTC), and
//!   stays open `durationMinutes` from there;
//! - a firing in an hour the clock repeats (fall back: 01:00–01:59 on the last Sunday of
//!   October) happens once, at the first occurrence.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::super::field::FieldError;
use super::super::json::{deserialize_named, required};
use super::cron::Cron;

/// Most blocked dates a window lists (a year of them).
pub const MAX_BLOCKED_DATES: usize = 366;
/// Bounds of `durationMinutes`: a minute to a whole day.
pub const DURATION_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 1..=1440;
/// How far ahead `judge` looks for the next opening, in days.
pub const SEARCH_DAYS: i64 = 366;

/// When waves may start.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The window as written (`window` in the plan), for messages.
    pub description: String,
    cron: Cron,
    zone: Tz,
    duration: Duration,
    blocked: BTreeSet<NaiveDate>,
}

/// The window at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowJudgement {
    /// Open now.
    Open,
    /// Closed now; opens next at this instant.
    OpensAt(DateTime<Utc>),
    /// Never opens again (within a year).
    Never,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawWindow {
    cron: Option<String>,
    time_zone: Option<String>,
    duration_minutes: Option<u32>,
    #[serde(default)]
    blocked_dates: Vec<String>,
}

/// The firings of each local date, computed once per judgement.
type Firings = BTreeMap<NaiveDate, Vec<DateTime<Utc>>>;

impl Window {
    /// Reads the plan's `window` object; every error names its field (`window.cron`, …).
    pub fn parse(value: &Value) -> Result<Window, FieldError> {
        if !value.is_object() {
            return Err(FieldError::new("window", "must be a JSON object {…}"));
        }
        let raw: RawWindow = deserialize_named(value, "window")?;
        let text = required("window.cron", raw.cron)?;
        let cron = Cron::parse(&text).map_err(|problem| FieldError::new("window.cron", problem))?;
        // Four years hold every (month, day, weekday) a calendar has, 29 February included.
        let leap_cycle = NaiveDate::from_ymd_opt(2028, 1, 1).unwrap_or(NaiveDate::MIN);
        if !leap_cycle
            .iter_days()
            .take(4 * 366)
            .any(|d| cron.matches_date(d))
        {
            return Err(FieldError::new(
                "window.cron",
                format!("{text:?} never fires: no date has its day-of-month in its month"),
            ));
        }
        let zone_name = required("window.timeZone", raw.time_zone)?;
        let zone: Tz = zone_name.parse().map_err(|_| {
            FieldError::new(
                "window.timeZone",
                format!(
                    "{zone_name:?} is not an IANA time zone name (e.g. \"Europe/Dublin\", \"UTC\")"
                ),
            )
        })?;
        let minutes = required("window.durationMinutes", raw.duration_minutes)?;
        if !DURATION_MINUTES_RANGE.contains(&minutes) {
            return Err(FieldError::new(
                "window.durationMinutes",
                format!("must be between 1 and 1440 (a day) (got {minutes})"),
            ));
        }
        let blocked = blocked_dates(&raw.blocked_dates)?;
        let description = format!(
            "\"{text}\" in {zone_name}, open {minutes} min after each firing, {} blocked dates",
            blocked.len()
        );
        Ok(Window {
            description,
            cron,
            zone,
            duration: Duration::minutes(i64::from(minutes)),
            blocked,
        })
    }

    /// The window at `at`: open, or the earliest instant (to the minute) within
    /// [`SEARCH_DAYS`] when it opens, or never.
    pub fn judge(&self, at: DateTime<Utc>) -> WindowJudgement {
        let mut firings = Firings::new();
        if self.open_at(at, &mut firings) {
            return WindowJudgement::Open;
        }
        let horizon = at + Duration::days(SEARCH_DAYS);
        // The day before too: a firing in a skipped hour just before midnight resolves into it.
        let first = self.local_date(at).pred_opt().unwrap_or(NaiveDate::MIN);
        // An opening starts at a firing, or at the start of a day that is not blocked (a firing
        // of a blocked day may still run into it).
        for date in first
            .iter_days()
            .take(usize::try_from(SEARCH_DAYS).unwrap_or(0) + 3)
        {
            if self.blocked.contains(&date) {
                continue;
            }
            let mut candidates = self.firings(date, &mut firings).clone();
            candidates.push(self.resolve(date.and_time(NaiveTime::MIN)));
            candidates.sort_unstable();
            for candidate in candidates.into_iter().filter(|c| *c > at && *c <= horizon) {
                if self.open_at(candidate, &mut firings) {
                    return WindowJudgement::OpensAt(candidate);
                }
            }
        }
        WindowJudgement::Never
    }

    /// Open at `at`: its local date is not blocked and a firing of the last days covers it.
    fn open_at(&self, at: DateTime<Utc>, firings: &mut Firings) -> bool {
        let date = self.local_date(at);
        if self.blocked.contains(&date) {
            return false;
        }
        // A window lasts at most a day, so a firing that covers `at` is at most two local dates
        // back (a day, plus a time zone's change of offset).
        (0..=2)
            .filter_map(|back| date.checked_sub_days(chrono::Days::new(back)))
            .any(|day| {
                self.firings(day, firings)
                    .iter()
                    .any(|f| *f <= at && at < *f + self.duration)
            })
    }

    /// The instants the cron fires at on a local date, in order.
    fn firings<'a>(&self, date: NaiveDate, cache: &'a mut Firings) -> &'a Vec<DateTime<Utc>> {
        cache.entry(date).or_insert_with(|| {
            if !self.cron.matches_date(date) {
                return Vec::new();
            }
            let mut all: Vec<DateTime<Utc>> = self
                .cron
                .times()
                .filter_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0))
                .map(|time| self.resolve(date.and_time(time)))
                .collect();
            all.dedup();
            all
        })
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }

    /// The instant of a local time: the first of two in a repeated hour; in a skipped hour, the
    /// instant the clock resumes (the first local minute after it that exists).
    fn resolve(&self, local: NaiveDateTime) -> DateTime<Utc> {
        (0..=24 * 60)
            .find_map(|minutes| {
                self.zone
                    .from_local_datetime(&(local + Duration::minutes(minutes)))
                    .earliest()
            })
            .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc))
    }
}

/// `blockedDates`: distinct `YYYY-MM-DD` dates, at most [`MAX_BLOCKED_DATES`].
fn blocked_dates(dates: &[String]) -> Result<BTreeSet<NaiveDate>, FieldError> {
    if dates.len() > MAX_BLOCKED_DATES {
        return Err(FieldError::new(
            "window.blockedDates",
            format!("has {} dates; at most {MAX_BLOCKED_DATES}", dates.len()),
        ));
    }
    let mut blocked = BTreeSet::new();
    for (k, text) in dates.iter().enumerate() {
        let field = format!("window.blockedDates[{k}]");
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|_| shaped)
            .ok_or_else(|| {
                FieldError::new(&field, format!("{text:?} is not a date written YYYY-MM-DD"))
            })?;
        if !blocked.insert(date) {
            return Err(FieldError::new(field, format!("{text} is listed twice")));
        }
    }
    Ok(blocked)
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
