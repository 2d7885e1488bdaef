//! Fused RMSNorm, rotary embedding and causal softmax with explicit backward passes, on CPU
//! slices with rayon. candle's own fused kernels drop gradients, and its composite versions run
//! a dozen allocating ops each way; these run one pass forward and one backward.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};
use rayon::prelude::*;

fn input<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("fused op input must be contiguous"),
    }
}

fn host(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.contiguous()?.flatten_all()?.to_vec1::<f32>()
}

struct RmsNorm {
    w: Vec<f32>,
    eps: f32,
}

impl CustomOp1 for RmsNorm {
    fn name(&self) -> &'static str {
        "train-rms-norm"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = rms_norm_rows(input(s, l)?, &self.w, self.eps);
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let x = host(arg)?;
        let g = host(grad)?;
        let mut dx = vec![0f32; x.len()];
        rms_norm_rows_bwd(&x, &self.w, self.eps, &g, &mut dx, false);
        Ok(Some(Tensor::from_vec(dx, arg.shape(), arg.device())?))
    }
}

/// RMSNorm of each `w.len()`-wide row of `x`, scaled by `w`.
pub(crate) fn rms_norm_rows(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let d = w.len();
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(d).zip(x.par_chunks(d)).for_each(|(y, x)| {
        let ms = crate::math::dot(x, x) / d as f32;
        let r = 1.0 / (ms + eps).sqrt();
        for ((y, x), w) in y.iter_mut().zip(x).zip(w) {
            *y = x * r * w;
        }
    });
    y
}

/// The input gradient of [`rms_norm_rows`] for the output gradient `g`, written into `dx`, or
/// added to it when `accumulate`.
pub(crate) fn rms_norm_rows_bwd(x: &[f32], w: &[f32], eps: f32, g: &[f32], dx: &mut [f32], accumulate: bool) {
    let d = w.len();
    dx.par_chunks_mut(d)
        .zip(x.par_chunks(d).zip(g.par_chunks(d)))
        .for_each(|(dx, (x, g))| {
            let ms = crate::math::dot(x, x) / d as f32;
            let r = 1.0 / (ms + eps).sqrt();
            // dx = r·(g∘w) − x·r³·mean((g∘w)·x)
            let mut acc = [0f32; 8];
            for ((g, w), x) in g.chunks(8).zip(w.chunks(8)).zip(x.chunks(8)) {
                for j in 0..g.len() {
                    acc[j] += g[j] * w[j] * x[j];
                }
            }
            let dot = acc.iter().sum::<f32>() / d as f32;
            let r3 = r * r * r;
            if accumulate {
                for i in 0..d {
                    dx[i] += r * g[i] * w[i] - x[i] * r3 * dot;
                }
            } else {
                for i in 0..d {
                    dx[i] = r * g[i] * w[i] - x[i] * r3 * dot;
                }
            }
        });
}

/// RMSNorm over the last dimension with a frozen weight; gradients flow to `x`.
pub fn rms_norm(x: &Tensor, w: &Tensor, eps: f32) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return candle_nn::ops::rms_norm_slow(x, w, eps);
    }
    let w = w.to_vec1::<f32>()?;
    x.contiguous()?.apply_op1(RmsNorm { w, eps })
}

struct Rope {
    cos: Vec<f32>,
    sin: Vec<f32>,
    l: usize,
    half: usize,
}

impl Rope {
    /// Rotates each (t, i) pair by +θ (forward) or −θ (backward).
    fn rotate(&self, x: &[f32], sign: f32) -> Vec<f32> {
        let (l, half) = (self.l, self.half);
        let d = 2 * half;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(l * d)
            .zip(x.par_chunks(l * d))
            .for_each(|(y, x)| {
                for t in 0..l {
                    let (xr, yr) = (&x[t * d..(t + 1) * d], &mut y[t * d..(t + 1) * d]);
                    for i in 0..half {
                        let (c, s) = (self.cos[t * half + i], sign * self.sin[t * half + i]);
                        let (a, b) = (xr[i], xr[i + half]);
                        yr[i] = a * c - b * s;
                        yr[i + half] = b * c + a * s;
                    }
                }
            });
        y
    }
}

impl CustomOp1 for Rope {
    fn name(&self) -> &'static str {
        "train-rope"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        Ok((
            CpuStorage::F32(self.rotate(input(s, l)?, 1.0)),
            l.shape().clone(),
        ))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let g = host(grad)?;
        Ok(Some(Tensor::from_vec(
            self.rotate(&g, -1.0),
            arg.shape(),
            arg.device(),
        )?))
    }
}

/// Rotate-half rotary embedding of x (b, h, l, d) with tables (l, d/2).
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return candle_nn::rotary_emb::rope_slow(x, cos, sin);
    }
    let (_, _, l, d) = x.dims4()?;
    let op = Rope {
        cos: host(cos)?,
        sin: host(sin)?,
        l,
        half: d / 2,
    };
    x.contiguous()?.apply_op1(op)
}

pub(crate) struct RopeHeads {
    cos: Vec<f32>,
    sin: Vec<f32>,
    b: usize,
    l: usize,
    n: usize,
    half: usize,
}

impl RopeHeads {
    /// For rows of `b` sequences of length `l` holding `n` heads of width `d`, with the
    /// runtime's (positions, d/2) tables.
    pub(crate) fn new(cos: &Tensor, sin: &Tensor, b: usize, l: usize, n: usize, d: usize) -> candle_core::Result<Self> {
        Ok(RopeHeads {
            cos: host(&cos.narrow(0, 0, l)?)?,
            sin: host(&sin.narrow(0, 0, l)?)?,
            b,
            l,
            n,
            half: d / 2,
        })
    }

    /// (b·l, n·d) rows → (b, n, l, d) heads rotated by +θ.
    pub(crate) fn forward(&self, x: &[f32]) -> Vec<f32> {
        let (l, n, half) = (self.l, self.n, self.half);
        let d = 2 * half;
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(l * d).enumerate().for_each(|(bh, y)| {
            let (bi, h) = (bh / n, bh % n);
            for t in 0..l {
                let xr = &x[(bi * l + t) * n * d + h * d..][..d];
                let yr = &mut y[t * d..(t + 1) * d];
                for i in 0..half {
                    let (c, s) = (self.cos[t * half + i], self.sin[t * half + i]);
                    let (a, b) = (xr[i], xr[i + half]);
                    yr[i] = a * c - b * s;
                    yr[i + half] = b * c + a * s;
                }
            }
        });
        y
    }

    /// (b, n, l, d) gradient → (b·l, n·d) rows rotated by −θ.
    pub(crate) fn backward(&self, g: &[f32]) -> Vec<f32> {
        let (l, n, half) = (self.l, self.n, self.half);
        let d = 2 * half;
        let mut dx = vec![0f32; g.len()];
        dx.par_chunks_mut(n * d).enumerate().for_each(|(row, dx)| {
            let (bi, t) = (row / l, row % l);
            for h in 0..n {
                let gr = &g[((bi * n + h) * l + t) * d..][..d];
                let dr = &mut dx[h * d..(h + 1) * d];
                for i in 0..half {
                    let (c, s) = (self.cos[t * half + i], -self.sin[t * half + i]);
                    let (a, b) = (gr[i], gr[i + half]);
                    dr[i] = a * c - b * s;
                    dr[i + half] = b * c + a * s;
                }
            }
        });
        dx
    }
}

impl CustomOp1 for RopeHeads {
    fn name(&self) -> &'static str {
        "train-rope-heads"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        Ok((
            CpuStorage::F32(self.forward(input(s, l)?)),
            Shape::from((self.b, self.n, self.l, 2 * self.half)),
        ))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let g = host(grad)?;
        Ok(Some(Tensor::from_vec(
            self.backward(&g),
            arg.shape(),
            arg.device(),
        )?))
    }
}

/// Rows x (b·l, n·d) split into n heads, moved to (b, n, l, d) and rotated (rotate-half RoPE with
/// tables (l, d/2)) in one pass; gradients flow to `x`.
pub fn rope_heads(
    x: &Tensor,
    b: usize,
    n: usize,
    cos: &Tensor,
    sin: &Tensor,
) -> candle_core::Result<Tensor> {
    let (rows, width) = x.dims2()?;
    let l = rows / b;
    let d = width / n;
    if !x.device().is_cpu() {
        let h = x.reshape((b, l, n, d))?.transpose(1, 2)?.contiguous()?;
        return rope(&h, cos, sin);
    }
    let op = RopeHeads {
        cos: host(cos)?,
        sin: host(sin)?,
        b,
        l,
        n,
        half: d / 2,
    };
    x.contiguous()?.apply_op1(op)
}

struct SwiGlu;

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "train-swiglu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (g, u) = (input(s1, l1)?, input(s2, l2)?);
        if g.len() != u.len() {
            candle_core::bail!("swiglu: gate and up differ in size")
        }
        Ok((CpuStorage::F32(swiglu_rows(g, u)), l1.shape().clone()))
    }

    fn bwd(
        &self,
        gate: &Tensor,
        up: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (g, u, dy) = (host(gate)?, host(up)?, host(grad)?);
        let (dg, du) = swiglu_rows_bwd(&g, &u, &dy);
        Ok((
            Some(Tensor::from_vec(dg, gate.shape(), gate.device())?),
            Some(Tensor::from_vec(du, up.shape(), up.device())?),
        ))
    }
}

/// `silu(g) · u` element by element.
pub(crate) fn swiglu_rows(g: &[f32], u: &[f32]) -> Vec<f32> {
    let mut y = vec![0f32; g.len()];
    y.par_chunks_mut(4096).zip(g.par_chunks(4096).zip(u.par_chunks(4096))).for_each(|(y, (g, u))| {
        for ((y, g), u) in y.iter_mut().zip(g).zip(u) {
            *y = g / (1.0 + crate::math::exp(-g)) * u;
        }
    });
    y
}

/// The gradients of [`swiglu_rows`] with respect to `g` and `u` for the output gradient `dy`.
pub(crate) fn swiglu_rows_bwd(g: &[f32], u: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let mut dg = vec![0f32; g.len()];
    let mut du = vec![0f32; g.len()];
    dg.par_chunks_mut(4096)
        .zip(du.par_chunks_mut(4096))
        .zip(g.par_chunks(4096).zip(u.par_chunks(4096)).zip(dy.par_chunks(4096)))
        .for_each(|((dg, du), ((g, u), dy))| {
            for i in 0..g.len() {
                let sig = 1.0 / (1.0 + crate::math::exp(-g[i]));
                let silu = g[i] * sig;
                du[i] = dy[i] * silu;
                dg[i] = dy[i] * u[i] * sig * (1.0 + g[i] * (1.0 - sig));
            }
        });
    (dg, du)
}

/// `silu(gate) · up` in one pass each way; gradients flow to both.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> candle_core::Result<Tensor> {
    if !gate.device().is_cpu() {
        return gate.silu()? * up;
    }
    gate.contiguous()?.apply_op2(&up.contiguous()?, SwiGlu)
}

pub(crate) struct CausalSoftmax {
    pub(crate) scale: f32,
    pub(crate) l: usize,
    pub(crate) window: Option<usize>,
}

impl CausalSoftmax {
    /// Scores (…, l) rows into probabilities, in place (masked entries zero).
    pub(crate) fn forward_in_place(&self, x: &mut [f32]) {
        let n = self.l;
        x.par_chunks_mut(n).enumerate().for_each(|(r, x)| {
            let (lo, hi) = self.span(r);
            let max = x[lo..hi].iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v)) * self.scale;
            for v in &mut x[lo..hi] {
                *v = crate::math::exp(*v * self.scale - max);
            }
            let inv = 1.0 / crate::math::sum(&x[lo..hi]);
            for v in &mut x[lo..hi] {
                *v *= inv;
            }
            x[..lo].fill(0.0);
            x[hi..].fill(0.0);
        });
    }

    /// The gradient of the scores, from the probabilities `y` and their gradient `g` (replaced
    /// by the result).
    pub(crate) fn backward_in_place(&self, y: &[f32], g: &mut [f32]) {
        let n = self.l;
        g.par_chunks_mut(n).zip(y.par_chunks(n)).enumerate().for_each(|(r, (g, y))| {
            let (lo, hi) = self.span(r);
            let dot = crate::math::dot(&y[lo..hi], &g[lo..hi]);
            for j in lo..hi {
                g[j] = self.scale * y[j] * (g[j] - dot);
            }
            g[..lo].fill(0.0);
            g[hi..].fill(0.0);
        });
    }

    /// Columns row `r` may attend to: `lo..=t` where t is its query position.
    fn span(&self, r: usize) -> (usize, usize) {
        let t = r % self.l;
        let lo = self.window.map_or(0, |w| (t + 1).saturating_sub(w));
        (lo, t + 1)
    }
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "train-causal-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut y = input(s, l)?.to_vec();
        self.forward_in_place(&mut y);
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let y = host(res)?;
        let mut g = host(grad)?;
        self.backward_in_place(&y, &mut g);
        Ok(Some(Tensor::from_vec(g, arg.shape(), arg.device())?))
    }
}

struct AttentionProbs {
    softmax: CausalSoftmax,
}

impl CustomOp2 for AttentionProbs {
    fn name(&self) -> &'static str {
        "train-attention-probs"
    }

    fn cpu_fwd(
        &self,
        sq: &CpuStorage,
        lq: &Layout,
        sk: &CpuStorage,
        lk: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h, rows, d) = lq.shape().dims4()?;
        let (_, _, l, _) = lk.shape().dims4()?;
        let scores = crate::blas::bmm_slices(
            crate::ops::cpu_slice(sq, lq)?,
            crate::ops::cpu_slice(sk, lk)?,
            b * h,
            (rows, l, d),
            false,
            true,
        )?;
        let sl = Layout::contiguous((b, h, rows, l));
        self.softmax.cpu_fwd(&CpuStorage::F32(scores), &sl)
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let ds = self
            .softmax
            .bwd(res, res, grad)?
            .ok_or_else(|| candle_core::Error::Msg("no softmax gradient".into()))?;
        let (q, k) = (q.detach(), k.detach());
        let ds = ds.contiguous()?;
        let dq = crate::blas::bmm(&ds, &k.contiguous()?, false, false)?;
        let dk = crate::blas::bmm(&ds, &q.contiguous()?, true, false)?;
        Ok((Some(dq), Some(dk)))
    }
}

/// `probs · v` for probs (b, h, rows, l) and v (b, h, l, d), by sgemm each way (candle's batched
/// matmul and its generic backward otherwise).
struct ProbsV;

impl CustomOp2 for ProbsV {
    fn name(&self) -> &'static str {
        "train-probs-v"
    }

    fn cpu_fwd(
        &self,
        sp: &CpuStorage,
        lp: &Layout,
        sv: &CpuStorage,
        lv: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h, rows, l) = lp.shape().dims4()?;
        let (_, _, _, d) = lv.shape().dims4()?;
        let out = crate::blas::bmm_slices(
            crate::ops::cpu_slice(sp, lp)?,
            crate::ops::cpu_slice(sv, lv)?,
            b * h,
            (rows, d, l),
            false,
            false,
        )?;
        Ok((CpuStorage::F32(out), Shape::from((b, h, rows, d))))
    }

    fn bwd(
        &self,
        p: &Tensor,
        v: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.contiguous()?;
        let (p, v) = (p.detach().contiguous()?, v.detach().contiguous()?);
        let dp = crate::blas::bmm(&g, &v, false, true)?;
        let dv = crate::blas::bmm(&p, &g, true, false)?;
        Ok((Some(dp), Some(dv)))
    }
}

/// `probs · v` for probs (b, h, rows, l), v (b, h, l, d), with gradients to both.
pub fn probs_v(probs: &Tensor, v: &Tensor) -> candle_core::Result<Tensor> {
    if !probs.device().is_cpu() {
        return probs.matmul(v);
    }
    probs.contiguous()?.apply_op2(&v.contiguous()?, ProbsV)
}

/// `causal_softmax(q kᵀ, scale, window)` for q (b, h, rows, d), k (b, h, l, d) as one op, so
/// the scores are never held for the backward (only the probabilities are).
pub fn attention_probs(
    q: &Tensor,
    k: &Tensor,
    scale: f64,
    window: Option<usize>,
) -> candle_core::Result<Tensor> {
    if !q.device().is_cpu() {
        return causal_softmax(&q.matmul(&k.t()?)?, scale, window);
    }
    let l = k.dim(2)?;
    q.contiguous()?.apply_op2(
        &k.contiguous()?,
        AttentionProbs {
            softmax: CausalSoftmax {
                scale: scale as f32,
                l,
                window,
            },
        },
    )
}

/// `softmax(scale · x)` over the last dimension (keys) with a causal (and optional sliding
/// window) mask, for scores of shape (..., rows, l) whose row `r` is query position `r mod l`.
pub fn causal_softmax(
    x: &Tensor,
    scale: f64,
    window: Option<usize>,
) -> candle_core::Result<Tensor> {
    let l = x.dim(candle_core::D::Minus1)?;
    if !x.device().is_cpu() {
        let mut mask = vec![0f32; l * l];
        for i in 0..l {
            for j in 0..l {
                if j > i || window.is_some_and(|w| i - j >= w) {
                    mask[i * l + j] = f32::NEG_INFINITY;
                }
            }
        }
        let mask = Tensor::from_vec(mask, (l, l), x.device())?;
        let dims = x.dims().to_vec();
        let rows = dims[dims.len() - 2];
        let lead: usize = dims[..dims.len() - 2].iter().product();
        let s = (x.reshape((lead, rows / l, l, l))? * scale)?.broadcast_add(&mask)?;
        return candle_nn::ops::softmax(&s, candle_core::D::Minus1)?.reshape(dims);
    }
    x.contiguous()?.apply_op1(CausalSoftmax {
        scale: scale as f32,
        l,
        window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{D, Device, Var};

    fn rand(shape: &[usize], seed: u64) -> candle_core::Result<Tensor> {
        let n: usize = shape.iter().product();
        let mut s = seed;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu)
    }

    fn close(a: &Tensor, b: &Tensor) -> candle_core::Result<f32> {
        (a - b)?.abs()?.max_all()?.to_scalar::<f32>()
    }

    /// Forward and input gradient of `fused` equal those of `slow` (candle's composite ops).
    fn same(
        x: &Tensor,
        fused: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
        slow: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
    ) -> candle_core::Result<()> {
        let v = Var::from_tensor(x)?;
        let yf = fused(v.as_tensor())?;
        let ys = slow(v.as_tensor())?;
        let g = rand(yf.dims(), 99)?;
        assert!(close(&yf, &ys)? < 1e-5, "forward");
        let gf = (yf * &g)?.sum_all()?.backward()?;
        let gs = (ys * &g)?.sum_all()?.backward()?;
        let (gf, gs) = (gf.get(v.as_tensor()), gs.get(v.as_tensor()));
        let (Some(gf), Some(gs)) = (gf, gs) else {
            panic!("no gradient")
        };
        assert!(close(gf, gs)? < 1e-4, "backward {}", close(gf, gs)?);
        Ok(())
    }

    #[test]
    fn fused_ops_equal_candle_composites_forward_and_backward() -> candle_core::Result<()> {
        let x = rand(&[2, 5, 8], 1)?;
        let w = (rand(&[8], 2)? + 1.0)?;
        same(
            &x,
            |x| rms_norm(x, &w, 1e-5),
            |x| candle_nn::ops::rms_norm_slow(x, &w, 1e-5),
        )?;

        let x = rand(&[2, 3, 5, 8], 3)?;
        let (cos, sin) = (rand(&[5, 4], 4)?, rand(&[5, 4], 5)?);
        same(
            &x,
            |x| rope(x, &cos, &sin),
            |x| candle_nn::rotary_emb::rope_slow(x, &cos, &sin),
        )?;

        // Rows (b·l, n·d) → rotated heads (b, n, l, d).
        let x = rand(&[10, 3 * 8], 7)?;
        same(
            &x,
            |x| rope_heads(x, 2, 3, &cos, &sin),
            |x| {
                let h = x.reshape((2, 5, 3, 8))?.transpose(1, 2)?.contiguous()?;
                candle_nn::rotary_emb::rope_slow(&h, &cos, &sin)
            },
        )?;

        let up = rand(&[4, 6], 8)?;
        let gate = rand(&[4, 6], 9)?;
        same(&gate, |g| swiglu(g, &up), |g| g.silu()? * &up)?;
        same(&up, |u| swiglu(&gate, u), |u| gate.silu()? * u)?;

        // Scores and causal softmax in one op: gradients to q and to k.
        let q = rand(&[2, 3, 10, 4], 10)?;
        let k = rand(&[2, 3, 5, 4], 11)?;
        let slow = |q: &Tensor, k: &Tensor| causal_softmax(&q.matmul(&k.t()?)?, 0.5, Some(3));
        same(
            &q,
            |q| attention_probs(q, &k, 0.5, Some(3)),
            |q| slow(q, &k),
        )?;
        same(
            &k,
            |k| attention_probs(&q, k, 0.5, Some(3)),
            |k| slow(&q, k),
        )?;

        // Probabilities times values: gradients to both.
        let p = rand(&[2, 3, 10, 5], 12)?;
        let v = rand(&[2, 3, 5, 4], 13)?;
        same(&p, |p| probs_v(p, &v), |p| p.matmul(&v))?;
        same(&v, |v| probs_v(&p, v), |v| p.matmul(v))?;

        // Two query heads per row block (n_rep = 2), 5 positions.
        let x = rand(&[2, 3, 10, 5], 6)?;
        let mut mask = vec![0f32; 25];
        for i in 0..5 {
            for j in 0..5 {
                if j > i || i - j >= 3 {
                    mask[i * 5 + j] = f32::NEG_INFINITY;
                }
            }
        }
        let mask = Tensor::from_vec(mask, (5, 5), &Device::Cpu)?;
        same(
            &x,
            |x| causal_softmax(x, 0.5, Some(3)),
            |x| {
                let s = (x.reshape((2, 3, 2, 5, 5))? * 0.5)?.broadcast_add(&mask)?;
                candle_nn::ops::softmax(&s, D::Minus1)?.reshape((2, 3, 10, 5))
            },
        )?;
        Ok(())
    }
}
