//! The timeline as an SVG chart, for people: traffic on the new version over time with each
//! step shaded and labelled, approval gates, hooks and provisioned-concurrency waits shaded and
//! labelled in their own colours, alarm checks, each alarm's move into ALARM (its name and time)
//! and the rollback (with its cause) marked, one lane per alias of a release train, the canary
//! analysis in a panel of its own on its own scale, time as m:ss (h:mm past an hour), and a
//! legend under the panels that wraps instead of covering data.

use plotters::chart::DualCoordChartContext;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use shifter::report::{Outcome, Summary, WaitKind};

use crate::error::CliError;

type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
/// The analysis panel: error rates (left axis, %) and p99 durations (right axis, ms).
type DualChart<'a, 'b> = DualCoordChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
>;
type Drawn = Result<(), Box<dyn std::error::Error>>;

const WIDTH: u32 = 1000;
const TRAFFIC_HEIGHT: u32 = 380;
const ANALYSIS_HEIGHT: u32 = 240;
const LEGEND_ROW: u32 = 22;
/// One lane of a release train: its height, and at most this many lanes share the height
/// one alias gets.
const LANE_HEIGHT: u32 = 70;
const GREY: RGBColor = RGBColor(120, 120, 120);
const ORANGE: RGBColor = RGBColor(220, 110, 0);
const DARK_RED: RGBColor = RGBColor(170, 0, 0);

/// The shade of a wait of `kind`.
fn wait_colour(kind: WaitKind) -> RGBColor {
    match kind {
        WaitKind::Approval => RGBColor(255, 214, 140),
        WaitKind::PreTrafficHook | WaitKind::PostTrafficHook => RGBColor(214, 196, 240),
        WaitKind::ProvisionedConcurrency => RGBColor(170, 225, 215),
    }
}

/// One legend entry: its text and how its mark is drawn.
struct Key {
    text: String,
    mark: Mark,
}

#[derive(Clone, Copy)]
enum Mark {
    Line(RGBColor),
    Dot(RGBColor, i32),
    Band(RGBColor),
    Dashed(RGBColor),
}

/// Draws the chart of an execution that has ended and returns the SVG text; a real execution's
/// time axis counts from its start (`started`, UTC), a simulation's in simulated time.
pub fn render(
    summary: &Summary,
    started: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<String, CliError> {
    render_as(summary, started, false)
}

/// [`render`], for an execution that is still running (`running`): its title says so instead of
/// the outcome its history so far would give.
pub fn render_as(
    summary: &Summary,
    started: Option<chrono::DateTime<chrono::Utc>>,
    running: bool,
) -> Result<String, CliError> {
    let mut svg = String::new();
    let x_desc = started.map_or_else(
        || "simulated time (m:ss, h:mm past an hour)".to_owned(),
        |at| format!("time since {} UTC (m:ss)", at.format("%Y-%m-%d %H:%M:%S")),
    );
    draw(summary, &x_desc, running, &mut svg).map_err(|e| CliError::Chart(e.to_string()))?;
    Ok(svg)
}

/// `1:05` for 65 s, `1:01:05` → `1:01` (h:mm) past an hour.
pub fn clock_label(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The legend's keys, in the order they are drawn.
fn keys(summary: &Summary) -> Vec<Key> {
    let mut keys = vec![
        Key {
            text: traffic_label(summary),
            mark: Mark::Line(BLUE),
        },
        Key {
            text: "alarm check: OK".into(),
            mark: Mark::Dot(GREEN, 3),
        },
        Key {
            text: "alarm check: ALARM".into(),
            mark: Mark::Dot(RED, 5),
        },
    ];
    let mut kinds: Vec<WaitKind> = summary.waits.iter().map(|w| w.kind).collect();
    kinds.dedup();
    for (i, kind) in kinds.iter().enumerate() {
        if !kinds[..i].contains(kind) {
            keys.push(Key {
                text: kind.label().to_owned(),
                mark: Mark::Band(wait_colour(*kind)),
            });
        }
    }
    if !summary.alarms_fired.is_empty() {
        keys.push(Key {
            text: "alarm went into ALARM (name, time)".into(),
            mark: Mark::Dashed(DARK_RED),
        });
    }
    if summary.outcome == Outcome::RolledBack {
        keys.push(Key {
            text: format!("rollback ({})", summary.error.as_deref().unwrap_or("?")),
            mark: Mark::Line(RED),
        });
    }
    if !summary.analyses.is_empty() {
        for (text, color) in [
            ("analysis: new version error rate %", MAGENTA),
            ("analysis: old version error rate %", GREY),
            ("analysis: new version p99 ms (right axis)", ORANGE),
            ("analysis: old version p99 ms (right axis)", GREY),
        ] {
            keys.push(Key {
                text: text.into(),
                mark: Mark::Line(color),
            });
        }
    }
    keys
}

/// The traffic line's legend: a release train's aliases each have a lane, labelled there.
fn traffic_label(summary: &Summary) -> String {
    if summary.train.is_empty() {
        return "traffic on new version".to_owned();
    }
    format!(
        "traffic on the new version, one lane per alias of the train ({} aliases, moved in lockstep)",
        summary.train.len()
    )
}

/// The title of each lane of a release train: `function:alias from → to`, and where it ended.
fn lane_titles(summary: &Summary) -> Vec<String> {
    summary
        .train
        .iter()
        .map(|m| {
            let name = shifter::domain::alias::function_short_name(&m.function);
            let ended = m
                .ended
                .as_ref()
                .map(|a| format!(" · ended on {}", a.describe()))
                .unwrap_or_default();
            format!(
                "{name}:{} {} → {}{ended}",
                m.alias, m.from_version, m.to_version
            )
        })
        .collect()
}

/// Legend rows: keys laid out left to right, wrapped at the canvas width (long texts are
/// wrapped at word boundaries), so the legend grows downwards instead of covering data.
fn legend_rows(keys: &[Key]) -> Vec<Vec<(String, Mark)>> {
    const CHARS: usize = 140;
    let mut rows: Vec<Vec<(String, Mark)>> = vec![Vec::new()];
    let mut used = 0;
    for key in keys {
        for (i, piece) in wrap(&key.text, CHARS - 6).into_iter().enumerate() {
            let len = piece.chars().count() + 6;
            if used + len > CHARS || i > 0 {
                rows.push(Vec::new());
                used = 0;
            }
            if let Some(row) = rows.last_mut() {
                row.push((piece, key.mark));
            }
            used += len;
        }
    }
    rows.retain(|r| !r.is_empty());
    rows
}

/// `text` cut into lines of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

fn draw(summary: &Summary, x_desc: &str, running: bool, out: &mut String) -> Drawn {
    let keys = keys(summary);
    let rows = legend_rows(&keys);
    let legend_height = LEGEND_ROW * rows.len() as u32 + 16;
    let analysis_height = if summary.analyses.is_empty() {
        0
    } else {
        ANALYSIS_HEIGHT
    };
    let traffic_height = if summary.train.is_empty() {
        TRAFFIC_HEIGHT
    } else {
        LANE_HEIGHT * summary.train.len() as u32 + 60
    };
    let height = 40 + traffic_height + analysis_height + legend_height;
    let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let error = summary.error.as_deref().map(|e| format!(" ({e})"));
    let title = if running {
        format!(
            "Traffic on the new version — running, {} so far",
            clock_label(summary.simulated_seconds)
        )
    } else {
        format!(
            "Traffic on the new version — {:?}{}",
            summary.outcome,
            error.unwrap_or_default()
        )
    };
    let root = root.titled(&title, ("sans-serif", 20))?;
    let (panels, legend) = root.split_vertically(traffic_height + analysis_height);
    let (top, bottom) = panels.split_vertically(traffic_height);
    let end = summary.simulated_seconds.max(1.0) * 1.02;
    if summary.train.is_empty() {
        let whole = Plot {
            title: None,
            labelled: true,
            x_axis: true,
        };
        traffic_panel(&top, summary, x_desc, end, &whole)?;
    } else {
        lanes(&top, summary, x_desc, end)?;
    }
    if !summary.analyses.is_empty() {
        analysis_panel(&bottom, summary, x_desc, end)?;
    }
    draw_legend(&legend, &rows)?;
    Ok(())
}

/// How one traffic plot is drawn: the whole panel, or one lane of a release train.
struct Plot<'s> {
    /// The lane's alias, written above it.
    title: Option<&'s str>,
    /// Steps, waits, alarms and the rollback are labelled (the only plot, or the first lane;
    /// the other lanes share its time axis).
    labelled: bool,
    /// The time axis is drawn (the only plot, or the last lane).
    x_axis: bool,
}

/// A release train: one lane per alias, stacked on one time axis, each titled with its alias.
fn lanes(area: &Area<'_>, summary: &Summary, x_desc: &str, end: f64) -> Drawn {
    let titles = lane_titles(summary);
    let mut rest = area.clone();
    for (i, title) in titles.iter().enumerate() {
        let last = i + 1 == titles.len();
        let lane = if last {
            rest.clone()
        } else {
            let (lane, below) = rest.split_vertically(LANE_HEIGHT);
            rest = below;
            lane
        };
        let plot = Plot {
            title: Some(title),
            labelled: i == 0,
            x_axis: last,
        };
        traffic_panel(&lane, summary, x_desc, end, &plot)?;
    }
    Ok(())
}

fn traffic_panel(area: &Area<'_>, summary: &Summary, x_desc: &str, end: f64, plot: &Plot) -> Drawn {
    let mut chart = ChartBuilder::on(area)
        .margin_left(12)
        .margin_right(12)
        .margin_top(if plot.title.is_some() { 16 } else { 12 })
        .margin_bottom(if plot.x_axis { 12 } else { 2 })
        .x_label_area_size(if plot.x_axis { 40 } else { 0 })
        .y_label_area_size(50)
        // The same right margin as the analysis panel's p99 axis, so both time axes line up.
        .right_y_label_area_size(if summary.analyses.is_empty() { 0 } else { 60 })
        .build_cartesian_2d(0.0..end, 0.0..110.0)?;
    steps(&mut chart, summary, end, plot.labelled)?;
    waits(&mut chart, summary, end, plot.labelled)?;
    let clock = |x: &f64| clock_label(*x);
    let percent = |y: &f64| format!("{y:.0}%");
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .x_label_formatter(&clock)
        .y_label_formatter(&percent)
        .light_line_style(WHITE.mix(0.0));
    if plot.title.is_none() {
        mesh.y_desc("% of traffic on the new version");
    } else {
        // A lane is short: plotters would scale its fonts down with it.
        mesh.y_labels(3)
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 14));
    }
    mesh.draw()?;
    traffic(&mut chart, summary, end)?;
    alarm_checks(&mut chart, summary)?;
    // In a short lane the alarm's label goes lower, clear of the rollback's.
    let alarm_y = if plot.title.is_some() { 35.0 } else { 80.0 };
    alarms_fired(&mut chart, summary, end, (plot.labelled, alarm_y))?;
    rollback(&mut chart, summary, plot.labelled)?;
    if let Some(title) = plot.title {
        let font = ("sans-serif", 12).into_font().style(FontStyle::Bold);
        area.draw(&Text::new(title.to_owned(), (62, 2), font))?;
    }
    Ok(())
}

/// Each step (a weight held until the next change) shaded in turn and labelled with its
/// weight and start, so where one step ends and the next begins is visible at a glance.
fn steps(chart: &mut Chart<'_, '_>, summary: &Summary, end: f64, labelled: bool) -> Drawn {
    let points: Vec<(f64, f64)> = summary
        .timeline
        .iter()
        .map(|p| (p.seconds, p.weight))
        .collect();
    let shades = [RGBColor(232, 240, 252), RGBColor(246, 249, 254)];
    for (i, &(from, weight)) in points.iter().enumerate() {
        let to = points.get(i + 1).map_or(end, |p| p.0);
        if to <= from {
            continue;
        }
        let shade = shades[i % 2];
        chart.draw_series(std::iter::once(Rectangle::new(
            [(from, 0.0), (to, 105.0)],
            shade.filled(),
        )))?;
        // Labelled where the band is wide enough to hold its label.
        if !labelled || (to - from) / end < 0.08 {
            continue;
        }
        let label = format!("{}% from {}", weight, clock_label(from));
        chart.draw_series(std::iter::once(Text::new(
            label,
            (from, 109.0),
            ("sans-serif", 11).into_font().color(&GREY),
        )))?;
    }
    Ok(())
}

/// Approval gates, hooks and provisioned-concurrency waits, each shaded in its colour over the
/// steps (at least a sliver wide, so an instant hook still shows) and labelled with what it
/// was and when: across the band when it is wide, upright beside it when it is narrow.
fn waits(chart: &mut Chart<'_, '_>, summary: &Summary, end: f64, labelled: bool) -> Drawn {
    for wait in &summary.waits {
        let to = wait.to.max(wait.from + end * 0.004);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(wait.from, 0.0), (to, 105.0)],
            wait_colour(wait.kind).filled(),
        )))?;
        if !labelled {
            continue;
        }
        let font = ("sans-serif", 11).into_font().color(&BLACK.mix(0.75));
        let (label, style) = if (to - wait.from) / end >= 0.12 {
            let span = format!("{}–{}", clock_label(wait.from), clock_label(wait.to));
            (format!("{} {span}", wait.kind.label()), font)
        } else {
            let at = clock_label(wait.from);
            let upright = font
                .transform(FontTransform::Rotate90)
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            (format!("{} {at}", wait.kind.label()), upright)
        };
        chart.draw_series(std::iter::once(Text::new(label, (wait.from, 100.0), style)))?;
    }
    Ok(())
}

/// The weight holds until the next change: drawn as steps up to `end`.
fn traffic(chart: &mut Chart<'_, '_>, summary: &Summary, end: f64) -> Drawn {
    let mut points: Vec<(f64, f64)> = Vec::new();
    for p in &summary.timeline {
        if let Some(&(_, last)) = points.last() {
            points.push((p.seconds, last));
        }
        points.push((p.seconds, p.weight));
    }
    if let Some(&(_, last)) = points.last() {
        points.push((end, last));
    }
    chart.draw_series(LineSeries::new(points, BLUE.stroke_width(3)))?;
    Ok(())
}

/// Green dots for quiet checks, larger red ones for checks that found an alarm.
fn alarm_checks(chart: &mut Chart<'_, '_>, summary: &Summary) -> Drawn {
    for (alarm, color, size) in [(false, GREEN, 3), (true, RED, 5)] {
        let checks = summary.alarm_checks.iter();
        let picked = checks.filter(|c| c.in_alarm.is_empty() != alarm);
        chart.draw_series(picked.map(|c| Circle::new((c.seconds, 2.0), size, color.filled())))?;
    }
    Ok(())
}

/// Each watched alarm's move into ALARM: a dashed dark-red line with a triangle on top, and
/// (where labelled) the alarm's name and the time, on the side of the line with more room;
/// several alarms' labels are stacked.
fn alarms_fired(
    chart: &mut Chart<'_, '_>,
    summary: &Summary,
    end: f64,
    (labelled, top): (bool, f64),
) -> Drawn {
    for (i, event) in summary.alarms_fired.iter().enumerate() {
        let at = event.seconds;
        chart.draw_series(DashedLineSeries::new(
            vec![(at, 0.0), (at, 105.0)],
            5,
            3,
            DARK_RED.stroke_width(2),
        ))?;
        chart.draw_series(std::iter::once(TriangleMarker::new(
            (at, 105.0),
            6,
            DARK_RED.filled(),
        )))?;
        if !labelled {
            continue;
        }
        let side = if at > end / 2.0 {
            HPos::Right
        } else {
            HPos::Left
        };
        let style = ("sans-serif", 12)
            .into_font()
            .color(&DARK_RED)
            .pos(Pos::new(side, VPos::Center));
        let label = format!(" {} in ALARM at {} ", event.alarm, clock_label(at));
        let y = top - 9.0 * (i % 4) as f64;
        chart.draw_series(std::iter::once(Text::new(label, (at, y), style)))?;
    }
    Ok(())
}

/// A red line where a rolled-back deployment restored the alias, labelled with its cause.
fn rollback(chart: &mut Chart<'_, '_>, summary: &Summary, labelled: bool) -> Drawn {
    if summary.outcome != Outcome::RolledBack {
        return Ok(());
    }
    let Some(last) = summary.timeline.last() else {
        return Ok(());
    };
    chart.draw_series(LineSeries::new(
        vec![(last.seconds, 0.0), (last.seconds, 105.0)],
        RED.stroke_width(2),
    ))?;
    if !labelled {
        return Ok(());
    }
    let label = format!(
        "rollback at {}: {}",
        clock_label(last.seconds),
        summary.error.as_deref().unwrap_or("?")
    );
    // Anchored on its right end, left of the line: never cut off at the chart's edge.
    let style = ("sans-serif", 13)
        .into_font()
        .color(&RED)
        .pos(Pos::new(HPos::Right, VPos::Center));
    chart.draw_series(std::iter::once(Text::new(
        format!("{label} "),
        (last.seconds, 95.0),
        style,
    )))?;
    Ok(())
}

/// The canary analysis in its own panel: each version's error rate at every analysis on a
/// percent axis scaled to the figures (a breach is visible, not a flat line at the bottom of
/// the traffic axis), and the p99 durations on the right (ms, dashed).
fn analysis_panel(area: &Area<'_>, summary: &Summary, x_desc: &str, end: f64) -> Drawn {
    let rates: Vec<f64> = summary
        .analyses
        .iter()
        .flat_map(|a| [a.new.error_rate_percent(), a.old.error_rate_percent()])
        .collect();
    let top_rate = rates.iter().copied().fold(0.0, f64::max).max(0.1) * 1.2;
    let p99s = summary
        .analyses
        .iter()
        .flat_map(|a| [a.new.p99_millis, a.old.p99_millis])
        .flatten();
    let top_millis = p99s.fold(0.0, f64::max).max(1.0) * 1.2;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .right_y_label_area_size(60)
        .build_cartesian_2d(0.0..end, 0.0..top_rate)?
        .set_secondary_coord(0.0..end, 0.0..top_millis);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|x| clock_label(*x))
        .y_desc("error rate, %")
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("p99 duration, ms")
        .draw()?;
    for (color, new) in [(MAGENTA, true), (GREY, false)] {
        let points = summary.analyses.iter().map(|a| {
            let figures = if new { &a.new } else { &a.old };
            (a.seconds, figures.error_rate_percent())
        });
        chart.draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(3))?;
    }
    p99(&mut chart, summary)
}

fn p99(chart: &mut DualChart<'_, '_>, summary: &Summary) -> Drawn {
    for (color, new) in [(ORANGE, true), (GREY, false)] {
        let points: Vec<(f64, f64)> = summary
            .analyses
            .iter()
            .filter_map(|a| {
                let figures = if new { &a.new } else { &a.old };
                figures.p99_millis.map(|ms| (a.seconds, ms))
            })
            .collect();
        chart.draw_secondary_series(DashedLineSeries::new(points, 6, 4, color.stroke_width(2)))?;
    }
    Ok(())
}

/// The legend under the panels, one row per line of keys.
fn draw_legend(area: &Area<'_>, rows: &[Vec<(String, Mark)>]) -> Drawn {
    let font = ("sans-serif", 13).into_font();
    for (r, row) in rows.iter().enumerate() {
        let y = 8 + LEGEND_ROW as i32 * r as i32 + LEGEND_ROW as i32 / 2;
        let mut x = 60;
        for (text, mark) in row {
            match *mark {
                Mark::Line(color) => {
                    area.draw(&PathElement::new(
                        vec![(x, y), (x + 20, y)],
                        color.stroke_width(3),
                    ))?;
                }
                Mark::Dot(color, size) => {
                    area.draw(&Circle::new((x + 10, y), size, color.filled()))?;
                }
                Mark::Band(color) => {
                    area.draw(&Rectangle::new(
                        [(x, y - 7), (x + 20, y + 7)],
                        color.filled(),
                    ))?;
                }
                Mark::Dashed(color) => {
                    for from in [x, x + 8, x + 16] {
                        area.draw(&PathElement::new(
                            vec![(from, y), (from + 5, y)],
                            color.stroke_width(2),
                        ))?;
                    }
                }
            }
            area.draw(&Text::new(text.clone(), (x + 26, y - 7), font.clone()))?;
            x += 26 + 7 * text.chars().count() as i32 + 24;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta};
    use shifter::report::{Ending, FinalAlias, SummaryBuilder, TrainAlias};
    use shifter::states;

    use super::*;

    /// A deployment that ran its pre-traffic hook, held 10 %, waited at an approval gate,
    /// shifted to 50 %, waited for provisioned concurrency, and rolled back when its alarm fired.
    fn marked() -> Summary {
        let start = DateTime::UNIX_EPOCH;
        let at = |s: i64| start + TimeDelta::seconds(s);
        let mut report = SummaryBuilder::new(start);
        report.state(at(0), states::RUN_PRE_TRAFFIC_HOOK, true);
        report.state(at(4), states::RUN_PRE_TRAFFIC_HOOK, false);
        report.traffic(at(5), 10.0);
        report.alarm_check(at(35), vec![]);
        report.state(at(125), states::AWAIT_APPROVAL, true);
        report.state(at(425), states::AWAIT_APPROVAL, false);
        report.traffic(at(426), 50.0);
        report.state(at(427), states::AWAIT_PROVISIONED_CONCURRENCY, true);
        report.state(at(487), states::AWAIT_PROVISIONED_CONCURRENCY, false);
        let cause = "alarm orders-errors in ALARM at 50% on version 2";
        report.alarm_check(at(500), vec![cause.to_owned()]);
        report.traffic(at(502), 0.0);
        let ending = Ending {
            succeeded: false,
            final_state: states::DEPLOYMENT_ROLLED_BACK.to_owned(),
            error: Some("AlarmTriggered".into()),
            cause: Some(cause.into()),
            transitions: 20,
            at: at(510),
        };
        report.finish(ending, |_| None)
    }

    /// Gates, hooks and provisioned-concurrency waits are shaded and labelled with what they
    /// were and when; the alarm is marked with its name and the time it went into ALARM; the
    /// legend names each kind of mark.
    #[test]
    fn waits_and_alarms_are_marked_and_labelled() {
        let svg = render(&marked(), None).unwrap();
        for expected in [
            "pre-traffic hook 0:00",
            "approval gate 2:05–7:05",
            "provisioned concurrency 7:07",
            "orders-errors in ALARM at 8:20",
            "rollback at 8:22: AlarmTriggered",
            "alarm went into ALARM (name, time)",
            "50% from 7:06",
        ] {
            assert!(svg.contains(expected), "{expected:?} missing");
        }
        // Each wait's band in its own colour (plotters writes fills as rgb hex).
        for kind in [
            WaitKind::Approval,
            WaitKind::PreTrafficHook,
            WaitKind::ProvisionedConcurrency,
        ] {
            let RGBColor(r, g, b) = wait_colour(kind);
            let fill = format!("#{r:02X}{g:02X}{b:02X}");
            assert!(svg.contains(&fill), "{kind:?}: no band filled {fill}");
        }
    }

    /// A twenty-alias release train gets a lane per alias, each titled with its alias and where
    /// it ended, stacked on one time axis: the chart grows instead of hiding any.
    #[test]
    fn a_release_train_gets_one_lane_per_alias() {
        let mut summary = marked();
        summary.train = (0..20)
            .map(|i| TrainAlias {
                function: format!("arn:aws:lambda:us-east-1:123456789012:function:service-{i:02}"),
                alias: "live".into(),
                from_version: "1".into(),
                to_version: "2".into(),
                ended: Some(FinalAlias::from(&shifter::domain::AliasRoute::single("1"))),
            })
            .collect();
        let svg = render(&summary, None).unwrap();
        for i in 0..20 {
            let title = format!("service-{i:02}:live 1 → 2 · ended on version 1 (no routing)");
            assert_eq!(svg.matches(&title).count(), 1, "{title}");
        }
        let height: u32 = svg
            .split("height=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
            .and_then(|h| h.parse().ok())
            .unwrap();
        assert!(height >= 20 * LANE_HEIGHT, "{height}");
        // The gate and the alarm are labelled once (on the first lane), marked on every lane.
        assert_eq!(svg.matches("approval gate 2:05").count(), 1);
        assert_eq!(svg.matches("orders-errors in ALARM").count(), 1);
    }

    #[test]
    fn time_reads_as_a_clock() {
        assert_eq!(clock_label(0.0), "0:00");
        assert_eq!(clock_label(65.4), "1:05");
        assert_eq!(clock_label(70_000.0), "19:26");
        assert_eq!(clock_label(3_599.0), "59:59");
    }

    /// A twenty-alias train's legend wraps onto rows of its own and keeps every name.
    #[test]
    fn a_long_legend_wraps_and_hides_nothing() {
        let names: Vec<String> = (0..20).map(|i| format!("service-{i:02}:live")).collect();
        let key = Key {
            text: format!("traffic on the new versions of {}", names.join(", ")),
            mark: Mark::Line(BLUE),
        };
        let rows = legend_rows(&[key]);
        assert!(rows.len() > 1, "{}", rows.len());
        let joined: String = rows
            .iter()
            .flatten()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        for name in &names {
            assert!(joined.contains(name.as_str()), "{name} missing");
        }
        assert!(rows.iter().flatten().all(|(t, _)| t.chars().count() <= 134));
    }
}
