//! `cse`: an instruction equal to an earlier one — the same operation on the
//! same operands, of the same dtype and shape — is that one. Two `np.where`s
//! on one comparison, a constant written twice, the same slice taken in two
//! helpers: computed once, in hardware one process instead of two, on the CPU
//! one pass. Only values the network may read at one time for every user are
//! shared: a state read or an index count (seen through reshapes and
//! broadcasts) takes its timing from what it is combined with, so two of them
//! stay two, and a variable-length `a[mask]` stays where each output names it.
//! The first one's span is kept.

use super::rebuild;
use crate::ir::{Inst, Kernel, Value};
use crate::types::Type;
use cranelift_entity::EntityRef;
use std::collections::HashMap;

/// `k` with each repeated instruction replaced by its first occurrence.
pub fn run(k: &Kernel) -> Kernel {
    let mut first: HashMap<(Inst, Type), Value> = HashMap::new();
    rebuild(k, |out, v, d, map| {
        if matches!(d.inst, Inst::Compress(..)) || super::read_in_step(k, v) {
            return None;
        }
        let inst = d.inst.map_args(|a| map[a.index()]);
        let key = (inst, d.ty.clone());
        if let Some(&x) = first.get(&key) {
            return Some(x);
        }
        let mut data = d.clone();
        data.inst = key.0.clone();
        let new = out.insts.push(data);
        first.insert(key, new);
        Some(new)
    })
}
