//! A wave plan's timeline as an SVG chart: one lane per region (and account), the traffic on
//! the target version over time in each, every lane labelled with its wave, place and outcome,
//! on one time axis.

use plotters::prelude::*;
use shifter_statemachine::local::waves::{RegionReport, WavesSummary};

use super::{Drawn, GREY, WIDTH, clock_label};
use crate::error::CliError;

/// Height of one region's lane.
const LANE: u32 = 56;
/// The share of a lane 100 % of traffic fills.
const BAND: f64 = 0.7;
/// The area under a lane's traffic.
const BLUE_FILL: RGBColor = RGBColor(170, 200, 245);

/// Draws the plan's lanes and returns the SVG text.
pub fn render(summary: &WavesSummary) -> Result<String, CliError> {
    let mut svg = String::new();
    draw(summary, &mut svg).map_err(|e| CliError::Chart(e.to_string()))?;
    Ok(svg)
}

fn draw(summary: &WavesSummary, out: &mut String) -> Drawn {
    let lanes: Vec<(&str, &RegionReport)> = summary
        .waves
        .iter()
        .flat_map(|w| w.regions.iter().map(move |r| (w.name.as_str(), r)))
        .collect();
    let count = lanes.len().max(1);
    let height = 100 + LANE * count as u32;
    let root = SVGBackend::with_string(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let error = summary
        .error
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    let title = format!(
        "Wave plan — {}{error}: traffic on the target, one lane per region",
        summary.outcome
    );
    let root = root.titled(&title, ("sans-serif", 20))?;
    let end = summary.simulated_seconds.max(1.0) * 1.02;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(12)
        .build_cartesian_2d(0.0..end, 0.0..count as f64)?;
    chart
        .configure_mesh()
        .x_desc("simulated time (m:ss, h:mm past an hour)")
        .x_label_formatter(&|x| clock_label(*x))
        .y_labels(0)
        .disable_y_mesh()
        .draw()?;
    let shades = [RGBColor(246, 249, 254), RGBColor(236, 236, 236)];
    let mut wave_index = 0;
    for (i, (wave, region)) in lanes.iter().enumerate() {
        if i > 0 && lanes[i - 1].0 != *wave {
            wave_index += 1;
        }
        let base = (count - 1 - i) as f64;
        let band = Rectangle::new(
            [(0.0, base), (end, base + 1.0)],
            shades[wave_index % 2].filled(),
        );
        chart.draw_series(std::iter::once(band))?;
        lane(&mut chart, wave, region, base, end)?;
    }
    Ok(())
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// One region's lane: its traffic as a filled step line from `base`, and its label.
fn lane(
    chart: &mut Chart<'_, '_>,
    wave: &str,
    region: &RegionReport,
    base: f64,
    end: f64,
) -> Drawn {
    let mut points: Vec<(f64, f64)> = Vec::new();
    for p in &region.timeline {
        if let Some(&(_, last)) = points.last() {
            points.push((p.seconds, last));
        }
        points.push((p.seconds, base + p.weight / 100.0 * BAND));
    }
    if let Some(&(_, last)) = points.last() {
        points.push((end, last));
        let mut area = vec![(points[0].0, base)];
        area.extend(points.iter().copied());
        area.push((end, base));
        chart.draw_series(std::iter::once(Polygon::new(area, BLUE_FILL.filled())))?;
        chart.draw_series(LineSeries::new(points, BLUE.stroke_width(2)))?;
    }
    let started = region.started.map_or_else(
        || "never started".to_owned(),
        |s| format!("from {}", clock_label(s)),
    );
    let label = format!(
        "wave {wave} · {} ({}) · {} · {started}",
        region.region, region.account, region.outcome
    );
    let font = ("sans-serif", 12).into_font().color(&GREY);
    chart.draw_series(std::iter::once(Text::new(
        label,
        (end * 0.005, base + 0.97),
        font,
    )))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use shifter_statemachine::local::waves::{WavesSpec, WavesWorld, run_waves};

    /// Every region has its lane, labelled with its wave, place and outcome, and a region that
    /// moved traffic draws it.
    #[tokio::test]
    async fn every_region_of_the_sample_plan_has_its_labelled_lane() {
        let text = include_str!("../../../events/accounts/waves.json");
        let spec = WavesSpec::from_json(text).unwrap();
        let world = WavesWorld::build(&spec).unwrap();
        assert!(world.region_alarm_at("eu-central-1", 2600));
        let run = run_waves(&world, spec.input.clone().unwrap(), "chart", &mut |_| {})
            .await
            .unwrap();
        let svg = super::render(&run.summary).unwrap();
        assert!(
            svg.contains("Wave plan — RolledBack (TargetFailed)"),
            "{svg}"
        );
        for label in [
            "wave canary · eu-west-1 (111111111111) · restored · from 0:00",
            "wave early · eu-central-1 (111111111111) · failed · from 40:02",
            "wave rest · ap-southeast-2 (222222222222) · pending · never started",
        ] {
            assert!(svg.contains(label), "no lane {label:?}");
        }
        let canary = &run.summary.waves[0].regions[0].timeline;
        assert_eq!(
            canary.last().map(|p| p.weight),
            Some(0.0),
            "restored: back to 0 % ({canary:?})"
        );
        assert!(canary.iter().any(|p| p.weight == 100.0), "{canary:?}");
    }
}
