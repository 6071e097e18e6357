//! Criterion benches: one group per op class on layers of the standard set, one function per
//! available tier. Throughput is reported in FLOPs as elements (2 per multiply-add), so
//! criterion's "elem/s" reads as FLOP/s.
//!
//! `cargo bench --bench ops` (add `-- dwconv` to run one group).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sepconv::blocks::{he_uniform, uniform};
use sepconv::dispatch::Isa;
use sepconv::kernels::{Activation, Conv2dGeometry, Padding2d};
use sepconv::ops::{Conv2d, PointwiseConv2d, SeparableConv2d, SeparablePass1d};
use sepconv::tensor::{Shape4, Tensor};

fn random_tensor(rng: &mut StdRng, shape: Shape4) -> Tensor {
    let len = shape.validate().expect("bench shapes are valid");
    Tensor::from_vec(shape, uniform(rng, len, 1.0)).expect("length matches")
}

/// A k×k convolution layer (depthwise when `groups == c`), NHWC, batch 1, with bias.
fn bench_conv(c: &mut Criterion, group: &str, name: &str, geom: Conv2dGeometry) {
    let mut rng = StdRng::seed_from_u64(1);
    let fan_in = geom.kernel_h * geom.kernel_w * geom.in_c / geom.groups;
    let dims = geom.validate().expect("bench geometry is valid");
    let weights = he_uniform(&mut rng, dims.weight_len, fan_in);
    let bias = uniform(&mut rng, geom.out_c, 0.1);
    let input = random_tensor(&mut rng, Shape4::new(1, geom.in_h, geom.in_w, geom.in_c));
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for isa in Isa::available() {
        let op = Conv2d::with_isa(isa, geom, &weights, Some(&bias), Activation::Relu6).expect("plan");
        let mut output = Tensor::zeros(op.output_shape()).expect("output");
        g.throughput(Throughput::Elements(op.flops()));
        g.bench_function(format!("{name}/{isa}/{}", op.kernel_name().replace('/', "_")), |b| {
            b.iter(|| op.run(input.view(), output.view_mut()).expect("run"))
        });
    }
    g.finish();
}

fn depthwise(c: &mut Criterion) {
    let geom = Conv2dGeometry::depthwise(1, 56, 56, 144, 3, 3).with_padding(Padding2d::uniform(1));
    bench_conv(c, "dwconv", "dw_c144_56_s1", geom);
}

fn grouped(c: &mut Criterion) {
    let geom =
        Conv2dGeometry::new(1, 56, 56, 64, 64, 3, 3).with_groups(32).with_padding(Padding2d::uniform(1));
    bench_conv(c, "grouped", "gc_c64_g32_56", geom);
}

fn pointwise(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let shape = Shape4::new(1, 28, 28, 192);
    let out_c = 32;
    let weights = he_uniform(&mut rng, out_c * shape.c, shape.c);
    let bias = uniform(&mut rng, out_c, 0.1);
    let input = random_tensor(&mut rng, shape);
    let mut g = c.benchmark_group("pointwise");
    g.sample_size(10);
    for isa in Isa::available() {
        let op = PointwiseConv2d::with_isa(isa, shape, out_c, &weights, Some(&bias), Activation::None)
            .expect("plan");
        let mut output = Tensor::zeros(op.output_shape()).expect("output");
        g.throughput(Throughput::Elements(op.flops()));
        g.bench_function(format!("pw_192x32_28/{isa}/{}", op.kernel_name().replace('/', "_")), |b| {
            b.iter(|| op.run(input.view(), output.view_mut()).expect("run"))
        });
    }
    g.finish();
}

fn separable(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(3);
    let shape = Shape4::new(1, 56, 56, 64);
    let row_w = he_uniform(&mut rng, 7 * shape.c, 7);
    let col_w = he_uniform(&mut rng, 7 * shape.c, 7);
    let bias = uniform(&mut rng, shape.c, 0.1);
    let input = random_tensor(&mut rng, shape);
    let pass = SeparablePass1d::new(7, 3);
    let mut g = c.benchmark_group("separable");
    g.sample_size(10);
    for isa in Isa::available() {
        let op =
            SeparableConv2d::with_isa(isa, shape, pass, pass, &row_w, &col_w, Some(&bias), Activation::None)
                .expect("plan");
        let mut output = Tensor::zeros(op.output_shape()).expect("output");
        g.throughput(Throughput::Elements(op.flops()));
        g.bench_function(format!("sep_dw_c64_56_k7/{isa}/{}", op.kernel_names()[0].replace('/', "_")), |b| {
            b.iter(|| op.run(input.view(), output.view_mut()).expect("run"))
        });
    }
    g.finish();
}

criterion_group!(benches, depthwise, pointwise, grouped, separable);
criterion_main!(benches);
