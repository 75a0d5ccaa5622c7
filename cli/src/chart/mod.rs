//! The timeline as an SVG chart, for people: traffic on the new version over time with each
//! step shaded and labelled, approval gates, hooks and provisioned-concurrency waits shaded and
//! labelled in their own colours, alarm checks, each alarm's move into ALARM (its name and time)
//! and the rollback (with its cause) marked, one lane per alias of a release train, the canary
//! analysis in a panel of its own on its own scale, time as m:ss (h:mm past an hour), and a
//! legend under the panels that wraps instead of covering data.

use plotters::chart::DualCoordChartContext;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use shifter::report::Summary;

use crate::error::CliError;

mod legend;
mod marks;
mod waves;

use legend::{draw_legend, keys, legend_rows};
use marks::{alarm_checks, alarms_fired, rollback, waits};
pub use waves::render as render_waves;

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
        // Room for the analysis panel's p99 axis, so both time axes line up (a margin, not a
        // label area: plotters would repeat the percent axis there).
        .margin_right(if summary.analyses.is_empty() { 12 } else { 72 })
        .margin_top(if plot.title.is_some() { 16 } else { 12 })
        .margin_bottom(if plot.x_axis { 12 } else { 2 })
        .x_label_area_size(if plot.x_axis { 40 } else { 0 })
        .y_label_area_size(50)
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta};
    use shifter::report::{Ending, FinalAlias, SummaryBuilder, TrainAlias};
    use shifter::states;

    use super::marks::wait_colour;
    use super::*;
    use shifter::report::WaitKind;

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
}
