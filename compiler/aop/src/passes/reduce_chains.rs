//! Folds a chain of `np.maximum` (`np.minimum`, `&`, `|` on booleans) over
//! elements of one array into a reduction of that array.
//!
//! A loop such as
//!
//! ```python
//! best = rows[0]
//! for i in range(1, 512):
//!     best = np.maximum(best, rows[i])
//! ```
//!
//! unrolls into 511 scalar maxima, each waiting (in a delay line) for the next
//! row. Its value is `rows[0:512].max()`: max and min are associative,
//! commutative and idempotent, and so are `&` and `|` on booleans, so any tree
//! of one of them over elements `a[i]` (each a 0-d read of one element) equals
//! the reduction over the elements it reads, whatever the order or repeats.
//! Where those elements form a box (an arithmetic progression per axis) the
//! tree becomes a slice and one reduction; [`super::dce`] then drops the chain.

use crate::ir::{BinaryOp, Inst, Kernel, ReduceOp, Value};
use crate::types::{DType, Type};
use cranelift_entity::EntityRef;
use std::collections::{BTreeSet, HashMap};

/// The reduction a binary operation's trees make, for a dtype.
fn reduction(op: BinaryOp, dtype: DType) -> Option<ReduceOp> {
    match (op, dtype) {
        (BinaryOp::Max, _) => Some(ReduceOp::Max),
        (BinaryOp::Min, _) => Some(ReduceOp::Min),
        (BinaryOp::And, DType::Bool) => Some(ReduceOp::All),
        (BinaryOp::Or, DType::Bool) => Some(ReduceOp::Any),
        _ => None,
    }
}

/// A basic slice's `(start, step, count)` per axis.
type Sel = Vec<(u32, u32, u32)>;

/// `a[i, j, ...]` as a 0-d value: the array and the index.
fn element(k: &Kernel, v: Value) -> Option<(Value, Vec<u32>)> {
    let Inst::Reshape(s) = k.insts[v].inst else {
        return None;
    };
    let Inst::Slice(a, sel) = &k.insts[s].inst else {
        return None;
    };
    let one = sel.iter().all(|x| x.2 == 1) && sel.len() == k.ty(*a).shape.len();
    (one && k.ty(v).shape.is_empty() && k.dtype(*a) == k.dtype(v))
        .then(|| (*a, sel.iter().map(|x| x.0).collect()))
}

/// The per-axis `(start, step, count)` of a set of indices that is a box, if it is.
fn as_box(set: &BTreeSet<Vec<u32>>, rank: usize) -> Option<Sel> {
    let mut sel = Vec::with_capacity(rank);
    let mut total = 1usize;
    for d in 0..rank {
        let vals: BTreeSet<u32> = set.iter().map(|i| i[d]).collect();
        let v: Vec<u32> = vals.into_iter().collect();
        let step = if v.len() > 1 { v[1] - v[0] } else { 1 };
        if step == 0 || v.windows(2).any(|w| w[1] - w[0] != step) {
            return None;
        }
        sel.push((v[0], step, v.len() as u32));
        total *= v.len();
    }
    (total == set.len()).then_some(sel)
}

/// `k` with every such tree of at least three elements replaced by a reduction.
pub fn run(k: &Kernel) -> Kernel {
    let mut uses = vec![0u32; k.insts.len()];
    for d in k.insts.values() {
        for a in d.inst.args() {
            uses[a.index()] += 1;
        }
    }
    for o in k.roots() {
        uses[o.index()] += 1;
    }
    // The elements under each tree node, bottom up. A node used only by its
    // parent gives its set up to it (a chain of n costs n, not n^2), and is then
    // no tree of its own; what is left are the trees' roots.
    let mut leaves: HashMap<Value, (Value, BTreeSet<Vec<u32>>)> = HashMap::new();
    for (v, d) in k.insts.iter() {
        let Inst::Binary(op, a, b) = d.inst else {
            continue;
        };
        if reduction(op, d.ty.dtype).is_none() || !d.ty.shape.is_empty() {
            continue;
        }
        let in_chain = |x: Value| {
            matches!(k.insts[x].inst, Inst::Binary(o, ..) if o == op) && k.ty(x) == &d.ty
        };
        let array_of = |x: Value, leaves: &HashMap<Value, (Value, BTreeSet<Vec<u32>>)>| {
            if in_chain(x) {
                leaves.get(&x).map(|l| l.0)
            } else {
                element(k, x).map(|e| e.0)
            }
        };
        let (Some(x), Some(y)) = (array_of(a, &leaves), array_of(b, &leaves)) else {
            continue;
        };
        if x != y {
            continue;
        }
        let mut set = BTreeSet::new();
        for c in [a, b] {
            if in_chain(c) {
                if uses[c.index()] == 1 && a != b {
                    set.append(&mut leaves.remove(&c).expect("a chain node's set").1);
                } else {
                    set.extend(leaves[&c].1.iter().cloned());
                }
            } else if let Some((_, i)) = element(k, c) {
                set.insert(i);
            }
        }
        leaves.insert(v, (x, set));
    }
    let rewrite: HashMap<Value, (ReduceOp, Value, Sel)> = leaves
        .into_iter()
        .filter_map(|(v, (arr, set))| {
            let Inst::Binary(op, ..) = k.insts[v].inst else {
                return None;
            };
            let red = reduction(op, k.dtype(v))?;
            let sel = (set.len() >= 3).then(|| as_box(&set, k.ty(arr).shape.len()))??;
            Some((v, (red, arr, sel)))
        })
        .collect();
    if rewrite.is_empty() {
        return k.clone();
    }
    super::rebuild(k, |out, v, d, map| {
        let (red, arr, sel) = rewrite.get(&v)?;
        let a = map[arr.index()];
        let shape = &k.ty(*arr).shape;
        let whole = sel.iter().zip(shape).all(|(s, &n)| *s == (0, 1, n));
        let x = if whole {
            a
        } else {
            out.push(
                Inst::Slice(a, sel.clone()),
                Type::array(d.ty.dtype, sel.iter().map(|s| s.2).collect()),
                d.span,
            )
        };
        Some(out.push(Inst::Reduce(*red, x, vec![]), d.ty.clone(), d.span))
    })
}

#[cfg(test)]
mod tests {
    use crate::parse::parse;
    use crate::print::print;

    fn chain(op: &str, rows: &[u32]) -> String {
        let mut s = String::from("kernel k(a: i32[8]) {\n  v0: i32[8] = input a\n");
        let mut last = None;
        let mut n = 1;
        for &r in rows {
            s += &format!("  v{n}: i32[1] = slice v0 start [{r}] step [1] count [1]\n");
            s += &format!("  v{}: i32 = reshape v{n}\n", n + 1);
            let leaf = n + 1;
            n += 2;
            if let Some(l) = last {
                s += &format!("  v{n}: i32 = {op} v{l}, v{leaf}\n");
                last = Some(n);
                n += 1;
            } else {
                last = Some(leaf);
            }
        }
        s += &format!("  return v{}\n}}\n", last.unwrap());
        let k = parse(&s).unwrap();
        let out = crate::passes::dce::run(&super::run(&k));
        crate::verify::verify(&out).unwrap();
        print(&out, None)
    }

    #[test]
    fn chains_over_a_box_become_reductions() {
        let t = chain("max", &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert!(t.contains("i32 = reduce max v0"), "{t}");
        assert!(!t.contains("slice"), "{t}");
        // a strided box, in any order
        let t = chain("min", &[6, 0, 2, 4]);
        assert!(t.contains("slice v0 start [0] step [2] count [4]"), "{t}");
        assert!(t.contains("reduce min"), "{t}");
        // not a box: left alone; nor are sums (they do not fold this way here)
        assert!(!chain("max", &[0, 1, 3]).contains("reduce"));
        assert!(!chain("add", &[0, 1, 2]).contains("reduce"));
    }
}
