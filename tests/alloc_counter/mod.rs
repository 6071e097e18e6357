//! A counting global allocator for the zero-allocation tests (`tests/graph_alloc.rs`,
//! `tests/threads_alloc.rs`): while armed, every `alloc`, `alloc_zeroed` and `realloc` counts,
//! on any thread (the thread pool's workers must not allocate either) except libtest's main
//! thread.
//!
//! libtest's main thread only supervises: it prints a "has been running for over 60 seconds"
//! line (which allocates) when a test runs long, as the MobileNetV2 case does under an emulated
//! CPU. Tests always run on threads libtest spawns; [`allocations`] asserts that, so the
//! exemption can never hide the caller's own allocations.
//!
//! Each including test binary installs the allocator with
//! `#[global_allocator] static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The counting allocator: `System` underneath.
pub struct Counting;

static ARMED: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

/// True on the process's main thread (its thread id is the process id on Linux).
#[cfg(target_os = "linux")]
fn on_main_thread() -> bool {
    // SAFETY: `gettid` takes no arguments, touches no memory and cannot fail.
    let tid = unsafe { libc::gettid() };
    u32::try_from(tid).is_ok_and(|tid| tid == std::process::id())
}

/// Elsewhere the main thread cannot be told apart without allocating: count every thread.
#[cfg(not(target_os = "linux"))]
fn on_main_thread() -> bool {
    false
}

fn count() {
    if ARMED.load(Ordering::Relaxed) && !on_main_thread() {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds as it does for `System`; the counting touches only atomics and
// a system call that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// The allocations made by `f` (on any thread but libtest's main one) while armed. Panics if
/// called on the main thread, whose allocations would not be counted.
pub fn allocations(f: impl FnOnce()) -> usize {
    assert!(!on_main_thread(), "the counted code runs on the main thread, whose allocations are exempt");
    ALLOCATIONS.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst)
}
