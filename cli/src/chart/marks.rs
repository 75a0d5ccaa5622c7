//! What the traffic plot marks besides the traffic: waits (gates, hooks, provisioned
//! concurrency), alarm checks, each alarm's move into ALARM, and the rollback.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use shifter::report::{Outcome, Summary, WaitKind};

use super::{Chart, DARK_RED, Drawn, clock_label};

/// The shade of a wait of `kind`.
pub(super) fn wait_colour(kind: WaitKind) -> RGBColor {
    match kind {
        WaitKind::Approval => RGBColor(255, 214, 140),
        WaitKind::PreTrafficHook | WaitKind::PostTrafficHook => RGBColor(214, 196, 240),
        WaitKind::ProvisionedConcurrency => RGBColor(170, 225, 215),
    }
}

/// Approval gates, hooks and provisioned-concurrency waits, each shaded in its colour over the
/// steps (at least a sliver wide, so an instant hook still shows) and labelled with what it
/// was and when: across the band when it is wide, upright beside it when it is narrow.
pub(super) fn waits(
    chart: &mut Chart<'_, '_>,
    summary: &Summary,
    end: f64,
    labelled: bool,
) -> Drawn {
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

/// Green dots for quiet checks, larger red ones for checks that found an alarm.
pub(super) fn alarm_checks(chart: &mut Chart<'_, '_>, summary: &Summary) -> Drawn {
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
pub(super) fn alarms_fired(
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
pub(super) fn rollback(chart: &mut Chart<'_, '_>, summary: &Summary, labelled: bool) -> Drawn {
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
