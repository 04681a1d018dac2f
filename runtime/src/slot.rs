//! Slots: where a bundle runs. A slot's states follow Linux's FPGA manager
//! (`unknown`, `write init`, `write`, `write complete`, `operating`, `error`);
//! loading a bundle walks them, and a load that fails leaves the slot as it was.
//! Once operating, a slot takes parameters and batches of frames.

use crate::bundle::Bundle;
pub use crate::error::SlotError;
use crate::stream::{FrameRun, Interface};
use hissc_aop::Array;
use std::fmt;

/// A slot's state, as Linux's FPGA manager names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotState {
    /// Nothing loaded, or not known.
    Unknown,
    /// Preparing to take a design.
    WriteInit,
    /// Taking a design.
    Write,
    /// The design is in; not yet running.
    WriteComplete,
    /// Running the loaded design.
    Operating,
    /// A load failed, and why.
    Error(String),
}

impl fmt::Display for SlotState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotState::Unknown => f.write_str("unknown"),
            SlotState::WriteInit => f.write_str("write init"),
            SlotState::Write => f.write_str("write"),
            SlotState::WriteComplete => f.write_str("write complete"),
            SlotState::Operating => f.write_str("operating"),
            SlotState::Error(why) => write!(f, "error: {why}"),
        }
    }
}

/// Where a bundle runs.
pub trait Slot {
    /// What the slot is (`emulated`, `fpga-manager fpga0`, ...).
    fn name(&self) -> String;
    /// Its state.
    fn state(&self) -> SlotState;
    /// Loads a bundle. On failure the slot keeps what it had (and says why in
    /// its state when the device was touched).
    fn load(&mut self, bundle: &Bundle) -> Result<(), SlotError>;
    /// Unloads whatever is loaded.
    fn unload(&mut self);
    /// Sets a scalar parameter for the frames that follow.
    fn set_param(&mut self, name: &str, value: i128) -> Result<(), SlotError>;
    /// Runs a batch: one array per input stream in signature order, each one
    /// frame or `[F, frame...]`; gives the outputs in order, with the batch axis
    /// when any input had one.
    fn run(&mut self, inputs: Vec<Array>) -> Result<Vec<Array>, SlotError>;
    /// The loaded kernel's interface, with the parameter values as set (every
    /// parameter must be set).
    fn interface(&self) -> Result<Interface, SlotError>;
    /// Starts a run of frames that come a block at a time: `fixed` has, per
    /// input stream, the frame every frame repeats or `None` for a streamed one.
    fn begin(&mut self, fixed: Vec<Option<Vec<i128>>>)
        -> Result<Box<dyn FrameRun + '_>, SlotError>;
    /// The runs that begin next may use up to `threads` cores (at least one):
    /// a slot that can (the CPU slot) runs a block's frames on that many
    /// threads when the kernel has no states, the frames being independent.
    /// Others use one.
    fn set_threads(&mut self, threads: usize) {
        let _ = threads;
    }
    /// How many frames a block should hold for the threads to share them
    /// (`base` is what one thread would take).
    fn block_frames(&self, base: usize) -> usize {
        base
    }
    /// Sets the kernel's states (each one's elements in C order, in the
    /// manifest's order) for the run that begins next. A slot that keeps no
    /// states takes only none.
    fn set_states(&mut self, states: Vec<Vec<i128>>) -> Result<(), SlotError> {
        if states.is_empty() {
            Ok(())
        } else {
            Err(SlotError::Run(format!(
                "the slot `{}` cannot set states",
                self.name()
            )))
        }
    }
}
