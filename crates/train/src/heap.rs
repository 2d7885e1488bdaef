//! Keeping freed memory in the process while a run trains. Each step allocates and frees the same
//! large buffers (activations, gradients, a chunk of logits); glibc's malloc hands big blocks
//! back to the kernel on free, so every step paid the page faults of zero-filling them again
//! (about 5 % of a step on SmolLM2-135M). While a [`KeepFreed`] lives, blocks up to malloc's
//! mmap limit come from the heap and the heap is not trimmed; dropping it restores the defaults
//! and returns what is free to the system.

/// Raises glibc's mmap and trim thresholds until dropped (no effect on other C libraries).
pub(crate) struct KeepFreed(());

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::os::raw::c_int;

    pub(super) const M_TRIM_THRESHOLD: c_int = -1;
    pub(super) const M_MMAP_THRESHOLD: c_int = -3;
    /// glibc refuses a larger mmap threshold on 64-bit targets (HEAP_MAX_SIZE / 2).
    pub(super) const MMAP_MAX: c_int = 32 << 20;
    /// glibc's defaults.
    pub(super) const DEFAULT_TRIM: c_int = 128 << 10;
    pub(super) const DEFAULT_MMAP: c_int = 128 << 10;

    unsafe extern "C" {
        pub(super) fn mallopt(param: c_int, value: c_int) -> c_int;
        pub(super) fn malloc_trim(pad: usize) -> c_int;
    }
}

impl KeepFreed {
    pub(crate) fn new() -> Self {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes allocator tuning parameters; any value is accepted or
        // refused (returning 0), never undefined.
        unsafe {
            glibc::mallopt(glibc::M_MMAP_THRESHOLD, glibc::MMAP_MAX);
            glibc::mallopt(glibc::M_TRIM_THRESHOLD, i32::MAX);
        }
        KeepFreed(())
    }
}

impl Drop for KeepFreed {
    fn drop(&mut self) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: as in `new`; malloc_trim only releases free memory.
        unsafe {
            glibc::mallopt(glibc::M_TRIM_THRESHOLD, glibc::DEFAULT_TRIM);
            glibc::mallopt(glibc::M_MMAP_THRESHOLD, glibc::DEFAULT_MMAP);
            glibc::malloc_trim(0);
        }
    }
}
