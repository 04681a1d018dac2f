//! Analyses and transformations over the array-op IR, one per file.
//!
//! [`optimize`] runs the transformations in order; each keeps the kernel's
//! meaning exactly (numpy's values, dtypes and shapes) and its result verifies.

pub mod dce;
pub mod ranges;
pub mod reduce_chains;
pub mod share_reductions;

use crate::Kernel;

/// The kernel after every transformation: reductions of the same rows shared,
/// max/min chains over one array's elements folded into reductions, dead code
/// dropped.
pub fn optimize(k: &Kernel) -> Kernel {
    let k = share_reductions::run(k);
    let k = reduce_chains::run(&k);
    dce::run(&k)
}
