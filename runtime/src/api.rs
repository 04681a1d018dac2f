//! The library API a node and the tests use: a batch as named `.npy` bytes in,
//! the outputs as `.npy` bytes out, named as `hissc run` names its files.

use crate::bundle::Manifest;
use crate::npy;
use crate::slot::{Slot, SlotError};

/// Runs a batch through a slot that has loaded the bundle of `manifest`:
/// `inputs` are the kernel's input streams by name (each `.npy` bytes of one
/// frame or `[F, frame...]`), `params` its scalar parameters by name. Gives
/// `("out.npy", bytes)`, or `out0.npy`, `out1.npy`, ... for a tuple.
pub fn run_npy(
    slot: &mut dyn Slot,
    manifest: &Manifest,
    inputs: &[(&str, &[u8])],
    params: &[(&str, i128)],
) -> Result<Vec<(String, Vec<u8>)>, SlotError> {
    for (name, _) in inputs {
        if !manifest.inputs.iter().any(|p| p.name == *name) {
            return Err(SlotError::Input(format!(
                "`{}` has no input stream `{name}`",
                manifest.kernel
            )));
        }
    }
    let arrays = manifest
        .inputs
        .iter()
        .map(|p| {
            let (_, bytes) = inputs
                .iter()
                .find(|(n, _)| *n == p.name)
                .ok_or_else(|| SlotError::Input(format!("input `{}` is missing", p.name)))?;
            npy::from_bytes(bytes, &p.name)
                .map_err(|e| SlotError::Input(format!("input `{}`: {e}", p.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (name, value) in params {
        slot.set_param(name, *value)?;
    }
    let outputs = slot.run(arrays)?;
    let one = outputs.len() == 1;
    Ok(outputs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let name = if one {
                "out.npy".to_string()
            } else {
                format!("out{i}.npy")
            };
            (name, npy::to_bytes(a))
        })
        .collect())
}
