//! Shares the reductions of a frame's rows: `frame[i].sum()` for several `i`
//! becomes one `frame.sum(axis=1)` read at `i`.
//!
//! A full reduction of a slice (perhaps reshaped) that picks one index along its
//! leading axes (`frame[i]`, `cube[p, r, 2:10]`) is the same value as the reduction over the
//! remaining axes, taken at those indices: `sum`, `min`, `max`, `any`, `all` and
//! `count_nonzero` give the same dtype either way, and integer sums wrap the
//! same in any order. Where two or more such reductions read the same rows
//! (the same source, the same selection of the remaining axes, the same
//! operation), they share one axis reduction, so a loop over 512 rows costs
//! one accumulator, not 512 reductions and the delay lines that align them.

use crate::ir::{Inst, Kernel, ReduceOp, Value};
use crate::types::Type;
use cranelift_entity::EntityRef;
use std::collections::HashMap;

/// What identifies the rows a reduction reads: operation, source, the number of
/// leading axes indexed, and the selection of the axes it reduces.
type Key = (ReduceOp, Value, usize, Sel);

/// A basic slice's `(start, step, count)` per axis.
type Sel = Vec<(u32, u32, u32)>;

/// `Reduce(op, Slice(src, sel), [])` with `sel` one index on `lead >= 1`
/// leading axes and anything on the rest: its key, and the selection of the
/// leading axes (where to read the shared reduction).
fn candidate(k: &Kernel, v: Value) -> Option<(Key, Sel)> {
    let Inst::Reduce(op, a, _) = &k.insts[v].inst else {
        return None;
    };
    let shareable = matches!(
        op,
        ReduceOp::Sum
            | ReduceOp::Min
            | ReduceOp::Max
            | ReduceOp::Any
            | ReduceOp::All
            | ReduceOp::CountNonzero
    );
    // a full reduction reads its elements in any order: look through a reshape
    // (`frame[i]` is a slice whose leading axis the reshape drops)
    let a = match k.insts[*a].inst {
        Inst::Reshape(x) => x,
        _ => *a,
    };
    let Inst::Slice(src, sel) = &k.insts[a].inst else {
        return None;
    };
    let full_reduction = k.ty(v).shape.is_empty();
    let lead = sel.iter().take_while(|s| s.2 == 1).count();
    if !shareable || !full_reduction || lead == 0 || lead == sel.len() {
        return None;
    }
    Some((
        (*op, *src, lead, sel[lead..].to_vec()),
        sel[..lead].to_vec(),
    ))
}

/// `k` with reductions of the same rows shared.
pub fn run(k: &Kernel) -> Kernel {
    let mut uses: HashMap<Key, u32> = HashMap::new();
    for v in k.insts.keys() {
        if let Some((key, _)) = candidate(k, v) {
            *uses.entry(key).or_default() += 1;
        }
    }
    if uses.values().all(|&n| n < 2) {
        return k.clone();
    }
    let mut shared: HashMap<Key, Value> = HashMap::new();
    super::rebuild(k, |out, v, d, map| {
        let (key, at) = candidate(k, v).filter(|(key, _)| uses[key] >= 2)?;
        let (op, src, lead, rest) = key.clone();
        let src_shape = k.ty(src).shape.clone();
        let dtype = d.ty.dtype;
        let rows = match shared.get(&key) {
            Some(&r) => r,
            None => {
                // the reduced axes' selection first (when it is not whole)
                let mut x = map[src.index()];
                let whole = rest
                    .iter()
                    .zip(&src_shape[lead..])
                    .all(|(s, &dim)| *s == (0, 1, dim));
                if !whole {
                    let mut sel: Sel = src_shape[..lead].iter().map(|&n| (0, 1, n)).collect();
                    sel.extend_from_slice(&rest);
                    let shape = sel.iter().map(|s| s.2).collect();
                    x = out.push(
                        Inst::Slice(x, sel),
                        Type::array(k.dtype(src), shape),
                        d.span,
                    );
                }
                let axes = (lead as u32..src_shape.len() as u32).collect();
                let r = out.push(
                    Inst::Reduce(op, x, axes),
                    Type::array(dtype, src_shape[..lead].to_vec()),
                    d.span,
                );
                shared.insert(key, r);
                r
            }
        };
        let at = out.push(
            Inst::Slice(rows, at),
            Type::array(dtype, vec![1; lead]),
            d.span,
        );
        Some(out.push(Inst::Reshape(at), d.ty.clone(), d.span))
    })
}

#[cfg(test)]
mod tests {
    use crate::parse::parse;
    use crate::print::print;

    #[test]
    fn rows_share_one_axis_reduction() {
        let k = parse(
            "kernel k(a: u16[4, 8]) {
  v0: u16[4, 8] = input a
  v1: u16[1, 8] = slice v0 start [0, 0] step [1, 1] count [1, 8]
  v2: u16[8] = reshape v1
  v3: u64 = reduce sum v2
  v4: u16[1, 3] = slice v0 start [2, 1] step [1, 2] count [1, 3]
  v5: u64 = reduce sum v4
  v6: u16[1, 8] = slice v0 start [3, 0] step [1, 1] count [1, 8]
  v7: u64 = reduce sum v6
  v8: u64 = add v3, v5
  v9: u64 = add v8, v7
  return v9
}
",
        )
        .unwrap();
        let out = super::run(&k);
        crate::verify::verify(&out).unwrap();
        let text = print(&crate::passes::dce::run(&out), None);
        // rows 0 and 3 read the whole row: one reduction; row 2's strided part is alone
        assert_eq!(text.matches("axes [1]").count(), 1, "{text}");
        assert!(text.contains("u64[4] = reduce sum v0 axes [1]"), "{text}");
        assert!(
            text.contains("start [2, 1] step [1, 2] count [1, 3]"),
            "{text}"
        );
    }
}
