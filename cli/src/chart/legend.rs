//! The chart's legend: a key per kind of mark, laid out under the panels in rows that wrap
//! instead of covering data.

use plotters::prelude::*;
use shifter::report::{Outcome, Summary, WaitKind};

use super::marks::wait_colour;
use super::{Area, DARK_RED, Drawn, GREY, LEGEND_ROW, ORANGE};

/// One legend entry: its text and how its mark is drawn.
pub(super) struct Key {
    text: String,
    mark: Mark,
}

#[derive(Clone, Copy)]
pub(super) enum Mark {
    Line(RGBColor),
    Dot(RGBColor, i32),
    Band(RGBColor),
    Dashed(RGBColor),
}

/// The legend's keys, in the order they are drawn.
pub(super) fn keys(summary: &Summary) -> Vec<Key> {
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

/// Legend rows: keys laid out left to right, wrapped at the canvas width (long texts are
/// wrapped at word boundaries), so the legend grows downwards instead of covering data.
pub(super) fn legend_rows(keys: &[Key]) -> Vec<Vec<(String, Mark)>> {
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

/// The legend under the panels, one row per line of keys.
pub(super) fn draw_legend(area: &Area<'_>, rows: &[Vec<(String, Mark)>]) -> Drawn {
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
    use super::*;

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
