//! The CPU slot: a bundle's kernel (its `kernel.aop` part) compiled for the
//! CPU ([`hissc_cpu`]) and run frame by frame, its states carried from one
//! frame to the next. It is bit-exact with the reference interpreter, and so
//! with the bundle's network and hardware; it needs no device and takes a
//! bundle built for any target.

use crate::binding::Binding;
use crate::bundle::Bundle;
use crate::error::SlotError;
use crate::slot::{Slot, SlotState};
use crate::stream::{arg_sources, ArgSource, Block, FrameRun, Interface, Out};
use hissc_aop::{Array, Kernel, Param};
use hissc_cpu::{Column, Program, Run};

/// What the CPU slot has loaded.
struct Loaded {
    binding: Binding,
    program: Program,
}

/// A slot that runs kernels as native code on one core of the host (or on
/// several, lent to it for a run: [`Slot::set_threads`]).
#[derive(Default)]
pub struct CpuSlot {
    loaded: Option<Loaded>,
    /// Cores the next runs may use (0 and 1: one).
    threads: usize,
}

impl CpuSlot {
    /// An empty slot.
    pub fn new() -> CpuSlot {
        CpuSlot::default()
    }

    /// The loaded kernel's name.
    pub fn kernel(&self) -> Option<&str> {
        self.loaded.as_ref().map(|l| l.binding.kernel.as_str())
    }
}

/// The kernel in a bundle's `kernel.aop`, checked against its manifest.
fn kernel_of(bundle: &Bundle) -> Result<(Kernel, Binding), String> {
    let m = &bundle.manifest;
    let text = bundle.part("kernel.aop").ok_or_else(|| {
        format!(
            "the bundle has no `kernel.aop` (format version {}, written by hissc {}): \
             build it again with `hissc bundle` to run it on the CPU",
            m.format_version, m.hissc_version
        )
    })?;
    let text = std::str::from_utf8(text).map_err(|_| "part `kernel.aop` is not text")?;
    let kernel = hissc_aop::parse::parse(text).map_err(|e| format!("part `kernel.aop`: {e}"))?;
    hissc_aop::verify::verify(&kernel)
        .map_err(|e| format!("part `kernel.aop` does not verify: {e:?}"))?;
    let mut binding = Binding::new(m)?;
    let same = |a: &Param, b: &Param| {
        a.name == b.name && a.ty == b.ty && a.range.lo == b.range.lo && a.range.hi == b.range.hi
    };
    let ports_agree = kernel.name == m.kernel
        && kernel.params.len() == binding.ports.len()
        && kernel
            .params
            .iter()
            .all(|p| binding.ports.iter().any(|q| same(p, q)));
    let states = m.state_types()?;
    let states_agree = kernel.states.len() == states.len()
        && kernel
            .states
            .iter()
            .zip(&states)
            .all(|(a, b)| a.name == b.name && a.ty == b.ty);
    if !ports_agree || !states_agree || kernel.outputs.len() != binding.outputs.len() {
        return Err("part `kernel.aop` is not the kernel the manifest describes".into());
    }
    // streams and scalars in the kernel's signature order, as its runs take them
    binding.ports = kernel.params.clone();
    Ok((kernel, binding))
}

impl Slot for CpuSlot {
    fn name(&self) -> String {
        "cpu".into()
    }

    fn state(&self) -> SlotState {
        match self.loaded {
            Some(_) => SlotState::Operating,
            None => SlotState::Unknown,
        }
    }

    fn load(&mut self, bundle: &Bundle) -> Result<(), SlotError> {
        let (kernel, binding) = kernel_of(bundle).map_err(SlotError::Load)?;
        let program = Program::new(&kernel);
        self.loaded = Some(Loaded { binding, program });
        Ok(())
    }

    fn unload(&mut self) {
        self.loaded = None;
    }

    fn set_param(&mut self, name: &str, value: i128) -> Result<(), SlotError> {
        let l = self.loaded.as_mut().ok_or(SlotError::NotLoaded)?;
        l.binding.set_param(name, value)
    }

    fn run(&mut self, inputs: Vec<Array>) -> Result<Vec<Array>, SlotError> {
        let l = self.loaded.as_mut().ok_or(SlotError::NotLoaded)?;
        let bound = l.binding.bind(inputs)?;
        let mut run = l.program.start(Some(&l.binding.states));
        let per_frame = run.batch(&bound);
        let states = run.states().into_iter().map(|s| s.data).collect();
        l.binding.states = states;
        Ok(bound.collect(per_frame))
    }

    fn interface(&self) -> Result<Interface, SlotError> {
        let l = self.loaded.as_ref().ok_or(SlotError::NotLoaded)?;
        l.binding.interface()
    }

    fn begin(
        &mut self,
        fixed: Vec<Option<Vec<i128>>>,
    ) -> Result<Box<dyn FrameRun + '_>, SlotError> {
        let l = self.loaded.as_ref().ok_or(SlotError::NotLoaded)?;
        let scalars = l.binding.scalars()?;
        let mut run = CpuRun::new(&l.program, fixed, scalars, Some(&l.binding.states));
        run.set_threads(self.threads);
        Ok(Box::new(run))
    }

    fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    fn block_frames(&self, base: usize) -> usize {
        let stateless = self
            .loaded
            .as_ref()
            .is_some_and(|l| l.program.kernel().states.is_empty());
        if stateless && self.threads > 1 {
            // every thread a few frames, or a block's worth of elements
            base.max(2) * self.threads
        } else {
            base
        }
    }

    fn set_states(&mut self, states: Vec<Vec<i128>>) -> Result<(), SlotError> {
        let l = self.loaded.as_mut().ok_or(SlotError::NotLoaded)?;
        l.binding.set_states(states)
    }
}

/// Frames through a [`Program`], a block at a time.
pub struct CpuRun<'p> {
    run: Run<'p>,
    /// More runs of the same program for the block's frames to be shared
    /// among threads (a kernel without states only: its frames are independent).
    more: Vec<Run<'p>>,
    feed: Feed<'p>,
}

/// What every frame's columns are made of.
struct Feed<'p> {
    kernel: &'p Kernel,
    /// Per parameter, where its elements come from.
    from: Vec<ArgSource>,
    /// Per array parameter (signature order): the frame every frame repeats
    /// (as `.npy` elements, the fewest bytes to read per frame), or `None` for
    /// one whose frames are pushed.
    fixed: Vec<Option<Vec<u8>>>,
    /// The scalar parameters' values, in signature order.
    scalars: Vec<i128>,
}

impl<'p> CpuRun<'p> {
    /// A run of `program` with its fixed inputs, scalar values and initial
    /// states (zeros when `None`).
    pub fn new(
        program: &'p Program,
        fixed: Vec<Option<Vec<i128>>>,
        scalars: Vec<i128>,
        states: Option<&[Vec<i128>]>,
    ) -> Self {
        let kernel = program.kernel();
        let from = arg_sources(&kernel.params, &fixed);
        let streams = kernel.params.iter().filter(|p| p.is_stream());
        let fixed = fixed
            .into_iter()
            .zip(streams)
            .map(|(f, p)| {
                f.map(|f| {
                    let mut bytes = Vec::new();
                    crate::npy::encode(p.ty.dtype, &f, &mut bytes);
                    bytes
                })
            })
            .collect();
        CpuRun {
            run: program.start(states),
            more: Vec::new(),
            feed: Feed {
                kernel,
                from,
                fixed,
                scalars,
            },
        }
    }
}

impl<'p> CpuRun<'p> {
    /// Runs the frames of each block on up to `threads` threads when the
    /// kernel has no states (with states, frames go in order on one).
    pub fn set_threads(&mut self, threads: usize) {
        if self.feed.kernel.states.is_empty() && threads > 1 {
            let program = self.run.program();
            self.more = (1..threads).map(|_| program.start(None)).collect();
        } else {
            self.more.clear();
        }
    }
}

impl<'p> Feed<'p> {
    /// Frames `range` of `block` through `run`.
    fn frames(
        &self,
        run: &mut Run<'p>,
        block: &Block,
        range: std::ops::Range<usize>,
    ) -> Vec<Vec<Out>> {
        range
            .map(|f| {
                let cols = self
                    .from
                    .iter()
                    .zip(&self.kernel.params)
                    .map(|(from, p)| match *from {
                        ArgSource::Fixed(i) => {
                            Column::Bytes(self.fixed[i].as_deref().expect("fixed"))
                        }
                        ArgSource::Port(i) => {
                            // the frame's bytes, read in place
                            let n = p.ty.numel() * block.dtypes[i].bytes();
                            Column::Bytes(&block.bytes[i][f * n..(f + 1) * n])
                        }
                        ArgSource::Scalar(i) => Column::Scalar(self.scalars[i] as i64),
                    })
                    .collect();
                run.frame(cols).into_iter().map(Out::Lanes).collect()
            })
            .collect()
    }
}

impl FrameRun for CpuRun<'_> {
    fn push(&mut self, block: &Block) -> Result<Vec<Vec<Out>>, SlotError> {
        let threads = (1 + self.more.len()).min(block.frames);
        let feed = &self.feed;
        if threads <= 1 {
            return Ok(feed.frames(&mut self.run, block, 0..block.frames));
        }
        // contiguous shares of the block, one per thread, joined in order
        let per = block.frames.div_ceil(threads);
        let runs = std::iter::once(&mut self.run).chain(self.more.iter_mut());
        let outs: Vec<Vec<Vec<Out>>> = std::thread::scope(|s| {
            let handles: Vec<_> = runs
                .take(threads)
                .enumerate()
                .map(|(t, run)| {
                    let range = (t * per).min(block.frames)..((t + 1) * per).min(block.frames);
                    s.spawn(move || feed.frames(run, block, range))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a CPU slot thread"))
                .collect()
        });
        Ok(outs.into_iter().flatten().collect())
    }

    fn finish(&mut self) -> Result<Vec<Vec<Out>>, SlotError> {
        Ok(Vec::new())
    }

    fn states(&self) -> Vec<Array> {
        self.run.states()
    }
}
