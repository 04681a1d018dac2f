//! Calls: numpy functions, array methods, builtins, casts and helpers.

use super::{Frame, Lowerer, Node, Truth, Val};
use crate::names::{self, Function, Lowering};
use crate::syntax::span_of;
use hissc_aop::{BinaryOp, DType, Inst, ReduceOp, Type, UnaryOp};
use hissc_diagnostics::{Code, Diagnostic, Span};
use rustpython_parser::ast::{self, Expr};

/// Evaluated call arguments.
struct Args {
    pos: Vec<(Val, Span)>,
    kw: Vec<(String, Val, Span)>,
}

impl Lowerer<'_> {
    pub(crate) fn call(&mut self, f: &mut Frame, c: &ast::ExprCall, span: Span) -> Val {
        let pos = c
            .args
            .iter()
            .map(|a| (self.expr(f, a), span_of(a)))
            .collect();
        let kw = c
            .keywords
            .iter()
            .filter_map(|k| {
                k.arg
                    .as_ref()
                    .map(|name| (name.to_string(), self.expr(f, &k.value), span_of(k)))
            })
            .collect();
        let args = Args { pos, kw };
        if args.pos.iter().any(|(v, _)| matches!(v, Val::Poison))
            || args.kw.iter().any(|(_, v, _)| matches!(v, Val::Poison))
        {
            return Val::Poison;
        }
        match &*c.func {
            Expr::Attribute(a) => {
                let base = self.expr(f, &a.value);
                match base {
                    Val::Numpy => self.np_call(a.attr.as_str(), args, span),
                    Val::Node(n) => self.method(Val::Node(n), a.attr.as_str(), args, span),
                    e @ Val::Empty(..) => self.method(e, a.attr.as_str(), args, span),
                    Val::Poison => Val::Poison,
                    other => {
                        let what = self.describe(&other);
                        self.error(
                            Diagnostic::error(
                                Code::UNKNOWN_FUNCTION,
                                format!("{what} has no method `{}`", a.attr),
                            )
                            .primary(span, "unknown method"),
                        )
                    }
                }
            }
            Expr::Name(n) => {
                let callee = self.lookup(f, n.id.as_str(), span_of(&*c.func));
                match callee {
                    Val::Helper(h) => {
                        let pos = args.pos.into_iter().map(|(v, _)| v).collect();
                        let kw = args.kw.into_iter().map(|(k, v, _)| (k, v)).collect();
                        self.call_helper(&h, pos, kw, span)
                    }
                    Val::DType(d) => self.cast_call(d, args, span),
                    Val::RangeType(..) => self.error(
                        Diagnostic::error(
                            Code::UNSUPPORTED_EXPRESSION,
                            "range types are for annotations only",
                        )
                        .primary(span, "cannot be called")
                        .help("cast with the container dtype, e.g. `np.uint16(x)`"),
                    ),
                    Val::Builtin(b) => self.builtin(b, args, span),
                    Val::Poison => Val::Poison,
                    other => {
                        let what = self.describe(&other);
                        self.error(
                            Diagnostic::error(
                                Code::UNKNOWN_FUNCTION,
                                format!("{what} cannot be called"),
                            )
                            .primary(span, "not a function"),
                        )
                    }
                }
            }
            _ => Val::Poison, // reported by the subset rules
        }
    }

    fn arity(
        &mut self,
        name: &str,
        args: &Args,
        min: usize,
        max: usize,
        keywords: &[&str],
        span: Span,
    ) -> bool {
        let n = args.pos.len();
        if n < min || n > max {
            let want = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            self.error(
                Diagnostic::error(
                    Code::ARGUMENTS,
                    format!("`{name}` takes {want} positional arguments, not {n}"),
                )
                .primary(span, "wrong number of arguments"),
            );
            return false;
        }
        for (k, _, s) in &args.kw {
            if !keywords.contains(&k.as_str()) {
                let allowed = if keywords.is_empty() {
                    "none".to_string()
                } else {
                    keywords
                        .iter()
                        .map(|k| format!("`{k}=`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                self.error(
                    Diagnostic::error(
                        Code::ARGUMENTS,
                        format!("`{name}` has no keyword argument `{k}` in the kernel language"),
                    )
                    .primary(*s, "unsupported keyword")
                    .note(format!("keywords it takes: {allowed}")),
                );
                return false;
            }
        }
        true
    }

    /// The argument at position `i`, or given by keyword `name`.
    fn param(args: &Args, i: usize, name: &str) -> Option<(Val, Span)> {
        args.pos.get(i).cloned().or_else(|| Self::kwarg(args, name))
    }

    fn kwarg(args: &Args, name: &str) -> Option<(Val, Span)> {
        args.kw
            .iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, v, s)| (v.clone(), *s))
    }

    fn np_call(&mut self, name: &str, args: Args, span: Span) -> Val {
        let Some(f) = names::np_function(name) else {
            if let Some(d) = DType::from_numpy_name(name) {
                return self.cast_call(d, args, span);
            }
            return self.error(
                Diagnostic::error(
                    Code::UNKNOWN_FUNCTION,
                    format!("`np.{name}` cannot be called in a kernel"),
                )
                .primary(span, "not a function of the kernel language"),
            );
        };
        if !self.arity(&format!("np.{name}"), &args, f.min, f.max, f.keywords, span) {
            return Val::Poison;
        }
        self.lower_call(f, None, args, span)
    }

    fn method(&mut self, n: Val, name: &str, args: Args, span: Span) -> Val {
        let Some(f) = names::method(name) else {
            return self.error(
                Diagnostic::error(
                    Code::UNKNOWN_FUNCTION,
                    format!("`.{name}()` is not a method of the kernel language"),
                )
                .primary(span, "unsupported method"),
            );
        };
        if f.lowering == Lowering::Reshape && args.pos.is_empty() {
            return self.error(
                Diagnostic::error(Code::ARGUMENTS, "`.reshape()` needs the new shape")
                    .primary(span, "no shape"),
            );
        }
        if !self.arity(&format!(".{name}()"), &args, f.min, f.max, f.keywords, span) {
            return Val::Poison;
        }
        self.lower_call(f, Some(n), args, span)
    }

    /// One path for `np.f(a, ...)` and `a.f(...)`: `this` is the array of a
    /// method call; for a function it is the first positional argument.
    fn lower_call(&mut self, f: &Function, this: Option<Val>, args: Args, span: Span) -> Val {
        // positional arguments after the array
        let first = usize::from(this.is_none());
        let a = match this {
            Some(n) => n,
            None => args.pos[0].0.clone(),
        };
        // a module-level table passed where an array is expected
        let a = self.table_array(a, span);
        let p = |i: usize| args.pos[first + i - 1].0.clone();
        if let Val::Empty(d, shape) = &a {
            let (d, shape) = (*d, shape.clone());
            return match f.lowering {
                Lowering::Reduce(op) => {
                    let axis = Self::param(&args, first, "axis");
                    let dtype = Self::kwarg(&args, "dtype");
                    let keepdims = Self::kwarg(&args, "keepdims");
                    self.reduce(op, a, axis, dtype, keepdims, span)
                }
                Lowering::Copy => Val::Empty(d, shape),
                Lowering::Flatten | Lowering::Ravel => Val::Empty(d, vec![0]),
                Lowering::Astype => match p(1) {
                    Val::DType(to) => Val::Empty(to, shape),
                    Val::Builtin("int") => Val::Empty(DType::I64, shape),
                    Val::Builtin("bool") => Val::Empty(DType::Bool, shape),
                    _ => self.empty_use(&a, f.name, span),
                },
                _ => self.empty_use(&a, f.name, span),
            };
        }
        match f.lowering {
            Lowering::Where => self.where_(a, p(1), p(2), span),
            Lowering::Extremum(op) => strong(self.arith(op, a, p(1), span)),
            Lowering::Clip => {
                // numpy 2's clip: a Python int bound beyond the array's dtype on
                // the side no element reaches is no bound (`np.clip(u16, -5,
                // 1000)`); one beyond it on the other side raises, as arithmetic
                let d = self.strong_int(&a);
                let no_bound = |b: &Val, below: bool| match (b, d) {
                    (Val::None, _) => true,
                    (Val::Int(x), Some(d)) => {
                        if below {
                            *x < d.min()
                        } else {
                            *x > d.max()
                        }
                    }
                    _ => false,
                };
                let mut v = a;
                if !no_bound(&p(1), true) {
                    v = self.arith(BinaryOp::Max, v, p(1), span);
                }
                if !no_bound(&p(2), false) {
                    v = self.arith(BinaryOp::Min, v, p(2), span);
                }
                strong(v)
            }
            Lowering::Abs => strong(self.abs(a, span)),
            Lowering::Reduce(op) => {
                let axis = Self::param(&args, first, "axis");
                let dtype = Self::kwarg(&args, "dtype");
                let keepdims = Self::kwarg(&args, "keepdims");
                self.reduce(op, a, axis, dtype, keepdims, span)
            }
            Lowering::Logical(op) => {
                let (Some(x), Some(y)) = (self.bool_node(a, span), self.bool_node(p(1), span))
                else {
                    return Val::Poison;
                };
                self.elementwise(
                    |n| Inst::Binary(op, n[0].v, n[1].v),
                    vec![x, y],
                    DType::Bool,
                    false,
                    span,
                )
            }
            Lowering::LogicalNot => {
                let Some(x) = self.bool_node(a, span) else {
                    return Val::Poison;
                };
                let ty = self.k.ty(x.v).clone();
                self.push(Inst::Unary(UnaryOp::Not, x.v), ty, span, false)
            }
            Lowering::Bitwise(op) => strong(self.arith(op, a, p(1), span)),
            Lowering::Invert => strong(self.unary(ast::UnaryOp::Invert, a, span)),
            Lowering::Table => self.table(args, span),
            Lowering::Cumsum => {
                let axis = Self::param(&args, first, "axis");
                self.cumsum(a, axis, span)
            }
            Lowering::Reshape => match a {
                Val::Node(n) => self.reshape(n, args.pos[first..].to_vec(), span),
                other => self.operand_error(&other, span),
            },
            Lowering::Ravel | Lowering::Flatten => match a {
                Val::Node(n) => {
                    // numpy's ravel is a view only of a C-contiguous array
                    let view = f.lowering == Lowering::Ravel && self.ravel_is_view(n.v);
                    let flat = vec![self.k.ty(n.v).numel() as u32];
                    Val::Node(self.reshaped(n, flat, !view, span))
                }
                other => self.operand_error(&other, span),
            },
            Lowering::Copy => match a {
                Val::Node(n) => Val::Node(self.fresh_copy(Node { weak: false, ..n }, span)),
                other => self.operand_error(&other, span),
            },
            Lowering::Bincount => {
                let w = Self::param(&args, first, "weights");
                let m = Self::param(&args, first + 1, "minlength");
                let x = if first == 0 {
                    (a.clone(), span)
                } else {
                    args.pos[0].clone()
                };
                self.bincount(x, w, m, span)
            }
            Lowering::Histogram => {
                let bins = Self::param(&args, first, "bins");
                let range = Self::param(&args, first + 1, "range");
                self.histogram(a, bins, range, span)
            }
            Lowering::Astype => self.astype(a, &args.pos[first], span),
            Lowering::Flatnonzero => self.flatnonzero(a, span),
            Lowering::Arange => self.arange(&args.pos, span),
            Lowering::Indices => self.indices(&args.pos, span),
            Lowering::Concatenate => {
                let axis = Self::param(&args, first, "axis");
                self.concatenate(a, axis.as_ref(), span)
            }
            Lowering::Stack => {
                let axis = Self::param(&args, first, "axis");
                self.stack(a, axis.as_ref(), span)
            }
        }
    }

    /// `a.astype(d)`: a cast to a numpy dtype (or `bool`, `int`), never weak.
    fn astype(&mut self, a: Val, d: &(Val, Span), span: Span) -> Val {
        // numpy takes Python's `bool` and `int` as dtypes too (`int` is int64)
        let dtype = match &d.0 {
            Val::DType(t) => Some(*t),
            Val::Builtin("bool") => Some(DType::Bool),
            Val::Builtin("int") => Some(DType::I64),
            _ => None,
        };
        match &d.0 {
            _ if dtype.is_some() => match self.coerce(&a, dtype.expect("matched"), span) {
                // `astype` copies, also to the array's own dtype
                Some(x) if matches!(&a, Val::Node(n) if n.v == x.v) => {
                    Val::Node(self.fresh_copy(Node { weak: false, ..x }, span))
                }
                Some(x) => Val::Node(Node { weak: false, ..x }),
                None => Val::Poison,
            },
            Val::RangeType(..) => self.error(
                Diagnostic::error(
                    Code::ARGUMENTS,
                    "`.astype()` takes a numpy dtype, not a range type",
                )
                .primary(d.1, "range type")
                .help("cast to the container dtype, e.g. `.astype(np.uint16)`"),
            ),
            other => {
                let what = self.describe(other);
                self.error(
                    Diagnostic::error(
                        Code::ARGUMENTS,
                        format!("`.astype()` needs a numpy dtype, not {what}"),
                    )
                    .primary(d.1, "not a dtype"),
                )
            }
        }
    }

    fn builtin(&mut self, name: &str, args: Args, span: Span) -> Val {
        match name {
            "abs" => {
                if !self.arity("abs", &args, 1, 1, &[], span) {
                    return Val::Poison;
                }
                let v = args.pos[0].0.clone();
                if let Val::Int(i) = v {
                    return Val::Int(i.abs());
                }
                self.abs(v, span)
            }
            "int" | "bool" | "len" => {
                if !self.arity(name, &args, 1, 1, &[], span) {
                    return Val::Poison;
                }
                let v = args.pos[0].0.clone();
                match (name, v) {
                    ("int", Val::Int(i)) => Val::Int(i),
                    ("int", Val::Bool(b)) => Val::Int(b as i128),
                    ("bool", v @ (Val::Int(_) | Val::Bool(_) | Val::None | Val::Tuple(_))) => {
                        match self.truth(v, span) {
                            Truth::Known(b) => Val::Bool(b),
                            _ => Val::Poison,
                        }
                    }
                    ("bool", Val::Node(n)) => match self.truth(Val::Node(n), span) {
                        Truth::Dynamic(b) => Val::Node(Node { v: b.v, weak: true }),
                        _ => Val::Poison,
                    },
                    ("len", Val::Tuple(t)) => Val::Int(t.len() as i128),
                    ("len", Val::Table(t)) => Val::Int(t.values.shape[0] as i128),
                    ("len", Val::Empty(_, shape)) if !shape.is_empty() => {
                        Val::Int(shape[0] as i128)
                    }
                    ("len", Val::Node(n)) if !self.k.ty(n.v).is_scalar() => {
                        Val::Int(self.k.ty(n.v).shape[0] as i128)
                    }
                    (_, other) => {
                        let what = self.describe(&other);
                        self.error(
                            Diagnostic::error(
                                Code::ARGUMENTS,
                                format!("`{name}` of {what} is not supported in kernels"),
                            )
                            .primary(
                                span,
                                "use numpy casts such as `np.int64(x)` for run-time values",
                            ),
                        )
                    }
                }
            }
            "range" | "enumerate" | "zip" => self.error(
                Diagnostic::error(
                    Code::UNSUPPORTED_EXPRESSION,
                    format!("`{name}` can only be used in a `for` loop's header"),
                )
                .primary(span, format!("{name} outside a for loop")),
            ),
            _ => self.error(
                Diagnostic::error(
                    Code::UNSUPPORTED_EXPRESSION,
                    format!("`{name}` cannot be called inside a kernel"),
                )
                .primary(span, "not callable here"),
            ),
        }
    }

    /// A Python int converted to `d` as numpy converts it (`np.uint8(300)`,
    /// `a[0] = 300`): OverflowError where it does not fit.
    pub(crate) fn python_int(&mut self, i: i128, d: DType, span: Span) -> Option<Node> {
        if d != DType::Bool && !d.holds(i) {
            self.error(
                Diagnostic::error(
                    Code::DTYPE,
                    format!("Python integer {i} out of bounds for {}", d.numpy_name()),
                )
                .primary(span, "numpy raises OverflowError"),
            );
            return None;
        }
        Some(self.constant(d.wrap(i), d, span))
    }

    /// `np.uint16(x)`: a strong constant or a cast.
    fn cast_call(&mut self, d: DType, args: Args, span: Span) -> Val {
        if !self.arity(&format!("np.{}", d.numpy_name()), &args, 1, 1, &[], span) {
            return Val::Poison;
        }
        match &args.pos[0].0 {
            Val::Int(i) => self.python_int(*i, d, span).map_or(Val::Poison, Val::Node),
            Val::Bool(b) => Val::Node(self.constant(*b as i128, d, span)),
            v @ Val::Node(_) => match self.coerce(v, d, span) {
                Some(n) => Val::Node(Node { weak: false, ..n }),
                None => Val::Poison,
            },
            other => {
                let what = self.describe(other);
                self.error(
                    Diagnostic::error(
                        Code::ARGUMENTS,
                        format!("cannot convert {what} to {}", d.numpy_name()),
                    )
                    .primary(span, "not a number or an array"),
                )
            }
        }
    }

    /// `np.array([...], dtype=np.T)` at module level: a constant table.
    fn table(&mut self, args: Args, span: Span) -> Val {
        if !self.k.name.is_empty() {
            return self.error(
                Diagnostic::error(
                    Code::UNSUPPORTED_EXPRESSION,
                    "`np.array` can only build module-level constant tables",
                )
                .primary(span, "inside a kernel")
                .help("define the table at module level: `LUT = np.array([...], dtype=np.uint8)`"),
            );
        }
        if !self.arity("np.array", &args, 1, 1, &["dtype"], span) {
            return Val::Poison;
        }
        let dtype = match Self::kwarg(&args, "dtype") {
            Some((Val::DType(d), _)) => d,
            Some((_, s)) => {
                return self.error(
                    Diagnostic::error(Code::ARGUMENTS, "`dtype=` must be a numpy integer dtype")
                        .primary(s, "not a dtype"),
                )
            }
            None => DType::I64,
        };
        if !matches!(&args.pos[0].0, Val::Tuple(_)) {
            return self.error(
                Diagnostic::error(
                    Code::MODULE_LEVEL,
                    "tables are built from a list of integers",
                )
                .primary(args.pos[0].1, "not a list"),
            );
        }
        // nested lists give a table of as many dimensions, each level as long
        // as its siblings (numpy refuses a ragged list)
        let mut shape: Vec<u32> = Vec::new();
        let mut level = &args.pos[0].0;
        while let Val::Tuple(items) = level {
            shape.push(items.len() as u32);
            match items.first() {
                Some(first) => level = first,
                None => break,
            }
        }
        let mut data = Vec::new();
        if let Err(why) = Self::table_items(&args.pos[0].0, &shape, dtype, &mut data) {
            let (code, what, label) = match why {
                TableError::Ragged => (
                    Code::MODULE_LEVEL,
                    "the rows of a table must all have the same length".to_string(),
                    "numpy raises ValueError (an inhomogeneous shape)",
                ),
                TableError::Overflow(i) => (
                    Code::DTYPE,
                    format!(
                        "Python integer {i} out of bounds for {}",
                        dtype.numpy_name()
                    ),
                    "numpy raises OverflowError",
                ),
                TableError::NotInteger => (
                    Code::MODULE_LEVEL,
                    "tables hold integer constants only".to_string(),
                    "not a list of integers (or of lists of integers)",
                ),
            };
            return self.error(Diagnostic::error(code, what).primary(args.pos[0].1, label));
        }
        Val::Table(std::rc::Rc::new(super::Table {
            values: hissc_aop::Array::new(dtype, shape, data),
            span,
        }))
    }

    /// The elements of a (nested) list in row-major order, checked against the
    /// table's `shape` and `dtype`.
    fn table_items(
        v: &Val,
        shape: &[u32],
        dtype: DType,
        out: &mut Vec<i128>,
    ) -> Result<(), TableError> {
        match (v, shape.split_first()) {
            (Val::Tuple(items), Some((&n, rest))) if items.len() == n as usize => {
                for it in items {
                    Self::table_items(it, rest, dtype, out)?;
                }
                Ok(())
            }
            (Val::Tuple(_), _) | (_, Some(_)) => Err(TableError::Ragged),
            (Val::Int(i), None) if dtype.holds(*i) => {
                out.push(*i);
                Ok(())
            }
            (Val::Int(i), None) => Err(TableError::Overflow(*i)),
            (Val::Bool(b), None) => {
                out.push(*b as i128);
                Ok(())
            }
            _ => Err(TableError::NotInteger),
        }
    }

    fn abs(&mut self, v: Val, span: Span) -> Val {
        match v {
            Val::Int(i) => Val::Int(i.abs()),
            Val::Bool(b) => Val::Int(b as i128),
            Val::Node(n) if self.k.dtype(n.v) == DType::Bool => Val::Node(n),
            Val::Node(n) => {
                let ty = self.k.ty(n.v).clone();
                self.push(Inst::Unary(UnaryOp::Abs, n.v), ty, span, n.weak)
            }
            Val::Poison => Val::Poison,
            other => {
                let what = self.describe(&other);
                self.error(
                    Diagnostic::error(Code::ARGUMENTS, format!("`abs` of {what}"))
                        .primary(span, "not a number"),
                )
            }
        }
    }

    fn bool_node(&mut self, v: Val, span: Span) -> Option<Node> {
        match v {
            Val::Node(n) => Some(self.truth_node(n, span)),
            Val::Int(i) => Some(self.constant((i != 0) as i128, DType::Bool, span)),
            Val::Bool(b) => Some(self.constant(b as i128, DType::Bool, span)),
            Val::Poison => None,
            other => {
                let what = self.describe(&other);
                self.error(
                    Diagnostic::error(Code::ARGUMENTS, format!("{what} is not a boolean value"))
                        .primary(span, "not boolean"),
                );
                None
            }
        }
    }

    fn where_(&mut self, c: Val, a: Val, b: Val, span: Span) -> Val {
        let (a, b) = (self.table_array(a, span), self.table_array(b, span));
        // numpy 2's np.where converts a Python int that the other operand's
        // integer dtype cannot hold as C does, modulo 2**bits (`np.where(m,
        // u16, -1)` gives 65535), when it fits 64 bits (beyond, it raises)
        let c_cast = |this: &Self, v: &Val, other: &Val| match (v, this.strong_int(other)) {
            (Val::Int(x), Some(d)) if !d.holds(*x) && (-(1i128 << 63)..1i128 << 64).contains(x) => {
                Val::Int(d.wrap(*x))
            }
            _ => v.clone(),
        };
        let (a, b) = (c_cast(self, &a, &b), c_cast(self, &b, &a));
        let Some(c) = self.bool_node(c, span) else {
            return Val::Poison;
        };
        // numpy functions give numpy values: the result is never weak
        let (d, _) = match self.promote(&a, &b, span) {
            Some(x) => x,
            None => return Val::Poison,
        };
        let (Some(x), Some(y)) = (self.coerce(&a, d, span), self.coerce(&b, d, span)) else {
            return Val::Poison;
        };
        self.elementwise(
            |n| Inst::Where(n[0].v, n[1].v, n[2].v),
            vec![c, x, y],
            d,
            false,
            span,
        )
    }

    /// An empty array where hissc has nothing to compute from it.
    fn empty_use(&mut self, a: &Val, name: &str, span: Span) -> Val {
        let what = self.describe(a);
        self.error(
            Diagnostic::error(
                Code::NOT_STREAMABLE,
                format!("`{name}` of {what}"),
            )
            .primary(span, "an empty array has nothing to stream")
            .note("an empty array's full reductions are constants (`sum` 0, `any` False, `all` True, `count_nonzero` 0), and it has a shape; nothing else is computed from it"),
        )
    }

    /// A sum's `dtype=`: the dtype given, `None` when it is not, or the error.
    fn sum_dtype(&mut self, dtype: Option<(Val, Span)>) -> Result<Option<DType>, Val> {
        match dtype {
            None => Ok(None),
            Some((Val::DType(d), _)) => Ok(Some(d)),
            Some((_, s)) => Err(self.error(
                Diagnostic::error(
                    Code::ARGUMENTS,
                    "`dtype=` must be a numpy dtype such as `np.uint32`",
                )
                .primary(s, "not a dtype"),
            )),
        }
    }

    /// numpy's full reduction of an empty array: the reduction's identity, in
    /// its dtype; numpy raises where there is none (`max`, `argmin`).
    fn reduce_empty(
        &mut self,
        op: ReduceOp,
        a: &Val,
        axis: Option<(Val, Span)>,
        dtype: Option<(Val, Span)>,
        keepdims: bool,
        span: Span,
    ) -> Val {
        let Val::Empty(d, _) = a else {
            return Val::Poison;
        };
        if keepdims || matches!(axis, Some((ref v, _)) if !matches!(v, Val::None)) {
            return self.empty_use(a, &format!("{} along an axis", op.name()), span);
        }
        let (value, dt) = match op {
            ReduceOp::Sum => match self.sum_dtype(dtype) {
                Ok(t) => (0, t.unwrap_or(d.sum_dtype())),
                Err(e) => return e,
            },
            ReduceOp::Any => (0, DType::Bool),
            ReduceOp::All => (1, DType::Bool),
            ReduceOp::CountNonzero => (0, DType::I64),
            ReduceOp::Min | ReduceOp::Max | ReduceOp::ArgMax | ReduceOp::ArgMin => {
                return self.error(
                    Diagnostic::error(Code::SHAPE, format!("`{}` of an empty array", op.name()))
                        .primary(
                            span,
                            "numpy raises ValueError (the reduction has no identity)",
                        ),
                )
            }
        };
        Val::Node(self.constant(value, dt, span))
    }

    fn reduce(
        &mut self,
        op: ReduceOp,
        a: Val,
        axis: Option<(Val, Span)>,
        dtype: Option<(Val, Span)>,
        keepdims: Option<(Val, Span)>,
        span: Span,
    ) -> Val {
        let keepdims = match keepdims {
            None => false,
            Some((Val::Bool(b), _)) => b,
            Some((Val::Int(i), _)) => i != 0,
            Some((Val::Poison, _)) => return Val::Poison,
            Some((_, s)) => {
                return self.error(
                    Diagnostic::error(
                        Code::NOT_CONSTANT,
                        "`keepdims=` must be `True` or `False` at compile time",
                    )
                    .primary(s, "not constant"),
                )
            }
        };
        let n = match a {
            Val::Node(n) => n,
            Val::Empty(..) => return self.reduce_empty(op, &a, axis, dtype, keepdims, span),
            Val::Int(_) | Val::Bool(_) => match self.coerce(&a, DType::I64, span) {
                Some(n) => n,
                None => return Val::Poison,
            },
            Val::Poison => return Val::Poison,
            other => {
                let what = self.describe(&other);
                return self.error(
                    Diagnostic::error(Code::ARGUMENTS, format!("cannot reduce {what}"))
                        .primary(span, "not an array"),
                );
            }
        };
        let ty = self.k.ty(n.v).clone();
        let rank = ty.shape.len() as i128;
        let mut axes: Vec<u32> = Vec::new();
        let mut has_axis = false;
        if let Some((ax, ax_span)) = axis {
            let list = match ax {
                Val::None => vec![],
                Val::Int(i) => {
                    has_axis = true;
                    vec![i]
                }
                Val::Tuple(_) if matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin) => {
                    return self.error(
                        Diagnostic::error(
                            Code::ARGUMENTS,
                            format!("`{}` takes one axis, not a tuple", op.name()),
                        )
                        .primary(ax_span, "numpy raises TypeError"),
                    )
                }
                Val::Tuple(t) => {
                    has_axis = true;
                    let mut l = Vec::new();
                    for x in t {
                        match x {
                            Val::Int(i) => l.push(i),
                            _ => {
                                return self.error(
                                    Diagnostic::error(
                                        Code::NOT_CONSTANT,
                                        "`axis` must be an integer constant or a tuple of them",
                                    )
                                    .primary(ax_span, "not constant"),
                                )
                            }
                        }
                    }
                    l
                }
                _ => {
                    return self.error(
                        Diagnostic::error(
                            Code::NOT_CONSTANT,
                            "`axis` must be an integer constant or a tuple of them",
                        )
                        .primary(ax_span, "not constant"),
                    )
                }
            };
            for i in list {
                let j = if i < 0 { i + rank } else { i };
                if !(0..rank).contains(&j) {
                    return self.error(
                        Diagnostic::error(
                            Code::SHAPE,
                            format!("axis {i} is out of bounds for an array of dimension {rank}"),
                        )
                        .primary(ax_span, "numpy raises AxisError"),
                    );
                }
                if axes.contains(&(j as u32)) {
                    return self.error(
                        Diagnostic::error(Code::SHAPE, "duplicate value in `axis`")
                            .primary(ax_span, "repeated axis"),
                    );
                }
                axes.push(j as u32);
            }
            axes.sort();
        }
        let out_shape: Vec<u32> = if axes.is_empty() && !has_axis {
            vec![]
        } else {
            (0..ty.shape.len())
                .filter(|d| !axes.contains(&(*d as u32)))
                .map(|d| ty.shape[d])
                .collect()
        };
        // with keepdims=True each reduced axis stays, with length 1
        let kept_shape: Vec<u32> = (0..ty.shape.len())
            .map(|d| {
                if out_shape.is_empty() || axes.contains(&(d as u32)) {
                    1
                } else {
                    ty.shape[d]
                }
            })
            .collect();
        if out_shape.is_empty() {
            axes.clear();
        }
        if has_axis && axes.is_empty() && !out_shape.is_empty() {
            // axis=() reduces nothing
            return Val::Node(n);
        }
        let mut arg = n;
        let result_dtype = match op {
            ReduceOp::Sum => match self.sum_dtype(dtype) {
                Ok(Some(d)) => {
                    arg = match self.coerce(&Val::Node(n), d, span) {
                        Some(x) => x,
                        None => return Val::Poison,
                    };
                    d
                }
                Ok(None) => ty.dtype.sum_dtype(),
                Err(e) => return e,
            },
            ReduceOp::Min | ReduceOp::Max => ty.dtype,
            ReduceOp::Any | ReduceOp::All => DType::Bool,
            ReduceOp::CountNonzero | ReduceOp::ArgMax | ReduceOp::ArgMin => DType::I64,
        };
        // numpy >= 2.3 returns np.int64 from np.count_nonzero(a), not a Python int
        let weak = false;
        let v = self.k.push(
            Inst::Reduce(op, arg.v, axes),
            Type::array(result_dtype, out_shape.clone()),
            span,
        );
        if keepdims && kept_shape != out_shape {
            return self.push(
                Inst::Reshape(v),
                Type::array(result_dtype, kept_shape),
                span,
                weak,
            );
        }
        Val::Node(Node { v, weak })
    }
}

/// Results of numpy functions are numpy values, never weak Python scalars.
fn strong(v: Val) -> Val {
    match v {
        Val::Node(n) => Val::Node(Node { weak: false, ..n }),
        Val::Int(i) => Val::Int(i),
        v => v,
    }
}

/// Why a module-level list is not a table.
enum TableError {
    Ragged,
    Overflow(i128),
    NotInteger,
}
