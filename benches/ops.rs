//! Criterion benches over the standard layer set (src/bin/sepconv/harness.rs, shared with
//! `sepconv bench`): one group per op class (`dwconv`, `pointwise`, `grouped`, `separable`),
//! one function per available tier — `scalar` is the reference kernels. Throughput is set in
//! FLOPs (2 per multiply-add) as elements, so criterion's "elem/s" reads as FLOP/s.
//!
//! `cargo bench --bench ops` (all), `cargo bench --bench ops -- dwconv/` (one group),
//! `cargo bench --bench ops -- dw_c144_56_s1` (one layer).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sepconv::dispatch::Isa;

// The binary's layer set and harness (the library does not export CLI helpers); this bench
// uses only the layers and PlannedLayer of it.
#[allow(dead_code)]
#[path = "../src/bin/sepconv/harness.rs"]
mod harness;

use harness::{PlannedLayer, STANDARD_LAYERS};

fn bench_op_class(c: &mut Criterion, class: &str) {
    let mut group = c.benchmark_group(class);
    group.sample_size(10);
    for layer in STANDARD_LAYERS.iter().filter(|l| l.op() == class) {
        for isa in Isa::available() {
            let mut planned = PlannedLayer::new(layer, isa).expect("standard layers plan on every tier");
            group.throughput(Throughput::Elements(planned.flops()));
            group.bench_function(format!("{}/{isa}", layer.name), |b| {
                b.iter(|| planned.run().expect("run"));
            });
        }
    }
    group.finish();
}

fn dwconv(c: &mut Criterion) {
    bench_op_class(c, "dwconv");
}

fn pointwise(c: &mut Criterion) {
    bench_op_class(c, "pointwise");
}

fn grouped(c: &mut Criterion) {
    bench_op_class(c, "grouped");
}

fn separable(c: &mut Criterion) {
    bench_op_class(c, "separable");
}

criterion_group!(benches, dwconv, pointwise, grouped, separable);
criterion_main!(benches);
