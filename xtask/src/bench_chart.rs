//! The SVG chart of `cargo xtask bench`: one group of bars per module or
//! kernel (every section's rows), one bar per ratio (`Pair` label), and a
//! line at 1.0 (parity; below it Tandem is faster or smaller).

use crate::bench_stats::Section;
use plotters::prelude::*;
use std::path::Path;

/// The bars to draw: group labels, series labels, and per group one value
/// per series.
#[derive(Debug, Default, PartialEq)]
pub struct Bars {
    /// One label per group of bars (`section: row`, or the section alone
    /// when its one row has its name).
    pub groups: Vec<String>,
    /// One label per series (a ratio).
    pub series: Vec<String>,
    /// `values[group][series]`.
    pub values: Vec<Vec<Option<f64>>>,
}

/// Every ratio of every section, grouped by row.
pub fn bars(sections: &[Section]) -> Bars {
    let mut bars = Bars::default();
    for section in sections {
        for pair in &section.pairs {
            if !bars.series.iter().any(|s| s == pair.label) {
                bars.series.push(pair.label.to_string());
            }
        }
    }
    for section in sections {
        for row in &section.rows {
            let values: Vec<Option<f64>> = bars
                .series
                .iter()
                .map(|label| {
                    let pair = section.pairs.iter().find(|p| p.label == label)?;
                    section.ratio(row, pair)
                })
                .collect();
            if values.iter().any(Option::is_some) {
                bars.groups.push(if row.name == section.key {
                    row.name.clone()
                } else {
                    format!("{}: {}", section.key, row.name)
                });
                bars.values.push(values);
            }
        }
    }
    bars
}

/// Draws `bars` as an SVG file at `path`. Nothing is drawn (and `Ok(false)`
/// returned) when there is no ratio at all.
pub fn render(path: &Path, title: &str, bars: &Bars) -> Result<bool, String> {
    if bars.groups.is_empty() {
        return Ok(false);
    }
    draw(path, title, bars).map_err(|e| format!("cannot draw {}: {e}", path.display()))?;
    Ok(true)
}

fn draw(path: &Path, title: &str, bars: &Bars) -> Result<(), Box<dyn std::error::Error>> {
    let groups = bars.groups.len();
    let series = bars.series.len().max(1);
    let width = (groups as u32 * 70 + 200).max(800);
    let root = SVGBackend::new(path, (width, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let highest = bars
        .values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(1.0_f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(190)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..groups as f64, 0.0..highest * 1.15)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("ratio (below 1: Tandem faster / smaller)")
        .draw()?;
    // Group labels under the axis, rotated (the axis itself has no labels:
    // they sit at group centres, not at round numbers).
    let style = ("sans-serif", 13)
        .into_font()
        .transform(FontTransform::Rotate90)
        .color(&BLACK);
    for (g, name) in bars.groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
        root.draw(&Text::new(name.clone(), (x - 7, y + 8), style.clone()))?;
    }
    let slot = 0.8 / series as f64;
    for (s, name) in bars.series.iter().enumerate() {
        let color = Palette99::pick(s).mix(0.9);
        let rects = bars.values.iter().enumerate().filter_map(|(g, values)| {
            let value = values.get(s).copied().flatten()?;
            let x0 = g as f64 + 0.1 + s as f64 * slot;
            Some(Rectangle::new(
                [(x0, 0.0), (x0 + slot * 0.9, value)],
                color.filled(),
            ))
        });
        chart
            .draw_series(rects)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart.draw_series(LineSeries::new(
        [(0.0, 1.0), (groups as f64, 1.0)],
        BLACK.stroke_width(1),
    ))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_stats::{Row, Unit, pairs};

    #[test]
    fn bars_group_rows_and_skip_rows_without_ratios() {
        let columns: Vec<String> = ["tandem-cranelift", "wasmtime-cranelift"]
            .map(String::from)
            .to_vec();
        let section = |key: &'static str, rows: Vec<Row>| Section {
            key,
            title: key.into(),
            unit: Unit::Seconds,
            pairs: pairs(&columns),
            columns: columns.clone(),
            rows,
        };
        let row = |name: &str, cells: Vec<Option<f64>>| Row {
            name: name.into(),
            bytes: None,
            cells,
        };
        let bars = bars(&[
            section(
                "run",
                vec![
                    row("fib", vec![Some(2.0), Some(1.0)]),
                    row("broken", vec![None, Some(1.0)]),
                ],
            ),
            section(
                "hostcall",
                vec![row("hostcall", vec![Some(3.0), Some(4.0)])],
            ),
        ]);
        assert_eq!(bars.series, ["cranelift/wasmtime"]);
        assert_eq!(bars.groups, ["run: fib", "hostcall"]);
        assert_eq!(bars.values, [vec![Some(2.0)], vec![Some(0.75)]]);
        assert_eq!(
            render(Path::new("unused.svg"), "t", &Bars::default()),
            Ok(false)
        );
    }
}
