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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QMatMul;
    use candle_core::{Device, Module, Tensor};

    #[test]
    fn equals_candles_quantised_matmul() -> Result<()> {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (96, 64), &dev)?;
        let x = Tensor::randn(0f32, 1.0, (1, 64), &dev)?;
        for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_1, GgmlDType::Q4_0] {
            let q = QTensor::quantize(&w, dtype)?;
            let ours = try_gemv(&q, &x.flatten_all()?.to_vec1()?)?
                .ok_or(candle_core::Error::Msg("no path".into()))?;
            let theirs: Vec<f32> = QMatMul::from_qtensor(q)?
                .forward(&x)?
                .flatten_all()?
                .to_vec1()?;
            assert_eq!(ours, theirs, "{dtype:?}");
        }
        Ok(())
    }
}
