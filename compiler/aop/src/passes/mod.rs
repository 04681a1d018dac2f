//! Analyses and transformations over the array-op IR, one per file.
//!
//! [`optimize`] runs the transformations in order; each keeps the kernel's
//! meaning exactly (numpy's values, dtypes and shapes) and its result verifies.

pub mod dce;
pub mod decided;
pub mod ranges;
pub mod reduce_chains;
pub mod share_reductions;

use crate::{InstData, Kernel, Value};
use cranelift_entity::{EntityRef, PrimaryMap};

/// The kernel after every transformation: reductions of the same rows shared,
/// max/min chains over one array's elements folded into reductions, what
/// decided comparisons pass on taken directly, dead code dropped.
pub fn optimize(k: &Kernel) -> Kernel {
    let k = share_reductions::run(k);
    let k = reduce_chains::run(&k);
    let k = decided::run(&k);
    dce::run(&k)
}

/// Rebuilds `k` in order: for each instruction, `replace(out, v, data, map)` may
/// emit the instructions that stand for `v` into `out` (reading earlier values
/// through `map`, old to new) and return its new value; otherwise the
/// instruction is copied with its operands mapped.
pub(crate) fn rebuild(
    k: &Kernel,
    mut replace: impl FnMut(&mut Kernel, Value, &InstData, &[Value]) -> Option<Value>,
) -> Kernel {
    let mut out = Kernel {
        name: k.name.clone(),
        params: k.params.clone(),
        insts: PrimaryMap::new(),
        outputs: Vec::new(),
        states: k.states.clone(),
        updates: Vec::new(),
    };
    let mut map: Vec<Value> = Vec::with_capacity(k.insts.len());
    for (v, d) in k.insts.iter() {
        let new = match replace(&mut out, v, d, &map) {
            Some(x) => x,
            None => {
                let mut data = d.clone();
                data.inst = d.inst.map_args(|a| map[a.index()]);
                out.insts.push(data)
            }
        };
        map.push(new);
    }
    out.outputs = k.outputs.iter().map(|o| map[o.index()]).collect();
    out.updates = k.updates.iter().map(|o| map[o.index()]).collect();
    out
}
