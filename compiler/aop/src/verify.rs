//! The array-op IR verifier.
//!
//! Invariants every stage may rely on after the frontend:
//! 1. every `input` names a parameter and has its type; parameter ranges lie within their dtype;
//! 2. operands are defined before use (values are numbered in definition order);
//! 3. `const` is a 0-d integer that fits its dtype;
//! 4. elementwise ops (`unary`, `binary`, `where`, `cast`) have operands whose shape is the
//!    result's or 0-d, and a result shape that is 0-d only when every operand is;
//!    `unary`/`binary` operands have the result dtype; `where`'s condition and every
//!    comparison result are `bool`;
//! 5. `broadcast` goes from a shape numpy can broadcast to the result shape;
//! 6. `reduce` has sorted, distinct axes inside the operand's rank (empty: all) and the
//!    operand's shape less those axes; `any`/`all` give `bool`, `count_nonzero` gives `i64`,
//!    `min`/`max` keep the dtype;
//! 7. there is at least one output and only F64 appears nowhere (v1: integers only).

use crate::ir::{Inst, Kernel, ReduceOp, UnaryOp, Value};
use crate::types::{DType, Interval, Type};
use cranelift_entity::EntityRef;

/// A verifier failure: the value at fault (if any) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyError {
    /// The instruction that breaks an invariant.
    pub value: Option<Value>,
    /// Which invariant.
    pub message: String,
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.value {
            Some(v) => write!(f, "{v}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Can `from` be broadcast to `to` by numpy's rules?
pub fn broadcastable(from: &[u32], to: &[u32]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1)
}

/// Checks every invariant; returns all failures.
pub fn verify(k: &Kernel) -> Result<(), Vec<VerifyError>> {
    let mut errs = Vec::new();
    for p in &k.params {
        if !p.range.within(Interval::of(p.ty.dtype)) || p.ty.dtype == DType::F64 {
            errs.push(VerifyError {
                value: None,
                message: format!(
                    "parameter `{}` has range {} outside {}",
                    p.name, p.range, p.ty.dtype
                ),
            });
        }
    }
    for (v, d) in k.insts.iter() {
        let n = d.ty.numel() as u64;
        if n > crate::limits::MAX_ELEMENTS {
            errs.push(VerifyError {
                value: Some(v),
                message: format!(
                    "{n} elements, more than limits::MAX_ELEMENTS ({})",
                    crate::limits::MAX_ELEMENTS
                ),
            });
        }
        if let Err(m) = check(k, v, &d.inst, &d.ty) {
            errs.push(VerifyError {
                value: Some(v),
                message: m,
            });
        }
    }
    if k.outputs.is_empty() {
        errs.push(VerifyError {
            value: None,
            message: "kernel has no outputs".into(),
        });
    }
    // a compressed value has a run-time length: only outputs read it
    for (v, d) in k.insts.iter() {
        for a in d.inst.args() {
            if a.index() < k.insts.len() && matches!(k.insts[a].inst, Inst::Compress(..)) {
                errs.push(VerifyError {
                    value: Some(v),
                    message: format!("{a} is compressed; only outputs may read it"),
                });
            }
        }
    }
    for &o in &k.outputs {
        if o.index() >= k.insts.len() {
            errs.push(VerifyError {
                value: None,
                message: format!("output {o} is not defined"),
            });
        }
    }
    if k.updates.len() != k.states.len() {
        errs.push(VerifyError {
            value: None,
            message: format!("{} states but {} updates", k.states.len(), k.updates.len()),
        });
    }
    for (s, &u) in k.states.iter().zip(&k.updates) {
        if u.index() >= k.insts.len() {
            errs.push(VerifyError {
                value: None,
                message: format!("the update of state `{}` ({u}) is not defined", s.name),
            });
        } else if *k.ty(u) != s.ty || s.range != Interval::of(s.ty.dtype) {
            errs.push(VerifyError {
                value: Some(u),
                message: format!(
                    "state `{}` is {} (range {}) but its update is {}",
                    s.name,
                    s.ty,
                    s.range,
                    k.ty(u)
                ),
            });
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

fn check(k: &Kernel, v: Value, inst: &Inst, ty: &Type) -> Result<(), String> {
    for a in inst.args() {
        if a >= v {
            return Err(format!("operand {a} is not defined before {v}"));
        }
    }
    // a weighted bincount's float64 counts, or a view or copy of them
    let float_source = match inst {
        Inst::Bincount(_, Some(_), _, _) => true,
        Inst::Reshape(a) => k.ty(*a).dtype == DType::F64,
        _ => false,
    };
    if ty.dtype == DType::F64 && !float_source {
        return Err(
            "f64 values are only the result of a weighted bincount (or its reshape)".into(),
        );
    }
    let elementwise = |args: &[Value]| -> Result<(), String> {
        let mut any_array = false;
        for &a in args {
            let s = &k.ty(a).shape;
            if !s.is_empty() {
                any_array = true;
                if *s != ty.shape {
                    return Err(format!(
                        "operand {a} has shape {s:?}, result {:?}",
                        ty.shape
                    ));
                }
            }
        }
        if !any_array && !ty.shape.is_empty() {
            return Err("0-d operands give a shaped result".into());
        }
        Ok(())
    };
    let same_dtype = |args: &[Value]| -> Result<(), String> {
        for &a in args {
            if k.dtype(a) != ty.dtype {
                return Err(format!(
                    "operand {a} is {}, result {}",
                    k.dtype(a),
                    ty.dtype
                ));
            }
        }
        Ok(())
    };
    match inst {
        Inst::Input(i) => match k.params.get(*i as usize) {
            Some(p) if p.ty == *ty => Ok(()),
            Some(p) => Err(format!("input `{}` is {}, not {ty}", p.name, p.ty)),
            None => Err(format!("no parameter {i}")),
        },
        Inst::State(i) => match k.states.get(*i as usize) {
            Some(s) if s.ty == *ty => Ok(()),
            Some(s) => Err(format!("state `{}` is {}, not {ty}", s.name, s.ty)),
            None => Err(format!("no state {i}")),
        },
        Inst::Const(c) => {
            if !ty.is_scalar() {
                Err("const must be 0-d".into())
            } else if !ty.dtype.holds(*c) {
                Err(format!("{c} does not fit {}", ty.dtype))
            } else {
                Ok(())
            }
        }
        Inst::Unary(op, a) => {
            elementwise(&[*a])?;
            same_dtype(&[*a])?;
            if ty.dtype == DType::Bool && *op != UnaryOp::Not {
                return Err(format!("{} on bool", op.name()));
            }
            Ok(())
        }
        Inst::Binary(_, a, b) => {
            elementwise(&[*a, *b])?;
            same_dtype(&[*a, *b])
        }
        Inst::Compare(_, a, b) => {
            elementwise(&[*a, *b])?;
            if ty.dtype != DType::Bool {
                return Err("comparison result must be bool".into());
            }
            Ok(())
        }
        Inst::Where(c, a, b) => {
            elementwise(&[*c, *a, *b])?;
            same_dtype(&[*a, *b])?;
            if k.dtype(*c) != DType::Bool {
                return Err("where condition must be bool".into());
            }
            Ok(())
        }
        Inst::Cast(a) => elementwise(&[*a]),
        Inst::Broadcast(a) => {
            if k.dtype(*a) != ty.dtype {
                return Err("broadcast changes the dtype".into());
            }
            if !broadcastable(&k.ty(*a).shape, &ty.shape) {
                return Err(format!("cannot broadcast {} to {ty}", k.ty(*a)));
            }
            Ok(())
        }
        Inst::Reduce(op, a, axes) => {
            let s = &k.ty(*a).shape;
            if axes.windows(2).any(|w| w[0] >= w[1]) || axes.iter().any(|&x| x as usize >= s.len())
            {
                return Err(format!("bad axes {axes:?} for rank {}", s.len()));
            }
            let kept: Vec<u32> = if axes.is_empty() {
                Vec::new()
            } else {
                (0..s.len())
                    .filter(|i| !axes.contains(&(*i as u32)))
                    .map(|i| s[i])
                    .collect()
            };
            if kept != ty.shape {
                return Err(format!(
                    "reduction result shape {:?}, expected {kept:?}",
                    ty.shape
                ));
            }
            if matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin) && axes.len() > 1 {
                return Err(format!("{} takes at most one axis", op.name()));
            }
            let want = match op {
                ReduceOp::Any | ReduceOp::All => Some(DType::Bool),
                ReduceOp::CountNonzero | ReduceOp::ArgMax | ReduceOp::ArgMin => Some(DType::I64),
                ReduceOp::Min | ReduceOp::Max => Some(k.dtype(*a)),
                ReduceOp::Sum => None,
            };
            match want {
                Some(d) if d != ty.dtype => {
                    Err(format!("{} gives {d}, not {}", op.name(), ty.dtype))
                }
                _ => Ok(()),
            }
        }
        Inst::Reshape(a) => {
            if k.dtype(*a) != ty.dtype || k.ty(*a).numel() != ty.numel() {
                return Err(format!("cannot reshape {} to {ty}", k.ty(*a)));
            }
            Ok(())
        }
        Inst::Slice(a, sel) => {
            let s = &k.ty(*a).shape;
            if k.dtype(*a) != ty.dtype || sel.len() != s.len() {
                return Err("a slice needs one (start, step, count) per axis".into());
            }
            for (d, &(start, step, count)) in sel.iter().enumerate() {
                if step == 0
                    || count == 0
                    || start as u64 + step as u64 * (count as u64 - 1) >= s[d] as u64
                {
                    return Err(format!(
                        "slice ({start}, {step}, {count}) outside axis {d} of length {}",
                        s[d]
                    ));
                }
            }
            let counts: Vec<u32> = sel.iter().map(|x| x.2).collect();
            if counts != ty.shape {
                return Err(format!(
                    "slice result shape {:?}, expected {counts:?}",
                    ty.shape
                ));
            }
            Ok(())
        }
        Inst::Table(values) => {
            if ty.shape != [values.len() as u32] || values.iter().any(|v| !ty.dtype.holds(*v)) {
                return Err(format!(
                    "table of {} values does not fit {ty}",
                    values.len()
                ));
            }
            Ok(())
        }
        Inst::Gather(t, i) => {
            if !matches!(k.insts[*t].inst, Inst::Table(_)) {
                return Err(format!("{t} is not a table"));
            }
            if k.dtype(*t) != ty.dtype || k.ty(*i).shape != ty.shape || k.dtype(*i) == DType::Bool {
                return Err("gather gives the table's dtype in the index's shape".into());
            }
            Ok(())
        }
        Inst::Concat(vs, axis) => {
            let ax = *axis as usize;
            if vs.is_empty() || ax >= ty.shape.len() {
                return Err(format!(
                    "concat of {} operands along axis {axis} of {ty}",
                    vs.len()
                ));
            }
            let mut along = 0;
            for v in vs {
                let t = k.ty(*v);
                let other = |s: &[u32]| -> Vec<u32> {
                    s.iter()
                        .enumerate()
                        .filter(|(i, _)| *i != ax)
                        .map(|(_, d)| *d)
                        .collect()
                };
                if t.dtype != ty.dtype
                    || t.shape.len() != ty.shape.len()
                    || other(&t.shape) != other(&ty.shape)
                {
                    return Err(format!("concat operand {v} is {t}, result {ty}"));
                }
                along += t.shape[ax];
            }
            if along != ty.shape[ax] {
                return Err(format!(
                    "concat along axis {axis} gives {along}, result {ty}"
                ));
            }
            Ok(())
        }
        Inst::Iota => {
            if ty.dtype == DType::Bool || !ty.dtype.holds(ty.numel() as i128 - 1) {
                return Err(format!("iota of {} elements in {}", ty.numel(), ty.dtype));
            }
            Ok(())
        }
        Inst::Compress(a, m) => {
            if k.ty(*m).shape != k.ty(*a).shape || k.dtype(*m) != DType::Bool {
                return Err("compress takes a bool mask of its operand's shape".into());
            }
            if ty.dtype != k.dtype(*a) || ty.shape != [k.ty(*a).numel() as u32] {
                return Err(format!(
                    "compress gives {}[{}]",
                    k.dtype(*a),
                    k.ty(*a).numel()
                ));
            }
            Ok(())
        }
        Inst::Scan(a) => {
            if ty.shape != [k.ty(*a).numel() as u32] {
                return Err("cumsum gives a flat array of the same size".into());
            }
            Ok(())
        }
        Inst::Bincount(x, w, m, bins) => {
            let xs = &k.ty(*x).shape;
            if xs.len() != 1 || k.dtype(*x) == DType::Bool {
                return Err("bincount takes a 1-d integer array".into());
            }
            if w.is_some_and(|w| k.ty(w).shape != *xs)
                || m.is_some_and(|m| k.ty(m).shape != *xs || k.dtype(m) != DType::Bool)
            {
                return Err("weights and mask must have the shape of the bin indices".into());
            }
            let want = if w.is_some() { DType::F64 } else { DType::I64 };
            if ty.shape != [*bins] || ty.dtype != want {
                return Err(format!("bincount gives {want}[{bins}]"));
            }
            Ok(())
        }
    }
}
