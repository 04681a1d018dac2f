//! Analyses and transformations over the array-op IR, one per file.
//!
//! [`PASSES`] is the registry: each transformation's name, what it does and
//! its function, in the order [`optimize`] runs them. Each keeps the kernel's
//! meaning exactly (numpy's values, dtypes and shapes) and its result
//! verifies. A filetest runs one by name (`; test: pass NAME`), and `hissc
//! --skip-pass NAME` leaves one out (to see what it changes, or to rule it out
//! when a kernel misbehaves). [`ranges`] is the analysis they share.

pub mod cse;
pub mod dce;
pub mod fold_constants;
pub mod identities;
pub mod pass_on_decided;
pub mod ranges;
pub mod reduce_chains;
pub mod share_reductions;

use crate::ir::Inst;
use crate::{InstData, Kernel, Value};
use cranelift_entity::{EntityRef, PrimaryMap};

/// One transformation of the array-op IR.
#[derive(Clone, Copy, Debug)]
pub struct Pass {
    /// Its name (`--skip-pass`, `; test: pass NAME`).
    pub name: &'static str,
    /// What it does, in one line.
    pub about: &'static str,
    /// The transformation.
    pub run: fn(&Kernel) -> Kernel,
}

/// Every transformation, in the order [`optimize`] runs them.
pub const PASSES: &[Pass] = &[
    Pass {
        name: "share-reductions",
        about: "reductions of the same rows (`frame[i].sum()` for several i) share one axis reduction",
        run: share_reductions::run,
    },
    Pass {
        name: "reduce-chains",
        about: "a chain of np.maximum/np.minimum/&/| over one array's elements becomes its reduction",
        run: reduce_chains::run,
    },
    Pass {
        name: "fold-constants",
        about: "elementwise operations on constants become the constant numpy computes",
        run: fold_constants::run,
    },
    Pass {
        name: "identities",
        about: "`x + 0`, `x * 1`, a minimum the value never reaches, ... become their operand",
        run: identities::run,
    },
    Pass {
        name: "pass-on-decided",
        about: "what a comparison range analysis decides passes on (`x & True` is x, `where(True, a, b)` is a)",
        run: pass_on_decided::run,
    },
    Pass {
        name: "cse",
        about: "an instruction equal to an earlier one (same operation, operands and type) is that one",
        run: cse::run,
    },
    Pass {
        name: "dce",
        about: "instructions no output reads are dropped",
        run: dce::run,
    },
];

/// The pass named `name`.
pub fn by_name(name: &str) -> Option<&'static Pass> {
    PASSES.iter().find(|p| p.name == name)
}

/// The kernel after every transformation of [`PASSES`], in order.
pub fn optimize(k: &Kernel) -> Kernel {
    optimize_skipping(k, &[])
}

/// Rounds of [`PASSES`] at most: one pass can make work for an earlier one (a
/// comparison decided passes a constant on, which then folds), so the table
/// runs again until the kernel stops changing.
pub const MAX_ROUNDS: usize = 8;

/// [`optimize`] without the passes named in `skip`.
pub fn optimize_skipping(k: &Kernel, skip: &[String]) -> Kernel {
    let round = |k: &Kernel| {
        PASSES
            .iter()
            .filter(|p| !skip.iter().any(|s| s == p.name))
            .fold(k.clone(), |k, p| (p.run)(&k))
    };
    let mut k = round(k);
    for _ in 1..MAX_ROUNDS {
        let next = round(&k);
        if next == k {
            break;
        }
        k = next;
    }
    k
}

/// Whether `x` can stand for `v`: the same type, not a broadcast of a stream
/// (which streams along the operands of what reads it), and not a value the
/// network reads in step with what it is combined with (a state's memory, an
/// index count): the operation on it gives it one timing, which every user
/// then shares.
pub(crate) fn stands_for(k: &Kernel, x: Value, v: Value) -> bool {
    k.insts[x].ty == k.insts[v].ty
        && match k.insts[x].inst {
            Inst::Broadcast(a) => k.ty(a).is_scalar() && !read_in_step(k, a),
            _ => !read_in_step(k, x),
        }
}

/// Whether `x` is a state read or an index count (seen through reshapes and
/// broadcasts).
fn read_in_step(k: &Kernel, x: Value) -> bool {
    match k.insts[x].inst {
        Inst::State(_) | Inst::Iota => true,
        Inst::Broadcast(a) | Inst::Reshape(a) => read_in_step(k, a),
        _ => false,
    }
}

/// `k` with every instruction `v` for which `passes_on(k, ranges, v)` names
/// an operand replaced by that operand (the skeleton of `identities` and
/// `pass-on-decided`).
pub(crate) fn pass_operands_on(
    k: &Kernel,
    passes_on: impl Fn(&Kernel, &ranges::Ranges, Value) -> Option<Value>,
) -> Kernel {
    let r = ranges::ranges(k);
    if !k.insts.keys().any(|v| passes_on(k, &r, v).is_some()) {
        return k.clone();
    }
    rebuild(k, |_, v, _, map| {
        passes_on(k, &r, v).map(|x| map[x.index()])
    })
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
