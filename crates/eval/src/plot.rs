//! The report's plots: PNG, drawn without text (like `grimoire-train`'s loss plot) so no system
//! font is needed; the report's `plots` list says what each shows and in which colour.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};

/// Grey: the base model.
pub const BASE: RGBColor = RGBColor(150, 150, 150);
/// Blue: the tuned model.
pub const TUNED: RGBColor = RGBColor(31, 119, 180);
/// Orange: the control adapter.
pub const CONTROL: RGBColor = RGBColor(255, 127, 14);
/// Green: the canon replies.
pub const CANON: RGBColor = RGBColor(44, 160, 44);

fn err(png: &Path) -> impl Fn(&dyn std::fmt::Display) -> Error + '_ {
    move |e| Error::Plot {
        path: png.to_owned(),
        problem: e.to_string(),
    }
}

/// Bars side by side, 640×400, from zero to 1.1 × the highest (or `max_y`).
pub fn bars(values: &[(f64, RGBColor)], max_y: Option<f64>, png: &Path) -> Result<()> {
    let err = err(png);
    let top = max_y
        .unwrap_or_else(|| values.iter().map(|v| v.0).fold(1e-9, f64::max) * 1.1)
        .max(1e-9);
    let root = BitMapBackend::new(png, (640, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0.0..values.len().max(1) as f64, 0.0..top)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_labels(0)
        .y_labels(0)
        .disable_x_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(values.iter().enumerate().map(|(i, (v, c))| {
            let x = i as f64;
            Rectangle::new([(x + 0.15, 0.0), (x + 0.85, v.min(top))], c.filled())
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// One line per series over the runs in order (x = run index), dots on each value; `None`
/// values are skipped. 800×400.
pub fn series(lines: &[(Vec<Option<f64>>, RGBColor)], png: &Path) -> Result<()> {
    let err = err(png);
    let n = lines.iter().map(|l| l.0.len()).max().unwrap_or(0).max(1);
    let all = lines.iter().flat_map(|l| l.0.iter().flatten());
    let max_y = all.clone().fold(1e-9, |a: f64, b| a.max(*b)) * 1.1;
    let min_y = all.fold(f64::MAX, |a: f64, b| a.min(*b)).min(max_y) * 0.9;
    let root = BitMapBackend::new(png, (800, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), min_y.max(0.0)..max_y)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_labels(0)
        .y_labels(0)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| err(&e))?;
    for (values, colour) in lines {
        let pts: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), colour))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, 4, colour.filled())))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
