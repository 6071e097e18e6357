//! A graph run allocates nothing after planning, single- and multi-threaded.
//!
//! This binary installs a counting global allocator (`tests/alloc_counter`: every `alloc`,
//! `alloc_zeroed` and `realloc` on any thread but libtest's main one counts while it is armed),
//! so it holds this one test only: other tests running at the same time would be counted too.

mod alloc_counter;

use alloc_counter::allocations;
use sepconv::kernels::{Activation, Conv2dGeometry, Padding2d};
use sepconv::ops::{Add, DepthwiseConv2d, PointwiseConv2d};
use sepconv::tensor::{Shape4, Tensor};
use sepconv::threads::Threads;

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

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
        let count = allocations(|| {
            for _ in 0..20 {
                block.run(threads);
            }
        });
        assert_eq!(count, 0, "{name}: {count} allocations in 20 runs");
        // And every setting computes the same block output, bit for bit.
        let out: Vec<u32> = block.output.as_slice().iter().map(|x| x.to_bits()).collect();
        match &reference {
            None => reference = Some(out),
            Some(r) => assert!(r == &out, "{name}: the output differs from one thread's"),
        }
    }
}
