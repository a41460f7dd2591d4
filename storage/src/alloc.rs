//! The daemon's allocator settings (glibc, which every build uses, routers' static ones too).
//!
//! A download moves 256 KiB blocks through several buffers (frames, the arrived map, LMDB's
//! dirty pages). glibc's defaults gave each of those a fresh `mmap` (page faults and zeroing
//! for every block — and in virtual machines the host backing the pages anew), and once its
//! dynamic threshold rose, spread them over up to 8 arenas per core, each keeping up to
//! 64 MiB free: a node held 337 MiB of anonymous memory after a 512 MiB download, 8 MiB of it
//! in use. Now blocks come from the heap, at most one arena per core (up to 8), heaps give
//! back free memory above 8 MiB, and `release_free` returns the rest after a large download:
//! 3–7 MiB afterwards, and the 512 MiB cross-node download went from 456–471 to 503–573 MB/s
//! (BENCHMARKS.md). Here, beside LMDB, because `storage` is the crate allowed `unsafe` at
//! documented call sites.

/// Sets the allocator up for the daemon; call before its threads start. (glibc 2.36 answers 1
/// to every value, so there is no refusal to report; the e2e suite checks the effect instead:
/// the heap a node keeps after a 100 MiB download.)
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    /// Allocations below this come from the heap: a block (256 KiB), its frame and LMDB's
    /// dirty pages for it (266 KiB). Larger ones (a 4 MiB frame being reassembled) still get
    /// their own mapping, returned to the system when freed.
    const MMAP_THRESHOLD: libc::c_int = 512 << 10;
    const TRIM: libc::c_int = 8 << 20;
    let arenas = std::thread::available_parallelism().map_or(1, |n| n.get().min(8)) as libc::c_int;
    // SAFETY: mallopt only changes allocator parameters and takes no pointers; it runs before
    // the node's threads start.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM);
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

/// Other allocators: nothing to set.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}

/// Gives the pages of freed heap memory back to the system (glibc's `malloc_trim`): after a
/// large download freed block buffers lie fragmented in the arenas, where no trim threshold
/// reaches them.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free() {
    // SAFETY: malloc_trim takes no pointers and only returns free heap pages to the kernel.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free() {}
