//! One-row quantised matmul for generation, on rayon.
//!
//! candle runs every quantised matmul on its spinning barrier pool. For one row (a generated
//! token) that is 210 barriers per token on this model, and when any core is busy with something
//! else each barrier waits for a descheduled worker: measured here on a loaded 2-core machine,
//! decoding fell from 29 to 2–5 tok/s going from 1 to 2 threads. Rayon's work stealing lets the
//! calling thread finish the rows a stalled worker has not taken. The arithmetic is candle's own
//! (`GgmlType::from_float` for the activation, `GgmlType::vec_dot` per row), so results are the
//! same bit for bit.

use std::borrow::Cow;

use candle_core::quantized::k_quants::{
    BlockQ2K, BlockQ3K, BlockQ4_0, BlockQ4_1, BlockQ4K, BlockQ5_0, BlockQ5_1, BlockQ5K, BlockQ6K,
    BlockQ8_0, GgmlType,
};
use candle_core::quantized::{GgmlDType, QTensor};
use rayon::prelude::*;

use crate::error::Result;

/// Output rows per rayon task.
const ROWS_PER_TASK: usize = 32;

/// Whether one-row Q4_1 matmuls have a SIMD kernel on this CPU.
pub(crate) fn fast_q4_1() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        q4_1::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `W x` for a quantised W of shape (n, k) and one row x of length k; `None` when this path does
/// not apply (other storage or type), so the caller falls back to candle.
pub(crate) fn try_gemv(w: &QTensor, x: &[f32]) -> Result<Option<Vec<f32>>> {
    let (n, k) = w.shape().dims2()?;
    if x.len() != k {
        return Ok(None);
    }
    let data = w.data()?;
    let Cow::Borrowed(bytes) = data else {
        return Ok(None);
    };
    Ok(match w.dtype() {
        GgmlDType::Q8_0 => gemv::<BlockQ8_0>(bytes, n, k, x),
        GgmlDType::Q4_0 => gemv::<BlockQ4_0>(bytes, n, k, x),
        #[cfg(target_arch = "x86_64")]
        GgmlDType::Q4_1 if q4_1::available() => q4_1::gemv(bytes, n, k, x),
        GgmlDType::Q4_1 => gemv::<BlockQ4_1>(bytes, n, k, x),
        GgmlDType::Q5_0 => gemv::<BlockQ5_0>(bytes, n, k, x),
        GgmlDType::Q5_1 => gemv::<BlockQ5_1>(bytes, n, k, x),
        GgmlDType::Q2K => gemv::<BlockQ2K>(bytes, n, k, x),
        GgmlDType::Q3K => gemv::<BlockQ3K>(bytes, n, k, x),
        GgmlDType::Q4K => gemv::<BlockQ4K>(bytes, n, k, x),
        GgmlDType::Q5K => gemv::<BlockQ5K>(bytes, n, k, x),
        GgmlDType::Q6K => gemv::<BlockQ6K>(bytes, n, k, x),
        _ => None,
    })
}

fn gemv<T: GgmlType + Sync>(bytes: &[u8], n: usize, k: usize, x: &[f32]) -> Option<Vec<f32>> {
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
    let mut out = vec![0f32; n];
    out.par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .for_each(|(task, chunk)| {
            for (i, o) in chunk.iter_mut().enumerate() {
                let row = task * ROWS_PER_TASK + i;
                *o = T::vec_dot(k, &w[row * per_row..(row + 1) * per_row], &xq);
            }
        });
    Some(out)
}

/// Q4_1 × Q8_1 with AVX2, as llama.cpp computes it (`ggml_vec_dot_q4_1_q8_1`): candle's Q4_1
/// dot product is scalar, and Q4_1 is the built-in model's format.
#[cfg(target_arch = "x86_64")]
mod q4_1 {
    use std::arch::x86_64::*;

    use rayon::prelude::*;

    /// Bytes of one Q4_1 block: f16 scale, f16 minimum, 16 bytes of nibbles.
    const BLOCK_BYTES: usize = 20;
    const QK: usize = 32;

    pub(super) fn available() -> bool {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    }

    /// The activation row as Q8_1: per block of 32, scale d, s = d·Σq, and the 32 values.
    struct Q8Row {
        d: Vec<f32>,
        s: Vec<f32>,
        qs: Vec<i8>,
    }

    /// Rounds through f16 as GGML stores these scales.
    #[target_feature(enable = "f16c")]
    fn f16_round(v: f32) -> f32 {
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(
            _mm_set_ss(v),
        )))
    }

    #[target_feature(enable = "f16c")]
    fn f16_to_f32(lo: u8, hi: u8) -> f32 {
        _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(
            u16::from_le_bytes([lo, hi]),
        ))))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    fn quantize(x: &[f32]) -> Q8Row {
        let nb = x.len() / QK;
        let mut row = Q8Row {
            d: Vec::with_capacity(nb),
            s: Vec::with_capacity(nb),
            qs: vec![0; x.len()],
        };
        for (b, block) in x.chunks_exact(QK).enumerate() {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (j, v) in block.iter().enumerate() {
                let q = (v * id).round() as i8;
                row.qs[b * QK + j] = q;
                sum += q as i32;
            }
            row.d.push(f16_round(d));
            row.s.push(f16_round(d * sum as f32));
        }
        row
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    fn dot(w: &[u8], y: &Q8Row) -> f32 {
        let mut acc = _mm256_setzero_ps();
        let mut mins = 0f32;
        let low = _mm_set1_epi8(0x0F);
        let ones = _mm256_set1_epi16(1);
        for (b, block) in w.chunks_exact(BLOCK_BYTES).enumerate() {
            let dx = f16_to_f32(block[0], block[1]);
            let mx = f16_to_f32(block[2], block[3]);
            let yq = &y.qs[b * QK..(b + 1) * QK];
            // SAFETY: `block` has 20 bytes, so 16 are readable from offset 4; `yq` has 32.
            let (q, yq) = unsafe {
                (
                    _mm_loadu_si128(block.as_ptr().add(4).cast::<__m128i>()),
                    _mm256_loadu_si256(yq.as_ptr().cast::<__m256i>()),
                )
            };
            let lo = _mm_and_si128(q, low);
            let hi = _mm_and_si128(_mm_srli_epi16::<4>(q), low);
            let xq = _mm256_set_m128i(hi, lo);
            let products = _mm256_madd_epi16(_mm256_maddubs_epi16(xq, yq), ones);
            acc = _mm256_fmadd_ps(
                _mm256_set1_ps(dx * y.d[b]),
                _mm256_cvtepi32_ps(products),
                acc,
            );
            mins += mx * y.s[b];
        }
        let half = _mm_add_ps(_mm256_extractf128_ps::<1>(acc), _mm256_castps256_ps128(acc));
        let quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
        _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter))) + mins
    }

    pub(super) fn gemv(bytes: &[u8], n: usize, k: usize, x: &[f32]) -> Option<Vec<f32>> {
        if !k.is_multiple_of(QK)
            || bytes.len() != n * (k / QK) * BLOCK_BYTES
            || x.len() != k
            || !available()
        {
            return None;
        }
        let row_bytes = k / QK * BLOCK_BYTES;
        // SAFETY: `available()` checked the CPU features these functions enable.
        let y = unsafe { quantize(x) };
        let mut out = vec![0f32; n];
        out.par_chunks_mut(super::ROWS_PER_TASK)
            .enumerate()
            .for_each(|(task, chunk)| {
                for (i, o) in chunk.iter_mut().enumerate() {
                    let row = task * super::ROWS_PER_TASK + i;
                    // SAFETY: as above.
                    *o = unsafe { dot(&bytes[row * row_bytes..(row + 1) * row_bytes], &y) };
                }
            });
        Some(out)
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
                let ours =
                    try_gemv(&q, &xs)?.ok_or(candle_core::Error::Msg("no path".into()))?;
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
                    assert_eq!(ours, theirs, "{dtype:?} seed {seed}");
                }
            }
        }
        Ok(())
    }
}
