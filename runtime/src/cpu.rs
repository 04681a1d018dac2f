//! The CPU slot's frames: a kernel compiled for the CPU ([`hissc_cpu`]) run
//! frame by frame, its states carried from one frame to the next.

use crate::error::SlotError;
use crate::stream::{arg_sources, ArgSource, Block, FrameRun, Out};
use hissc_aop::{Array, Kernel};
use hissc_cpu::{Column, Program, Run};

/// Frames through a [`Program`], a block at a time.
pub struct CpuRun<'p> {
    run: Run<'p>,
    kernel: &'p Kernel,
    /// Per parameter, where its elements come from.
    from: Vec<ArgSource>,
    /// Per array parameter (signature order): the frame every frame repeats
    /// (as lanes), or `None` for one whose frames are pushed.
    fixed: Vec<Option<Vec<i64>>>,
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
        CpuRun {
            run: program.start(states),
            kernel: program.kernel(),
            from: arg_sources(&program.kernel().params, &fixed),
            fixed: fixed
                .into_iter()
                .map(|f| f.map(|f| f.iter().map(|&x| x as i64).collect()))
                .collect(),
            scalars,
        }
    }
}

impl FrameRun for CpuRun<'_> {
    fn push(&mut self, block: &Block) -> Result<Vec<Vec<Out>>, SlotError> {
        let mut out = Vec::with_capacity(block.frames);
        for f in 0..block.frames {
            let cols = self
                .from
                .iter()
                .zip(&self.kernel.params)
                .map(|(from, p)| match *from {
                    ArgSource::Fixed(i) => Column::Lanes(self.fixed[i].as_deref().expect("fixed")),
                    ArgSource::Port(i) => {
                        // the frame's bytes, read in place
                        let n = p.ty.numel() * block.dtypes[i].bytes();
                        Column::Bytes(&block.bytes[i][f * n..(f + 1) * n])
                    }
                    ArgSource::Scalar(i) => Column::Scalar(self.scalars[i] as i64),
                })
                .collect();
            out.push(self.run.frame(cols).into_iter().map(Out::Lanes).collect());
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<Vec<Out>>, SlotError> {
        Ok(Vec::new())
    }

    fn states(&self) -> Vec<Array> {
        self.run.states()
    }
}
