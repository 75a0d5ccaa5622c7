use super::*;
use chrono::Timelike;
use serde_json::json;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn window(cron: &str, zone: &str, minutes: u32, blocked: &[&str]) -> Window {
    Window::parse(
        &json!({"cron": cron, "timeZone": zone, "durationMinutes": minutes,
        "blockedDates": blocked}),
    )
    .unwrap()
}

fn opens(at: &str) -> WindowJudgement {
    WindowJudgement::OpensAt(utc(at))
}

#[test]
fn a_weekday_window_opens_at_nine_local_for_eight_hours() {
    let w = window("0 9 * * MON-FRI", "Europe/Dublin", 480, &[]);
    // Winter: Dublin is on UTC. 2026-12-07 is a Monday.
    assert_eq!(
        w.judge(utc("2026-12-07T08:59:30Z")),
        opens("2026-12-07T09:00:00Z")
    );
    assert_eq!(w.judge(utc("2026-12-07T09:00:00Z")), WindowJudgement::Open);
    assert_eq!(w.judge(utc("2026-12-07T16:59:59Z")), WindowJudgement::Open);
    assert_eq!(
        w.judge(utc("2026-12-07T17:00:00Z")),
        opens("2026-12-08T09:00:00Z")
    );
    // Friday evening waits for Monday.
    assert_eq!(
        w.judge(utc("2026-12-11T17:00:00Z")),
        opens("2026-12-14T09:00:00Z")
    );
    assert_eq!(
        w.judge(utc("2026-12-12T12:00:00Z")),
        opens("2026-12-14T09:00:00Z")
    );
    // Summer: 09:00 Irish Standard Time is 08:00 UTC.
    assert_eq!(
        w.judge(utc("2027-06-07T07:00:00Z")),
        opens("2027-06-07T08:00:00Z")
    );
    assert_eq!(w.judge(utc("2027-06-07T15:59:00Z")), WindowJudgement::Open);
    assert_eq!(
        w.judge(utc("2027-06-07T16:00:00Z")),
        opens("2027-06-08T08:00:00Z")
    );
    let ny = window("0 9 * * *", "America/New_York", 60, &[]);
    assert_eq!(
        ny.judge(utc("2026-12-07T12:00:00Z")),
        opens("2026-12-07T14:00:00Z")
    );
}

#[test]
fn blocked_dates_close_their_local_day_only() {
    let w = window(
        "0 9 * * MON-FRI",
        "Europe/Dublin",
        480,
        &["2026-12-24", "2026-12-25"],
    );
    assert_eq!(
        w.judge(utc("2026-12-23T18:00:00Z")),
        opens("2026-12-28T09:00:00Z")
    );
    assert_eq!(
        w.judge(utc("2026-12-24T10:00:00Z")),
        opens("2026-12-28T09:00:00Z")
    );
    assert_eq!(w.judge(utc("2026-12-23T10:00:00Z")), WindowJudgement::Open);
    // A firing of a blocked day that runs past midnight opens the next day at its start.
    let late = window("0 22 * * *", "UTC", 240, &["2026-12-24"]);
    assert_eq!(
        late.judge(utc("2026-12-24T23:00:00Z")),
        opens("2026-12-25T00:00:00Z")
    );
    assert_eq!(
        late.judge(utc("2026-12-25T01:59:00Z")),
        WindowJudgement::Open
    );
    assert_eq!(
        late.judge(utc("2026-12-25T02:00:00Z")),
        opens("2026-12-25T22:00:00Z")
    );
    // The local date decides: 11:30 UTC on the 23rd is already the 24th in Auckland (UTC+13).
    let nz = window("* * * * *", "Pacific/Auckland", 1440, &["2026-12-24"]);
    assert_eq!(nz.judge(utc("2026-12-23T10:59:00Z")), WindowJudgement::Open);
    assert_eq!(
        nz.judge(utc("2026-12-23T11:30:00Z")),
        opens("2026-12-24T11:00:00Z")
    );
    assert_eq!(nz.judge(utc("2026-12-24T11:00:00Z")), WindowJudgement::Open);
}

#[test]
fn a_skipped_local_time_fires_when_the_clock_resumes() {
    // 2027-03-28, last Sunday of March: Dublin goes from 01:00 GMT straight to 02:00 IST.
    let w = window("30 1 * * *", "Europe/Dublin", 60, &[]);
    assert_eq!(
        w.judge(utc("2027-03-28T00:10:00Z")),
        opens("2027-03-28T01:00:00Z")
    );
    assert_eq!(w.judge(utc("2027-03-28T01:59:00Z")), WindowJudgement::Open);
    // The next day 01:30 IST is 00:30 UTC.
    assert_eq!(
        w.judge(utc("2027-03-28T02:00:00Z")),
        opens("2027-03-29T00:30:00Z")
    );
    // The day before, 01:30 GMT is 01:30 UTC.
    assert_eq!(
        w.judge(utc("2027-03-27T01:00:00Z")),
        opens("2027-03-27T01:30:00Z")
    );
}

#[test]
fn a_repeated_local_hour_fires_once_at_its_first_occurrence() {
    // 2027-10-31, last Sunday of October: 02:00 IST goes back to 01:00 GMT; 01:30 happens at
    // 00:30 UTC (IST) and again at 01:30 UTC (GMT).
    let w = window("30 1 * * *", "Europe/Dublin", 30, &[]);
    assert_eq!(
        w.judge(utc("2027-10-31T00:00:00Z")),
        opens("2027-10-31T00:30:00Z")
    );
    assert_eq!(w.judge(utc("2027-10-31T00:59:00Z")), WindowJudgement::Open);
    assert_eq!(
        w.judge(utc("2027-10-31T01:00:00Z")),
        opens("2027-11-01T01:30:00Z")
    );
    assert_eq!(
        w.judge(utc("2027-10-31T01:45:00Z")),
        opens("2027-11-01T01:30:00Z")
    );
}

#[test]
fn a_window_that_never_opens_within_a_year_is_never() {
    // Every date blocked for the year to come (2026-12-07 to 2027-12-07).
    let blocked: Vec<String> = (0..366)
        .map(|d| (NaiveDate::from_ymd_opt(2026, 12, 7).unwrap() + Duration::days(d)).to_string())
        .collect();
    let blocked: Vec<&str> = blocked.iter().map(String::as_str).collect();
    let all = window("0 9 * * *", "UTC", 60, &blocked);
    assert_eq!(
        all.judge(utc("2026-12-07T00:00:00Z")),
        WindowJudgement::Never
    );
    assert_eq!(
        all.judge(utc("2027-12-07T00:00:00Z")),
        opens("2027-12-08T09:00:00Z")
    );
    // The next 29 February is more than 366 days away.
    let leap = window("0 9 29 2 *", "UTC", 60, &[]);
    assert_eq!(
        leap.judge(utc("2026-12-07T00:00:00Z")),
        WindowJudgement::Never
    );
    assert_eq!(
        leap.judge(utc("2027-03-01T00:00:00Z")),
        opens("2028-02-29T09:00:00Z")
    );
    // Christmas only, and next Christmas is blocked.
    let xmas = window("0 9 25 12 *", "UTC", 60, &["2027-12-25"]);
    assert_eq!(
        xmas.judge(utc("2026-12-26T00:00:00Z")),
        WindowJudgement::Never
    );
    assert_eq!(
        xmas.judge(utc("2026-12-25T08:00:00Z")),
        opens("2026-12-25T09:00:00Z")
    );
}

/// Openness by the definition, minute by minute, with nothing of `judge`'s search: some firing
/// in the last `duration` minutes (a local minute the cron matches) and the local date not
/// blocked. Valid away from clock changes.
fn open_by_definition(w: &Window, at: DateTime<Utc>) -> bool {
    let local_date = at.with_timezone(&w.zone).date_naive();
    !w.blocked.contains(&local_date)
        && (0..w.duration.num_minutes()).any(|back| {
            let f = (at - Duration::minutes(back)).with_timezone(&w.zone);
            let (h, m) = (f.hour(), f.minute());
            w.cron.matches_date(f.date_naive()) && w.cron.times().any(|t| t == (h, m))
        })
}

#[test]
fn judge_agrees_with_the_definition_minute_by_minute() {
    let w = window(
        "*/20 8-9,23 * * MON,WED-FRI",
        "Asia/Kolkata",
        35,
        &["2026-12-10"],
    );
    let start = utc("2026-12-07T00:00:00Z");
    let minutes: Vec<DateTime<Utc>> = (0..5 * 1440)
        .map(|m| start + Duration::minutes(m))
        .collect();
    let open: Vec<bool> = minutes.iter().map(|t| open_by_definition(&w, *t)).collect();
    assert!(
        open.iter().filter(|o| **o).count() > 100,
        "the sample window opens"
    );
    for (i, t) in minutes.iter().enumerate() {
        let expected = match open[i..].iter().position(|o| *o) {
            Some(0) => WindowJudgement::Open,
            Some(k) => WindowJudgement::OpensAt(minutes[i + k]),
            None => continue,
        };
        assert_eq!(w.judge(*t), expected, "at {t}");
    }
}

#[test]
fn every_bad_window_names_its_field() {
    let good =
        json!({"cron": "0 9 * * MON-FRI", "timeZone": "Europe/Dublin", "durationMinutes": 480});
    assert!(Window::parse(&good).is_ok());
    let with = |key: &str, value: Value| {
        let mut w = good.clone();
        w[key] = value;
        Window::parse(&w).unwrap_err()
    };
    for (key, value, field, says) in [
        ("cron", json!("0 25 * * *"), "window.cron", "field 2 (hour)"),
        ("cron", json!("0 9 * *"), "window.cron", "has 4 fields"),
        ("cron", json!(9), "window.cron", "invalid type"),
        (
            "timeZone",
            json!("Europe/Dubl1n"),
            "window.timeZone",
            "IANA",
        ),
        (
            "timeZone",
            json!("europe/dublin"),
            "window.timeZone",
            "IANA",
        ),
        ("timeZone", json!("+01:00"), "window.timeZone", "IANA"),
        (
            "durationMinutes",
            json!(0),
            "window.durationMinutes",
            "between 1 and 1440",
        ),
        (
            "durationMinutes",
            json!(1441),
            "window.durationMinutes",
            "between 1 and 1440",
        ),
        (
            "durationMinutes",
            json!(60.5),
            "window.durationMinutes",
            "invalid type",
        ),
        (
            "blockedDates",
            json!("2026-12-25"),
            "window.blockedDates",
            "invalid type",
        ),
        (
            "blockedDates",
            json!(["2026-12-25", "2026-2-01"]),
            "window.blockedDates[1]",
            "YYYY-MM-DD",
        ),
        (
            "blockedDates",
            json!(["2026-02-30"]),
            "window.blockedDates[0]",
            "YYYY-MM-DD",
        ),
        (
            "blockedDates",
            json!(["25/12/2026"]),
            "window.blockedDates[0]",
            "YYYY-MM-DD",
        ),
        (
            "blockedDates",
            json!([" 2026-12-25"]),
            "window.blockedDates[0]",
            "YYYY-MM-DD",
        ),
        (
            "blockedDates",
            json!(["2026-12-25", "2026-12-25"]),
            "window.blockedDates[1]",
            "twice",
        ),
        ("open", json!(true), "window.open", "unknown field"),
    ] {
        let e = with(key, value);
        assert_eq!(e.field, field, "{key}: {e}");
        assert!(e.message.contains(says), "{key}: {e}");
    }
    let many: Vec<String> = (0..367)
        .map(|d| (NaiveDate::from_ymd_opt(2027, 1, 1).unwrap() + Duration::days(d)).to_string())
        .collect();
    assert_eq!(
        with("blockedDates", json!(many)).field,
        "window.blockedDates"
    );
    for missing in ["cron", "timeZone", "durationMinutes"] {
        let mut w = good.clone();
        w.as_object_mut().unwrap().remove(missing);
        assert_eq!(
            Window::parse(&w).unwrap_err().field,
            format!("window.{missing}")
        );
    }
    assert_eq!(
        Window::parse(&json!(["0 9 * * *"])).unwrap_err().field,
        "window"
    );
    // A cron no calendar date matches is refused, not judged Never forever.
    for never in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 FEB-APR/2 *"] {
        let e = with("cron", json!(never));
        assert_eq!(e.field, "window.cron");
        assert!(e.message.contains("never fires"), "{never}: {e}");
    }
    let ok = |cron: &str| json!({"cron": cron, "timeZone": "UTC", "durationMinutes": 1});
    assert!(Window::parse(&ok("0 0 29 2 *")).is_ok());
    assert!(
        Window::parse(&ok("0 0 30 2 MON")).is_ok(),
        "either day field"
    );
}
