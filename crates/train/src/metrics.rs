//! `metrics.jsonl` records and the loss plot.

use std::path::Path;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result, io};

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Metric {
    /// After an optimizer step.
    Train {
        /// Steps done (1-based).
        step: usize,
        /// Epochs done, fractional.
        epoch: f64,
        /// Mean loss per trained token in this step.
        loss: f64,
        /// Learning rate used.
        lr: f64,
        /// Gradient norm before clipping.
        grad_norm: f64,
        /// Tokens (padding excluded) in this step.
        tokens: usize,
        /// Tokens per second in this step.
        tokens_per_s: f64,
        /// Seconds since the run started (across resumptions).
        elapsed_s: f64,
        /// Peak resident memory, MB.
        peak_rss_mb: f64,
    },
    /// After a validation pass.
    Eval {
        /// Steps done.
        step: usize,
        /// Epochs done, fractional.
        epoch: f64,
        /// Mean loss per trained token over the validation set.
        val_loss: f64,
    },
}

/// Reads a `metrics.jsonl` file.
pub fn read_metrics(path: &Path) -> Result<Vec<Metric>> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| Error::Json {
                path: path.to_owned(),
                line: Some(i + 1),
                source,
            })
        })
        .collect()
}

/// Draws training loss (blue) and validation loss (red, with dots) against the step, 800×480.
/// No text is drawn, so no system font is needed.
pub fn render_plot(metrics: &[Metric], png: &Path) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| Error::Plot {
        path: png.to_owned(),
        problem: e.to_string(),
    };
    let mut train = Vec::new();
    let mut val = Vec::new();
    for m in metrics {
        match m {
            Metric::Train { step, loss, .. } if loss.is_finite() => {
                train.push((*step as f64, *loss))
            }
            Metric::Eval { step, val_loss, .. } if val_loss.is_finite() => {
                val.push((*step as f64, *val_loss))
            }
            _ => {}
        }
    }
    let all = train.iter().chain(&val);
    let max_x = all.clone().map(|p| p.0).fold(1.0, f64::max);
    let max_y = all.clone().map(|p| p.1).fold(f64::MIN, f64::max).max(1e-3) * 1.05;
    let min_y = all
        .map(|p| p.1)
        .fold(f64::MAX, f64::min)
        .min(max_y)
        .max(0.0)
        * 0.95;
    let root = BitMapBackend::new(png, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0.0..max_x, min_y..max_y)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_labels(0)
        .y_labels(0)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(train, &BLUE))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(val.clone(), &RED))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(val.into_iter().map(|p| Circle::new(p, 4, RED.filled())))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_renders_without_fonts() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("grimoire-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let png = dir.join("loss.png");
        let metrics: Vec<Metric> = (1..=20)
            .map(|s| Metric::Train {
                step: s,
                epoch: s as f64 / 10.0,
                loss: 3.0 / s as f64,
                lr: 1e-4,
                grad_norm: 1.0,
                tokens: 100,
                tokens_per_s: 50.0,
                elapsed_s: s as f64,
                peak_rss_mb: 100.0,
            })
            .chain([Metric::Eval {
                step: 10,
                epoch: 1.0,
                val_loss: 0.5,
            }])
            .collect();
        render_plot(&metrics, &png)?;
        let bytes = std::fs::read(&png).map_err(io(&png))?;
        assert_eq!(&bytes[1..4], b"PNG");
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
