//! One-row quantised matmul for generation, on rayon.
//!
//! candle runs every quantised matmul on its spinning barrier pool. For one row (a generated
//! token) that is 210 barriers per token on this model, and when any core is busy with something
//! else each barrier waits for a descheduled worker: measured here on a loaded 2-core machine,
//! decoding fell from 29 to 2–5 tok/s going from 1 to 2 threads. Rayon's work stealing lets the
//! calling thread finish the rows a stalled worker has not taken.
//!
//! Q4_1 and Q8_0 (the built-in model's projections and its tied output projection) have AVX2
//! kernels here that take four weight rows per pass over the activation; other block types use
//! candle's own arithmetic (`GgmlType::from_float` for the activation, `GgmlType::vec_dot` per
//! row), so their results are candle's bit for bit. [`gemv_many`] runs several matrices that read
//! the same activation (q/k/v, gate/up) as one parallel pass. The AVX2 kernels prefetch the next
//! four rows while they compute: decoding streams ~96 MB of weights a token from DRAM, and
//! without it they waited on memory (57 against 91–105 tok/s, idle).

use std::borrow::Cow;

use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4_0, BlockQ4_1, BlockQ4K, BlockQ5_0, BlockQ5_1, BlockQ5K, BlockQ6K,
    BlockQ8_0, GgmlType,
};
use candle_core::quantized::{GgmlDType, QTensor};
use rayon::prelude::*;

use crate::error::Result;

/// Output rows per rayon task (a multiple of the kernels' four rows).
const ROWS_PER_TASK: usize = 64;

/// Whether one-row Q4_1 matmuls have a SIMD kernel on this CPU.
pub(crate) fn fast_q4_1() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        avx2::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether [`gemv_many`] takes this matrix.
pub(crate) fn supports(w: &QTensor) -> bool {
    let dims = w.shape().dims();
    dims.len() == 2
        && dims[1].is_multiple_of(w.dtype().block_size())
        && matches!(
            w.dtype(),
            GgmlDType::Q8_0
                | GgmlDType::Q4_0
                | GgmlDType::Q4_1
                | GgmlDType::Q5_0
                | GgmlDType::Q5_1
                | GgmlDType::Q2K
                | GgmlDType::Q3K
                | GgmlDType::Q4K
                | GgmlDType::Q5K
                | GgmlDType::Q6K
        )
}

/// `W x` for a quantised W of shape (n, k) and one row x of length k; `None` when this path does
/// not apply (other storage or type), so the caller falls back to candle.
pub(crate) fn try_gemv(w: &QTensor, x: &[f32]) -> Result<Option<Vec<f32>>> {
    let (n, _) = w.shape().dims2()?;
    let mut out = vec![0f32; n];
    Ok(gemv_many(&[w], x, &mut [&mut out])?.then_some(out))
}

/// Computes `outs[i] = ws[i] x` for matrices of shape (outs[i].len(), x.len()) in one parallel
/// pass. Returns false, having written nothing, when some matrix has no path here.
pub(crate) fn gemv_many(ws: &[&QTensor], x: &[f32], outs: &mut [&mut [f32]]) -> Result<bool> {
    if ws.len() != outs.len() {
        return Ok(false);
    }
    let mut datas = Vec::with_capacity(ws.len());
    for (w, out) in ws.iter().zip(outs.iter()) {
        let (n, k) = w.shape().dims2()?;
        if n != out.len() || k != x.len() {
            return Ok(false);
        }
        match w.data()? {
            Cow::Borrowed(bytes) => datas.push(bytes),
            Cow::Owned(_) => return Ok(false),
        }
    }
    #[cfg(target_arch = "x86_64")]
    let q8 = (avx2::available()
        && x.len().is_multiple_of(32)
        && ws
            .iter()
            .any(|w| matches!(w.dtype(), GgmlDType::Q4_1 | GgmlDType::Q8_0)))
    // SAFETY: `available()` checked the CPU features `quantize` enables.
    .then(|| unsafe { avx2::quantize(x) });
    let mut kernels: Vec<RowsFn<'_>> = Vec::with_capacity(ws.len());
    for (w, bytes) in ws.iter().zip(datas) {
        let n = w.shape().dims()[0];
        #[cfg(target_arch = "x86_64")]
        if let Some(y) = &q8
            && let Some(kernel) = avx2::kernel(w.dtype(), bytes, n, y)
        {
            kernels.push(kernel);
            continue;
        }
        let kernel = match w.dtype() {
            GgmlDType::Q8_0 => generic::<BlockQ8_0>(bytes, n, x),
            GgmlDType::Q4_0 => generic::<BlockQ4_0>(bytes, n, x),
            GgmlDType::Q4_1 => generic::<BlockQ4_1>(bytes, n, x),
            GgmlDType::Q5_0 => generic::<BlockQ5_0>(bytes, n, x),
            GgmlDType::Q5_1 => generic::<BlockQ5_1>(bytes, n, x),
            GgmlDType::Q2K => generic::<BlockQ2K>(bytes, n, x),
            GgmlDType::Q3K => generic::<BlockQ3K>(bytes, n, x),
            GgmlDType::Q4K => generic::<BlockQ4K>(bytes, n, x),
            GgmlDType::Q5K => generic::<BlockQ5K>(bytes, n, x),
            GgmlDType::Q6K => generic::<BlockQ6K>(bytes, n, x),
            _ => None,
        };
        match kernel {
            Some(kernel) => kernels.push(kernel),
            None => return Ok(false),
        }
    }
    let mut tasks: Vec<(usize, usize, &mut [f32])> = Vec::new();
    for (m, out) in outs.iter_mut().enumerate() {
        for (t, chunk) in out.chunks_mut(ROWS_PER_TASK).enumerate() {
            tasks.push((m, t * ROWS_PER_TASK, chunk));
        }
    }
    tasks
        .into_par_iter()
        .for_each(|(m, first, out)| kernels[m](first, out));
    Ok(true)
}

/// Writes the dot products of rows `first..first + out.len()` with the prepared activation.
type RowsFn<'a> = Box<dyn Fn(usize, &mut [f32]) + Sync + 'a>;

fn generic<'a, T: GgmlType + Sync + 'a>(bytes: &'a [u8], n: usize, x: &[f32]) -> Option<RowsFn<'a>>
where
    T::VecDotType: Sync,
{
    let k = x.len();
    if !k.is_multiple_of(T::BLCK_SIZE) || T::BLCK_SIZE != T::VecDotType::BLCK_SIZE {
        return None;
    }
    let per_row = k / T::BLCK_SIZE;
    let size = std::mem::size_of::<T>();
    if bytes.len() != n * per_row * size
        || !(bytes.as_ptr() as usize).is_multiple_of(std::mem::align_of::<T>())
    {
        return None;
    }
    // SAFETY: the bytes are the QTensor's own `Vec<T>` storage (checked: length and alignment),
    // and GGML block types are plain `repr(C)` data valid for any bit pattern.
    let w: &[T] = unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), n * per_row) };
    let mut xq: Vec<T::VecDotType> = (0..per_row).map(|_| T::VecDotType::zeros()).collect();
    T::VecDotType::from_float(x, &mut xq);
    Some(Box::new(move |first, out| {
        for (i, o) in out.iter_mut().enumerate() {
            let row = first + i;
            *o = T::vec_dot(k, &w[row * per_row..(row + 1) * per_row], &xq);
        }
    }))
}

/// AVX2 kernels for Q4_1 and Q8_0 weights against the activation quantised to Q8 blocks of 32,
/// as llama.cpp computes them (`ggml_vec_dot_q4_1_q8_1`, `ggml_vec_dot_q8_0_q8_0`): candle's
/// Q4_1 dot product is scalar, and its Q8_0 one takes one row per pass. Four rows share each
/// load of the activation and their f16 scales are widened in one instruction.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use candle_core::quantized::GgmlDType;

    use super::RowsFn;

    const QK: usize = 32;
    /// Bytes of one Q4_1 block: f16 scale, f16 minimum, 16 bytes of nibbles.
    const Q4_1_BYTES: usize = 20;
    /// Bytes of one Q8_0 block: f16 scale, 32 signed bytes.
    const Q8_0_BYTES: usize = 34;

    pub(super) fn available() -> bool {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    }

    /// The activation as Q8_1: per block of 32, scale d and s = d·Σq interleaved (d0 s0 d1 s1
    /// ...), both rounded through f16 as GGML stores them, and the 32 values. Its d and values
    /// are also exactly the activation's Q8_0 blocks.
    pub(super) struct Q8Row {
        pub(super) ds: Vec<f32>,
        pub(super) qs: Vec<i8>,
    }

    /// Rounds through f16 as GGML stores these scales.
    #[target_feature(enable = "f16c")]
    fn f16_round(v: f32) -> f32 {
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(
            _mm_set_ss(v),
        )))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) fn quantize(x: &[f32]) -> Q8Row {
        let nb = x.len() / QK;
        let mut row = Q8Row {
            ds: Vec::with_capacity(2 * nb),
            qs: vec![0; x.len()],
        };
        for (block, qs) in x.chunks_exact(QK).zip(row.qs.chunks_exact_mut(QK)) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (q, v) in qs.iter_mut().zip(block) {
                *q = (v * id).round() as i8;
                sum += *q as i32;
            }
            row.ds.push(f16_round(d));
            row.ds.push(f16_round(d * sum as f32));
        }
        row
    }

    /// The row kernel for `dtype`, if there is one and `bytes` holds n rows of x's width.
    pub(super) fn kernel<'a>(
        dtype: GgmlDType,
        bytes: &'a [u8],
        n: usize,
        y: &'a Q8Row,
    ) -> Option<RowsFn<'a>> {
        let nb = y.qs.len() / QK;
        let block = match dtype {
            GgmlDType::Q4_1 => Q4_1_BYTES,
            GgmlDType::Q8_0 => Q8_0_BYTES,
            _ => return None,
        };
        let row_bytes = nb * block;
        if bytes.len() != n * row_bytes || !available() {
            return None;
        }
        let dot4 = match dtype {
            GgmlDType::Q4_1 => dot4_q4_1,
            _ => dot4_q8_0,
        };
        Some(Box::new(move |first, out| {
            let row = |i: usize| bytes[(first + i) * row_bytes..].as_ptr();
            let mut i = 0;
            while i < out.len() {
                // Past the last row, the last row again (its results are dropped).
                let last = out.len() - 1;
                let rows = [
                    row(i),
                    row((i + 1).min(last)),
                    row((i + 2).min(last)),
                    row((i + 3).min(last)),
                ];
                // SAFETY: `available()` checked the CPU features; each pointer starts a row of
                // `nb` blocks inside `bytes` (its length was checked), and `y` has `nb` blocks.
                // The next four rows, fetched into cache while these are computed.
                let ahead = row((i + 4).min(last));
                let dots = unsafe { dot4(rows, ahead, nb, y) };
                let take = (out.len() - i).min(4);
                out[i..i + take].copy_from_slice(&dots[..take]);
                i += 4;
            }
        }))
    }

    #[target_feature(enable = "avx")]
    fn hsum(v: __m256) -> f32 {
        let half = _mm_add_ps(_mm256_extractf128_ps::<1>(v), _mm256_castps256_ps128(v));
        let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
        _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)))
    }

    /// Four Q4_1 rows · the activation. Per row the arithmetic is llama.cpp's: Σ_b d_b·e_b·(q·y)
    /// in one 8-lane accumulator, plus Σ_b m_b·s_b.
    ///
    /// # Safety
    /// AVX2, FMA and F16C; each of `rows` points at `nb` Q4_1 blocks; `y` has `nb` blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot4_q4_1(rows: [*const u8; 4], ahead: *const u8, nb: usize, y: &Q8Row) -> [f32; 4] {
        let low = _mm_set1_epi8(0x0F);
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); 4];
        // Lane 2r + 1 gathers row r's Σ m·s; even lanes are unused.
        let mut mins = _mm256_setzero_ps();
        let scale_of = [
            _mm256_set1_epi32(0),
            _mm256_set1_epi32(2),
            _mm256_set1_epi32(4),
            _mm256_set1_epi32(6),
        ];
        // SAFETY (whole body): offsets stay within `nb` blocks of each row and of `y`.
        unsafe {
            for b in 0..nb {
                let o = b * Q4_1_BYTES;
                // The next four rows are 4·nb blocks from here: two lines of them per block.
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(4 * o).cast::<i8>());
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(4 * o + 64).cast::<i8>());
                let yq = _mm256_loadu_si256(y.qs.as_ptr().add(b * QK).cast::<__m256i>());
                // (d, s) of the activation block, repeated: d s d s d s d s.
                let yds = _mm256_castpd_ps(_mm256_broadcast_sd(
                    &*y.ds.as_ptr().add(2 * b).cast::<f64>(),
                ));
                // (d, m) of each row's block: d0 m0 d1 m1 d2 m2 d3 m3.
                let dm = _mm_set_epi32(
                    rows[3].add(o).cast::<i32>().read_unaligned(),
                    rows[2].add(o).cast::<i32>().read_unaligned(),
                    rows[1].add(o).cast::<i32>().read_unaligned(),
                    rows[0].add(o).cast::<i32>().read_unaligned(),
                );
                let scales = _mm256_mul_ps(_mm256_cvtph_ps(dm), yds);
                mins = _mm256_add_ps(mins, scales);
                for r in 0..4 {
                    let q = _mm_loadu_si128(rows[r].add(o + 4).cast::<__m128i>());
                    let lo = _mm_and_si128(q, low);
                    let hi = _mm_and_si128(_mm_srli_epi16::<4>(q), low);
                    let xq = _mm256_set_m128i(hi, lo);
                    let products = _mm256_madd_epi16(_mm256_maddubs_epi16(xq, yq), ones);
                    let d = _mm256_permutevar8x32_ps(scales, scale_of[r]);
                    acc[r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(products), acc[r]);
                }
            }
        }
        let mut m = [0f32; 8];
        // SAFETY: `m` holds 8 floats.
        unsafe { _mm256_storeu_ps(m.as_mut_ptr(), mins) };
        [
            hsum(acc[0]) + m[1],
            hsum(acc[1]) + m[3],
            hsum(acc[2]) + m[5],
            hsum(acc[3]) + m[7],
        ]
    }

    /// Four Q8_0 rows · the activation, each as candle's `vec_dot_q8_0_q8_0` (same operations
    /// in the same order, so the same bits).
    ///
    /// # Safety
    /// AVX2, FMA and F16C; each of `rows` points at `nb` Q8_0 blocks; `y` has `nb` blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot4_q8_0(rows: [*const u8; 4], ahead: *const u8, nb: usize, y: &Q8Row) -> [f32; 4] {
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_ps(); 4];
        let scale_of = [
            _mm256_set1_epi32(0),
            _mm256_set1_epi32(1),
            _mm256_set1_epi32(2),
            _mm256_set1_epi32(3),
        ];
        // SAFETY (whole body): offsets stay within `nb` blocks of each row and of `y`.
        unsafe {
            for b in 0..nb {
                let o = b * Q8_0_BYTES;
                // The next four rows: three lines of them per block (4 × 34 bytes).
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(4 * o).cast::<i8>());
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(4 * o + 64).cast::<i8>());
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(4 * o + 128).cast::<i8>());
                let yq = _mm256_loadu_si256(y.qs.as_ptr().add(b * QK).cast::<__m256i>());
                let d = _mm_set_epi16(
                    0,
                    0,
                    0,
                    0,
                    rows[3].add(o).cast::<i16>().read_unaligned(),
                    rows[2].add(o).cast::<i16>().read_unaligned(),
                    rows[1].add(o).cast::<i16>().read_unaligned(),
                    rows[0].add(o).cast::<i16>().read_unaligned(),
                );
                let scales = _mm256_mul_ps(
                    _mm256_castps128_ps256(_mm_cvtph_ps(d)),
                    _mm256_set1_ps(*y.ds.get_unchecked(2 * b)),
                );
                for r in 0..4 {
                    let x = _mm256_loadu_si256(rows[r].add(o + 2).cast::<__m256i>());
                    let products = _mm256_madd_epi16(
                        ones,
                        _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(yq, x)),
                    );
                    let d = _mm256_permutevar8x32_ps(scales, scale_of[r]);
                    acc[r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(products), acc[r]);
                }
            }
        }
        [hsum(acc[0]), hsum(acc[1]), hsum(acc[2]), hsum(acc[3])]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QMatMul;
    use candle_core::{Device, Module, Tensor};

    /// Deterministic values in [-1, 1): a failing case reproduces on every run.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn equals_candles_quantised_matmul() -> Result<()> {
        let dev = Device::Cpu;
        let (n, k) = (96, 256);
        for seed in 1..=8u64 {
            let w = Tensor::from_vec(values(n * k, seed), (n, k), &dev)?;
            let xs = values(k, seed + 100);
            let x = Tensor::from_vec(xs.clone(), (1, k), &dev)?;
            for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_1, GgmlDType::Q4_0] {
                let q = QTensor::quantize(&w, dtype)?;
                let dequantised: Vec<f32> = q.dequantize(&dev)?.flatten_all()?.to_vec1()?;
                let ours = try_gemv(&q, &xs)?.ok_or(candle_core::Error::Msg("no path".into()))?;
                let theirs: Vec<f32> = QMatMul::from_qtensor(q)?
                    .forward(&x)?
                    .flatten_all()?
                    .to_vec1()?;
                if dtype == GgmlDType::Q4_1 {
                    // Our AVX2 kernel rounds the activation's block scale and sum through f16 as
                    // llama.cpp does; candle's scalar one keeps them in f32. Each is off from the
                    // exact product by at most a few f16 ulps of the row's magnitude sum.
                    for (row, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                        let magnitude: f32 = dequantised[row * k..(row + 1) * k]
                            .iter()
                            .zip(&xs)
                            .map(|(w, x)| (w * x).abs())
                            .sum();
                        assert!(
                            (a - b).abs() <= 4e-3 * (1.0 + magnitude),
                            "{dtype:?} seed {seed} row {row}: {a} vs {b} (magnitude {magnitude})"
                        );
                    }
                } else {
                    // Both quantise the activation to blocks of 32 (error at most half a step,
                    // plus the f16 rounding of the step: 0.57 of it), but the order of the sums
                    // and candle's kernel depend on the CPU, so the results need not be equal
                    // bit for bit. Each must be within that quantisation error of the exact
                    // product of the dequantised weights and the activation.
                    let steps: Vec<f32> = xs
                        .chunks(32)
                        .map(|b| b.iter().fold(0f32, |m, v| m.max(v.abs())) / 127.0)
                        .collect();
                    // The activation as our Q8_0 kernel quantises it, where that kernel runs.
                    #[cfg(target_arch = "x86_64")]
                    // SAFETY: `available()` checked the CPU features.
                    let ours_q = (dtype == GgmlDType::Q8_0 && avx2::available()).then(|| unsafe { avx2::quantize(&xs) });
                    for row in 0..n {
                        let w = &dequantised[row * k..(row + 1) * k];
                        let exact: f32 = w.iter().zip(&xs).map(|(w, x)| w * x).sum();
                        let magnitude: f32 = w.iter().zip(&xs).map(|(w, x)| (w * x).abs()).sum();
                        let bound: f32 = w
                            .iter()
                            .enumerate()
                            .map(|(i, w)| w.abs() * 0.57 * steps[i / 32])
                            .sum::<f32>()
                            + 1e-4 * (1.0 + magnitude);
                        // Ours, exactly: the dequantised weights times the activation as the
                        // kernel quantised it (up to the order of f32 sums).
                        #[cfg(target_arch = "x86_64")]
                        if let Some(y) = &ours_q {
                            let want: f64 = w
                                .iter()
                                .zip(&y.qs)
                                .enumerate()
                                .map(|(i, (w, q))| f64::from(*w) * f64::from(*q) * f64::from(y.ds[2 * (i / 32)]))
                                .sum();
                            assert!(
                                (f64::from(ours[row]) - want).abs() <= 1e-5 * (1.0 + f64::from(magnitude)),
                                "{dtype:?} seed {seed} row {row}: ours {} vs {want}",
                                ours[row]
                            );
                        }
                        for (who, v) in [("ours", ours[row]), ("candle", theirs[row])] {
                            assert!(
                                (v - exact).abs() <= bound,
                                "{dtype:?} seed {seed} row {row}: {who} {v} vs exact {exact} (bound {bound})"
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
