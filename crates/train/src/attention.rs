//! Causal attention products on the CPU by tiles of query positions. Query positions
//! `t0..t1` of a sequence attend only to keys `0..t1`, so each tile's products stop at its own
//! end: with tiles of 64 on sequences of 256, 62.5 % of the full score matrix is computed
//! instead of all of it, in the forward (q kᵀ, p v) and in the backward (four products).
//! Entries above a tile's end are zero in every result.

use rayon::prelude::*;

use crate::blas::gemm_block;

/// Query positions per tile.
const TILE: usize = 64;

/// `batches` of (`groups` · `l`) query rows against `l` keys of width `hd`; query row `r` of a
/// batch is position `r mod l` (the query heads sharing one key/value head, one after another).
#[derive(Clone, Copy)]
pub(crate) struct Causal {
    pub(crate) batches: usize,
    pub(crate) groups: usize,
    pub(crate) l: usize,
    pub(crate) hd: usize,
}

impl Causal {
    fn rows(&self) -> usize {
        self.groups * self.l
    }

    /// Each tile of a batch: its first row, its row count and the keys it sees.
    fn tiles(self) -> impl Iterator<Item = (usize, usize, usize)> {
        (0..self.groups).flat_map(move |g| {
            (0..self.l).step_by(TILE).map(move |t0| {
                let t1 = (t0 + TILE).min(self.l);
                (g * self.l + t0, t1 - t0, t1)
            })
        })
    }

    /// Scores (batches, rows, l) = q kᵀ for q (batches, rows, hd), k (batches, l, hd).
    pub(crate) fn scores(self, q: &[f32], k: &[f32]) -> Vec<f32> {
        let (rows, l, hd) = (self.rows(), self.l, self.hd);
        let mut s = vec![0f32; self.batches * rows * l];
        s.par_chunks_mut(rows * l).zip(q.par_chunks(rows * hd)).zip(k.par_chunks(l * hd)).for_each(|((s, q), k)| {
            for (r0, m, cols) in self.tiles() {
                gemm_block((&q[r0 * hd..], false, hd), (k, true, hd), (m, cols, hd), (&mut s[r0 * l..], l), false);
            }
        });
        s
    }

    /// Outputs (batches, rows, hd) = p v for probabilities p (batches, rows, l), v (batches, l, hd).
    pub(crate) fn mix(self, p: &[f32], v: &[f32]) -> Vec<f32> {
        let (rows, l, hd) = (self.rows(), self.l, self.hd);
        let mut o = vec![0f32; self.batches * rows * hd];
        o.par_chunks_mut(rows * hd).zip(p.par_chunks(rows * l)).zip(v.par_chunks(l * hd)).for_each(|((o, p), v)| {
            for (r0, m, cols) in self.tiles() {
                gemm_block((&p[r0 * l..], false, l), (v, false, hd), (m, hd, cols), (&mut o[r0 * hd..], hd), false);
            }
        });
        o
    }

    /// The gradients of [`mix`](Self::mix) for the output gradient g (batches, rows, hd): of p
    /// (zero above each tile's end) and of v.
    pub(crate) fn mix_bwd(self, p: &[f32], v: &[f32], g: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (rows, l, hd) = (self.rows(), self.l, self.hd);
        let mut gp = vec![0f32; self.batches * rows * l];
        let mut gv = vec![0f32; self.batches * l * hd];
        gp.par_chunks_mut(rows * l)
            .zip(gv.par_chunks_mut(l * hd))
            .zip(p.par_chunks(rows * l).zip(v.par_chunks(l * hd)).zip(g.par_chunks(rows * hd)))
            .for_each(|((gp, gv), ((p, v), g))| {
                for (r0, m, cols) in self.tiles() {
                    gemm_block((&g[r0 * hd..], false, hd), (v, true, hd), (m, cols, hd), (&mut gp[r0 * l..], l), false);
                    gemm_block((&p[r0 * l..], true, l), (&g[r0 * hd..], false, hd), (cols, hd, m), (&mut *gv, hd), true);
                }
            });
        (gp, gv)
    }

    /// The gradients of [`scores`](Self::scores) for the score gradient ds: of q and of k.
    pub(crate) fn scores_bwd(self, ds: &[f32], q: &[f32], k: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (rows, l, hd) = (self.rows(), self.l, self.hd);
        let mut gq = vec![0f32; self.batches * rows * hd];
        let mut gk = vec![0f32; self.batches * l * hd];
        gq.par_chunks_mut(rows * hd)
            .zip(gk.par_chunks_mut(l * hd))
            .zip(ds.par_chunks(rows * l).zip(q.par_chunks(rows * hd)).zip(k.par_chunks(l * hd)))
            .for_each(|((gq, gk), ((ds, q), k))| {
                for (r0, m, cols) in self.tiles() {
                    gemm_block((&ds[r0 * l..], false, l), (k, false, hd), (m, hd, cols), (&mut gq[r0 * hd..], hd), false);
                    gemm_block((&ds[r0 * l..], true, l), (&q[r0 * hd..], false, hd), (cols, hd, m), (&mut *gk, hd), true);
                }
            });
        (gq, gk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::rng::Rng::new(seed, &[]);
        (0..n).map(|_| rng.next_f32() * 2.0 - 1.0).collect()
    }

    /// Every product equals the full (untiled) one on the causal part, over a length that is not
    /// a whole number of tiles and two query heads per key head.
    #[test]
    fn tiled_products_equal_full_ones_below_the_diagonal() -> candle_core::Result<()> {
        let c = Causal { batches: 3, groups: 2, l: 150, hd: 8 };
        let (rows, l, hd) = (c.rows(), c.l, c.hd);
        let q = values(c.batches * rows * hd, 1);
        let k = values(c.batches * l * hd, 2);
        let v = values(c.batches * l * hd, 3);
        let g = values(c.batches * rows * hd, 4);
        // A causal p (zero above the diagonal), as the softmax leaves it.
        let mut p = values(c.batches * rows * l, 5);
        for (i, x) in p.iter_mut().enumerate() {
            if i % l > (i / l) % l {
                *x = 0.0;
            }
        }
        let causal = |x: &[f32]| -> Vec<f32> { x.iter().enumerate().map(|(i, v)| if i % l > (i / l) % l { 0.0 } else { *v }).collect() };
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
        let b = c.batches;
        assert!(close(&causal(&c.scores(&q, &k)), &causal(&crate::blas::bmm_slices(&q, &k, b, (rows, l, hd), false, true)?)));
        assert!(close(&c.mix(&p, &v), &crate::blas::bmm_slices(&p, &v, b, (rows, hd, l), false, false)?));
        let (gp, gv) = c.mix_bwd(&p, &v, &g);
        assert!(close(&causal(&gp), &causal(&crate::blas::bmm_slices(&g, &v, b, (rows, l, hd), false, true)?)));
        assert!(close(&gv, &crate::blas::bmm_slices(&p, &g, b, (l, hd, rows), true, false)?));
        let (gq, gk) = c.scores_bwd(&p, &q, &k);
        assert!(close(&gq, &crate::blas::bmm_slices(&p, &k, b, (rows, hd, l), false, false)?));
        assert!(close(&gk, &crate::blas::bmm_slices(&p, &q, b, (l, hd, rows), true, false)?));
        Ok(())
    }
}
