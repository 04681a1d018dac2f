//! Expressions and operators, with numpy 2's promotion (NEP 50) and broadcasting.

use super::{describe_ty, Frame, Lowerer, Node, Truth, Val};
use crate::syntax::span_of;
use hissc_aop::verify::broadcastable;
use hissc_aop::{BinaryOp, CmpOp, DType, Inst, Interval, Shape, Type, UnaryOp};
use hissc_diagnostics::{Code, Diagnostic, Span};
use rustpython_parser::ast::{self, Constant, Expr, Operator};

/// How an operand takes part in promotion.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A numpy array or scalar with a dtype.
    Strong(DType),
    /// A Python int (its value if known at compile time).
    WeakInt(Option<i128>),
    /// A Python bool.
    WeakBool,
}

impl Lowerer<'_> {
    pub(crate) fn expr(&mut self, f: &mut Frame, e: &Expr) -> Val {
        let span = span_of(e);
        match e {
            Expr::Constant(c) => match &c.value {
                Constant::Int(i) => match i.to_string().parse::<i128>() {
                    Ok(v) if v.unsigned_abs() < 1u128 << hissc_aop::limits::INT_BITS => Val::Int(v),
                    _ => self.error(
                        Diagnostic::error(Code::DTYPE, "this integer is too large for any dtype")
                            .primary(span, "does not fit 64 bits"),
                    ),
                },
                Constant::Bool(b) => Val::Bool(*b),
                Constant::None => Val::None,
                // only module-level constants get here: inside functions the
                // subset rules reject float literals
                Constant::Float(x) => Val::Float(*x, span),
                Constant::Ellipsis => Val::Ellipsis,
                _ => Val::Poison, // reported by the subset rules
            },
            Expr::Name(n) => self.lookup(f, n.id.as_str(), span),
            Expr::Tuple(t) => Val::Tuple(t.elts.iter().map(|x| self.expr(f, x)).collect()),
            Expr::List(l) => Val::Tuple(l.elts.iter().map(|x| self.expr(f, x)).collect()),
            Expr::BinOp(b) => {
                let l = self.expr(f, &b.left);
                let r = self.expr(f, &b.right);
                self.binop(b.op, l, r, span)
            }
            Expr::UnaryOp(u) => {
                let v = self.expr(f, &u.operand);
                self.unary(u.op, v, span)
            }
            Expr::BoolOp(b) => self.boolop(f, b, span),
            Expr::Compare(c) => {
                let mut left = self.expr(f, &c.left);
                let mut result: Option<Val> = None;
                for (op, right) in c.ops.iter().zip(&c.comparators) {
                    let r = self.expr(f, right);
                    let v = self.compare(*op, left, r.clone(), span);
                    result = Some(match (result, v) {
                        (None, v) => v,
                        (Some(Val::Bool(a)), Val::Bool(b)) => Val::Bool(a && b),
                        (Some(Val::Poison), _) | (_, Val::Poison) => Val::Poison,
                        _ => {
                            return self.error(
                                Diagnostic::error(
                                    Code::UNSUPPORTED_EXPRESSION,
                                    "chained comparisons of run-time values are not supported",
                                )
                                .primary(span, "chained comparison")
                                .help("compare twice and combine with `&`: `(a < b) & (b < c)`"),
                            )
                        }
                    });
                    left = r;
                }
                result.unwrap_or(Val::Poison)
            }
            Expr::IfExp(i) => {
                let test = self.expr(f, &i.test);
                match self.truth(test, span_of(&*i.test)) {
                    Truth::Known(true) => self.expr(f, &i.body),
                    Truth::Known(false) => self.expr(f, &i.orelse),
                    Truth::Poison => Val::Poison,
                    Truth::Dynamic(c) => {
                        let a = self.expr(f, &i.body);
                        let b = self.expr(f, &i.orelse);
                        self.select(c, a, b, span)
                    }
                }
            }
            Expr::Call(c) => self.call(f, c, span),
            Expr::Attribute(a) => {
                let base = self.expr(f, &a.value);
                self.attribute(base, a.attr.as_str(), span)
            }
            Expr::Subscript(s) => {
                let base = self.expr(f, &s.value);
                let index = self.expr(f, &s.slice);
                self.subscript(base, index, &s.slice, span)
            }
            Expr::Slice(sl) => {
                let mut part = |x: &Option<Box<Expr>>| -> Result<Option<i128>, ()> {
                    let Some(x) = x else {
                        return Ok(None);
                    };
                    match self.expr(f, x) {
                        Val::Int(i) => Ok(Some(i)),
                        Val::None => Ok(None),
                        Val::Poison => Err(()),
                        _ => {
                            self.error(
                                Diagnostic::error(
                                    Code::NOT_CONSTANT,
                                    "slice bounds must be compile-time integers",
                                )
                                .primary(span_of(&**x), "not a compile-time integer")
                                .note("loop variables, locals and helper arguments are fine where their values are integers known at compile time"),
                            );
                            Err(())
                        }
                    }
                };
                match (part(&sl.lower), part(&sl.upper), part(&sl.step)) {
                    (Ok(a), Ok(b), Ok(c)) => Val::Slice(a, b, c),
                    _ => Val::Poison,
                }
            }
            _ => Val::Poison, // reported by the subset rules
        }
    }

    fn attribute(&mut self, base: Val, attr: &str, span: Span) -> Val {
        match base {
            Val::Poison => Val::Poison,
            Val::Hiss => match super::hiss_value(attr) {
                Some(v) => v,
                None => self.error(
                    Diagnostic::error(
                        Code::UNDEFINED_NAME,
                        format!("`hiss.{attr}` is not a name a kernel can use"),
                    )
                    .primary(span, "not in hiss")
                    .help("kernels use `hiss.kernel`, `hiss.Array`, `hiss.State`, `hiss.Vec` and the range types `hiss.u12`, `hiss.i14`, ..."),
                ),
            },
            Val::Numpy => match DType::from_numpy_name(attr) {
                Some(d) => Val::DType(d),
                None if attr == "newaxis" => Val::None,
                None => {
                    if crate::names::np_function(attr).is_some() {
                        self.error(
                            Diagnostic::error(
                                Code::UNSUPPORTED_EXPRESSION,
                                format!("`np.{attr}` can only be called"),
                            )
                            .primary(span, "used as a value"),
                        )
                    } else {
                        Val::Poison // reported by the subset rules
                    }
                }
            },
            Val::Empty(d, shape) => match attr {
                "shape" => Val::Tuple(shape.iter().map(|&x| Val::Int(x as i128)).collect()),
                "size" => Val::Int(0),
                "ndim" => Val::Int(shape.len() as i128),
                "dtype" => Val::DType(d),
                _ => self.error(
                    Diagnostic::error(
                        Code::UNKNOWN_FUNCTION,
                        format!("an empty array's `{attr}` is not supported in kernels"),
                    )
                    .primary(span, "unknown attribute")
                    .note("an empty array has `.shape`, `.size`, `.ndim` and `.dtype`"),
                ),
            },
            Val::Node(n) => {
                let ty = self.k.ty(n.v).clone();
                match attr {
                    "shape" => Val::Tuple(ty.shape.iter().map(|&d| Val::Int(d as i128)).collect()),
                    "size" => Val::Int(ty.numel() as i128),
                    "ndim" => Val::Int(ty.shape.len() as i128),
                    "dtype" => Val::DType(ty.dtype),
                    _ => self.error(
                        Diagnostic::error(
                            Code::UNKNOWN_FUNCTION,
                            format!("arrays have no attribute `{attr}` in the kernel language"),
                        )
                        .primary(span, "unknown attribute")
                        .note("array attributes are `.shape`, `.size`, `.ndim` and `.dtype`"),
                    ),
                }
            }
            Val::Table(t) => match attr {
                "shape" => Val::Tuple(
                    t.values
                        .shape
                        .iter()
                        .map(|&d| Val::Int(d as i128))
                        .collect(),
                ),
                "size" => Val::Int(t.values.data.len() as i128),
                _ => self.error(
                    Diagnostic::error(
                        Code::UNKNOWN_FUNCTION,
                        format!("tables have no attribute `{attr}`"),
                    )
                    .primary(span, "unknown attribute"),
                ),
            },
            other => {
                let what = self.describe(&other);
                self.error(
                    Diagnostic::error(
                        Code::UNKNOWN_FUNCTION,
                        format!("{what} has no attribute `{attr}`"),
                    )
                    .primary(span, "unknown attribute"),
                )
            }
        }
    }

    pub(crate) fn subscript(
        &mut self,
        base: Val,
        index: Val,
        index_expr: &Expr,
        span: Span,
    ) -> Val {
        match (base, index) {
            (Val::Poison, _) | (_, Val::Poison) => Val::Poison,
            (Val::Tuple(items), Val::Int(i)) => {
                let n = items.len() as i128;
                let j = if i < 0 { i + n } else { i };
                if (0..n).contains(&j) {
                    items[j as usize].clone()
                } else {
                    self.error(
                        Diagnostic::error(
                            Code::ARGUMENTS,
                            format!("index {i} is out of range for a tuple of {n}"),
                        )
                        .primary(span_of(index_expr), "out of range"),
                    )
                }
            }
            // a table of several dimensions: a constant index gives a row (a
            // table again), an index tuple is applied one axis at a time
            (Val::Table(t), Val::Int(i)) if t.values.shape.len() > 1 => {
                let n = t.values.shape[0] as i128;
                let j = if i < 0 { i + n } else { i };
                if !(0..n).contains(&j) {
                    return self.error(
                        Diagnostic::error(
                            Code::INDEX_RANGE,
                            format!("index {i} is out of bounds for axis 0 of a table of {n} rows"),
                        )
                        .primary(span_of(index_expr), "numpy raises IndexError")
                        .secondary(t.span, "table defined here"),
                    );
                }
                let rest = t.values.shape[1..].to_vec();
                let stride: usize = rest.iter().map(|&d| d as usize).product();
                let data = t.values.data[j as usize * stride..(j as usize + 1) * stride].to_vec();
                Val::Table(std::rc::Rc::new(super::Table {
                    values: hissc_aop::Array::new(t.values.dtype, rest, data),
                    span: t.span,
                }))
            }
            (Val::Table(t), Val::Tuple(items))
                if !items.is_empty() && items.len() <= t.values.shape.len() =>
            {
                let mut cur = Val::Table(t);
                for it in items {
                    cur = self.subscript(cur, it, index_expr, span);
                }
                cur
            }
            (Val::Table(t), Val::Node(_)) if t.values.shape.len() > 1 => self.error(
                Diagnostic::error(
                    Code::UNSUPPORTED_EXPRESSION,
                    format!(
                        "a table of {} dimensions is indexed by an array",
                        t.values.shape.len()
                    ),
                )
                .primary(span_of(index_expr), "a run-time index before the last axis")
                .secondary(t.span, "table defined here")
                .help("index the leading axes with constants (`T[1][x]`, `T[1, x]`), or flatten the table and index it with `row * W + col`"),
            ),
            (Val::Table(t), Val::Int(i)) => {
                let n = t.values.data.len() as i128;
                let j = if i < 0 { i + n } else { i };
                if !(0..n).contains(&j) {
                    return self.error(
                        Diagnostic::error(
                            Code::INDEX_RANGE,
                            format!("index {i} is out of bounds for a table of {n}"),
                        )
                        .primary(span_of(index_expr), "numpy raises IndexError")
                        .secondary(t.span, "table defined here"),
                    );
                }
                let d = t.values.dtype;
                Val::Node(self.constant(t.values.data[j as usize], d, span))
            }
            (Val::Table(t), Val::Node(ix)) => self.gather(&t, ix, span),
            (Val::Node(n), Val::Node(m))
                if self.k.dtype(m.v) == DType::Bool && !self.k.ty(m.v).shape.is_empty() =>
            {
                self.masked(n, m, span)
            }
            (Val::Node(n), index) => self.slice(n, index, index_expr, span),
            (b, _) => {
                let what = self.describe(&b);
                self.error(
                    Diagnostic::error(
                        Code::UNSUPPORTED_EXPRESSION,
                        format!("{what} cannot be indexed"),
                    )
                    .primary(span, "indexing"),
                )
            }
        }
    }

    /// `LUT[x]`: a ROM read, the index proven in range.
    fn gather(&mut self, t: &super::Table, ix: Node, span: Span) -> Val {
        let len = t.values.data.len() as i128;
        if self.k.dtype(ix.v) == DType::Bool {
            return self.error(
                Diagnostic::error(
                    Code::UNSUPPORTED_EXPRESSION,
                    "boolean masks cannot index a table",
                )
                .primary(span, "boolean index")
                .help("use `np.where(mask, LUT[x], 0)` to select"),
            );
        }
        let r = self.range(ix.v);
        if r.lo < 0 || r.hi >= len {
            return self.error(
                Diagnostic::error(
                    Code::INDEX_RANGE,
                    format!("the index may be outside the table of {len} entries"),
                )
                .primary(
                    span,
                    format!("the index can be anything in [{}, {}]", r.lo, r.hi),
                )
                .secondary(t.span, "table defined here")
                .help(format!(
                    "clip it, e.g. `LUT[np.clip(x, 0, {})]`, or use a range type for the input",
                    len - 1
                )),
            );
        }
        let d = t.values.dtype;
        let table = self.k.push(
            Inst::Table(t.values.data.clone()),
            Type::array(d, vec![len as u32]),
            t.span,
        );
        let shape = self.k.ty(ix.v).shape.clone();
        self.push(
            Inst::Gather(table, ix.v),
            Type::array(d, shape),
            span,
            false,
        )
    }

    /// Basic indexing: integers, slices with constant bounds and positive steps,
    /// and `None` (`np.newaxis`) for a new axis of length 1.
    fn slice(&mut self, n: Node, index: Val, index_expr: &Expr, span: Span) -> Val {
        let ty = self.k.ty(n.v).clone();
        let items: Vec<(Val, Span)> = match (&index, index_expr) {
            (Val::Tuple(vs), Expr::Tuple(t)) => {
                vs.iter().cloned().zip(t.elts.iter().map(span_of)).collect()
            }
            (Val::Tuple(vs), e) => vs.iter().cloned().map(|v| (v, span_of(e))).collect(),
            _ => vec![(index.clone(), span_of(index_expr))],
        };
        // `...` stands for a whole slice of every axis not indexed otherwise
        let explicit = items
            .iter()
            .filter(|(v, _)| !matches!(v, Val::None | Val::Ellipsis))
            .count();
        let ellipses = items
            .iter()
            .filter(|(v, _)| matches!(v, Val::Ellipsis))
            .count();
        if ellipses > 1 {
            return self.error(
                Diagnostic::error(
                    Code::SHAPE,
                    "an index can only have a single ellipsis (`...`)",
                )
                .primary(span, "numpy raises IndexError"),
            );
        }
        let items: Vec<(Val, Span)> = items
            .into_iter()
            .flat_map(|(v, s)| match v {
                Val::Ellipsis => {
                    let n = ty.shape.len().saturating_sub(explicit);
                    vec![(Val::Slice(None, None, None), s); n]
                }
                v => vec![(v, s)],
            })
            .collect();
        let axes_indexed = items
            .iter()
            .filter(|(v, _)| !matches!(v, Val::None))
            .count();
        if axes_indexed > ty.shape.len() {
            return self.error(
                Diagnostic::error(
                    Code::SHAPE,
                    format!(
                        "too many indices for an array of dimension {}",
                        ty.shape.len()
                    ),
                )
                .primary(span, "numpy raises IndexError"),
            );
        }
        let mut sel = Vec::new();
        // the result's shape: kept axes, and 1 for each `None`
        let mut keep = Vec::new();
        let mut empty = false;
        let mut items = items.into_iter();
        let mut d = 0;
        while d < ty.shape.len() {
            let dim = ty.shape[d];
            let dim_i = dim as i128;
            let Some((v, esp)) = items.next() else {
                sel.push((0, 1, dim));
                keep.push(dim);
                d += 1;
                continue;
            };
            match v {
                Val::Poison => return Val::Poison,
                Val::None => {
                    keep.push(1);
                    continue;
                }
                Val::Int(i) => {
                    let j = if i < 0 { i + dim_i } else { i };
                    if !(0..dim_i).contains(&j) {
                        return self.error(
                            Diagnostic::error(
                                Code::SHAPE,
                                format!("index {i} is out of bounds for axis {d} with size {dim}"),
                            )
                            .primary(esp, "numpy raises IndexError"),
                        );
                    }
                    sel.push((j as u32, 1, 1));
                }
                Val::Slice(start, stop, step) => {
                    let step = step.unwrap_or(1);
                    if step <= 0 {
                        return self.error(
                            Diagnostic::error(
                                Code::NOT_STREAMABLE,
                                "slices with a step below 1 are not supported",
                            )
                            .primary(esp, "the elements would be needed in reverse order")
                            .help(
                                "hardware streams each frame once, in order; reverse on the host",
                            ),
                        );
                    }
                    let norm = |x: i128| {
                        if x < 0 {
                            (x + dim_i).max(0)
                        } else {
                            x.min(dim_i)
                        }
                    };
                    let start = start.map_or(0, norm);
                    let stop = stop.map_or(dim_i, norm);
                    let count = if stop > start {
                        (stop - start + step - 1) / step
                    } else {
                        0
                    };
                    if count == 0 {
                        // numpy's empty array: its shape still counts
                        empty = true;
                        sel.push((0, 1, 0));
                        keep.push(0);
                        d += 1;
                        continue;
                    }
                    // count <= dim and step < dim unless count == 1
                    let step = if count == 1 { 1 } else { step };
                    sel.push((start as u32, step as u32, count as u32));
                    keep.push(count as u32);
                }
                _ => {
                    return self.error(
                        Diagnostic::error(
                            Code::UNSUPPORTED_EXPRESSION,
                            "arrays can be indexed by integer constants, slices and `None` only",
                        )
                        .primary(esp, "not a constant index or slice")
                        .help("for a per-element choice use `np.where(mask, a, b)`"),
                    )
                }
            }
            d += 1;
        }
        // trailing `None`s
        for (v, _) in items {
            debug_assert!(matches!(v, Val::None));
            keep.push(1);
        }
        if empty {
            return Val::Empty(ty.dtype, keep);
        }
        let counts: Vec<u32> = sel.iter().map(|x| x.2).collect();
        let whole = sel.iter().zip(&ty.shape).all(|(s, &dim)| *s == (0, 1, dim));
        // basic indexing gives views of the array's memory
        let v = if whole {
            n.v
        } else {
            let v = self.k.push(
                Inst::Slice(n.v, sel.clone()),
                Type::array(ty.dtype, counts.clone()),
                span,
            );
            self.record_view(n.v, super::alias::Step::Slice(sel), v);
            v
        };
        let v = if keep != counts {
            let r = self
                .k
                .push(Inst::Reshape(v), Type::array(ty.dtype, keep.clone()), span);
            self.record_view(v, super::alias::Step::Reshape(keep), r);
            r
        } else {
            v
        };
        Val::Node(Node { v, weak: false })
    }

    fn boolop(&mut self, f: &mut Frame, b: &ast::ExprBoolOp, span: Span) -> Val {
        let is_and = matches!(b.op, ast::BoolOp::And);
        let mut last = Val::Poison;
        for v in &b.values {
            let x = self.expr(f, v);
            match self.truth(x.clone(), span_of(v)) {
                Truth::Known(t) => {
                    last = x;
                    if t != is_and {
                        return last;
                    }
                }
                Truth::Poison => return Val::Poison,
                Truth::Dynamic(_) => {
                    let op = if is_and { "and" } else { "or" };
                    return self.error(
                        Diagnostic::error(
                            Code::UNSUPPORTED_EXPRESSION,
                            format!("`{op}` on run-time values is not supported"),
                        )
                        .primary(span, format!("`{op}` needs a compile-time truth value"))
                        .help(format!(
                            "use `{}` or `np.logical_{op}(a, b)` on boolean values",
                            if is_and { "&" } else { "|" }
                        )),
                    );
                }
            }
        }
        last
    }

    /// The truth of a value used as a condition.
    pub(crate) fn truth(&mut self, v: Val, span: Span) -> Truth {
        match v {
            Val::Int(i) => Truth::Known(i != 0),
            Val::Bool(b) => Truth::Known(b),
            Val::None => Truth::Known(false),
            Val::Tuple(t) => Truth::Known(!t.is_empty()),
            Val::Poison => Truth::Poison,
            Val::Node(n) => {
                let ty = self.k.ty(n.v).clone();
                if !ty.is_scalar() {
                    self.error(
                        Diagnostic::error(Code::DTYPE, format!("the truth value of {} is ambiguous", describe_ty(&ty)))
                            .primary(span, "an array used as a condition")
                            .help("use `np.where(cond, a, b)` for an elementwise choice, or `.any()` / `.all()`"),
                    );
                    return Truth::Poison;
                }
                Truth::Dynamic(self.truth_node(n, span))
            }
            other => {
                let what = self.describe(&other);
                self.error(
                    Diagnostic::error(
                        Code::UNSUPPORTED_EXPRESSION,
                        format!("{what} cannot be used as a condition"),
                    )
                    .primary(span, "condition"),
                );
                Truth::Poison
            }
        }
    }

    /// `x != 0` unless `x` is already boolean.
    pub(crate) fn truth_node(&mut self, n: Node, span: Span) -> Node {
        let ty = self.k.ty(n.v).clone();
        if ty.dtype == DType::Bool {
            return n;
        }
        let zero = self.constant(0, ty.dtype, span);
        let v = self.k.push(
            Inst::Compare(CmpOp::Ne, n.v, zero.v),
            Type::array(DType::Bool, ty.shape),
            span,
        );
        Node { v, weak: n.weak }
    }

    fn kind(&self, v: &Val) -> Option<Kind> {
        match v {
            Val::Int(i) => Some(Kind::WeakInt(Some(*i))),
            Val::Bool(_) => Some(Kind::WeakBool),
            Val::Node(n) => {
                let d = self.k.dtype(n.v);
                Some(match (n.weak, d) {
                    (true, DType::Bool) => Kind::WeakBool,
                    (true, _) => Kind::WeakInt(None),
                    (false, d) => Kind::Strong(d),
                })
            }
            _ => None,
        }
    }

    /// The dtype of a numpy (strong) integer operand, not bool.
    pub(crate) fn strong_int(&self, v: &Val) -> Option<DType> {
        match self.kind(v)? {
            Kind::Strong(d) if d.is_integer() && d != DType::Bool => Some(d),
            _ => None,
        }
    }

    pub(crate) fn operand_error(&mut self, v: &Val, span: Span) -> Val {
        if let Val::Float(_, at) = v {
            return self.error(
                Diagnostic::error(
                    Code::FLOAT,
                    "floating-point arithmetic is not supported in kernels",
                )
                .primary(span, "computes with a Python float")
                .secondary(*at, "the float is defined here")
                .help("kernels compute with integers; scale to an integer and shift back with `>>` (comparisons with a float constant are fine)"),
            );
        }
        if let Val::FloatEdges(at) = v {
            return self.error(
                Diagnostic::error(
                    Code::FLOAT,
                    "the bin edges of `np.histogram` are float64, which kernels do not have",
                )
                .primary(span, "uses the edges")
                .secondary(*at, "the edges come from here")
                .help("use only the counts: `counts, _ = np.histogram(...)`"),
            );
        }
        let what = self.describe(v);
        self.error(
            Diagnostic::error(
                Code::UNSUPPORTED_EXPRESSION,
                format!("{what} cannot be used in arithmetic"),
            )
            .primary(span, "not a number or an array"),
        )
    }

    /// Is the value known at compile time (a literal or a numpy constant)?
    pub(crate) fn is_constant(&self, v: &Val) -> bool {
        match v {
            Val::Int(_) | Val::Bool(_) => true,
            Val::Node(n) => matches!(self.k.insts[n.v].inst, Inst::Const(_)),
            _ => false,
        }
    }

    /// numpy 2's result dtype for two operands, and whether the result is weak.
    pub(crate) fn promote(&mut self, a: &Val, b: &Val, span: Span) -> Option<(DType, bool)> {
        let (ka, kb) = (self.kind(a)?, self.kind(b)?);
        use Kind::*;
        let strong_with_weak = |this: &mut Self, d: DType, w: Kind| -> Option<(DType, bool)> {
            let d = match (d, w) {
                (DType::Bool, WeakInt(_)) => DType::I64,
                (d, _) => d,
            };
            if let WeakInt(Some(v)) = w {
                if !d.holds(v) {
                    this.error(
                        Diagnostic::error(
                            Code::DTYPE,
                            format!("Python integer {v} out of bounds for {}", d.numpy_name()),
                        )
                        .primary(
                            span,
                            format!(
                                "numpy raises OverflowError: {v} does not fit {}",
                                d.numpy_name()
                            ),
                        )
                        .help(format!(
                            "cast the array first, e.g. `.astype(np.{})`",
                            wider(d).numpy_name()
                        )),
                    );
                    return None;
                }
            }
            Some((d, false))
        };
        match (ka, kb) {
            (Strong(x), Strong(y)) => match DType::promote(x, y) {
                Some(d) => Some((d, false)),
                None => {
                    self.error(
                        Diagnostic::error(Code::FLOAT, format!("numpy promotes {} with {} to float64", x.numpy_name(), y.numpy_name()))
                            .primary(span, "mixed uint64 and signed integers")
                            .help("cast one operand with `.astype(...)` so both are signed or both unsigned"),
                    );
                    None
                }
            },
            (Strong(d), w) | (w, Strong(d)) => {
                let r = strong_with_weak(self, d, w)?;
                // a Python int computed at run time (`np.count_nonzero`) must fit too
                let weak_node = [a, b].into_iter().find_map(|v| match v {
                    Val::Node(n) if n.weak && self.k.dtype(n.v) != DType::Bool => Some(*n),
                    _ => None,
                });
                if let Some(n) = weak_node {
                    self.weak_fits(n, r.0, span)?;
                }
                Some(r)
            }
            (WeakBool, WeakBool) => Some((DType::Bool, true)),
            _ => Some((DType::I64, true)),
        }
    }

    /// A run-time Python int meets a numpy dtype: numpy raises OverflowError when
    /// the value does not fit, so hissc must prove that it always does.
    pub(crate) fn weak_fits(&mut self, n: Node, d: DType, span: Span) -> Option<()> {
        let r = self.range(n.v);
        if r.within(Interval::of(d)) {
            return Some(());
        }
        self.error(
            Diagnostic::error(Code::DTYPE, format!("a Python int in [{}, {}] may not fit {}", r.lo, r.hi, d.numpy_name()))
                .primary(span, "numpy raises OverflowError when it does not")
                .note("results such as `np.count_nonzero(a)` are Python ints, which take the other operand's dtype")
                .help(format!("convert it first, e.g. `np.int64(...)`, or cast the array to a wider dtype than {}", d.numpy_name())),
        );
        None
    }

    /// Converts an operand to an IR value of dtype `d`.
    pub(crate) fn coerce(&mut self, v: &Val, d: DType, span: Span) -> Option<Node> {
        match v {
            Val::Int(i) => Some(self.constant(d.wrap(*i), d, span)),
            Val::Bool(b) => Some(self.constant(*b as i128, d, span)),
            Val::Node(n) => {
                if self.k.dtype(n.v) == d {
                    Some(*n)
                } else {
                    let ty = Type::array(d, self.k.ty(n.v).shape.clone());
                    let v = self.k.push(Inst::Cast(n.v), ty, span);
                    Some(Node { v, weak: n.weak })
                }
            }
            _ => None,
        }
    }

    /// numpy's broadcast of operand shapes, or HS0302.
    pub(crate) fn broadcast_shapes(&mut self, nodes: &[Node], span: Span) -> Option<Shape> {
        let shapes: Vec<Shape> = nodes.iter().map(|n| self.k.ty(n.v).shape.clone()).collect();
        let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut out = vec![1u32; rank];
        for s in &shapes {
            for (i, &d) in s.iter().enumerate() {
                let o = &mut out[rank - s.len() + i];
                if *o == 1 {
                    *o = d;
                } else if d != 1 && d != *o {
                    let list: Vec<String> = shapes.iter().map(|s| format!("{s:?}")).collect();
                    self.error(
                        Diagnostic::error(Code::SHAPE, format!("operands could not be broadcast together with shapes {}", list.join(" ")))
                            .primary(span, "numpy raises ValueError here")
                            .note("supported: an array with a scalar, equal shapes, a row (W,) or a column (H, 1) against (H, W)"),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// Broadcasts a node to `shape` (no-op for 0-d nodes and equal shapes).
    pub(crate) fn expand(&mut self, n: Node, shape: &Shape, span: Span) -> Node {
        let ty = self.k.ty(n.v).clone();
        if ty.is_scalar() || ty.shape == *shape {
            return n;
        }
        debug_assert!(broadcastable(&ty.shape, shape));
        let v = self.k.push(
            Inst::Broadcast(n.v),
            Type::array(ty.dtype, shape.clone()),
            span,
        );
        Node { v, weak: n.weak }
    }

    /// An elementwise op of several operands already of one dtype.
    pub(crate) fn elementwise(
        &mut self,
        make: impl FnOnce(&[Node]) -> Inst,
        args: Vec<Node>,
        dtype: DType,
        weak: bool,
        span: Span,
    ) -> Val {
        let Some(shape) = self.broadcast_shapes(&args, span) else {
            return Val::Poison;
        };
        let args: Vec<Node> = args
            .into_iter()
            .map(|a| self.expand(a, &shape, span))
            .collect();
        let inst = make(&args);
        self.push(inst, Type::array(dtype, shape), span, weak)
    }

    /// A binary arithmetic or bitwise operation.
    pub(crate) fn binop(&mut self, op: Operator, a: Val, b: Val, span: Span) -> Val {
        // operands are read when the operator runs (a helper called for the
        // right operand may have written into the left one)
        let (a, b) = (self.resolve(a, span), self.resolve(b, span));
        if matches!(a, Val::Poison) || matches!(b, Val::Poison) {
            return Val::Poison;
        }
        if let Some(v) = self.fold_float(op, &a, &b, span) {
            return v;
        }
        if let (Some(x), Some(y)) = (const_int(&a), const_int(&b)) {
            let bools = matches!((&a, &b), (Val::Bool(_), Val::Bool(_)));
            return self.fold(op, x, y, bools, span);
        }
        let bop = match op {
            Operator::Add => BinaryOp::Add,
            Operator::Sub => BinaryOp::Sub,
            Operator::Mult => BinaryOp::Mul,
            Operator::FloorDiv => BinaryOp::FloorDiv,
            Operator::Mod => BinaryOp::Mod,
            Operator::LShift => BinaryOp::Shl,
            Operator::RShift => BinaryOp::Shr,
            Operator::BitAnd => BinaryOp::And,
            Operator::BitOr => BinaryOp::Or,
            Operator::BitXor => BinaryOp::Xor,
            Operator::Pow => return self.power(a, b, span),
            // `/` reaches here only in a comparison or a module-level constant
            // (elsewhere the subset rules refuse it): on run-time values it is
            // float division
            Operator::Div => {
                return self.error(
                    Diagnostic::error(
                        Code::FLOAT,
                        "true division `/` gives floating point, which kernels do not have",
                    )
                    .primary(span, "float division")
                    .help("use floor division `//` by a constant, or `>>` for a power of two"),
                )
            }
            Operator::MatMult => return Val::Poison, // reported by the subset rules
        };
        self.arith(bop, a, b, span)
    }

    /// A binary op of the IR on two operands, with promotion and broadcasting.
    /// numpy's elementwise operation `op` with an empty operand: an empty array
    /// of the shapes' broadcast and the dtype `op` gives for the operands' dtypes
    /// (found by applying it to a stand-in scalar of the empty one's dtype; the
    /// `dce` pass drops it). `None` when neither operand is empty.
    fn with_empty(
        &mut self,
        a: &Val,
        b: &Val,
        span: Span,
        op: impl FnOnce(&mut Self, Val, Val) -> Val,
    ) -> Option<Val> {
        if !matches!(a, Val::Empty(..)) && !matches!(b, Val::Empty(..)) {
            return None;
        }
        let mut shapes = Vec::new();
        let mut stand = |this: &mut Self, v: &Val| match v {
            Val::Empty(d, shape) => {
                shapes.push(shape.clone());
                Val::Node(this.constant(0, *d, span))
            }
            Val::Node(n) => {
                shapes.push(this.k.ty(n.v).shape.clone());
                v.clone()
            }
            other => other.clone(),
        };
        let (x, y) = (stand(self, a), stand(self, b));
        let mut out: Vec<u32> = Vec::new();
        for shape in &shapes {
            let rank = out.len().max(shape.len());
            let pad = |s: &[u32]| {
                let mut p = vec![1u32; rank - s.len()];
                p.extend_from_slice(s);
                p
            };
            let (p, q) = (pad(&out), pad(shape));
            let mut joined = Vec::with_capacity(rank);
            for (&m, &n) in p.iter().zip(&q) {
                joined.push(match (m, n) {
                    (m, n) if m == n => m,
                    (1, n) => n,
                    (m, 1) => m,
                    _ => {
                        let show = |s: &[u32]| format!("{s:?}").replace('[', "(").replace(']', ")");
                        return Some(self.error(
                            Diagnostic::error(
                                Code::SHAPE,
                                format!("operands could not be broadcast together with shapes {} {}", show(&out), show(shape)),
                            )
                            .primary(span, "numpy raises ValueError"),
                        ));
                    }
                });
            }
            out = joined;
        }
        Some(match op(self, x, y) {
            Val::Node(n) => Val::Empty(self.k.dtype(n.v), out),
            Val::Poison => Val::Poison,
            other => self.operand_error(&other, span),
        })
    }

    pub(crate) fn arith(&mut self, op: BinaryOp, a: Val, b: Val, span: Span) -> Val {
        if matches!(a, Val::Poison) || matches!(b, Val::Poison) {
            return Val::Poison;
        }
        if let Some(v) = self.with_empty(&a, &b, span, |this, x, y| this.arith(op, x, y, span)) {
            return v;
        }
        let (a, b) = (self.table_array(a, span), self.table_array(b, span));
        for v in [&a, &b] {
            if self.kind(v).is_none() {
                return self.operand_error(v, span);
            }
        }
        if matches!(op, BinaryOp::FloorDiv | BinaryOp::Mod) && !self.is_constant(&b) {
            let sym = if op == BinaryOp::FloorDiv { "//" } else { "%" };
            return self.error(
                Diagnostic::error(Code::NOT_CONSTANT, format!("`{sym}` needs a compile-time constant divisor"))
                    .primary(span, "divisor known only at run time")
                    .note("hissc divides by constants with a multiplier and a shift; it does not build dividers")
                    .help("divide by a constant, or by a power of two with `>>`"),
            );
        }
        let Some((mut d, weak)) = self.promote(&a, &b, span) else {
            return Val::Poison;
        };
        if d == DType::Bool {
            match op {
                BinaryOp::Sub => {
                    return self.error(
                        Diagnostic::error(Code::DTYPE, "numpy does not subtract booleans")
                            .primary(span, "numpy raises TypeError for `-` on bool")
                            .help("use `^` (exclusive or) or `& ~` on booleans, or cast to an integer dtype first"),
                    )
                }
                BinaryOp::FloorDiv | BinaryOp::Mod | BinaryOp::Shl | BinaryOp::Shr => d = DType::I8,
                _ => {}
            }
            if weak {
                // Python bools: `True + True == 2`
                if matches!(
                    op,
                    BinaryOp::Add | BinaryOp::Mul | BinaryOp::Min | BinaryOp::Max
                ) {
                    d = DType::I64;
                }
            }
        }
        let (Some(x), Some(y)) = (self.coerce(&a, d, span), self.coerce(&b, d, span)) else {
            return Val::Poison;
        };
        self.elementwise(
            |n| Inst::Binary(op, n[0].v, n[1].v),
            vec![x, y],
            d,
            weak,
            span,
        )
    }

    fn power(&mut self, a: Val, b: Val, span: Span) -> Val {
        let e = match b {
            Val::Int(e) if (0..=hissc_aop::limits::MAX_POWER).contains(&e) => e as u32,
            _ => {
                return self.error(
                    Diagnostic::error(
                        Code::NOT_CONSTANT,
                        format!(
                            "the exponent of `**` must be a constant from 0 to {}",
                            hissc_aop::limits::MAX_POWER
                        ),
                    )
                    .primary(span, "exponent not a small constant")
                    .note("hissc builds `x ** n` from n - 1 multipliers"),
                )
            }
        };
        let Some((d, weak)) = self.promote(&a, &Val::Int(e as i128), span) else {
            return Val::Poison;
        };
        let Some(x) = self.coerce(&a, d, span) else {
            return self.operand_error(&a, span);
        };
        if e == 0 {
            let one = self.constant(1, d, span);
            let shape = self.k.ty(x.v).shape.clone();
            let one = Node { weak, ..one };
            return Val::Node(self.expand(one, &shape, span));
        }
        // square and multiply
        let mut result: Option<Val> = None;
        let mut base = Val::Node(x);
        let mut n = e;
        while n > 0 {
            if n & 1 == 1 {
                result = Some(match result {
                    None => base.clone(),
                    Some(r) => self.arith(BinaryOp::Mul, r, base.clone(), span),
                });
            }
            n >>= 1;
            if n > 0 {
                base = self.arith(BinaryOp::Mul, base.clone(), base, span);
            }
        }
        result.unwrap_or(Val::Poison)
    }

    /// Python's arithmetic on compile-time integers.
    fn fold(&mut self, op: Operator, x: i128, y: i128, bools: bool, span: Span) -> Val {
        let r = match op {
            Operator::Add => x.checked_add(y),
            Operator::Sub => x.checked_sub(y),
            Operator::Mult => x.checked_mul(y),
            Operator::FloorDiv | Operator::Mod if y == 0 => {
                return self.error(
                    Diagnostic::error(Code::DTYPE, "division by zero")
                        .primary(span, "Python raises ZeroDivisionError"),
                )
            }
            Operator::FloorDiv => Some(hissc_aop::semantics::binary(
                BinaryOp::FloorDiv,
                DType::I64,
                x,
                y,
            ))
            .filter(|_| x.abs() < 1 << 62),
            Operator::Mod => Some(
                x.rem_euclid(y.abs())
                    + if y < 0 && x.rem_euclid(y.abs()) != 0 {
                        y
                    } else {
                        0
                    },
            ),
            Operator::Pow if y >= 0 => u32::try_from(y).ok().and_then(|e| x.checked_pow(e)),
            Operator::LShift | Operator::RShift if y < 0 => {
                return self.error(
                    Diagnostic::error(Code::DTYPE, "negative shift count")
                        .primary(span, "Python raises ValueError"),
                )
            }
            Operator::LShift => u32::try_from(y)
                .ok()
                .filter(|s| *s < 100)
                .and_then(|s| x.checked_mul(1i128 << s)),
            Operator::RShift => Some(x >> y.min(127)),
            Operator::BitAnd if bools => return Val::Bool(x & y != 0),
            Operator::BitOr if bools => return Val::Bool(x | y != 0),
            Operator::BitXor if bools => return Val::Bool(x ^ y != 0),
            Operator::BitAnd => Some(x & y),
            Operator::BitOr => Some(x | y),
            Operator::BitXor => Some(x ^ y),
            _ => return Val::Poison, // `/` and `@`: reported by the subset rules
        };
        match r {
            Some(v) if v.unsigned_abs() < 1u128 << hissc_aop::limits::INT_BITS => Val::Int(v),
            _ => self.error(
                Diagnostic::error(Code::DTYPE, "this constant is too large for any dtype")
                    .primary(span, "overflows 64 bits"),
            ),
        }
    }

    /// Python's float arithmetic on constants (`0.5 * E_PHOTON`, `E / 2`): `+`,
    /// `-`, `*` and `/` on two compile-time numbers, one a float or the
    /// operator `/`, are IEEE double operations in CPython, so the value is
    /// exactly Rust's (an int converts exactly below 2**53); it is a float
    /// constant, which a comparison then uses exactly. `None` when this is
    /// not such an operation.
    fn fold_float(&mut self, op: Operator, a: &Val, b: &Val, span: Span) -> Option<Val> {
        let num = |v: &Val| match v {
            Val::Float(x, _) => Some((*x, true)),
            Val::Int(i) => Some((*i as f64, false)),
            _ => None,
        };
        let ((x, fa), (y, fb)) = (num(a)?, num(b)?);
        if !(fa || fb || op == Operator::Div) {
            return None;
        }
        let exact = |v: &Val| !matches!(v, Val::Int(i) if i.unsigned_abs() >= 1u128 << 53);
        let at = match (a, b) {
            (Val::Float(_, at), _) | (_, Val::Float(_, at)) => *at,
            _ => span,
        };
        if !exact(a) || !exact(b) {
            return Some(
                self.error(
                    Diagnostic::error(
                        Code::DTYPE,
                        "an integer of 2**53 or more in float arithmetic",
                    )
                    .primary(span, "Python converts it to float64 inexactly"),
                ),
            );
        }
        let r = match op {
            Operator::Add => x + y,
            Operator::Sub => x - y,
            Operator::Mult => x * y,
            Operator::Div if y == 0.0 => {
                return Some(
                    self.error(
                        Diagnostic::error(Code::DTYPE, "division by zero")
                            .primary(span, "Python raises ZeroDivisionError"),
                    ),
                )
            }
            Operator::Div => x / y,
            _ => {
                return Some(
                    self.error(
                        Diagnostic::error(
                            Code::FLOAT,
                            "only `+`, `-`, `*` and `/` are folded on Python floats",
                        )
                        .primary(span, "float arithmetic on constants")
                        .help("write the constant's value, or compute it with `+ - * /`"),
                    ),
                )
            }
        };
        Some(Val::Float(r, at))
    }

    pub(crate) fn unary(&mut self, op: ast::UnaryOp, v: Val, span: Span) -> Val {
        if let Val::Empty(..) = v {
            return self
                .with_empty(&v, &Val::None, span, |this, x, _| this.unary(op, x, span))
                .unwrap_or(Val::Poison);
        }
        if let (Val::Float(x, at), ast::UnaryOp::USub | ast::UnaryOp::UAdd) = (&v, op) {
            let x = if matches!(op, ast::UnaryOp::USub) {
                -x
            } else {
                *x
            };
            return Val::Float(x, *at);
        }
        if let Some(x) = const_int(&v) {
            return match op {
                ast::UnaryOp::USub => Val::Int(-x),
                ast::UnaryOp::UAdd => Val::Int(x),
                ast::UnaryOp::Invert => Val::Int(!x),
                ast::UnaryOp::Not => Val::Bool(x == 0),
            };
        }
        let Val::Node(n) = v else {
            if matches!(v, Val::Poison) {
                return v;
            }
            return self.operand_error(&v, span);
        };
        let ty = self.k.ty(n.v).clone();
        match op {
            ast::UnaryOp::Not => match self.truth(Val::Node(n), span) {
                Truth::Dynamic(b) => {
                    let v = self.k.push(
                        Inst::Unary(UnaryOp::Not, b.v),
                        Type::scalar(DType::Bool),
                        span,
                    );
                    Val::Node(Node { v, weak: true })
                }
                _ => Val::Poison,
            },
            ast::UnaryOp::UAdd => Val::Node(n),
            ast::UnaryOp::USub | ast::UnaryOp::Invert => {
                let uop = if matches!(op, ast::UnaryOp::USub) {
                    UnaryOp::Neg
                } else {
                    UnaryOp::Not
                };
                let mut n = n;
                if ty.dtype == DType::Bool {
                    if n.weak {
                        // Python bools are ints here: `-True == -1`, `~True == -2`
                        n = match self.coerce(&Val::Node(n), DType::I64, span) {
                            Some(x) => x,
                            None => return Val::Poison,
                        };
                    } else if uop == UnaryOp::Neg {
                        return self.error(
                            Diagnostic::error(Code::DTYPE, "numpy does not negate booleans")
                                .primary(span, "numpy raises TypeError for `-` on bool")
                                .help("use `~` for logical not"),
                        );
                    }
                }
                let ty = self.k.ty(n.v).clone();
                self.push(Inst::Unary(uop, n.v), ty, span, n.weak)
            }
        }
    }

    /// A comparison: exact, whatever the operand dtypes.
    pub(crate) fn compare(&mut self, op: ast::CmpOp, a: Val, b: Val, span: Span) -> Val {
        // operands are read when the operator runs (a helper called for the
        // right operand may have written into the left one)
        let (a, b) = (self.resolve(a, span), self.resolve(b, span));
        if matches!(a, Val::Poison) || matches!(b, Val::Poison) {
            return Val::Poison;
        }
        if let Some(v) = self.with_empty(&a, &b, span, |this, x, y| this.compare(op, x, y, span)) {
            return v;
        }
        let (a, b) = (self.table_array(a, span), self.table_array(b, span));
        let cop = match op {
            ast::CmpOp::Eq => CmpOp::Eq,
            ast::CmpOp::NotEq => CmpOp::Ne,
            ast::CmpOp::Lt => CmpOp::Lt,
            ast::CmpOp::LtE => CmpOp::Le,
            ast::CmpOp::Gt => CmpOp::Gt,
            ast::CmpOp::GtE => CmpOp::Ge,
            _ => return Val::Poison, // reported by the subset rules
        };
        if let (Some(x), Some(y)) = (const_int(&a), const_int(&b)) {
            return Val::Bool(cop.eval(x, y));
        }
        if let Val::Float(c, at) = b {
            return self.compare_float(cop, a, c, at, span);
        }
        if let Val::Float(c, at) = a {
            return self.compare_float(cop.swapped(), b, c, at, span);
        }
        for v in [&a, &b] {
            if self.kind(v).is_none() {
                return self.operand_error(v, span);
            }
        }
        let other_dtype = |this: &Self, v: &Val| match v {
            Val::Node(n) => Some(this.k.dtype(n.v)),
            _ => None,
        };
        let as_node = |this: &mut Self, v: &Val, other: Option<DType>| -> Option<Node> {
            match v {
                Val::Node(n) => Some(*n),
                Val::Int(i) => {
                    let d = match other {
                        Some(d) if d.holds(*i) => d,
                        _ if *i < 0 => DType::I64,
                        _ if DType::I64.holds(*i) => DType::I64,
                        _ => DType::U64,
                    };
                    Some(this.constant(*i, d, span))
                }
                Val::Bool(b) => Some(this.constant(*b as i128, other.unwrap_or(DType::Bool), span)),
                _ => None,
            }
        };
        let (da, db) = (other_dtype(self, &a), other_dtype(self, &b));
        let (Some(x), Some(y)) = (as_node(self, &a, db), as_node(self, &b, da)) else {
            return Val::Poison;
        };
        let weak = self.kind(&a).is_some_and(|k| !matches!(k, Kind::Strong(_)))
            && self.kind(&b).is_some_and(|k| !matches!(k, Kind::Strong(_)));
        self.elementwise(
            |n| Inst::Compare(cop, n[0].v, n[1].v),
            vec![x, y],
            DType::Bool,
            weak,
            span,
        )
    }

    /// `a if c else b` / a select for `if` on a run-time scalar.
    pub(crate) fn select(&mut self, c: Node, a: Val, b: Val, span: Span) -> Val {
        match (a, b) {
            (Val::Poison, _) | (_, Val::Poison) => Val::Poison,
            (Val::Tuple(xs), Val::Tuple(ys)) if xs.len() == ys.len() => Val::Tuple(
                xs.into_iter()
                    .zip(ys)
                    .map(|(x, y)| self.select(c, x, y, span))
                    .collect(),
            ),
            (a, b) => {
                let (ka, kb) = (self.kind(&a), self.kind(&b));
                let Some((d, weak)) = (match (ka, kb) {
                    (Some(Kind::Strong(x)), Some(Kind::Strong(y))) if x == y => Some((x, false)),
                    (Some(Kind::WeakBool), Some(Kind::WeakBool)) => Some((DType::Bool, true)),
                    (Some(Kind::WeakInt(_)), Some(Kind::WeakInt(_))) => Some((DType::I64, true)),
                    _ => None,
                }) else {
                    let (x, y) = (self.describe(&a), self.describe(&b));
                    return self.error(
                        Diagnostic::error(Code::DTYPE, "the two branches give values of different types")
                            .primary(span, format!("{x} or {y}, depending on a run-time value"))
                            .help("cast both branches to the same dtype with `.astype(...)` or `np.uint16(...)`"),
                    );
                };
                let (Some(x), Some(y)) = (self.coerce(&a, d, span), self.coerce(&b, d, span))
                else {
                    return Val::Poison;
                };
                if self.k.ty(x.v).shape != self.k.ty(y.v).shape {
                    return self.error(
                        Diagnostic::error(
                            Code::SHAPE,
                            "the two branches give arrays of different shapes",
                        )
                        .primary(span, "shapes differ"),
                    );
                }
                self.elementwise(
                    |n| Inst::Where(n[0].v, n[1].v, n[2].v),
                    vec![c, x, y],
                    d,
                    weak,
                    span,
                )
            }
        }
    }

    /// Augmented assignment on an array is in place: the result keeps the array's
    /// dtype and shape (numpy's `same_kind` casting), as `acc += x` does in numpy.
    pub(crate) fn in_place(&mut self, old: Val, new: Val, span: Span) -> Val {
        let (Val::Node(o), Val::Node(n)) = (&old, &new) else {
            return new;
        };
        let (ot, nt) = (self.k.ty(o.v).clone(), self.k.ty(n.v).clone());
        if ot.is_scalar() || o.weak {
            return new; // numpy scalars are immutable: `s += x` rebinds
        }
        if nt.shape != ot.shape {
            return self.error(
                Diagnostic::error(Code::SHAPE, format!("non-broadcastable output operand with shape {:?} doesn't match the broadcast shape {:?}", ot.shape, nt.shape))
                    .primary(span, "in-place operation changes the shape"),
            );
        }
        if nt.dtype == ot.dtype {
            return new;
        }
        let same_kind = nt.dtype == DType::Bool
            || (nt.dtype.is_signed() == ot.dtype.is_signed() && ot.dtype != DType::Bool)
            || (!nt.dtype.is_signed() && ot.dtype.is_signed());
        if !same_kind {
            return self.error(
                Diagnostic::error(
                    Code::DTYPE,
                    format!(
                        "cannot cast the result from {} to {} in place",
                        nt.dtype.numpy_name(),
                        ot.dtype.numpy_name()
                    ),
                )
                .primary(
                    span,
                    "numpy raises UFuncTypeError (casting rule 'same_kind')",
                )
                .help("write `x = x + y` to get the promoted dtype, or cast `y` first"),
            );
        }
        match self.coerce(&new, ot.dtype, span) {
            Some(c) => Val::Node(Node {
                v: c.v,
                weak: false,
            }),
            None => Val::Poison,
        }
    }
}

/// A comparison of an integer `x` with a float `c`, as numpy and Python compute
/// it (exactly, where `x` converts to float64 exactly), said with integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FloatCmp {
    /// The same answer for every `x`.
    Always(bool),
    /// `x op k`.
    Int(CmpOp, i128),
}

fn float_cmp(op: CmpOp, c: f64) -> FloatCmp {
    if c.is_nan() {
        return FloatCmp::Always(op == CmpOp::Ne);
    }
    // beyond every kernel integer (|x| < 2^100): an integral bound that keeps the answer
    let c = c.clamp(-(2f64.powi(100)), 2f64.powi(100));
    let (lo, hi) = (c.floor() as i128, c.ceil() as i128);
    let integral = lo == hi;
    match op {
        CmpOp::Gt => FloatCmp::Int(CmpOp::Gt, lo),
        CmpOp::Ge => FloatCmp::Int(CmpOp::Ge, hi),
        CmpOp::Lt => FloatCmp::Int(CmpOp::Lt, hi),
        CmpOp::Le => FloatCmp::Int(CmpOp::Le, lo),
        CmpOp::Eq if integral => FloatCmp::Int(CmpOp::Eq, lo),
        CmpOp::Ne if integral => FloatCmp::Int(CmpOp::Ne, lo),
        CmpOp::Eq => FloatCmp::Always(false),
        CmpOp::Ne => FloatCmp::Always(true),
    }
}

impl Lowerer<'_> {
    /// `x op c` for a Python float constant `c` (defined at `at`): exact with a
    /// Python int; with an array or numpy scalar, numpy compares in float64, which
    /// is exact while `|x| <= 2^53`, so it becomes an integer comparison.
    fn compare_float(&mut self, op: CmpOp, x: Val, c: f64, at: Span, span: Span) -> Val {
        let cmp = float_cmp(op, c);
        if let Some(i) = const_int(&x) {
            return Val::Bool(match cmp {
                FloatCmp::Always(b) => b,
                FloatCmp::Int(op, k) => op.eval(i, k),
            });
        }
        let n = match x {
            Val::Node(n) => n,
            Val::Poison => return Val::Poison,
            other => return self.operand_error(&other, span),
        };
        let r = self.range(n.v);
        let exact = hissc_aop::limits::FLOAT_EXACT;
        if r.lo < -exact || r.hi > exact {
            return self.error(
                Diagnostic::error(
                    Code::FLOAT,
                    "this comparison with a float rounds: numpy converts the integers to float64",
                )
                .primary(
                    span,
                    format!(
                        "the integers can be anything in [{}, {}], beyond 2^53",
                        r.lo, r.hi
                    ),
                )
                .secondary(at, "the float is defined here")
                .help("compare with an integer constant instead"),
            );
        }
        // an answer that does not depend on x: `x >= lo` is always true, `x < lo` never
        let (op, k) = match cmp {
            FloatCmp::Int(op, k) if (r.lo..=r.hi).contains(&k) => (op, k),
            FloatCmp::Int(op, k) => (
                if op.eval(r.lo, k) {
                    CmpOp::Ge
                } else {
                    CmpOp::Lt
                },
                r.lo,
            ),
            FloatCmp::Always(b) => (if b { CmpOp::Ge } else { CmpOp::Lt }, r.lo),
        };
        let d = self.k.dtype(n.v);
        let k = self.constant(k, d, at);
        self.elementwise(
            |v| Inst::Compare(op, v[0].v, v[1].v),
            vec![n, k],
            DType::Bool,
            n.weak,
            span,
        )
    }
}

fn const_int(v: &Val) -> Option<i128> {
    match v {
        Val::Int(i) => Some(*i),
        Val::Bool(b) => Some(*b as i128),
        _ => None,
    }
}

fn wider(d: DType) -> DType {
    match d {
        DType::Bool | DType::U8 | DType::I8 => DType::I16,
        DType::U16 | DType::I16 => DType::I32,
        _ => DType::I64,
    }
}
