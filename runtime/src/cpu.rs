//! The CPU slot's frames: a kernel compiled for the CPU ([`hissc_cpu`]) run
//! frame by frame, its states carried from one frame to the next.

use crate::error::SlotError;
use crate::stream::FrameRun;
use hissc_aop::{Array, Kernel};
use hissc_cpu::{Column, Program, Run};

/// Frames through a [`Program`], a block at a time.
pub struct CpuRun<'p> {
    run: Run<'p>,
    kernel: &'p Kernel,
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
            fixed: fixed
                .into_iter()
                .map(|f| f.map(|f| f.iter().map(|&x| x as i64).collect()))
                .collect(),
            scalars,
        }
    }
}

impl FrameRun for CpuRun<'_> {
    fn push(&mut self, frames: usize, data: &[&[i128]]) -> Result<Vec<Vec<Array>>, SlotError> {
        let lanes: Vec<Vec<i64>> = data
            .iter()
            .map(|d| d.iter().map(|&x| x as i64).collect())
            .collect();
        let mut out = Vec::with_capacity(frames);
        for f in 0..frames {
            let (mut stream, mut pushed, mut scalar) = (0, 0, 0);
            let mut cols = Vec::with_capacity(self.kernel.params.len());
            for p in &self.kernel.params {
                if p.is_stream() {
                    match &self.fixed[stream] {
                        Some(frame) => cols.push(Column::Lanes(frame)),
                        None => {
                            let n = p.ty.numel();
                            cols.push(Column::Lanes(&lanes[pushed][f * n..(f + 1) * n]));
                            pushed += 1;
                        }
                    }
                    stream += 1;
                } else {
                    cols.push(Column::Scalar(self.scalars[scalar] as i64));
                    scalar += 1;
                }
            }
            out.push(self.run.frame(cols).iter().map(|o| o.to_array()).collect());
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<Vec<Array>>, SlotError> {
        Ok(Vec::new())
    }

    fn states(&self) -> Vec<Array> {
        self.run.states()
    }
}
