//! The library API a node and the tests use: a batch as named `.npy` (or raw)
//! bodies in, read a block of frames at a time, the outputs as `.npy` out, named
//! as `hissc run` names its files.

use crate::slot::{Slot, SlotError};
use crate::stream::{pump, Batch, FrameSink, Input, NpySink};

/// Runs a batch through a slot that has loaded a bundle, as the bodies come:
/// `inputs` are the kernel's input streams (each `.npy` of one frame or
/// `[F, frame...]`, or raw frames), `params` its scalar parameters by name (set
/// in the slot for the frames that follow). The outputs go to `sink` frame by
/// frame; memory holds a block of frames, not the batch.
pub fn run_stream(
    slot: &mut dyn Slot,
    inputs: Vec<Input>,
    params: &[(&str, i128)],
    sink: &mut dyn FrameSink,
) -> Result<(), SlotError> {
    for (name, value) in params {
        slot.set_param(name, *value)?;
    }
    let iface = slot.interface()?;
    let mut batch = Batch::open(&iface, inputs).map_err(SlotError::Input)?;
    run_batch(slot, &mut batch, sink)
}

/// Runs a batch opened against the slot's [`Slot::interface`] through it.
pub fn run_batch(
    slot: &mut dyn Slot,
    batch: &mut Batch,
    sink: &mut dyn FrameSink,
) -> Result<(), SlotError> {
    run_batch_states(slot, batch, sink).map(|_| ())
}

/// [`run_batch`], giving the kernel's states as the batch's last frame left them.
pub fn run_batch_states(
    slot: &mut dyn Slot,
    batch: &mut Batch,
    sink: &mut dyn FrameSink,
) -> Result<Vec<hissc_aop::Array>, SlotError> {
    let mut run = slot.begin(batch.take_fixed())?;
    pump(batch, &mut *run, sink)?;
    Ok(run.states())
}

/// [`run_stream`] over bodies in memory: `inputs` are `.npy` bytes by input
/// name. Gives `("out.npy", bytes)`, or `out0.npy`, `out1.npy`, ... for a tuple.
pub fn run_npy(
    slot: &mut dyn Slot,
    inputs: &[(&str, &[u8])],
    params: &[(&str, i128)],
) -> Result<Vec<(String, Vec<u8>)>, SlotError> {
    let inputs = inputs
        .iter()
        .map(|(name, bytes)| Input {
            name: name.to_string(),
            reader: Box::new(*bytes),
            body: crate::stream::Body::Npy,
        })
        .collect();
    let mut sink = NpySink::new(|_| Ok(Vec::new()));
    run_stream(slot, inputs, params, &mut sink)?;
    Ok(sink
        .into_outputs()
        .into_iter()
        .map(|(o, bytes)| (o.file, bytes))
        .collect())
}
