//! Weights on 2 MiB pages: what decode's stream of weights costs beyond its bytes.
//!
//! Linux hands a process memory in 4 KiB pages unless asked for more. Decode streams every
//! weight once per token, so with 4 KiB pages it crosses a page every 4 KiB: each crossing
//! needs a new address translation (a TLB miss, and a page-table walk), and the hardware
//! prefetchers, which follow a stream only inside one page, start again from nothing. With
//! transparent huge pages (THP) a page is 2 MiB, 512 times fewer crossings.
//!
//! Most kernels give huge pages only where a program asks (`madvise` mode, the usual default),
//! so [`advise_huge_pages`] asks, for the whole 2 MiB pages inside a buffer: `MADV_HUGEPAGE`,
//! so that pages written from now on are huge, then `MADV_COLLAPSE` (Linux 6.1), which moves
//! pages already written into huge ones at once. Only whole 2 MiB pages can be huge, so a
//! matrix that starts in the middle of one keeps up to 4 MiB at its two ends on small pages
//! (a fifth of GPT-2 124M's weights); [`onto_huge_pages`], which `Linear` and `Embedding` call
//! on their weights, first moves a matrix to a buffer that starts on a 2 MiB boundary and ends
//! on one.
//!
//! Measured on the same 494 MB of GPT-2 124M's matrices, interleaved passes (AMD EPYC, 2
//! cores): decode's matrix x vector streamed 15.1-17.7 GB/s on 4 KiB pages and 17.6-21.3 GB/s
//! on huge pages (+15-18%); with only each matrix's whole pages collapsed, 17.4-20.7 GB/s.
//!
//! Everything here is best effort and changes no value: an older kernel, THP switched off or
//! memory too fragmented for 2 MiB pieces only leave the buffer on 4 KiB pages.

use ndarray::{s, Array, Array1, Dimension};
use num_traits::Zero;
use std::sync::atomic::{AtomicBool, Ordering};

/// The size of a transparent huge page on x86-64 and most arm64 kernels.
pub const HUGE_PAGE_BYTES: usize = 2 << 20;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turn [`advise_huge_pages`] on or off for buffers made from now on (it is on by default);
/// `bench --huge-pages off` measures the difference.
pub fn set_huge_pages(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether [`advise_huge_pages`] asks the kernel for anything.
pub fn huge_pages_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The whole 2 MiB pages inside the `len` bytes at address `start`: `(first, end)` addresses,
/// empty (`first == end`) when the buffer holds none.
pub fn whole_huge_pages(start: usize, len: usize) -> (usize, usize) {
    let first = start.div_ceil(HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
    let end = (start + len) / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
    if end > first {
        (first, end)
    } else {
        (first, first)
    }
}

/// Ask the kernel to keep the whole 2 MiB pages inside `data` as transparent huge pages
/// (module docs). Returns the bytes asked for, 0 when `data` holds no whole huge page, when
/// [`set_huge_pages`] turned this off, or off Linux. Whether the kernel granted them shows in
/// `AnonHugePages` of `/proc/self/smaps_rollup` ([`anon_huge_page_bytes`]).
pub fn advise_huge_pages<T>(data: &[T]) -> usize {
    if !huge_pages_enabled() {
        return 0;
    }
    let (first, end) = whole_huge_pages(data.as_ptr() as usize, std::mem::size_of_val(data));
    if end == first {
        return 0;
    }
    ask(first, end - first);
    collapse(first, end - first);
    end - first
}

// ANCHOR: onto_huge_pages
/// `a`, on 2 MiB pages where it is large enough (`Linear` and `Embedding` call this on their
/// weights): moved to a buffer whose first element starts a 2 MiB page, asked for as huge pages
/// before it is written, so that every whole page of it can be huge. A matrix that already
/// starts on a boundary, is smaller than one huge page or not in standard layout, or a call
/// after [`set_huge_pages`]`(false)`, is only advised in place ([`advise_huge_pages`]). The
/// values are the same either way. The new buffer is the matrix rounded up to whole 2 MiB pages,
/// all asked for, so the last page is huge too: its tail past the matrix becomes resident (up
/// to 2 MiB a matrix; 28 MB, 4% more peak resident memory, for GPT-2 124M), and the matrix's
/// last bytes no longer sit on 4 KiB pages, which read slower. Cached decode of GPT-2 124M on
/// an Intel Xeon (Sapphire Rapids class), against the buffer without the tail page, 10
/// alternated rounds: 1.14x after 8 tokens (faster in 6), 1.04x after 512 (8); on the AMD Zen 4
/// EPYC it was 1.01-1.02x, within the noise. Up to one more page before the matrix (the
/// alignment) stays unwritten, and so not resident, when the allocator hands out fresh memory.
pub fn onto_huge_pages<T: Copy + Zero, D: Dimension>(a: Array<T, D>) -> Array<T, D> {
    let bytes = a.len() * std::mem::size_of::<T>();
    let Some(values) = a.as_slice() else { return a };
    let start = values.as_ptr() as usize;
    if !huge_pages_enabled() || bytes < HUGE_PAGE_BYTES || start % HUGE_PAGE_BYTES == 0 {
        advise_huge_pages(values);
        return a;
    }
    let size = std::mem::size_of::<T>();
    // room for the matrix rounded up to whole huge pages, after up to one page of alignment;
    // zeroed: a fresh mapping the allocator need not write, so its untouched pages stay unmapped
    let whole_pages = bytes.div_ceil(HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
    let mut buffer = vec![T::zero(); (whole_pages + HUGE_PAGE_BYTES) / size];
    let base = buffer.as_ptr() as usize;
    let skip = (base.div_ceil(HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES - base) / size; // base is size-aligned
    // the last, partial page too: its tail would otherwise stay on 4 KiB pages, which read slower
    let (first, end) = whole_huge_pages(base + skip * size, whole_pages);
    ask(first, end - first);
    buffer[skip..skip + a.len()].copy_from_slice(values);
    collapse(first, end - first); // pages the allocator had written before are small: move them
    let dim = a.raw_dim();
    Array1::from_vec(buffer)
        .slice_move(s![skip..skip + a.len()])
        .into_shape_with_order(dim)
        .expect("the same number of elements, contiguous")
}
// ANCHOR_END: onto_huge_pages

/// `MADV_HUGEPAGE` on `len` bytes at `first`: pages written from now on may be huge.
#[cfg(target_os = "linux")]
fn ask(first: usize, len: usize) {
    // SAFETY: callers pass whole pages inside a live allocation; the advice changes how the
    // kernel maps them, never their contents. A failure (THP compiled out) changes nothing.
    unsafe { libc::madvise(first as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
}

/// `MADV_COLLAPSE` on `len` bytes at `first`: pages already written move to huge pages now.
#[cfg(target_os = "linux")]
fn collapse(first: usize, len: usize) {
    /// From Linux's `mman-common.h` (6.1 and newer; not in every libc binding).
    const MADV_COLLAPSE: libc::c_int = 25;
    // SAFETY: as in `ask`. Failures (EINVAL before Linux 6.1, EAGAIN/ENOMEM without free
    // 2 MiB pieces) leave the mapping as it was.
    unsafe { libc::madvise(first as *mut libc::c_void, len, MADV_COLLAPSE) };
}

#[cfg(not(target_os = "linux"))]
fn ask(_first: usize, _len: usize) {}

#[cfg(not(target_os = "linux"))]
fn collapse(_first: usize, _len: usize) {}

/// Bytes of this process's anonymous memory on transparent huge pages, as the kernel counts
/// them (`AnonHugePages` in `/proc/self/smaps_rollup`); `None` where that file is not there.
pub fn anon_huge_page_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let line = text.lines().find(|l| l.starts_with("AnonHugePages:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_pages_inside_a_range() {
        let mib = 1 << 20;
        assert_eq!(whole_huge_pages(0, 4 * mib), (0, 4 * mib));
        assert_eq!(whole_huge_pages(mib, 4 * mib), (2 * mib, 4 * mib));
        assert_eq!(whole_huge_pages(mib, 2 * mib), (2 * mib, 2 * mib)); // straddles, holds none
        assert_eq!(whole_huge_pages(3 * mib, 100), (4 * mib, 4 * mib));
    }

    #[test]
    fn advising_keeps_every_value_and_asks_for_the_whole_pages_only() {
        let values: Vec<f32> = (0..3 << 20).map(|i| (i % 1013) as f32 * 0.5).collect(); // 12 MiB
        let start = values.as_ptr() as usize;
        let asked = advise_huge_pages(&values);
        let (first, end) = whole_huge_pages(start, values.len() * 4);
        assert!(end - first >= 10 << 20, "12 MiB hold at least 5 whole 2 MiB pages");
        assert_eq!(asked, if huge_pages_enabled() { end - first } else { 0 });
        assert!(values.iter().enumerate().all(|(i, &v)| v == (i % 1013) as f32 * 0.5));
        assert_eq!(advise_huge_pages(&values[..1000]), 0, "4000 bytes hold no whole huge page");
    }

    #[test]
    fn a_matrix_moved_onto_huge_pages_keeps_its_values_and_starts_on_a_boundary() {
        let m = ndarray::Array2::from_shape_fn((1031, 1021), |(i, j)| (i * 1021 + j) as f32); // 4.2 MB
        let expected = m.clone();
        let moved = onto_huge_pages(m);
        assert_eq!(moved, expected);
        assert!(moved.is_standard_layout());
        if huge_pages_enabled() {
            assert_eq!(moved.as_ptr() as usize % HUGE_PAGE_BYTES, 0);
        }
        // small ones, and other layouts, stay as they are
        let small = ndarray::Array2::from_shape_fn((10, 7), |(i, j)| (i + j) as f64);
        assert_eq!(onto_huge_pages(small.clone()), small);
        let transposed = expected.clone().reversed_axes();
        let ptr = transposed.as_ptr();
        let same = onto_huge_pages(transposed);
        assert_eq!(same, expected.t());
        assert_eq!(same.as_ptr(), ptr, "an array in another layout is not moved");
    }

    #[test]
    fn reads_the_kernels_count_of_huge_pages() {
        if std::path::Path::new("/proc/self/smaps_rollup").exists() {
            assert!(anon_huge_page_bytes().is_some());
        }
    }
}
