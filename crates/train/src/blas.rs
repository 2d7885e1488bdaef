//! f32 matrix products for training on the CPU through OpenBLAS's `sgemm` (the `openblas` feature),
//! which sustains about 1.5× the GFLOP/s of candle's own `gemm` on the AVX2 dev machine (152 against
//! 99 at 2 threads, 1024 × 1536 × 1536). OpenBLAS runs single-threaded here and the product is split
//! into row (or column) blocks over rayon's threads, so the training's one thread pool owns the
//! cores: OpenBLAS's own threads spin after each call and would take the cores from the element-wise
//! passes between matmuls. Without the feature, or for layouts sgemm cannot take, candle's matmul.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout};

/// `lhs (m, k) · rhs (k, n)` on CPU storages with their layouts (any offset; either may be a
/// transposed view), as an owned row-major vector.
pub(crate) fn matmul(
    lhs: &CpuStorage,
    ll: &Layout,
    rhs: &CpuStorage,
    rl: &Layout,
    (m, n, k): (usize, usize, usize),
) -> candle_core::Result<Vec<f32>> {
    #[cfg(feature = "openblas")]
    if let (Some(a), Some(b)) = (Operand::of(lhs, ll, m, k), Operand::of(rhs, rl, k, n)) {
        return Ok(openblas::product(&a, &b, (m, n, k)));
    }
    match lhs.matmul(rhs, (1, m, n, k), ll, rl)? {
        CpuStorage::F32(v) => Ok(v),
        _ => candle_core::bail!("matmul: expected f32"),
    }
}

/// `a (m, k) · b (k, n)` for 2-D tensors: [`matmul`] on the CPU, candle's matmul elsewhere.
pub(crate) fn mm2(a: &candle_core::Tensor, b: &candle_core::Tensor) -> candle_core::Result<candle_core::Tensor> {
    let (Ok((m, k)), Ok((k2, n))) = (a.dims2(), b.dims2()) else {
        return a.matmul(b);
    };
    if !a.device().is_cpu() || k != k2 {
        return a.matmul(b);
    }
    let out = {
        let (sa, la) = a.storage_and_layout();
        let (sb, lb) = b.storage_and_layout();
        let (candle_core::Storage::Cpu(sa), candle_core::Storage::Cpu(sb)) = (&*sa, &*sb) else {
            return a.matmul(b);
        };
        matmul(sa, la, sb, lb, (m, n, k))?
    };
    candle_core::Tensor::from_vec(out, (m, n), a.device())
}

/// Batched `op(a) · op(b)` for contiguous 3-D or 4-D tensors whose leading dimensions are the batch:
/// `a` holds (…, m, k), or (…, k, m) when `ta`; `b` holds (…, k, n), or (…, n, k) when `tb`. The
/// result is (…, m, n). Each batch is one sgemm, the batches spread over rayon's threads; candle's
/// batched matmul without the `openblas` feature or off the CPU.
pub(crate) fn bmm(
    a: &candle_core::Tensor,
    b: &candle_core::Tensor,
    ta: bool,
    tb: bool,
) -> candle_core::Result<candle_core::Tensor> {
    let rank = a.rank();
    let fallback = || {
        let a = if ta { a.transpose(rank - 2, rank - 1)? } else { a.clone() };
        let b = if tb { b.transpose(rank - 2, rank - 1)? } else { b.clone() };
        a.matmul(&b)
    };
    #[cfg(feature = "openblas")]
    if a.device().is_cpu() && a.is_contiguous() && b.is_contiguous() && rank >= 3 && b.rank() == rank {
        let (ad, bd) = (a.dims(), b.dims());
        let (m, k) = if ta { (ad[rank - 1], ad[rank - 2]) } else { (ad[rank - 2], ad[rank - 1]) };
        let (k2, n) = if tb { (bd[rank - 1], bd[rank - 2]) } else { (bd[rank - 2], bd[rank - 1]) };
        if k == k2 && ad[..rank - 2] == bd[..rank - 2] {
            let batches: usize = ad[..rank - 2].iter().product();
            let (sa, la) = a.storage_and_layout();
            let (sb, lb) = b.storage_and_layout();
            if let (candle_core::Storage::Cpu(CpuStorage::F32(va)), candle_core::Storage::Cpu(CpuStorage::F32(vb))) =
                (&*sa, &*sb)
            {
                let va = &va[la.start_offset()..la.start_offset() + a.elem_count()];
                let vb = &vb[lb.start_offset()..lb.start_offset() + b.elem_count()];
                let out = openblas::batched(va, vb, batches, (m, n, k), ta, tb);
                let mut shape = ad[..rank - 2].to_vec();
                shape.extend([m, n]);
                return candle_core::Tensor::from_vec(out, shape, a.device());
            }
        }
    }
    fallback()
}

/// [`bmm`] on raw contiguous data: `batches` products of op(a) (m, k) · op(b) (k, n) laid end to
/// end, as a new vector; candle's matmul without the `openblas` feature.
pub(crate) fn bmm_slices(
    a: &[f32],
    b: &[f32],
    batches: usize,
    (m, n, k): (usize, usize, usize),
    ta: bool,
    tb: bool,
) -> candle_core::Result<Vec<f32>> {
    #[cfg(feature = "openblas")]
    {
        if a.len() == batches * m * k && b.len() == batches * k * n {
            return Ok(openblas::batched(a, b, batches, (m, n, k), ta, tb));
        }
        candle_core::bail!("bmm: {} and {} values for {batches} × ({m}, {k}) · ({k}, {n})", a.len(), b.len())
    }
    #[cfg(not(feature = "openblas"))]
    {
        let dev = candle_core::Device::Cpu;
        let a = candle_core::Tensor::from_slice(a, if ta { (batches, k, m) } else { (batches, m, k) }, &dev)?;
        let b = candle_core::Tensor::from_slice(b, if tb { (batches, n, k) } else { (batches, k, n) }, &dev)?;
        bmm(&a, &b, ta, tb)?.flatten_all()?.to_vec1()
    }
}

/// `op(a) · op(b)` on contiguous row-major slices into `c` (m, n): overwritten, or added to when
/// `accumulate`. `a` holds (m, k), or (k, m) when `ta`; `b` holds (k, n), or (n, k) when `tb`.
/// Summing products into one buffer this way saves a pass and an allocation per term.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into(
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    (m, n, k): (usize, usize, usize),
    c: &mut [f32],
    accumulate: bool,
) -> candle_core::Result<()> {
    if c.len() != m * n {
        candle_core::bail!("gemm: {} values out for ({m}, {n})", c.len())
    }
    #[cfg(feature = "openblas")]
    {
        let (a, b) = Operand::pair(a, ta, b, tb, (m, n, k))?;
        openblas::product_into(&a, &b, (m, n, k), c, if accumulate { 1.0 } else { 0.0 });
        Ok(())
    }
    #[cfg(not(feature = "openblas"))]
    {
        let p = bmm_slices(a, b, 1, (m, n, k), ta, tb)?;
        if accumulate {
            for (c, p) in c.iter_mut().zip(&p) {
                *c += p;
            }
        } else {
            c.copy_from_slice(&p);
        }
        Ok(())
    }
}

/// [`gemm_into`] into a new vector.
pub(crate) fn gemm(a: &[f32], ta: bool, b: &[f32], tb: bool, (m, n, k): (usize, usize, usize)) -> candle_core::Result<Vec<f32>> {
    #[cfg(feature = "openblas")]
    {
        let (a, b) = Operand::pair(a, ta, b, tb, (m, n, k))?;
        Ok(openblas::product(&a, &b, (m, n, k)))
    }
    #[cfg(not(feature = "openblas"))]
    bmm_slices(a, b, 1, (m, n, k), ta, tb)
}

/// One product on strided row-major blocks, on the calling thread: `c` (m rows of `ldc`) is
/// overwritten with `op(a) · op(b)`, or has it added when `accumulate`. `a` holds (m, k) rows of
/// `lda`, or (k, m) when `ta`; `b` holds (k, n) rows of `ldb`, or (n, k) when `tb`. For callers
/// that spread many small products over the threads themselves.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_block(
    (a, ta, lda): (&[f32], bool, usize),
    (b, tb, ldb): (&[f32], bool, usize),
    (m, n, k): (usize, usize, usize),
    (c, ldc): (&mut [f32], usize),
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let extent = |rows: usize, cols: usize, ld: usize| if rows == 0 { 0 } else { (rows - 1) * ld + cols };
    let (ar, ac) = if ta { (k, m) } else { (m, k) };
    let (br, bc) = if tb { (n, k) } else { (k, n) };
    assert!(a.len() >= extent(ar, ac, lda) && ac <= lda, "gemm_block: a too short");
    assert!(b.len() >= extent(br, bc, ldb) && bc <= ldb, "gemm_block: b too short");
    assert!(c.len() >= extent(m, n, ldc) && n <= ldc, "gemm_block: c too short");
    #[cfg(feature = "openblas")]
    openblas::block(
        &Operand { data: a, transposed: ta, ld: lda },
        &Operand { data: b, transposed: tb, ld: ldb },
        (m, n, k),
        c,
        ldc,
        if accumulate { 1.0 } else { 0.0 },
    );
    #[cfg(not(feature = "openblas"))]
    for i in 0..m {
        for j in 0..n {
            let mut s = 0f32;
            for t in 0..k {
                let x = if ta { a[t * lda + i] } else { a[i * lda + t] };
                let y = if tb { b[j * ldb + t] } else { b[t * ldb + j] };
                s += x * y;
            }
            let o = &mut c[i * ldc + j];
            *o = if accumulate { *o + s } else { s };
        }
    }
}

/// One side of a product as sgemm takes it: the data from its first element, whether it is stored
/// transposed, and its leading dimension.
#[cfg_attr(not(feature = "openblas"), allow(dead_code))]
struct Operand<'a> {
    data: &'a [f32],
    transposed: bool,
    ld: usize,
}

#[cfg_attr(not(feature = "openblas"), allow(dead_code))]
impl<'a> Operand<'a> {
    /// Contiguous `a` (m, k) and `b` (k, n), each stored transposed when its flag says so.
    fn pair(a: &'a [f32], ta: bool, b: &'a [f32], tb: bool, (m, n, k): (usize, usize, usize)) -> candle_core::Result<(Self, Self)> {
        if a.len() != m * k || b.len() != k * n {
            candle_core::bail!("gemm: {} and {} values for ({m}, {k}) · ({k}, {n})", a.len(), b.len())
        }
        Ok((
            Operand { data: a, transposed: ta, ld: if ta { m } else { k } },
            Operand { data: b, transposed: tb, ld: if tb { k } else { n } },
        ))
    }

    /// `s` viewed through `l` as a (rows, cols) matrix, when one of its strides is 1.
    fn of(s: &'a CpuStorage, l: &Layout, rows: usize, cols: usize) -> Option<Self> {
        let CpuStorage::F32(all) = s else { return None };
        let (dims, strides) = (l.dims(), l.stride());
        // (rows, cols), or (1, rows, cols) as candle's batched matmul shapes it.
        let at = match dims.len() {
            2 => 0,
            3 if dims[0] == 1 => 1,
            _ => return None,
        };
        if dims[at] != rows || dims[at + 1] != cols {
            return None;
        }
        let (rs, cs) = (strides[at], strides[at + 1]);
        let (transposed, ld) = if cs == 1 || cols == 1 {
            (false, rs.max(cols))
        } else if rs == 1 || rows == 1 {
            (true, cs.max(rows))
        } else {
            return None;
        };
        let len = if transposed { (cols - 1) * ld + rows } else { (rows - 1) * ld + cols };
        let data = all.get(l.start_offset()..l.start_offset() + len)?;
        Some(Self { data, transposed, ld })
    }
}

#[cfg(feature = "openblas")]
mod openblas {
    use super::Operand;
    use std::sync::Once;

    const ROW_MAJOR: i32 = 101;
    const NO_TRANS: i32 = 111;
    const TRANS: i32 = 112;

    #[link(name = "openblas")]
    unsafe extern "C" {
        fn cblas_sgemm(
            order: i32,
            transa: i32,
            transb: i32,
            m: i32,
            n: i32,
            k: i32,
            alpha: f32,
            a: *const f32,
            lda: i32,
            b: *const f32,
            ldb: i32,
            beta: f32,
            c: *mut f32,
            ldc: i32,
        );
        fn openblas_set_num_threads(n: i32);
    }

    static SINGLE: Once = Once::new();

    /// `a · b` as a new row-major (m, n) vector. sgemm with beta = 0 writes every element of its
    /// output without reading it, so the vector is not zero-filled first (a memset of each
    /// product, about 3 % of a training step).
    pub(super) fn product(a: &Operand, b: &Operand, (m, n, k): (usize, usize, usize)) -> Vec<f32> {
        if m == 0 || n == 0 || k == 0 {
            return vec![0f32; m * n];
        }
        uninit(m * n, |c| sgemm_split(a, b, c, (m, n, k), 0.0))
    }

    /// `c = a · b` (`beta` 0) or `c += a · b` (`beta` 1) into an existing row-major (m, n) slice.
    pub(super) fn product_into(a: &Operand, b: &Operand, (m, n, k): (usize, usize, usize), c: &mut [f32], beta: f32) {
        assert_eq!(c.len(), m * n, "sgemm output size");
        if m == 0 || n == 0 {
            return;
        }
        if k == 0 {
            if beta == 0.0 {
                c.fill(0.0);
            }
            return;
        }
        sgemm_split(a, b, Out { ptr: c.as_mut_ptr(), len: c.len() }, (m, n, k), beta);
    }

    /// One sgemm into `c` (m rows of `ldc`) on the calling thread; the caller checked the extents.
    pub(super) fn block(a: &Operand, b: &Operand, (m, n, k): (usize, usize, usize), c: &mut [f32], ldc: usize, beta: f32) {
        if k == 0 {
            if beta == 0.0 {
                for row in c.chunks_mut(ldc).take(m) {
                    row[..n].fill(0.0);
                }
            }
            return;
        }
        sgemm(a, b, Out { ptr: c.as_mut_ptr(), len: c.len() }, (0, m), (0, n), ldc, k, 0, beta);
    }

    /// `batches` products of (m, k) · (k, n) blocks laid end to end, one sgemm each, over rayon.
    pub(super) fn batched(
        a: &[f32],
        b: &[f32],
        batches: usize,
        (m, n, k): (usize, usize, usize),
        ta: bool,
        tb: bool,
    ) -> Vec<f32> {
        use rayon::prelude::*;
        if m == 0 || n == 0 || k == 0 {
            return vec![0f32; batches * m * n];
        }
        uninit(batches * m * n, |c| {
            (0..batches).into_par_iter().for_each(|i| {
                let a = Operand { data: &a[i * m * k..(i + 1) * m * k], transposed: ta, ld: if ta { m } else { k } };
                let b = Operand { data: &b[i * k * n..(i + 1) * k * n], transposed: tb, ld: if tb { k } else { n } };
                // Batch i's block of the output: rows i·m.. of the (batches·m, n) whole.
                sgemm(&a, &b, c, (0, m), (0, n), n, k, i * m * n, 0.0);
            })
        })
    }

    /// Where the output goes: a pointer to `len` floats that the products write (each task its own
    /// disjoint block) and nothing reads until they are done. A raw pointer, not `&mut [f32]`,
    /// because several tasks write into it at once and the memory starts uninitialised.
    #[derive(Clone, Copy)]
    struct Out {
        ptr: *mut f32,
        len: usize,
    }

    // SAFETY: the tasks sharing an `Out` write disjoint elements (see `sgemm_split`, `batched`).
    unsafe impl Send for Out {}
    unsafe impl Sync for Out {}

    /// A vector of `len` that `fill` writes whole, without zero-filling it first. `fill` must
    /// write every element and read none before writing it (sgemm with beta = 0 and k > 0 does).
    fn uninit(len: usize, fill: impl FnOnce(Out)) -> Vec<f32> {
        let mut c: Vec<std::mem::MaybeUninit<f32>> = Vec::with_capacity(len);
        // SAFETY: MaybeUninit needs no initialisation.
        unsafe { c.set_len(len) };
        fill(Out { ptr: c.as_mut_ptr().cast::<f32>(), len });
        let mut c = std::mem::ManuallyDrop::new(c);
        // SAFETY: every element is now initialised; same allocation, length and capacity, and
        // MaybeUninit<f32> has f32's layout.
        unsafe { Vec::from_raw_parts(c.as_mut_ptr().cast::<f32>(), len, c.capacity()) }
    }

    /// `c (m, n) = a · b`, split over rayon's threads along the longer side of `c`.
    fn sgemm_split(a: &Operand, b: &Operand, c: Out, (m, n, k): (usize, usize, usize), beta: f32) {
        let threads = rayon::current_num_threads().max(1);
        // Below ~2 MFLOP a block, splitting costs more than it saves.
        let parts = threads.min((2 * m * n * k / (2 << 20)).max(1));
        if parts == 1 {
            sgemm(a, b, c, (0, m), (0, n), n, k, 0, beta);
            return;
        }
        let by_rows = m >= n;
        let along = if by_rows { m } else { n };
        let step = along.div_ceil(parts);
        rayon::scope(|s| {
            for start in (0..along).step_by(step) {
                let end = (start + step).min(along);
                // Each task its own rows, or its own columns of every row.
                s.spawn(move |_| {
                    if by_rows {
                        sgemm(a, b, c, (start, end), (0, n), n, k, 0, beta);
                    } else {
                        sgemm(a, b, c, (0, m), (start, end), n, k, 0, beta);
                    }
                });
            }
        });
    }

    /// The block `rows × cols` of the (·, `ldc`) row-major matrix that starts `base` floats into
    /// `c`, overwritten (`beta` 0) or added to (`beta` 1).
    #[allow(clippy::too_many_arguments)]
    fn sgemm(a: &Operand, b: &Operand, c: Out, rows: (usize, usize), cols: (usize, usize), ldc: usize, k: usize, base: usize, beta: f32) {
        // SAFETY: a plain setter of OpenBLAS's thread count, run once before the first product.
        SINGLE.call_once(|| unsafe { openblas_set_num_threads(1) });
        let (m, n) = (rows.1 - rows.0, cols.1 - cols.0);
        // Where row `rows.0` of op(a) and column `cols.0` of op(b) begin.
        let a_at = if a.transposed { rows.0 } else { rows.0 * a.ld };
        let b_at = if b.transposed { cols.0 * b.ld } else { cols.0 };
        let c_at = base + rows.0 * ldc + cols.0;
        assert!(a_at <= a.data.len() && b_at <= b.data.len() && c_at + (m - 1) * ldc + n <= c.len);
        // SAFETY: the operands were bounds-checked against their whole (rows, cols) extent in
        // `Operand::of`, the block lies inside it, and `c` has `m` rows of `ldc` from `c_at`.
        unsafe {
            cblas_sgemm(
                ROW_MAJOR,
                if a.transposed { TRANS } else { NO_TRANS },
                if b.transposed { TRANS } else { NO_TRANS },
                m as i32,
                n as i32,
                k as i32,
                1.0,
                a.data.as_ptr().add(a_at),
                a.ld as i32,
                b.data.as_ptr().add(b_at),
                b.ld as i32,
                beta,
                c.ptr.add(c_at),
                ldc as i32,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn storage(t: &Tensor) -> candle_core::Result<(CpuStorage, Layout)> {
        let (s, l) = t.storage_and_layout();
        let candle_core::Storage::Cpu(s) = &*s else {
            candle_core::bail!("not on the CPU")
        };
        Ok((s.clone(), l.clone()))
    }

    /// Every combination of plain and transposed operands, with offsets, against candle's matmul;
    /// shapes on both sides of the split threshold.
    #[test]
    fn products_equal_candles_for_plain_transposed_and_offset_views() -> candle_core::Result<()> {
        let d = Device::Cpu;
        for &(m, n, k) in &[(3, 5, 7), (300, 200, 100), (16, 700, 300), (1, 9, 4)] {
            let big_a = Tensor::randn(0f32, 1.0, (m + 2, k + 3), &d)?;
            let big_b = Tensor::randn(0f32, 1.0, (k + 1, n + 2), &d)?;
            let a = big_a.narrow(0, 1, m)?.narrow(1, 2, k)?;
            let b = big_b.narrow(0, 1, k)?.narrow(1, 1, n)?;
            let want: Vec<f32> = a.contiguous()?.matmul(&b.contiguous()?)?.flatten_all()?.to_vec1()?;
            let at = a.t()?.contiguous()?.t()?;
            let bt = b.t()?.contiguous()?.t()?;
            for (x, y) in [(&a, &b), (&at, &b), (&a, &bt), (&at, &bt)] {
                let (xs, xl) = storage(x)?;
                let (ys, yl) = storage(y)?;
                let got = matmul(&xs, &xl, &ys, &yl, (m, n, k))?;
                let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
                assert!(worst < 1e-3, "{m}x{n}x{k}: off by {worst}");
            }
            // Batched, with either side stored transposed.
            let q = Tensor::randn(0f32, 1.0, (3, m, k), &d)?;
            let kk = Tensor::randn(0f32, 1.0, (3, n, k), &d)?;
            let want = q.matmul(&kk.transpose(1, 2)?)?;
            let got = bmm(&q, &kk, false, true)?;
            let worst = (got - &want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            assert!(worst < 1e-3, "bmm {m}x{n}x{k}: off by {worst}");
            let qt = q.transpose(1, 2)?.contiguous()?;
            let got = bmm(&qt, &kk, true, true)?;
            let worst = (got - &want)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            assert!(worst < 1e-3, "bmm (ta) {m}x{n}x{k}: off by {worst}");
        }
        Ok(())
    }
}
