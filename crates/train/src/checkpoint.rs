//! Resumable checkpoints: LoRA tensors, AdamW moments and the run's counters, written to
//! `<run>/checkpoint/` by building a new folder beside it and swapping it in, so a process killed
//! at any moment leaves either the previous checkpoint or the new one.
//!
//! Nothing else needs saving: the data order, the dropout masks and the learning rate are pure
//! functions of the seed and the step.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, io};
use crate::files::{Named, write_atomic, write_safetensors};
use crate::model::Lora;
use crate::optim::AdamW;

/// The counters of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Optimizer steps done.
    pub step: usize,
    /// Best validation loss so far and its step.
    pub best_val: Option<(f64, usize)>,
    /// Evaluations since the best.
    pub evals_since_best: usize,
    /// Last validation loss.
    pub last_val: Option<f64>,
    /// Last step's training loss.
    pub last_train: Option<f64>,
    /// Bytes of `metrics.jsonl` that belong to the steps done.
    pub metrics_bytes: u64,
    /// Seconds of training so far.
    pub elapsed_s: f64,
}

pub(crate) fn dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoint")
}

fn host(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// Writes the checkpoint; `best` holds the best-validation LoRA tensors when kept.
pub(crate) fn save(
    run_dir: &Path,
    lora: &Lora,
    adam: &AdamW,
    state: &State,
    best: Option<&[Named]>,
) -> Result<()> {
    let final_dir = dir(run_dir);
    let tmp = run_dir.join("checkpoint.new");
    let old = run_dir.join("checkpoint.old");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let none = BTreeMap::new();
    write_safetensors(
        &tmp.join("lora.safetensors"),
        &crate::peft::lora_tensors(lora)?,
        &none,
    )?;
    let mut moments: Vec<Named> = Vec::new();
    for (k, (m, v)) in adam.m.iter().zip(&adam.v).enumerate() {
        moments.push((format!("m.{k}"), vec![m.len()], m.clone()));
        moments.push((format!("v.{k}"), vec![v.len()], v.clone()));
    }
    write_safetensors(&tmp.join("adam.safetensors"), &moments, &none)?;
    if let Some(best) = best {
        write_safetensors(&tmp.join("best.safetensors"), best, &none)?;
    }
    let json = serde_json::json!({"state": state, "adam_t": adam.t});
    write_atomic(&tmp.join("state.json"), json.to_string().as_bytes())?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if final_dir.exists() {
        std::fs::rename(&final_dir, &old).map_err(io(&final_dir))?;
    }
    std::fs::rename(&tmp, &final_dir).map_err(io(&final_dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// Removes the checkpoint (after a run completes).
pub(crate) fn remove(run_dir: &Path) -> Result<()> {
    for d in [
        dir(run_dir),
        run_dir.join("checkpoint.old"),
        run_dir.join("checkpoint.new"),
    ] {
        if d.exists() {
            std::fs::remove_dir_all(&d).map_err(io(&d))?;
        }
    }
    Ok(())
}

/// A restored checkpoint.
pub(crate) struct Restored {
    pub state: State,
    pub adam: AdamW,
    pub best: Option<Vec<Named>>,
}

/// Loads the checkpoint into `lora` (whose shapes must match) if the run folder holds one.
pub(crate) fn load(run_dir: &Path, lora: &Lora) -> Result<Option<Restored>> {
    let mut d = dir(run_dir);
    if !d.join("state.json").exists() {
        // Killed between the two renames of `save`.
        d = run_dir.join("checkpoint.old");
        if !d.join("state.json").exists() {
            return Ok(None);
        }
    }
    let bad = |problem: String| Error::Checkpoint {
        path: d.clone(),
        problem,
    };
    let state_path = d.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(io(&state_path))?;
    #[derive(Deserialize)]
    struct File {
        state: State,
        adam_t: u64,
    }
    let file: File = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: state_path.clone(),
        line: None,
        source,
    })?;
    let load = |name: &str| -> Result<HashMap<String, Tensor>> {
        let p = d.join(name);
        candle_core::safetensors::load(&p, &Device::Cpu).map_err(|e| Error::Checkpoint {
            path: p.clone(),
            problem: e.to_string(),
        })
    };
    let tensors = load("lora.safetensors")?;
    let named = lora.named_vars();
    if tensors.len() != named.len() {
        return Err(bad(format!(
            "{} LoRA tensors saved, this configuration has {}",
            tensors.len(),
            named.len()
        )));
    }
    for (name, var) in &named {
        let t = tensors
            .get(name)
            .ok_or_else(|| bad(format!("`{name}` missing")))?;
        if t.dims() != var.dims() {
            return Err(bad(format!(
                "`{name}` has shape {:?}, expected {:?}",
                t.dims(),
                var.dims()
            )));
        }
        var.set(&t.to_device(var.device())?)?;
    }
    let moments = load("adam.safetensors")?;
    let mut adam = AdamW::new(
        &named
            .iter()
            .map(|(_, v)| v.elem_count())
            .collect::<Vec<_>>(),
    );
    adam.t = file.adam_t;
    for (k, (_, var)) in named.iter().enumerate() {
        let get = |key: String| -> Result<Vec<f32>> {
            let t = moments
                .get(&key)
                .ok_or_else(|| bad(format!("`{key}` missing")))?;
            host(t)
        };
        adam.m[k] = get(format!("m.{k}"))?;
        adam.v[k] = get(format!("v.{k}"))?;
        if adam.m[k].len() != var.elem_count() {
            return Err(bad(format!("moment {k} has the wrong size")));
        }
    }
    let best = if d.join("best.safetensors").exists() {
        let b = load("best.safetensors")?;
        let mut out = Vec::new();
        for (name, var) in &named {
            let t = b
                .get(name)
                .ok_or_else(|| bad(format!("best `{name}` missing")))?;
            out.push((name.clone(), var.dims().to_vec(), host(t)?));
        }
        Some(out)
    } else {
        None
    };
    Ok(Some(Restored {
        state: file.state,
        adam,
        best,
    }))
}
