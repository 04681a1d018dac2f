//! Verification, written once for `hissc verify` and the test suite: the
//! reference interpreter's outputs and states are the truth; the cycle-accurate
//! simulator must give the same values, dtypes and shapes frame by frame and
//! leave the same states; with hardware, the generated VHDL (or GHDL's
//! synthesized netlist of it) replays the simulator's trace in GHDL and must
//! drive the same top-level signals on every cycle — natively, or through the
//! AXI4-Stream wrapper, whose model under random back-pressure must also give
//! the interpreter's outputs. The first difference is a [`Failed`] that names
//! the kernel line its output comes from.

use hissc_aop::array::Bound;
use hissc_aop::{Array, Kernel};
use hissc_diagnostics::{SourceFile, Span};
use hissc_flow::ghdl::GhdlError;
use hissc_sim::axis::Pressure;
use hissc_spn::Network;
use std::path::{Path, PathBuf};

/// Which hardware to check after the simulator.
#[derive(Clone, Copy, Debug)]
pub enum Hardware {
    /// None: interpreter against simulator only.
    None,
    /// The design's own ports, replaying the simulator's trace.
    Native,
    /// The AXI4-Stream wrapper under this back-pressure.
    Axis(Pressure),
}

/// What to verify.
pub struct Check<'a> {
    /// The kernel's source (lines in messages).
    pub src: &'a SourceFile,
    /// The verified array-op kernel.
    pub kernel: &'a Kernel,
    /// Its verified network.
    pub network: &'a Network,
    /// The frames, bound to the kernel's parameters.
    pub inputs: &'a Bound,
    /// The states the first frame starts from.
    pub states: &'a [Vec<i128>],
    /// Which hardware to check.
    pub hardware: Hardware,
    /// Check GHDL's synthesized netlist rather than the VHDL source.
    pub netlist: bool,
    /// Where the hardware's files go (the design, testbench, vectors,
    /// `trace.csv` and GHDL's logs); an absolute path, as GHDL runs inside it.
    pub dir: &'a Path,
}

/// What a passing verification established.
#[derive(Debug)]
pub struct Verified {
    /// Each frame's outputs (the interpreter's, which every engine matched).
    pub outputs: Vec<Vec<Array>>,
    /// The states the last frame left.
    pub states: Vec<Vec<i128>>,
    /// Cycles GHDL replayed (0 without hardware).
    pub cycles: u64,
    /// The simulator's run (its trace when hardware was checked).
    pub simulation: hissc_sim::SimResult,
}

/// The first difference, or why the check could not be made.
#[derive(Debug)]
pub enum Failed {
    /// An engine gives another output than the interpreter.
    Output {
        /// `the simulator`, or the AXI4-Stream model with its seed.
        engine: String,
        /// Which output.
        output: usize,
        /// Which frame.
        frame: usize,
        /// What differs: the first element's values, or the dtype or shape.
        detail: String,
        /// The output's Python expression.
        span: Span,
    },
    /// An engine gives another number of frames than it was given.
    Frames {
        /// Which engine.
        engine: String,
        /// Frames in.
        want: usize,
        /// Frames out.
        got: usize,
    },
    /// An engine leaves a state different from the interpreter's.
    State {
        /// The state's name.
        state: String,
        /// After this many frames.
        frames: usize,
        /// Which engine (the simulator, the CPU slot).
        engine: &'static str,
    },
    /// An engine could not run the frames (a bug in hissc).
    Engine(String),
    /// The hardware's files could not be written.
    Io(String),
    /// GHDL could not run the design or found a difference.
    Hardware {
        /// What GHDL said.
        error: GhdlError,
        /// Where the files are.
        dir: PathBuf,
        /// The Python expression of the output port that differs, if one does.
        origin: Option<Span>,
        /// Cycles per frame (to place a cycle in its frame).
        period: u64,
    },
}

impl Failed {
    /// Whether the failure is the machine's (GHDL missing), not hissc's.
    pub fn is_missing_tool(&self) -> bool {
        matches!(
            self,
            Failed::Hardware {
                error: GhdlError::Missing,
                ..
            }
        )
    }

    /// One paragraph that says what differs and which kernel line it comes from.
    pub fn message(&self, src: &SourceFile) -> String {
        let line = |span: Span| {
            format!(
                "{}: `{}`",
                src.loc(span),
                src.line_text(src.line(span)).trim()
            )
        };
        match self {
            Failed::Output {
                engine,
                output,
                frame,
                detail,
                span,
            } => format!(
                "bug in hissc: {engine} and the reference interpreter disagree on output {output}, frame {frame}: {detail} (the output comes from {})",
                line(*span)
            ),
            Failed::Frames { engine, want, got } => format!(
                "bug in hissc: {engine} gave {got} frames of outputs for {want} frames of inputs"
            ),
            Failed::State {
                state,
                frames,
                engine,
            } => format!(
                "bug in hissc: {engine} and the reference interpreter leave state `{state}` different after {frames} frames"
            ),
            Failed::Engine(e) => format!("bug in hissc: the simulation did not complete: {e}"),
            Failed::Io(e) => e.clone(),
            Failed::Hardware {
                error,
                dir,
                origin,
                period,
            } => match error {
                GhdlError::Missing => {
                    "GHDL could not be started: install it with `apt-get install ghdl`".into()
                }
                GhdlError::Tool { step, log } => format!(
                    "GHDL could not {step} the generated VHDL (files in {}):\n{}",
                    dir.display(),
                    log.lines().take(20).collect::<Vec<_>>().join("\n")
                ),
                GhdlError::Incomplete(tail) => {
                    format!("the GHDL run ended without a verdict:\n{tail}")
                }
                GhdlError::Mismatch {
                    cycle,
                    signal,
                    expected,
                    got,
                } => format!(
                    "hardware and simulator differ at cycle {cycle} of the trace (cycle 0 is the reset; frame f starts at cycle 1 + {period}·f): `{signal}` is {got} in GHDL, the simulator expects {expected}; this output comes from {}. Files are in {} (trace.csv has every cycle)",
                    origin.map_or_else(|| "an unknown port".to_string(), line),
                    dir.display()
                ),
            },
        }
    }
}

/// Runs the check: interpreter, simulator, then the hardware asked for.
pub fn verify(c: &Check) -> Result<Verified, Failed> {
    let (k, b) = (c.kernel, c.inputs);
    let mut states = c.states.to_vec();
    let reference: Vec<Vec<Array>> = (0..b.frames)
        .map(|f| hissc_aop::interp::run_data(k, &b.frame_data(f), &mut states))
        .collect();
    // the kernel compiled for the CPU, from the same states
    let program = hissc_cpu::Program::new(k);
    let mut cpu = program.start(Some(c.states));
    let on_cpu = cpu.batch(b);
    agree(k, &reference, &on_cpu, "the CPU slot")?;
    for (p, (want, got)) in k.states.iter().zip(states.iter().zip(cpu.states())) {
        if *want != got.data {
            return Err(Failed::State {
                state: p.name.clone(),
                frames: b.frames,
                engine: "the CPU slot",
            });
        }
    }
    let hardware = !matches!(c.hardware, Hardware::None);
    let run = hissc_sim::simulate_bound(c.network, &k.params, b, c.states, hardware)
        .map_err(Failed::Engine)?;
    for (p, (want, got)) in k.states.iter().zip(states.iter().zip(&run.states)) {
        if *want != got.data {
            return Err(Failed::State {
                state: p.name.clone(),
                frames: b.frames,
                engine: "the simulator",
            });
        }
    }
    agree(k, &reference, &run.frames, "the simulator")?;
    let mut cycles = 0;
    if hardware {
        let rows = run.trace.as_deref().unwrap_or(&[]);
        std::fs::write(
            c.dir.join("trace.csv"),
            hissc_spn::trace::csv(c.network, rows),
        )
        .map_err(|e| Failed::Io(format!("cannot write into `{}`: {e}", c.dir.display())))?;
        let (iface, verdict) = match c.hardware {
            Hardware::Axis(pressure) => {
                let (run, scalars) = hissc_sim::axis::simulate_axis_bound(
                    c.network, &k.params, b, c.states, pressure,
                )
                .map_err(Failed::Engine)?;
                let model = format!(
                    "the AXI4-Stream wrapper's model (stall seed {})",
                    pressure.seed
                );
                agree(k, &reference, &run.frames, &model)?;
                hissc_flow::hardware::check_axis(c.dir, c.network, c.src, &run, &scalars, c.netlist)
            }
            _ => hissc_flow::hardware::check(c.dir, c.network, c.src, rows, c.states, c.netlist),
        };
        let pass = verdict.map_err(|error| {
            let origin = match &error {
                GhdlError::Mismatch { signal, .. } => iface
                    .outputs
                    .iter()
                    .find(|o| &o.valid == signal || &o.data == signal)
                    .map(|o| o.span),
                _ => None,
            };
            Failed::Hardware {
                error,
                dir: c.dir.to_path_buf(),
                origin,
                period: c.network.frame_period() as u64,
            }
        })?;
        cycles = pass.cycles;
    }
    Ok(Verified {
        outputs: reference,
        states,
        cycles,
        simulation: run,
    })
}

/// The reference interpreter's outputs against `engine`'s, frame by frame.
fn agree(
    k: &Kernel,
    reference: &[Vec<Array>],
    got: &[Vec<Array>],
    engine: &str,
) -> Result<(), Failed> {
    if reference.len() != got.len() {
        return Err(Failed::Frames {
            engine: engine.into(),
            want: reference.len(),
            got: got.len(),
        });
    }
    for (frame, (want, got)) in reference.iter().zip(got).enumerate() {
        for (output, (w, g)) in want.iter().zip(got).enumerate() {
            if w == g {
                continue;
            }
            let detail = if w.dtype != g.dtype || w.shape != g.shape {
                format!(
                    "the interpreter gives {} of shape {:?}, {engine} {} of shape {:?}",
                    w.dtype.numpy_name(),
                    w.shape,
                    g.dtype.numpy_name(),
                    g.shape
                )
            } else {
                let i = w
                    .data
                    .iter()
                    .zip(&g.data)
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                format!(
                    "element {i}: interpreter {}, {engine} {}",
                    w.data[i], g.data[i]
                )
            };
            return Err(Failed::Output {
                engine: engine.into(),
                output,
                frame,
                detail,
                span: k.insts[k.outputs[output]].span,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "import numpy as np\nfrom hiss import kernel, Array\n\n@kernel\ndef k(frame: Array[np.uint8, 2, 3]) -> np.uint64:\n    return frame.sum()\n";

    #[test]
    fn a_difference_names_the_output_and_its_line() {
        let src = SourceFile::new("k.py", K);
        let d = crate::compile(&src, &crate::Options::default()).unwrap();
        let frame = Array::new(hissc_aop::DType::U8, vec![2, 3], vec![1, 2, 3, 4, 5, 6]);
        let bound = Bound::stacked(&d.kernel.params, &[vec![frame]]);
        // no hardware: nothing is written into the directory
        let dir = std::env::temp_dir();
        let check = Check {
            src: &src,
            kernel: &d.kernel,
            network: &d.network,
            inputs: &bound,
            states: &[],
            hardware: Hardware::None,
            netlist: false,
            dir: &dir,
        };
        let v = verify(&check).unwrap();
        assert_eq!(v.outputs[0][0].data, vec![21]);
        // an engine that is off by one on the sum
        let mut wrong = v.outputs.clone();
        wrong[0][0].data[0] = 22;
        let e = agree(&d.kernel, &v.outputs, &wrong, "the simulator").unwrap_err();
        assert_eq!(
            e.message(&src),
            "bug in hissc: the simulator and the reference interpreter disagree on output 0, frame 0: element 0: interpreter 21, the simulator 22 (the output comes from k.py:6: `return frame.sum()`)"
        );
        let e = agree(&d.kernel, &v.outputs, &[], "the simulator").unwrap_err();
        assert!(matches!(
            e,
            Failed::Frames {
                want: 1,
                got: 0,
                ..
            }
        ));
    }
}
