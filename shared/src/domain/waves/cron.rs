//! Five-field cron expressions (`minute hour day-of-month month day-of-week`), as Vixie cron
//! and cronie read them, matched at minute resolution on local dates and times. Each field takes
//! `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from `a` to the field's end),
//! and comma-separated lists of those; months take `JAN`–`DEC`, weekdays `SUN`–`SAT` (0 and 7 are
//! both Sunday). As in cron, when both day fields are restricted (neither starts with `*`) a day
//! matches if either matches; otherwise both must.

use chrono::{Datelike, NaiveDate};

/// Longest cron expression accepted, in characters.
pub const MAX_CRON_CHARS: usize = 200;

/// A parsed cron expression: the set of values each field allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// The day-of-month field starts with `*` (it does not restrict the day).
    days_star: bool,
    /// The day-of-week field starts with `*`.
    weekdays_star: bool,
}

/// What one field allows and how it is named in messages.
struct FieldSpec {
    position: usize,
    name: &'static str,
    min: u32,
    max: u32,
    /// Three-letter names for `min`, `min + 1`, … (empty when the field has none).
    names: &'static [&'static str],
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        position: 1,
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    FieldSpec {
        position: 2,
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    FieldSpec {
        position: 3,
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
    },
    FieldSpec {
        position: 4,
        name: "month",
        min: 1,
        max: 12,
        names: &MONTHS,
    },
    FieldSpec {
        position: 5,
        name: "day-of-week",
        min: 0,
        max: 7,
        names: &WEEKDAYS,
    },
];

impl Cron {
    /// Reads a five-field expression; the error says which field is wrong and why.
    pub fn parse(text: &str) -> Result<Cron, String> {
        if text.chars().count() > MAX_CRON_CHARS {
            return Err(format!("is longer than {MAX_CRON_CHARS} characters"));
        }
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!(
                "{text:?} has {} fields; a cron expression has 5: minute hour day-of-month \
                 month day-of-week (e.g. \"0 9 * * MON-FRI\")",
                parts.len()
            ));
        }
        let mut sets = [0u64; 5];
        for ((set, spec), part) in sets.iter_mut().zip(&FIELDS).zip(&parts) {
            *set = parse_field(spec, part).map_err(|problem| {
                format!(
                    "field {} ({}) {part:?}: {problem}",
                    spec.position, spec.name
                )
            })?;
        }
        // Day-of-week 7 is Sunday, as 0 is.
        let weekdays = (sets[4] & 0x7f) | ((sets[4] >> 7) & 1);
        Ok(Cron {
            minutes: sets[0],
            hours: sets[1],
            days: sets[2],
            months: sets[3],
            weekdays,
            days_star: parts[2].starts_with('*'),
            weekdays_star: parts[4].starts_with('*'),
        })
    }

    /// The expression fires on this (local) date.
    pub fn matches_date(&self, date: NaiveDate) -> bool {
        let bit = |set: u64, value: u32| set & (1 << value) != 0;
        if !bit(self.months, date.month()) {
            return false;
        }
        let day = bit(self.days, date.day());
        let weekday = bit(self.weekdays, date.weekday().num_days_from_sunday());
        if self.days_star || self.weekdays_star {
            day && weekday
        } else {
            day || weekday
        }
    }

    /// The (hour, minute) pairs it fires at on a matching date, in order.
    pub fn times(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..24u32)
            .filter(|h| self.hours & (1 << h) != 0)
            .flat_map(move |h| {
                (0..60u32)
                    .filter(move |m| self.minutes & (1 << m) != 0)
                    .map(move |m| (h, m))
            })
    }
}

/// One field: a comma-separated list of items, as a bit set of the values it allows.
fn parse_field(spec: &FieldSpec, text: &str) -> Result<u64, String> {
    let mut set = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        let (first, last) = match range {
            "*" => (spec.min, spec.max),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(spec, a)?, value(spec, b)?),
                None if step.is_some() => (value(spec, range)?, spec.max),
                None => {
                    let v = value(spec, range)?;
                    (v, v)
                }
            },
        };
        if first > last {
            return Err(format!(
                "the range {range:?} runs backwards (from {first} down to {last})"
            ));
        }
        let step = match step {
            None => 1,
            Some(s) => match s.parse::<u32>() {
                Ok(n)
                    if (1..=spec.max.max(1)).contains(&n)
                        && s.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    n
                }
                _ => {
                    return Err(format!(
                        "the step {s:?} is not a number from 1 to {}",
                        spec.max.max(1)
                    ));
                }
            },
        };
        for v in (first..=last).step_by(step as usize) {
            set |= 1 << v;
        }
    }
    Ok(set)
}

/// A number in the field's range, or one of its names (any letter case).
fn value(spec: &FieldSpec, text: &str) -> Result<u32, String> {
    if text.is_empty() {
        return Err("has an empty item (check the commas, dashes and slashes)".to_owned());
    }
    if let Some(i) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(spec.min + u32::try_from(i).unwrap_or(0));
    }
    let named = if spec.names.is_empty() {
        String::new()
    } else {
        format!(" or {}-{}", spec.names[0], spec.names[spec.names.len() - 1])
    };
    match text.parse::<u32>() {
        Ok(v) if text.bytes().all(|b| b.is_ascii_digit()) && (spec.min..=spec.max).contains(&v) => {
            Ok(v)
        }
        _ => Err(format!(
            "{text:?} is not a value from {} to {}{named}",
            spec.min, spec.max
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn times(text: &str) -> Vec<(u32, u32)> {
        Cron::parse(text).unwrap().times().collect()
    }

    #[test]
    fn times_follow_minutes_hours_lists_ranges_and_steps() {
        assert_eq!(times("0 9 * * *"), vec![(9, 0)]);
        assert_eq!(
            times("*/20 9-10 * * *"),
            vec![(9, 0), (9, 20), (9, 40), (10, 0), (10, 20), (10, 40)]
        );
        assert_eq!(
            times("5,50 8,17 * * *"),
            vec![(8, 5), (8, 50), (17, 5), (17, 50)]
        );
        assert_eq!(
            times("10-30/10 23 * * *"),
            vec![(23, 10), (23, 20), (23, 30)]
        );
        assert_eq!(times("45/5 0 * * *"), vec![(0, 45), (0, 50), (0, 55)]);
        assert_eq!(times("* * * * *").len(), 1440);
    }

    #[test]
    fn dates_follow_months_weekdays_and_names() {
        // 2026-12-07 is a Monday; 2026-12-06 a Sunday.
        let weekdays = Cron::parse("0 9 * * MON-FRI").unwrap();
        assert!(weekdays.matches_date(date(2026, 12, 7)));
        assert!(weekdays.matches_date(date(2026, 12, 11)));
        assert!(!weekdays.matches_date(date(2026, 12, 12)));
        assert!(!weekdays.matches_date(date(2026, 12, 6)));
        for sunday in ["0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * * 5-7"] {
            assert!(
                Cron::parse(sunday).unwrap().matches_date(date(2026, 12, 6)),
                "{sunday}"
            );
        }
        assert!(
            !Cron::parse("0 0 * * 5-7")
                .unwrap()
                .matches_date(date(2026, 12, 7))
        );
        let months = Cron::parse("0 0 1 jan,Jul *").unwrap();
        assert!(months.matches_date(date(2027, 1, 1)));
        assert!(months.matches_date(date(2027, 7, 1)));
        assert!(!months.matches_date(date(2027, 2, 1)));
        assert!(!months.matches_date(date(2027, 1, 2)));
        assert!(
            Cron::parse("0 0 */2 * *")
                .unwrap()
                .matches_date(date(2027, 1, 3))
        );
        assert!(
            !Cron::parse("0 0 */2 * *")
                .unwrap()
                .matches_date(date(2027, 1, 4))
        );
    }

    #[test]
    fn both_day_fields_restricted_match_either_as_cron_does() {
        // The 13th, or any Friday (2026-11-13 is a Friday; 2026-12-13 a Sunday; 2026-12-11 a Friday).
        let either = Cron::parse("0 0 13 * FRI").unwrap();
        assert!(either.matches_date(date(2026, 12, 13)));
        assert!(either.matches_date(date(2026, 12, 11)));
        assert!(!either.matches_date(date(2026, 12, 12)));
        // A starred day-of-month (even with a step) leaves the weekday to decide alone.
        let both = Cron::parse("0 0 */1 * FRI").unwrap();
        assert!(both.matches_date(date(2026, 12, 11)));
        assert!(!both.matches_date(date(2026, 12, 13)));
    }

    #[test]
    fn every_bad_expression_names_its_field() {
        for (text, names) in [
            ("0 9 * *", "has 4 fields"),
            ("0 9 * * * *", "has 6 fields"),
            ("", "has 0 fields"),
            ("60 9 * * *", "field 1 (minute)"),
            ("-1 9 * * *", "field 1 (minute)"),
            ("0 24 * * *", "field 2 (hour)"),
            ("0 9-8 * * *", "field 2 (hour)"),
            ("0 9 0 * *", "field 3 (day-of-month)"),
            ("0 9 32 * *", "field 3 (day-of-month)"),
            ("0 9 * 13 *", "field 4 (month)"),
            ("0 9 * JANUARY *", "field 4 (month)"),
            ("0 9 * * 8", "field 5 (day-of-week)"),
            ("0 9 * * MON-", "field 5 (day-of-week)"),
            ("0 9 * * FRI-MON", "field 5 (day-of-week)"),
            ("*/0 9 * * *", "field 1 (minute)"),
            ("*/x 9 * * *", "field 1 (minute)"),
            ("1,,2 9 * * *", "field 1 (minute)"),
            ("+5 9 * * *", "field 1 (minute)"),
            ("@daily", "has 1 fields"),
            ("0 9 L * *", "field 3 (day-of-month)"),
            ("0 9 * * MON#2", "field 5 (day-of-week)"),
        ] {
            let e = Cron::parse(text).unwrap_err();
            assert!(e.contains(names), "{text:?}: {e}");
        }
        assert!(
            Cron::parse(&"0 ".repeat(101))
                .unwrap_err()
                .contains("longer than")
        );
    }
}
