//! numpy's memory sharing, followed at compile time: which names and views
//! share an array, and what a write through one of them does to the others.
//!
//! An *object* is an array numpy allocated: an input, a state, the result of
//! an operation. Its identity is the value it was created as, its *root*. A
//! view — a basic slice, or a `reshape`/`ravel` where numpy does not copy —
//! records its root, the steps from the root's shape to its own, and its
//! strides in the root's memory (in elements), from which numpy's view-or-copy
//! decision for the next `reshape` or `ravel` follows. Binding a
//! name shares the object; arithmetic, `astype`, `copy` and advanced indexing
//! make new ones.
//!
//! A write (`x -= p`, `x[1:3] = v`, `x[...] += 1`) splices the new elements
//! into the root's contents — `np.concatenate` of the parts around the region
//! and the new elements, or a select on the region's coordinates for a scalar —
//! and records the new contents. Every name is resolved against its root's
//! contents when it is read, so all names sharing the object see the change.
//! Writes under an `if` on a run-time value are merged with a select, as
//! names are.

use super::{Lowerer, Node, Val};
use hissc_aop::{BinaryOp, CmpOp, DType, Inst, Shape, Type, Value};
use hissc_diagnostics::{Code, Diagnostic, Span};
use std::collections::HashMap;

/// One step from an array to a view of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A basic slice: per axis `(start, step, count)`, as [`Inst::Slice`].
    Slice(Vec<(u32, u32, u32)>),
    /// The same elements in another shape, as [`Inst::Reshape`].
    Reshape(Shape),
}

/// How a value sees the object it belongs to.
#[derive(Clone, Debug)]
pub(crate) struct View {
    /// The object: the value it was created as.
    root: Value,
    /// From the root's shape to the view's.
    steps: Vec<Step>,
    /// The root's contents this view was read from.
    of: Value,
    /// numpy's strides, in elements of the root.
    strides: Vec<i64>,
}

/// The objects of one kernel's lowering.
#[derive(Default)]
pub(crate) struct Aliases {
    /// Values that are views of an object (its root included once written).
    views: HashMap<Value, View>,
    /// Each written object's contents now; an object never written is its root.
    contents: HashMap<Value, Value>,
    /// Selects between different views of objects (names assigned views in the
    /// two branches of an `if` on a run-time value): where they were made.
    ambiguous: HashMap<Value, Span>,
}

/// What is written into a view.
enum Fill {
    /// One value for every element (0-d).
    Scalar(Value),
    /// An array of the view's shape.
    Array(Value),
}

/// The strides of a C-contiguous array of `shape`.
fn c_strides(shape: &[u32]) -> Vec<i64> {
    let mut s = vec![1i64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1] as i64;
    }
    s
}

/// numpy's C-contiguity flag: strides of axes longer than 1 are C's.
fn is_c_contiguous(shape: &[u32], strides: &[i64]) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected = 1i64;
    for d in (0..shape.len()).rev() {
        if shape[d] != 1 {
            if strides[d] != expected {
                return false;
            }
            expected *= shape[d] as i64;
        }
    }
    true
}

/// numpy's `_attempt_nocopy_reshape` (C order): the strides of `new` over the
/// memory of an array of `old` shape and strides, or `None` when numpy copies.
fn nocopy_reshape(old: &[u32], old_strides: &[i64], new: &[u32]) -> Option<Vec<i64>> {
    let (od, os): (Vec<i64>, Vec<i64>) = old
        .iter()
        .zip(old_strides)
        .filter(|(&d, _)| d != 1)
        .map(|(&d, &s)| (d as i64, s))
        .unzip();
    let nd: Vec<i64> = new.iter().map(|&d| d as i64).collect();
    let mut ns = vec![0i64; nd.len()];
    let (mut oi, mut oj, mut ni, mut nj) = (0usize, 1usize, 0usize, 1usize);
    while ni < nd.len() && oi < od.len() {
        let mut np = nd[ni];
        let mut op = od[oi];
        while np != op {
            if np < op {
                np *= *nd.get(nj)?;
                nj += 1;
            } else {
                op *= *od.get(oj)?;
                oj += 1;
            }
        }
        for ok in oi..oj - 1 {
            if os[ok] != od[ok + 1] * os[ok + 1] {
                return None;
            }
        }
        ns[nj - 1] = os[oj - 1];
        for nk in (ni + 1..nj).rev() {
            ns[nk - 1] = ns[nk] * nd[nk];
        }
        ni = nj;
        nj += 1;
        oi = oj;
        oj += 1;
    }
    let last = if ni >= 1 { ns[ni - 1] } else { 1 };
    for s in ns.iter_mut().skip(ni) {
        *s = last;
    }
    Some(ns)
}

impl Lowerer<'_> {
    /// How `v` sees its object: a recorded view, or `v` as its own root.
    fn view_of(&self, v: Value) -> View {
        self.alias.views.get(&v).cloned().unwrap_or_else(|| View {
            root: v,
            steps: Vec::new(),
            of: v,
            strides: c_strides(&self.k.ty(v).shape),
        })
    }

    /// The root of the object `v` belongs to.
    fn root_of(&self, v: Value) -> Value {
        self.alias.views.get(&v).map_or(v, |view| view.root)
    }

    /// The contents of the object rooted at `root` now.
    fn contents(&self, root: Value) -> Value {
        self.alias.contents.get(&root).copied().unwrap_or(root)
    }

    /// Records `result` (made from `base` by `step`) as a view of `base`'s object.
    pub(crate) fn record_view(&mut self, base: Value, step: Step, result: Value) {
        if self.k.ty(base).shape.is_empty() {
            return;
        }
        let mut view = self.view_of(base);
        match &step {
            Step::Slice(sel) => {
                for (stride, &(_, step, _)) in view.strides.iter_mut().zip(sel) {
                    *stride *= step as i64;
                }
            }
            Step::Reshape(shape) => {
                let old = self.k.ty(base).shape.clone();
                match nocopy_reshape(&old, &view.strides, shape) {
                    Some(s) => view.strides = s,
                    None => return, // numpy copies: `result` is an object of its own
                }
            }
        }
        view.steps.push(step);
        self.alias.views.insert(result, view);
    }

    /// Would numpy's `ravel` of `v` be a view (only of a C-contiguous array)?
    pub(crate) fn ravel_is_view(&self, v: Value) -> bool {
        let view = self.view_of(v);
        is_c_contiguous(&self.k.ty(v).shape, &view.strides)
    }

    /// A new object with the elements of `n` (`copy`, `astype` to its own
    /// dtype): an instruction of its own, so writes to one do not reach the other.
    pub(crate) fn fresh_copy(&mut self, n: Node, span: Span) -> Node {
        let shape = self.k.ty(n.v).shape.clone();
        if shape.is_empty() {
            return n;
        }
        Node {
            weak: n.weak,
            ..self.reshaped(n, shape, true, span)
        }
    }

    /// `v` as it reads now: views of objects written since are read again from
    /// the new contents (through tuples too).
    pub(crate) fn resolve(&mut self, v: Val, span: Span) -> Val {
        match v {
            Val::Node(n) => Val::Node(self.resolve_node(n, span)),
            Val::Tuple(items) => {
                Val::Tuple(items.into_iter().map(|i| self.resolve(i, span)).collect())
            }
            v => v,
        }
    }

    fn resolve_node(&mut self, n: Node, span: Span) -> Node {
        if self.k.ty(n.v).shape.is_empty() {
            return n;
        }
        // read on every name and operand: nothing is cloned unless it was written
        let (root, of) = self
            .alias
            .views
            .get(&n.v)
            .map_or((n.v, n.v), |view| (view.root, view.of));
        let now = self.contents(root);
        if now == of {
            return n;
        }
        let view = self.view_of(n.v);
        let mut v = now;
        for step in &view.steps {
            v = self.apply(v, step, span);
        }
        self.alias.views.insert(v, View { of: now, ..view });
        Node { v, weak: n.weak }
    }

    /// The instruction for one step.
    fn apply(&mut self, v: Value, step: &Step, span: Span) -> Value {
        let d = self.k.dtype(v);
        match step {
            Step::Slice(sel) => {
                let counts = sel.iter().map(|s| s.2).collect();
                self.k
                    .push(Inst::Slice(v, sel.clone()), Type::array(d, counts), span)
            }
            Step::Reshape(shape) => {
                self.k
                    .push(Inst::Reshape(v), Type::array(d, shape.clone()), span)
            }
        }
    }

    /// Remembers that `v` selects between two different views (it cannot be
    /// written through).
    pub(crate) fn mark_ambiguous(&mut self, v: Value, span: Span) {
        self.alias.ambiguous.insert(v, span);
    }

    /// Is `v` a view of an object, or an object that has been written?
    pub(crate) fn is_shared(&self, v: Value) -> bool {
        self.alias.views.contains_key(&v)
    }

    /// The written objects' contents, to restore and merge around an `if`.
    pub(crate) fn alias_snapshot(&self) -> HashMap<Value, Value> {
        self.alias.contents.clone()
    }

    /// Puts back the contents of a snapshot, returning those it replaces.
    pub(crate) fn alias_restore(&mut self, s: HashMap<Value, Value>) -> HashMap<Value, Value> {
        std::mem::replace(&mut self.alias.contents, s)
    }

    /// After both branches of an `if` on `c`: each object written in either
    /// holds the select of the two branches' contents.
    pub(crate) fn merge_branches(
        &mut self,
        c: Node,
        then: HashMap<Value, Value>,
        other: HashMap<Value, Value>,
        span: Span,
    ) {
        let mut roots: Vec<Value> = then.keys().chain(other.keys()).copied().collect();
        roots.sort();
        roots.dedup();
        for root in roots {
            let a = then.get(&root).copied().unwrap_or(root);
            let b = other.get(&root).copied().unwrap_or(root);
            let merged = if a == b {
                a
            } else {
                let ty = self.k.ty(root).clone();
                self.k.push(Inst::Where(c.v, a, b), ty, span)
            };
            self.set_contents(root, merged);
        }
    }

    fn set_contents(&mut self, root: Value, contents: Value) {
        self.alias.contents.insert(root, contents);
        let strides = c_strides(&self.k.ty(root).shape);
        self.alias.views.insert(
            contents,
            View {
                root,
                steps: Vec::new(),
                of: contents,
                strides,
            },
        );
    }

    /// The root of the object `v` belongs to, if it is a state: its index.
    pub(crate) fn state_root(&self, v: Value) -> Option<u32> {
        match self.k.insts[self.root_of(v)].inst {
            Inst::State(i) => Some(i),
            _ => None,
        }
    }

    /// numpy's `target[...] = value` (after an in-place operator, `value` is
    /// already the target's dtype and shape): `value` cast to the target's
    /// dtype as numpy's assignment casts, broadcast to its shape, written into
    /// the target's object (not a state's: see [`Self::spliced`]); nothing
    /// after a diagnostic.
    pub(crate) fn write(&mut self, target: Node, value: Val, span: Span) {
        let target = self.resolve_node(target, span);
        if let Some(&made) = self.alias.ambiguous.get(&target.v) {
            self.error(
                Diagnostic::error(
                    Code::UNSUPPORTED_STATEMENT,
                    "this is a view of different memory depending on a run-time value",
                )
                .primary(span, "written here")
                .secondary(made, "the `if` that chooses the view")
                .note("numpy writes into whichever array the view belongs to; hardware cannot choose the memory at run time")
                .help("write into each array in its own branch of the `if`"),
            );
            return;
        }
        if let Some((root, contents)) = self.spliced(target, value, span) {
            self.set_contents(root, contents);
        }
    }

    /// The contents the object of `target` has once `value` is written into
    /// it, and the object's root: a state's update, or new contents of an array.
    pub(crate) fn spliced(
        &mut self,
        target: Node,
        value: Val,
        span: Span,
    ) -> Option<(Value, Value)> {
        let ty = self.k.ty(target.v).clone();
        let fill = self.fill(&ty, value, span)?;
        let view = self.view_of(target.v);
        let now = self.contents(view.root);
        Some((view.root, self.splice(now, &view.steps, fill, span)))
    }

    /// The elements to write: numpy's assignment casting (a Python int must fit
    /// the dtype, arrays convert as `astype` does) and broadcasting.
    fn fill(&mut self, target: &Type, value: Val, span: Span) -> Option<Fill> {
        let d = target.dtype;
        let n = match value {
            Val::Poison => return None,
            Val::Int(i) => self.python_int(i, d, span)?,
            Val::Bool(b) => self.constant(b as i128, d, span),
            Val::Node(n) => {
                if n.weak {
                    self.weak_fits(n, d, span)?;
                }
                self.coerce(&Val::Node(n), d, span)?
            }
            other => {
                let got = self.describe(&other);
                self.error(
                    Diagnostic::error(
                        Code::UNSUPPORTED_STATEMENT,
                        format!("cannot assign {got} into an array"),
                    )
                    .primary(span, "assigned here"),
                );
                return None;
            }
        };
        let shape = self.k.ty(n.v).shape.clone();
        if shape.is_empty() {
            return Some(Fill::Scalar(n.v));
        }
        if shape == target.shape {
            return Some(Fill::Array(n.v));
        }
        // numpy drops leading axes of length 1 of the value, then broadcasts
        let trimmed: Vec<u32> = {
            let lead = shape
                .iter()
                .take(shape.len().saturating_sub(target.shape.len()))
                .take_while(|&&x| x == 1)
                .count();
            shape[lead..].to_vec()
        };
        if !hissc_aop::verify::broadcastable(&trimmed, &target.shape) {
            self.error(
                Diagnostic::error(
                    Code::SHAPE,
                    format!(
                        "could not broadcast input array from shape {shape:?} into shape {:?}",
                        target.shape
                    ),
                )
                .primary(span, "numpy raises ValueError"),
            );
            return None;
        }
        let mut v = n.v;
        if trimmed != shape {
            v = self.k.push(Inst::Reshape(v), Type::array(d, trimmed), span);
        }
        let e = self.expand(Node { v, weak: false }, &target.shape, span);
        Some(Fill::Array(e.v))
    }

    /// `c` (contents of an object) with the view reached by `steps` replaced.
    fn splice(&mut self, c: Value, steps: &[Step], fill: Fill, span: Span) -> Value {
        // one value for every element: the shape it is seen in does not matter
        let mut steps = steps;
        if let Fill::Scalar(_) = fill {
            while let [head @ .., Step::Reshape(_)] = steps {
                steps = head;
            }
        }
        let Some((first, rest)) = steps.split_first() else {
            return match fill {
                Fill::Array(w) => w,
                Fill::Scalar(s) => {
                    let ty = self.k.ty(c).clone();
                    if ty.shape.is_empty() {
                        s
                    } else {
                        self.k.push(Inst::Broadcast(s), ty, span)
                    }
                }
            };
        };
        let shape = self.k.ty(c).shape.clone();
        match first {
            Step::Reshape(_) => {
                let inner = self.apply(c, first, span);
                let new = self.splice(inner, rest, fill, span);
                let d = self.k.dtype(c);
                self.k.push(Inst::Reshape(new), Type::array(d, shape), span)
            }
            Step::Slice(sel) => match (fill, rest.is_empty()) {
                (Fill::Scalar(s), true) => self.fill_region(c, sel, s, span),
                (fill, _) => {
                    let inner = self.apply(c, first, span);
                    let new = self.splice(inner, rest, fill, span);
                    self.splice_box(c, sel, new, 0, span)
                }
            },
        }
    }

    /// `np.where(in_region, s, c)`: the region of a basic slice, from the
    /// elements' coordinates (counters in hardware).
    fn fill_region(&mut self, c: Value, sel: &[(u32, u32, u32)], s: Value, span: Span) -> Value {
        let ty = self.k.ty(c).clone();
        let flat = self.iota(ty.shape.clone(), span);
        let mut mask: Option<Node> = None;
        for (axis, (&(start, step, count), &dim)) in sel.iter().zip(&ty.shape).enumerate() {
            if (start, step, count) == (0, 1, dim) {
                continue;
            }
            let coord = self.coordinate(flat, &ty.shape, axis, span);
            let last = start + (count - 1) * step;
            let mut conds = Vec::new();
            if start > 0 {
                conds.push(self.int64_compare(CmpOp::Ge, coord, start as i128, span));
            }
            if last + 1 < dim {
                conds.push(self.int64_compare(CmpOp::Le, coord, last as i128, span));
            }
            if step > 1 {
                let from = if start > 0 {
                    self.int64_op(BinaryOp::Sub, coord, start as i128, span)
                } else {
                    coord
                };
                let phase = self.int64_op(BinaryOp::Mod, from, step as i128, span);
                conds.push(self.int64_compare(CmpOp::Eq, phase, 0, span));
            }
            for cnd in conds {
                mask = Some(match mask {
                    None => cnd,
                    Some(m) => {
                        let ty = self.k.ty(m.v).clone();
                        let v = self
                            .k
                            .push(Inst::Binary(BinaryOp::And, m.v, cnd.v), ty, span);
                        Node { v, weak: false }
                    }
                });
            }
        }
        match mask {
            Some(m) => self.k.push(Inst::Where(m.v, s, c), ty, span),
            None => self.k.push(Inst::Broadcast(s), ty, span),
        }
    }

    /// `c` with the box `sel` (whole on the axes before `axis`) replaced by `w`
    /// (of the box's shape): the parts around the box joined with it, axis by
    /// axis (`np.concatenate`); a strided axis is split into (count, step) so
    /// that the box takes the first of each group.
    fn splice_box(
        &mut self,
        c: Value,
        sel: &[(u32, u32, u32)],
        w: Value,
        axis: usize,
        span: Span,
    ) -> Value {
        let ty = self.k.ty(c).clone();
        let (shape, d) = (ty.shape.clone(), ty.dtype);
        if axis == shape.len() {
            return w;
        }
        let (start, step, count) = sel[axis];
        let dim = shape[axis];
        if start == 0 && step == 1 && count == dim {
            return self.splice_box(c, sel, w, axis + 1, span);
        }
        // the slice of `x` along `axis` from `a` to `b` (whole elsewhere)
        let cut = |me: &mut Self, x: Value, a: u32, b: u32| -> Value {
            let xs = me.k.ty(x).shape.clone();
            if a == 0 && b == xs[axis] {
                return x;
            }
            let s: Vec<(u32, u32, u32)> = xs
                .iter()
                .enumerate()
                .map(|(i, &n)| if i == axis { (a, 1, b - a) } else { (0, 1, n) })
                .collect();
            me.apply(x, &Step::Slice(s), span)
        };
        let (end, mid) = if step == 1 || count == 1 {
            let end = start + count;
            let part = cut(self, c, start, end);
            let mut inner_sel = sel.to_vec();
            inner_sel[axis] = (0, 1, count);
            (end, self.splice_box(part, &inner_sel, w, axis + 1, span))
        } else if start + count * step > dim {
            // the last group is cut short: the others first, then the last element
            let head_w = cut(self, w, 0, count - 1);
            let mut head_sel = sel.to_vec();
            head_sel[axis] = (start, step, count - 1);
            let c1 = self.splice_box(c, &head_sel, head_w, axis, span);
            let tail_w = cut(self, w, count - 1, count);
            let mut tail_sel = sel.to_vec();
            tail_sel[axis] = (start + (count - 1) * step, 1, 1);
            return self.splice_box(c1, &tail_sel, tail_w, axis, span);
        } else {
            // groups of `step` along the axis: the box is the first of each group
            let end = start + count * step;
            let groups = cut(self, c, start, end);
            let mut split = shape.clone();
            split[axis] = count;
            split.insert(axis + 1, step);
            let grouped = self
                .k
                .push(Inst::Reshape(groups), Type::array(d, split), span);
            let mut wsplit = self.k.ty(w).shape.clone();
            wsplit.insert(axis + 1, 1);
            let w1 = self.k.push(Inst::Reshape(w), Type::array(d, wsplit), span);
            let mut gsel = sel.to_vec();
            gsel[axis] = (0, 1, count);
            gsel.insert(axis + 1, (0, 1, 1));
            let spliced = self.splice_box(grouped, &gsel, w1, axis, span);
            let mut mid_shape = shape.clone();
            mid_shape[axis] = count * step;
            let mid = self
                .k
                .push(Inst::Reshape(spliced), Type::array(d, mid_shape), span);
            (end, mid)
        };
        let mut parts = Vec::new();
        if start > 0 {
            parts.push(cut(self, c, 0, start));
        }
        parts.push(mid);
        if end < dim {
            parts.push(cut(self, c, end, dim));
        }
        self.join(parts, axis, d, &shape, span)
    }

    fn join(
        &mut self,
        parts: Vec<Value>,
        axis: usize,
        d: DType,
        shape: &[u32],
        span: Span,
    ) -> Value {
        if parts.len() == 1 {
            return parts[0];
        }
        self.k.push(
            Inst::Concat(parts, axis as u32),
            Type::array(d, shape.to_vec()),
            span,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_views_follow_numpy() {
        // a C-contiguous array reshapes as a view
        assert!(nocopy_reshape(&[6, 10], &c_strides(&[6, 10]), &[60]).is_some());
        // rows of a column slice cannot be merged: numpy copies
        assert!(nocopy_reshape(&[6, 4], &[10, 1], &[24]).is_none());
        // splitting an axis of a strided view keeps a view
        assert_eq!(
            nocopy_reshape(&[6, 4], &[10, 1], &[6, 2, 2]),
            Some(vec![10, 2, 1])
        );
        // a row slice is contiguous
        assert_eq!(nocopy_reshape(&[2, 10], &[10, 1], &[20]), Some(vec![1]));
        // new axes of length 1
        assert!(nocopy_reshape(&[4], &[2], &[1, 4, 1]).is_some());
    }

    #[test]
    fn contiguity_ignores_axes_of_one() {
        assert!(is_c_contiguous(&[1, 10], &[999, 1]));
        assert!(!is_c_contiguous(&[2, 4], &[10, 1]));
        assert!(is_c_contiguous(&[2, 10], &[10, 1]));
    }
}
