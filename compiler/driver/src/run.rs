//! Running a batch, written once for every front end: frames streamed from
//! their bodies (`.npy` or raw, a block at a time) through the reference
//! interpreter ([`run`]) or the cycle-accurate simulator ([`simulate`]) into a
//! sink, from the states given, giving the states the last frame left. `hissc
//! run` and `hissc sim` are their arguments and output files.

use hiss_runtime::cpu::CpuRun;
use hiss_runtime::stream::{
    arg_sources, pump, ArgSource, Batch, Block, FrameRun, FrameSink, Input, Interface, Out, OutType,
};
use hiss_runtime::SlotError;
use hissc_aop::Kernel;
use hissc_sim::SimResult;
use hissc_spn::Network;

/// What a simulation records besides the outputs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Record {
    /// Every top-level signal of every cycle.
    pub trace: bool,
    /// Every bus of every cycle (waveforms).
    pub buses: bool,
}

/// What runs a kernel's frames on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The kernel compiled for the CPU (fused native loops, [`hissc_cpu`]).
    Cpu,
    /// The reference interpreter: the definition the others are checked against.
    Reference,
}

/// Streams `inputs` (with the scalar `values` by name) through `engine`'s
/// run of `kernel` from `states` into `sink`; gives the states the last
/// frame left. An input that does not fit the kernel is [`SlotError::Input`].
pub fn run(
    kernel: &Kernel,
    engine: Engine,
    inputs: Vec<Input>,
    values: Vec<(String, i128)>,
    states: Vec<Vec<i128>>,
    sink: &mut dyn FrameSink,
) -> Result<Vec<Vec<i128>>, SlotError> {
    let iface = Interface {
        kernel: kernel.name.clone(),
        params: kernel.params.clone(),
        values,
        outputs: output_types(kernel),
    };
    let mut batch = Batch::open(&iface, inputs).map_err(SlotError::Input)?;
    match engine {
        Engine::Reference => {
            let mut run = Interpreter::new(kernel, batch.take_fixed(), batch.scalars(), states);
            pump(&mut batch, &mut run, sink)?;
            Ok(run.states)
        }
        Engine::Cpu => {
            let program = hissc_cpu::Program::new(kernel);
            let mut run = CpuRun::new(&program, batch.take_fixed(), batch.scalars(), Some(&states));
            pump(&mut batch, &mut run, sink)?;
            Ok(run.states().into_iter().map(|a| a.data).collect())
        }
    }
}

/// Streams `inputs` through the simulator of `net` (the network of `kernel`)
/// from `states` into `sink`; gives the run's figures (cycles, latency,
/// elements per cycle, the states left, what `record` asked for; its frames
/// went to the sink) and the number of frames. A failure of the simulator
/// itself is [`SlotError::Run`] (a bug in hissc).
pub fn simulate(
    kernel: &Kernel,
    net: &Network,
    inputs: Vec<Input>,
    values: Vec<(String, i128)>,
    states: &[Vec<i128>],
    record: Record,
    sink: &mut dyn FrameSink,
) -> Result<(SimResult, usize), SlotError> {
    let iface = Interface {
        kernel: kernel.name.clone(),
        params: kernel.params.clone(),
        values,
        outputs: net
            .kernel_outputs()
            .iter()
            .map(|o| OutType {
                dtype: o.dtype,
                shape: o.shape.clone(),
                vec: o.mask.is_some(),
            })
            .collect(),
    };
    let mut batch = Batch::open(&iface, inputs).map_err(SlotError::Input)?;
    let bug = SlotError::Run;
    let mut streamer = hissc_sim::Streamer::new(
        net,
        &batch.scalars(),
        batch.take_fixed(),
        record.trace || record.buses,
    )
    .map_err(bug)?;
    streamer.set_states(states).map_err(bug)?;
    if record.buses {
        streamer.record_buses();
    }
    let mut run = hiss_runtime::emulated::SimRun::new(streamer);
    let frames = batch.frames();
    pump(&mut batch, &mut run, sink)?;
    let result = run
        .result
        .ok_or_else(|| SlotError::Run("the simulation did not finish".into()))?;
    Ok((result, frames))
}

/// Frames through the reference interpreter, a block at a time.
pub struct Interpreter<'k> {
    kernel: &'k Kernel,
    /// Per parameter, where its elements come from.
    from: Vec<ArgSource>,
    /// Per array parameter (signature order): the frame every frame repeats,
    /// or `None` for one whose frames are pushed.
    fixed: Vec<Option<Vec<i128>>>,
    /// The scalar parameters' values, in signature order.
    scalars: Vec<i128>,
    /// The states as the frames so far left them.
    states: Vec<Vec<i128>>,
}

impl<'k> Interpreter<'k> {
    /// A run of `kernel` with its fixed inputs, scalar values and initial states.
    pub fn new(
        kernel: &'k Kernel,
        fixed: Vec<Option<Vec<i128>>>,
        scalars: Vec<i128>,
        states: Vec<Vec<i128>>,
    ) -> Self {
        Interpreter {
            kernel,
            from: arg_sources(&kernel.params, &fixed),
            fixed,
            scalars,
            states,
        }
    }

    /// The states as the frames so far left them.
    pub fn states(&self) -> &[Vec<i128>] {
        &self.states
    }
}

impl FrameRun for Interpreter<'_> {
    fn push(&mut self, block: &Block) -> Result<Vec<Vec<Out>>, SlotError> {
        let (frames, data) = (block.frames, block.exact());
        let mut out = Vec::with_capacity(frames);
        for f in 0..frames {
            // each parameter's elements of frame `f`, in signature order
            let args: Vec<&[i128]> = self
                .from
                .iter()
                .zip(&self.kernel.params)
                .map(|(from, p)| match *from {
                    ArgSource::Fixed(i) => self.fixed[i].as_deref().expect("fixed"),
                    ArgSource::Port(i) => {
                        let n = p.ty.numel();
                        &data[i][f * n..(f + 1) * n]
                    }
                    ArgSource::Scalar(i) => std::slice::from_ref(&self.scalars[i]),
                })
                .collect();
            out.push(
                hissc_aop::interp::run_data(self.kernel, &args, &mut self.states)
                    .into_iter()
                    .map(Out::Exact)
                    .collect(),
            );
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<Vec<Out>>, SlotError> {
        Ok(Vec::new())
    }
}

/// The kernel's outputs as the runtime writes them (a `Vec` output is a compress).
pub fn output_types(k: &Kernel) -> Vec<OutType> {
    k.outputs
        .iter()
        .map(|&o| {
            let t = k.ty(o);
            OutType {
                dtype: t.dtype,
                shape: t.shape.clone(),
                vec: matches!(k.insts[o].inst, hissc_aop::Inst::Compress(..)),
            }
        })
        .collect()
}
