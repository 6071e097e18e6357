//! The two timed engines, behind one small trait: load + optimize once, then
//! run the same input again and again.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use sepconv::npy::NpyArray as Array;

/// Version of `tract-onnx` that is linked, read from `Cargo.lock` by `build.rs`.
pub const TRACT_VERSION: &str = env!("PEERS_TRACT_VERSION");
/// Version of `rten` that is linked, read from `Cargo.lock` by `build.rs`.
pub const RTEN_VERSION: &str = env!("PEERS_RTEN_VERSION");

/// A model loaded and optimized for one input, ready to be run repeatedly.
pub trait Runner {
    /// Runs one inference on the input given at load time and keeps its first output.
    fn run(&mut self) -> Result<()>;
    /// Shape of the first output of the last run (empty before any run).
    fn output_shape(&self) -> Vec<usize>;
    /// The first output of the last run as C-order `f32` data.
    fn output_data(&self) -> Result<Vec<f32>>;
    /// Human-readable notes on how the engine was configured, for the JSON report.
    fn notes(&self) -> String;
}

/// tract (`tract-onnx`): the model is typed with the input's shape and fully
/// optimized; one `SimpleState` is spawned and reused for every run.
pub struct Tract {
    state: tract_onnx::prelude::TypedSimpleState,
    input: tract_onnx::prelude::TValue,
    last: Option<tract_onnx::prelude::TValue>,
    notes: String,
}

impl Tract {
    /// Loads `model`, fixes input 0 to `input`'s f32 shape, optimizes, and makes a plan.
    ///
    /// `threads == 1` uses tract's default single-thread executor. `threads > 1`
    /// gives the plan a rayon executor of that many threads through
    /// `RunOptions::executor` (tract-linalg's `multithread-mm` feature), which
    /// is not tract's default.
    pub fn load(model: &Path, input: &Array, threads: usize) -> Result<Self> {
        use tract_linalg::multithread::Executor;
        use tract_onnx::prelude::*;
        use tract_onnx::tract_core::runtime::RunOptions;

        let proto = tract_onnx::onnx()
            .model_for_path(model)
            .with_context(|| format!("tract cannot load {}", model.display()))?;
        let n_inputs = proto.inputs.len();
        if n_inputs != 1 {
            bail!("the model has {n_inputs} inputs; peers-rs feeds exactly one");
        }
        let n_outputs = proto.outputs.len();
        let typed = proto
            .with_input_fact(0, f32::fact(input.shape.clone()).into())
            .context("tract rejects the input shape")?
            .into_optimized()
            .context("tract cannot optimize the model")?;
        let mut options = RunOptions::default();
        let threading = if threads > 1 {
            options.executor = Some(Executor::multithread(threads));
            format!(
                "threads={threads}: a {threads}-thread rayon Executor in tract's RunOptions \
                 (tract-linalg feature multithread-mm, default thresholds) - not tract's default, \
                 which is single-threaded"
            )
        } else {
            "threads=1: tract's default single-thread executor".to_string()
        };
        let plan = typed.into_runnable_with_options(&options).context("tract cannot make a plan")?;
        let state = plan.spawn().context("tract cannot spawn a state")?;
        let tensor = Tensor::from_shape(&input.shape, &input.data).context("bad input tensor")?;
        let mut notes = format!(
            "tract-onnx {TRACT_VERSION}: input fact f32 {:?}, into_optimized, one SimpleState reused; {threading}",
            input.shape
        );
        if n_outputs > 1 {
            notes.push_str(&format!("; model has {n_outputs} outputs, output 0 reported"));
        }
        Ok(Tract { state, input: TValue::from_const(Arc::new(tensor)), last: None, notes })
    }
}

impl Runner for Tract {
    fn run(&mut self) -> Result<()> {
        use tract_onnx::prelude::*;
        let mut outputs = self.state.run(tvec![self.input.clone()]).context("tract run failed")?;
        if outputs.is_empty() {
            bail!("tract returned no output");
        }
        self.last = Some(outputs.swap_remove(0));
        Ok(())
    }

    fn output_shape(&self) -> Vec<usize> {
        self.last.as_ref().map(|t| t.shape().to_vec()).unwrap_or_default()
    }

    fn output_data(&self) -> Result<Vec<f32>> {
        let Some(out) = self.last.as_ref() else { bail!("no output yet") };
        let view = out
            .to_plain_array_view::<f32>()
            .with_context(|| format!("tract output is {:?}, not f32", out.datum_type()))?;
        Ok(view.iter().copied().collect())
    }

    fn notes(&self) -> String {
        self.notes.clone()
    }
}

/// rten: the ONNX file is loaded directly (`onnx_format` feature) with graph
/// optimization on and weights prepacked; every run goes to a private rten
/// `ThreadPool` of the requested size.
pub struct Rten {
    model: rten::Model,
    input: rten_tensor::Tensor<f32>,
    options: rten::RunOptions,
    last: Option<rten_tensor::Tensor<f32>>,
    notes: String,
}

impl Rten {
    /// Loads `model` (optimized, weights prepacked) and builds a `threads`-thread pool for its runs.
    pub fn load(model: &Path, input: &Array, threads: usize) -> Result<Self> {
        let mut model_options = rten::ModelOptions::with_all_ops();
        model_options.prepack_weights(true);
        let loaded = model_options
            .load_file(model)
            .with_context(|| format!("rten cannot load {}", model.display()))?;
        let n_inputs = loaded.input_ids().len();
        if n_inputs != 1 {
            bail!("the model has {n_inputs} inputs; peers-rs feeds exactly one");
        }
        let n_outputs = loaded.output_ids().len();
        let pool = rten::ThreadPool::with_num_threads(threads);
        let options = rten::RunOptions::default().with_thread_pool(Some(Arc::new(pool)));
        let tensor = rten_tensor::Tensor::from_data(&input.shape, input.data.clone());
        let mut notes = format!(
            "rten {RTEN_VERSION}: .onnx loaded directly, graph optimization on, weights prepacked at load \
             (ModelOptions::prepack_weights(true), not rten's default); threads={threads}: \
             rten::ThreadPool::with_num_threads({threads}) passed via RunOptions::with_thread_pool"
        );
        if n_outputs > 1 {
            notes.push_str(&format!("; model has {n_outputs} outputs, output 0 reported"));
        }
        Ok(Rten { model: loaded, input: tensor, options, last: None, notes })
    }
}

impl Runner for Rten {
    fn run(&mut self) -> Result<()> {
        use rten_tensor::prelude::*;
        let out = self
            .model
            .run_one(self.input.view().into(), Some(self.options.clone()))
            .context("rten run failed")?;
        let dtype = out.dtype();
        let tensor: rten_tensor::Tensor<f32> =
            out.try_into().map_err(|_| anyhow::anyhow!("rten output is {dtype:?}, not f32"))?;
        self.last = Some(tensor);
        Ok(())
    }

    fn output_shape(&self) -> Vec<usize> {
        use rten_tensor::prelude::*;
        self.last.as_ref().map(|t| t.shape().to_vec()).unwrap_or_default()
    }

    fn output_data(&self) -> Result<Vec<f32>> {
        use rten_tensor::prelude::*;
        let Some(out) = self.last.as_ref() else { bail!("no output yet") };
        Ok(out.to_vec())
    }

    fn notes(&self) -> String {
        self.notes.clone()
    }
}
