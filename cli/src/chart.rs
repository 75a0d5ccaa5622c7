//! The timeline as an SVG chart: traffic on the new version over time, alarm checks, rollback.

use plotters::chart::DualCoordChartContext;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use shifter::report::{Outcome, Summary};

use crate::error::CliError;

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
/// The chart with the analysis's milliseconds on a second (right-hand) axis.
type DualChart<'a, 'b> = DualCoordChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
>;
type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Draws the chart and returns the SVG text; a real execution's time axis counts from its
/// start (`started`, UTC), a simulation's in simulated seconds.
pub fn render(
    summary: &Summary,
    started: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<String, CliError> {
    let mut svg = String::new();
    let x_desc = started.map_or_else(
        || "simulated seconds".to_owned(),
        |at| format!("seconds since {} UTC", at.format("%Y-%m-%d %H:%M:%S")),
    );
    draw(summary, &x_desc, &mut svg).map_err(|e| CliError::Chart(e.to_string()))?;
    Ok(svg)
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
            format!(
                "{}:{}",
                shifter::domain::alias::function_short_name(&m.function),
                m.alias
            )
        })
        .collect();
    format!("traffic on the new versions of {}", aliases.join(", "))
}

fn draw(summary: &Summary, x_desc: &str, out: &mut String) -> Drawn {
    let end = summary.simulated_seconds.max(1.0);
    let root = SVGBackend::with_string(out, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let error = summary.error.as_deref().map(|e| format!(" ({e})"));
    let title = format!(
        "Traffic on the new version — {:?}{}",
        summary.outcome,
        error.unwrap_or_default()
    );
    let p99s: Vec<f64> = summary
        .analyses
        .iter()
        .flat_map(|a| [a.new.p99_millis, a.old.p99_millis])
        .flatten()
        .collect();
    let top_millis = p99s.iter().copied().fold(0.0, f64::max).max(1.0) * 1.2;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .right_y_label_area_size(if p99s.is_empty() { 0 } else { 60 })
        .build_cartesian_2d(0.0..end * 1.02, 0.0..105.0)?
        .set_secondary_coord(0.0..end * 1.02, 0.0..top_millis);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("% of traffic on the new version")
        .draw()?;
    traffic(&mut chart, summary, end)?;
    alarm_checks(&mut chart, summary)?;
    analyses(&mut chart, summary)?;
    if !p99s.is_empty() {
        chart
            .configure_secondary_axes()
            .y_desc("p99 duration, ms")
            .draw()?;
        p99(&mut chart, summary)?;
    }
    rollback(&mut chart, summary)?;
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
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
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(3)))?
        .label(traffic_label(summary))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(3)));
    Ok(())
}

/// The canary analysis, on the same percent axis: each version's error rate at every analysis
/// (the new one magenta, the old one grey), when the deployment had an analysis.
fn analyses(chart: &mut Chart<'_, '_>, summary: &Summary) -> Drawn {
    if summary.analyses.is_empty() {
        return Ok(());
    }
    let grey = RGBColor(120, 120, 120);
    for (label, color, new) in [
        ("analysis: new version error rate %", MAGENTA, true),
        ("analysis: old version error rate %", grey, false),
    ] {
        let points: Vec<(f64, f64)> = summary
            .analyses
            .iter()
            .map(|a| {
                let figures = if new { &a.new } else { &a.old };
                (a.seconds, figures.error_rate_percent().min(105.0))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)).point_size(3))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    Ok(())
}

/// The canary analysis's p99 durations on the right-hand axis (milliseconds), dashed: the new
/// version dark orange, the old one grey.
fn p99(chart: &mut DualChart<'_, '_>, summary: &Summary) -> Drawn {
    let orange = RGBColor(220, 110, 0);
    let grey = RGBColor(120, 120, 120);
    for (label, color, new) in [
        ("analysis: new version p99 ms (right axis)", orange, true),
        ("analysis: old version p99 ms (right axis)", grey, false),
    ] {
        let points: Vec<(f64, f64)> = summary
            .analyses
            .iter()
            .filter_map(|a| {
                let figures = if new { &a.new } else { &a.old };
                figures.p99_millis.map(|ms| (a.seconds, ms))
            })
            .collect();
        chart
            .draw_secondary_series(DashedLineSeries::new(points, 6, 4, color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    Ok(())
}

/// Green dots for quiet checks, larger red ones for checks that found an alarm.
fn alarm_checks(chart: &mut Chart<'_, '_>, summary: &Summary) -> Drawn {
    let at = |alarm: bool| -> Vec<(f64, f64)> {
        let checks = summary.alarm_checks.iter();
        let picked = checks.filter(|c| c.in_alarm.is_empty() != alarm);
        picked.map(|c| (c.seconds, 2.0)).collect()
    };
    chart
        .draw_series(
            at(false)
                .into_iter()
                .map(|p| Circle::new(p, 3, GREEN.filled())),
        )?
        .label("alarm check: OK")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, GREEN.filled()));
    chart
        .draw_series(
            at(true)
                .into_iter()
                .map(|p| Circle::new(p, 5, RED.filled())),
        )?
        .label("alarm check: ALARM")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.filled()));
    Ok(())
}

/// A red line where a rolled-back deployment restored the alias.
fn rollback(chart: &mut Chart<'_, '_>, summary: &Summary) -> Drawn {
    if summary.outcome != Outcome::RolledBack {
        return Ok(());
    }
    let Some(last) = summary.timeline.last() else {
        return Ok(());
    };
    chart
        .draw_series(LineSeries::new(
            vec![(last.seconds, 0.0), (last.seconds, 105.0)],
            RED.stroke_width(2),
        ))?
        .label("rollback")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    Ok(())
}
