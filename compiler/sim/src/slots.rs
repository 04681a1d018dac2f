//! Where a flattened network keeps its values: each bus's slot (its index),
//! and words of the private state area that processes with memory take.

use cranelift_entity::EntityRef;
use hissc_spn::Bus;

/// Takes `n` words of the private state area (`state` is its size so far).
pub(crate) fn alloc(n: usize, state: &mut usize) -> usize {
    let at = *state;
    *state += n;
    at
}

/// The value slot of bus `b`.
pub(crate) fn slot(b: Bus) -> u32 {
    b.index() as u32
}
