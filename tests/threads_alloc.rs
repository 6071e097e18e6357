//! A graph run allocates nothing after planning, single- and multi-threaded.
//!
//! This binary installs a counting global allocator (every `alloc`, `alloc_zeroed` and
//! `realloc` on any thread counts while it is armed), so it holds this one test only: other
//! tests running at the same time would be counted too.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sepconv::kernels::{Activation, Conv2dGeometry, Padding2d};
use sepconv::ops::{Add, DepthwiseConv2d, PointwiseConv2d};
use sepconv::tensor::{Shape4, Tensor};
use sepconv::threads::Threads;

struct Counting;

static ARMED: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn count() {
        if ARMED.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds as it does for `System`; the counting touches only atomics and
// never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::count();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::count();
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// An inverted-residual block at 28×28×64: pointwise expand ×2 → depthwise 3×3 → pointwise
/// project → residual add, planned once with all its buffers.
struct Block {
    expand: PointwiseConv2d,
    dw: DepthwiseConv2d,
    project: PointwiseConv2d,
    add: Add,
    input: Tensor,
    wide: Tensor,
    wide2: Tensor,
    narrow: Tensor,
    output: Tensor,
}

impl Block {
    fn new() -> Self {
        let shape = Shape4::new(1, 28, 28, 64);
        let wide_c = 128;
        let weights = |len: usize, seed: usize| -> Vec<f32> {
            (0..len).map(|i| ((i * 7919 + seed * 104_729) % 2001) as f32 / 1000.0 - 1.0).collect()
        };
        let expand = PointwiseConv2d::new(
            shape,
            wide_c,
            &weights(64 * wide_c, 1),
            Some(&weights(wide_c, 2)),
            Activation::Relu6,
        )
        .expect("plan expand");
        let g = Conv2dGeometry::depthwise(1, 28, 28, wide_c, 3, 3).with_padding(Padding2d::uniform(1));
        let dw =
            DepthwiseConv2d::new(g, &weights(9 * wide_c, 3), Some(&weights(wide_c, 4)), Activation::Relu6)
                .expect("plan dw");
        let wide_shape = Shape4 { c: wide_c, ..shape };
        let project = PointwiseConv2d::new(wide_shape, 64, &weights(wide_c * 64, 5), None, Activation::None)
            .expect("plan project");
        let add = Add::new(shape, Activation::None).expect("plan add");
        let input = Tensor::from_vec(shape, weights(28 * 28 * 64, 6)).expect("input");
        Self {
            expand,
            dw,
            project,
            add,
            input,
            wide: Tensor::zeros(wide_shape).expect("buffer"),
            wide2: Tensor::zeros(wide_shape).expect("buffer"),
            narrow: Tensor::zeros(shape).expect("buffer"),
            output: Tensor::zeros(shape).expect("buffer"),
        }
    }

    /// One run of the block through `threads`.
    fn run(&mut self, threads: &Threads) {
        let b = self;
        threads
            .run(|par| {
                b.expand.run_par(b.input.view(), b.wide.view_mut(), par)?;
                b.dw.run_par(b.wide.view(), b.wide2.view_mut(), par)?;
                b.project.run_par(b.wide2.view(), b.narrow.view_mut(), par)?;
                b.add.run_par(b.input.view(), b.narrow.view(), b.output.view_mut(), par)
            })
            .expect("block run");
    }
}

#[test]
fn graph_runs_allocate_nothing_after_planning() {
    let mut block = Block::new();
    let mut reference = None;
    let settings = [
        ("1 thread", Threads::single()),
        ("2 threads", Threads::new(2, false).expect("2 threads")),
        ("2 threads, fine bands", Threads::new(2, false).expect("2 threads").with_band_flops(0)),
        ("3 threads", Threads::new(3, false).expect("3 threads")),
    ];
    for (name, threads) in &settings {
        // Warm-up: first-use work (thread-locals, lazily registered state) happens here.
        block.run(threads);
        block.run(threads);
        ALLOCATIONS.store(0, Ordering::SeqCst);
        ARMED.store(true, Ordering::SeqCst);
        for _ in 0..20 {
            block.run(threads);
        }
        ARMED.store(false, Ordering::SeqCst);
        let count = ALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(count, 0, "{name}: {count} allocations in 20 runs");
        // And every setting computes the same block output, bit for bit.
        let out: Vec<u32> = block.output.as_slice().iter().map(|x| x.to_bits()).collect();
        match &reference {
            None => reference = Some(out),
            Some(r) => assert!(r == &out, "{name}: the output differs from one thread's"),
        }
    }
}
