//! The timeline as an SVG chart, for people: traffic on the new version over time with each
//! step shaded and labelled, alarm checks and the rollback (with its cause) marked, the canary
//! analysis in a panel of its own on its own scale, time as m:ss (h:mm past an hour), and a
//! legend under the panels that wraps instead of covering data.

use plotters::chart::DualCoordChartContext;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use shifter::report::{Outcome, Summary};

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
const GREY: RGBColor = RGBColor(120, 120, 120);
const ORANGE: RGBColor = RGBColor(220, 110, 0);

/// One legend entry: its text and how its mark is drawn.
struct Key {
    text: String,
    mark: Mark,
}

#[derive(Clone, Copy)]
enum Mark {
    Line(RGBColor),
    Dot(RGBColor, i32),
}

/// Draws the chart and returns the SVG text; a real execution's time axis counts from its
/// start (`started`, UTC), a simulation's in simulated time.
pub fn render(
    summary: &Summary,
    started: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<String, CliError> {
    let mut svg = String::new();
    let x_desc = started.map_or_else(
        || "simulated time (m:ss, h:mm past an hour)".to_owned(),
        |at| format!("time since {} UTC (m:ss)", at.format("%Y-%m-%d %H:%M:%S")),
    );
    draw(summary, &x_desc, &mut svg).map_err(|e| CliError::Chart(e.to_string()))?;
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

/// The traffic line's legend: a release train names every alias it moved in lockstep.
fn traffic_label(summary: &Summary) -> String {
    if summary.train.is_empty() {
        return "traffic on new version".to_owned();
    }
    let aliases: Vec<String> = summary
        .train
        .iter()
        .map(|m| {
            let name = shifter::domain::alias::function_short_name(&m.function);
            format!("{name}:{}", m.alias)
        })
        .collect();
    format!(
        "traffic on the new versions of {} (in lockstep)",
        aliases.join(", ")
    )
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

fn draw(summary: &Summary, x_desc: &str, out: &mut String) -> Drawn {
    let keys = keys(summary);
    let rows = legend_rows(&keys);
    let legend_height = LEGEND_ROW * rows.len() as u32 + 16;
    let analysis_height = if summary.analyses.is_empty() {
        0
    } else {
        ANALYSIS_HEIGHT
    };
    let height = 40 + TRAFFIC_HEIGHT + analysis_height + legend_height;
    let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let error = summary.error.as_deref().map(|e| format!(" ({e})"));
    let title = format!(
        "Traffic on the new version — {:?}{}",
        summary.outcome,
        error.unwrap_or_default()
    );
    let root = root.titled(&title, ("sans-serif", 20))?;
    let (panels, legend) = root.split_vertically(TRAFFIC_HEIGHT + analysis_height);
    let (top, bottom) = panels.split_vertically(TRAFFIC_HEIGHT);
    let end = summary.simulated_seconds.max(1.0) * 1.02;
    traffic_panel(&top, summary, x_desc, end)?;
    if !summary.analyses.is_empty() {
        analysis_panel(&bottom, summary, x_desc, end)?;
    }
    draw_legend(&legend, &rows)?;
    Ok(())
}

fn traffic_panel(area: &Area<'_>, summary: &Summary, x_desc: &str, end: f64) -> Drawn {
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        // The same right margin as the analysis panel's p99 axis, so both time axes line up.
        .right_y_label_area_size(if summary.analyses.is_empty() { 0 } else { 60 })
        .build_cartesian_2d(0.0..end, 0.0..110.0)?;
    steps(&mut chart, summary, end)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|x| clock_label(*x))
        .y_desc("% of traffic on the new version")
        .y_label_formatter(&|y| format!("{y:.0}%"))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    traffic(&mut chart, summary, end)?;
    alarm_checks(&mut chart, summary)?;
    rollback(&mut chart, summary)?;
    Ok(())
}

/// Each step (a weight held until the next change) shaded in turn and labelled with its
/// weight and start, so where one step ends and the next begins is visible at a glance.
fn steps(chart: &mut Chart<'_, '_>, summary: &Summary, end: f64) -> Drawn {
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
        if (to - from) / end < 0.08 {
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

/// Green dots for quiet checks, larger red ones for checks that found an alarm.
fn alarm_checks(chart: &mut Chart<'_, '_>, summary: &Summary) -> Drawn {
    for (alarm, color, size) in [(false, GREEN, 3), (true, RED, 5)] {
        let checks = summary.alarm_checks.iter();
        let picked = checks.filter(|c| c.in_alarm.is_empty() != alarm);
        chart.draw_series(picked.map(|c| Circle::new((c.seconds, 2.0), size, color.filled())))?;
    }
    Ok(())
}

/// A red line where a rolled-back deployment restored the alias, labelled with its cause.
fn rollback(chart: &mut Chart<'_, '_>, summary: &Summary) -> Drawn {
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
            }
            area.draw(&Text::new(text.clone(), (x + 26, y - 7), font.clone()))?;
            x += 26 + 7 * text.chars().count() as i32 + 24;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
