//! AdamW (Loshchilov & Hutter, arXiv:1711.05101) with decoupled weight decay, as PyTorch's
//! `torch.optim.AdamW`, and global-norm gradient clipping.
//!
//! The moments live in plain `Vec<f32>`s rather than behind `candle_nn::Optimizer`, whose AdamW
//! keeps them private: a checkpoint must save and restore them exactly, and the LoRA tensors are
//! small enough that a host loop costs milliseconds.

use candle_core::{Tensor, Var};

use crate::error::Result;

/// AdamW state: first and second moments per tensor, and the step count.
#[derive(Debug, Clone, PartialEq)]
pub struct AdamW {
    /// First moments.
    pub m: Vec<Vec<f32>>,
    /// Second moments.
    pub v: Vec<Vec<f32>>,
    /// Steps taken.
    pub t: u64,
}

/// Hyper-parameters of one step.
#[derive(Debug, Clone, Copy)]
pub struct AdamParams {
    /// Learning rate.
    pub lr: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl AdamW {
    /// Zero moments for tensors of these sizes.
    pub fn new(sizes: &[usize]) -> Self {
        AdamW {
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            t: 0,
        }
    }

    /// One update of `vars` with `grads` (already clipped).
    pub fn step(&mut self, vars: &[&Var], grads: &[Vec<f32>], p: AdamParams) -> Result<()> {
        self.t += 1;
        let bc1 = 1.0 - p.beta1.powi(self.t as i32);
        let bc2 = 1.0 - p.beta2.powi(self.t as i32);
        for (k, var) in vars.iter().enumerate() {
            let mut w: Vec<f32> = var.as_tensor().flatten_all()?.to_vec1()?;
            let (m, v, g) = (&mut self.m[k], &mut self.v[k], &grads[k]);
            for i in 0..w.len() {
                let gi = g[i] as f64;
                let mi = p.beta1 * m[i] as f64 + (1.0 - p.beta1) * gi;
                let vi = p.beta2 * v[i] as f64 + (1.0 - p.beta2) * gi * gi;
                m[i] = mi as f32;
                v[i] = vi as f32;
                let mut wi = w[i] as f64 * (1.0 - p.lr * p.weight_decay);
                wi -= p.lr * (mi / bc1) / ((vi / bc2).sqrt() + p.eps);
                w[i] = wi as f32;
            }
            let t = Tensor::from_vec(w, var.shape(), var.device())?;
            var.set(&t)?;
        }
        Ok(())
    }
}

/// Flattens gradients to host vectors and returns them with their global L2 norm, scaled down so
/// the norm is at most `max_norm` (when positive).
pub fn clip(grads: &[Tensor], max_norm: f64) -> Result<(Vec<Vec<f32>>, f64)> {
    let mut host: Vec<Vec<f32>> = grads
        .iter()
        .map(|g| g.flatten_all()?.to_vec1::<f32>())
        .collect::<candle_core::Result<_>>()?;
    let norm = host
        .iter()
        .flat_map(|g| g.iter())
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>()
        .sqrt();
    if max_norm > 0.0 && norm > max_norm {
        let f = (max_norm / (norm + 1e-6)) as f32;
        for g in &mut host {
            for x in g.iter_mut() {
                *x *= f;
            }
        }
    }
    Ok((host, norm))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn first_step_moves_by_lr_against_the_gradient() -> Result<()> {
        let var = Var::from_tensor(&Tensor::new(&[1f32, -1.0], &Device::Cpu)?)?;
        let mut opt = AdamW::new(&[2]);
        let p = AdamParams {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        };
        opt.step(&[&var], &[vec![0.5, -2.0]], p)?;
        let w: Vec<f32> = var.as_tensor().to_vec1()?;
        assert!(
            (w[0] - 0.9).abs() < 1e-5 && (w[1] + 0.9).abs() < 1e-5,
            "{w:?}"
        );
        Ok(())
    }

    #[test]
    fn clipping_bounds_the_norm() -> Result<()> {
        let g = Tensor::new(&[3f32, 4.0], &Device::Cpu)?;
        let (host, norm) = clip(&[g], 1.0)?;
        assert!((norm - 5.0).abs() < 1e-9);
        assert!((host[0][0] - 0.6).abs() < 1e-4 && (host[0][1] - 0.8).abs() < 1e-4);
        Ok(())
    }
}
