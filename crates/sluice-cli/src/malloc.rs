//! glibc's allocator, set for a process that builds and drops tables of gigabytes.
//!
//! By default glibc serves a block above a threshold that starts at 128 KiB with its own `mmap`, and
//! returns freed memory at the top of a heap to the kernel once more than twice that threshold is
//! free. A pipeline stage allocates its output's buffers (MiBs per batch) while the input's are freed,
//! so with the defaults most new buffers are fresh pages that the kernel must fault in and zero: on the
//! 10M-row demo pipeline that was the larger part of row removal's time (docs/benchmarks.md,
//! "Pipeline"). Raising the `mmap` threshold to its maximum (32 MiB on 64-bit) and the trim
//! threshold to 1 GiB keeps freed memory for the next allocation instead. It costs nothing in peak
//! memory (freed memory is reused before the heap grows) and holds at most 1 GiB per heap beyond
//! what is in use until the process ends.
//!
//! Settings given in `GLIBC_TUNABLES` (`glibc.malloc.*`) are left as they are, so a run can compare.

/// Applies the settings above, unless `GLIBC_TUNABLES` sets malloc's own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    if std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc.")) {
        return;
    }
    // SAFETY: `mallopt` only changes two of the allocator's parameters; it is called before any
    // other thread exists, and an out-of-range value is refused (returns 0) without effect.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// Other platforms' allocators are left as they are.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}
