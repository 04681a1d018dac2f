//! Lowering a checked kernel to the array-op IR by symbolic evaluation.
//!
//! The kernel body is executed at compile time over symbolic values ([`Val`]):
//! Python integers and tuples are folded, helpers are inlined at each call,
//! `for` loops over constant ranges are unrolled, `if` on constants picks a
//! branch and `if` on a scalar value becomes a select. Array values become IR
//! instructions, typed with numpy 2's promotion rules as they are created.
//! Errors turn the value into [`Val::Poison`], which silences follow-on errors,
//! so one run reports every independent problem.

mod alias;
mod annot;
mod arrays;
mod calls;
mod coords;
mod expr;
mod join;
mod vec;

use crate::module::Module;
use crate::syntax::span_of;
use annot::{AnnTy, Elem};
use hissc_aop::{Array, DType, Inst, Interval, Kernel, Param, Type, Value};
use hissc_diagnostics::{Code, Diagnostic, SourceFile, Span};
use rustpython_parser::ast::{self, Expr, Stmt};
use std::collections::HashMap;
use std::rc::Rc;

/// An IR value with numpy's "weak" flag: Python `int`/`bool` results (such as
/// `np.count_nonzero(a)`) take the other operand's dtype, as literals do.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub v: Value,
    pub weak: bool,
}

/// A module-level `np.array([...], dtype=...)` table.
#[derive(Debug)]
pub(crate) struct Table {
    pub values: Array,
    pub span: Span,
}

/// A value during symbolic evaluation.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    /// A Python `int` known at compile time.
    Int(i128),
    /// A Python `bool` known at compile time.
    Bool(bool),
    /// `None`.
    None,
    /// A tuple.
    Tuple(Vec<Val>),
    /// An array or numpy scalar computed by the kernel.
    Node(Node),
    /// A module-level constant table.
    Table(Rc<Table>),
    /// A helper function.
    Helper(String),
    /// The numpy module.
    Numpy,
    /// The hiss module (`import hiss`: `hiss.Array`, `@hiss.kernel`).
    Hiss,
    /// A dtype such as `np.uint16` (callable: a cast).
    DType(DType),
    /// A range type such as `hiss.u12`.
    RangeType(DType, Interval),
    /// `hiss.Array`.
    ArrayCtor,
    /// `hiss.State`.
    StateCtor,
    /// `hiss.Vec`.
    VecCtor,
    /// A builtin function (`abs`, `range`, ...).
    Builtin(&'static str),
    /// The bin edges of `np.histogram`: floats, an error wherever they are used.
    FloatEdges(Span),
    /// A module-level Python `float` constant (its value and where it is
    /// written): compared exactly with integers, an error in arithmetic.
    Float(f64, Span),
    /// A numpy scalar known at compile time and kept across kernels (a
    /// module-level `np.uint16(4095)`): it becomes an IR constant where it is used.
    Typed(i128, DType),
    /// An array with no elements (an empty slice, `frame[:, 3:3]`): numpy's
    /// full reductions of it are constants (`sum` 0, `any` False), its shape is
    /// known; it has nothing to stream, so nothing else is done with it.
    Empty(DType, Vec<u32>),
    /// The slice `start:stop:step` of an index, its bounds evaluated.
    Slice(Option<i128>, Option<i128>, Option<i128>),
    /// `...` in an index: every axis not indexed otherwise.
    Ellipsis,
    /// The result of an error already reported.
    Poison,
}

/// Selects the kernel to compile.
pub fn kernel_def<'a>(
    m: &Module<'a>,
    name: Option<&str>,
) -> Result<&'a ast::StmtFunctionDef, Diagnostic> {
    let names: Vec<String> = m.kernels.iter().map(|k| format!("`{}`", k.name)).collect();
    match name {
        Some(n) => m
            .kernels
            .iter()
            .copied()
            .find(|k| k.name.as_str() == n)
            .ok_or_else(|| {
                Diagnostic::error(
                    Code::NO_KERNEL,
                    format!("there is no `@kernel` function named `{n}`"),
                )
                .note(if names.is_empty() {
                    "the file defines no `@kernel` functions".to_string()
                } else {
                    format!("the file's kernels: {}", names.join(", "))
                })
            }),
        None => match m.kernels.as_slice() {
            [k] => Ok(*k),
            [] => Err(
                Diagnostic::error(Code::NO_KERNEL, "the file defines no `@kernel` function").help(
                    "decorate the function to compile with `@kernel` (from hiss import kernel)",
                ),
            ),
            _ => Err(
                Diagnostic::error(Code::NO_KERNEL, "the file defines several kernels")
                    .note(format!("its kernels: {}", names.join(", ")))
                    .help("choose one with `--kernel NAME`"),
            ),
        },
    }
}

/// Local variables of one function activation.
#[derive(Default)]
pub(crate) struct Frame {
    locals: HashMap<String, Val>,
}

enum Flow {
    Next,
    Return(Val, Span),
}

pub(crate) struct Lowerer<'a> {
    pub src: &'a SourceFile,
    pub m: &'a Module<'a>,
    pub k: Kernel,
    pub diags: Vec<Diagnostic>,
    globals: HashMap<String, Val>,
    stack: Vec<String>,
    /// `if`/`for` statements around the statement being lowered.
    nesting: u32,
    /// The kernel's states by name, and where each was updated (`NAME[...] = ...`).
    states: HashMap<String, (u32, Option<Span>)>,
    /// Values that stand for a `Vec` (`a[mask]`, `np.flatnonzero(mask)`): their mask
    /// and where they were made; [`vec`] follows them through elementwise operations.
    vec_roots: HashMap<Value, (Value, Span)>,
    /// For each output, the capacity of its `Vec` annotation (None for an array).
    vec_outputs: Vec<Option<u32>>,
    /// Which values share memory, and what has been written into it.
    alias: alias::Aliases,
    /// The ranges of the kernel's values so far (the kernel only grows).
    ranges: hissc_aop::passes::ranges::Growing,
}

impl<'a> Lowerer<'a> {
    pub fn new(src: &'a SourceFile, m: &'a Module<'a>) -> Self {
        let mut l = Lowerer {
            src,
            m,
            k: Kernel::new(""),
            diags: Vec::new(),
            globals: HashMap::new(),
            stack: Vec::new(),
            nesting: 0,
            states: HashMap::new(),
            vec_roots: HashMap::new(),
            vec_outputs: Vec::new(),
            alias: alias::Aliases::default(),
            ranges: Default::default(),
        };
        l.init_globals();
        l
    }

    pub fn error(&mut self, d: Diagnostic) -> Val {
        self.diags.push(d);
        Val::Poison
    }

    fn init_globals(&mut self) {
        if let Some(np) = &self.m.numpy {
            self.globals.insert(np.clone(), Val::Numpy);
        }
        if let Some(h) = &self.m.hiss {
            self.globals.insert(h.clone(), Val::Hiss);
        }
        for (local, name) in &self.m.hiss_names {
            if let Some(v) = hiss_value(name) {
                self.globals.insert(local.clone(), v);
            }
        }
        for (local, name) in &self.m.typing_names {
            if name == "Tuple" {
                self.globals.insert(local.clone(), Val::Builtin("tuple"));
            }
        }
        for name in self.m.helpers.keys() {
            self.globals.insert(name.clone(), Val::Helper(name.clone()));
        }
        let mut frame = Frame::default();
        for a in self.m.constants.clone() {
            let before = self.diags.len();
            let v = self.expr(&mut frame, &a.value);
            // the subset rules check module-level values too; one that still
            // evaluates to nothing is named here rather than lost
            if matches!(v, Val::Poison) && self.diags.len() == before {
                self.error(
                    Diagnostic::error(
                        Code::MODULE_LEVEL,
                        "this module-level value is not one the kernel language has",
                    )
                    .primary(span_of(&*a.value), "not an integer, a float, a numpy constant or a table")
                    .note("module level holds integer constants, tuples of them, numpy scalars such as `np.uint16(4095)`, float constants for comparisons, and `np.array([...], dtype=...)` tables"),
                );
            }
            let v = match self.frozen(v) {
                Some(v) => v,
                None => self.error(
                    Diagnostic::error(
                        Code::MODULE_LEVEL,
                        "module-level values must be compile-time constants",
                    )
                    .primary(span_of(&*a.value), "computed at run time"),
                ),
            };
            match (&a.targets[0], v) {
                (Expr::Name(n), v) => {
                    self.globals.insert(n.id.to_string(), v);
                }
                (Expr::Tuple(t), Val::Tuple(vs)) if vs.len() == t.elts.len() => {
                    for (e, v) in t.elts.iter().zip(vs) {
                        if let Expr::Name(n) = e {
                            self.globals.insert(n.id.to_string(), v);
                        }
                    }
                }
                (Expr::Tuple(t), v) => {
                    let got = self.describe(&v);
                    self.error(
                        Diagnostic::error(
                            Code::MODULE_LEVEL,
                            format!("cannot unpack {got} into {} names", t.elts.len()),
                        )
                        .primary(span_of(&a.targets[0]), "unpacking"),
                    );
                }
                _ => {}
            }
        }
    }

    /// The values `v` may take (range analysis of the kernel so far, computed
    /// only for the instructions added since the last question).
    pub(crate) fn range(&mut self, v: Value) -> hissc_aop::Interval {
        self.ranges.of(&self.k, v)
    }

    /// Lowers one kernel function to the IR.
    pub fn kernel(&mut self, f: &ast::StmtFunctionDef) -> Option<Kernel> {
        self.k = Kernel::new(f.name.as_str());
        self.ranges = Default::default();
        let mut frame = Frame::default();
        let a = &f.args;
        for p in a.posonlyargs.iter().chain(&a.args).chain(&a.kwonlyargs) {
            let Some(ann) = &p.def.annotation else {
                continue;
            };
            let span = span_of(&p.def);
            let Some(ty) = self.checked_annotation(ann) else {
                continue;
            };
            let (elem, shape) = match ty {
                AnnTy::Scalar(e) => (e, Vec::new()),
                AnnTy::Array(e, s) => (e, s),
                AnnTy::State(e, s) => {
                    let ty = Type::array(e.dtype, s);
                    let idx = self.k.states.len() as u32;
                    self.k.states.push(Param {
                        name: p.def.arg.to_string(),
                        ty: ty.clone(),
                        range: Interval::of(e.dtype),
                        span,
                    });
                    self.states.insert(p.def.arg.to_string(), (idx, None));
                    let v = self.k.push(Inst::State(idx), ty, span);
                    frame
                        .locals
                        .insert(p.def.arg.to_string(), Val::Node(Node { v, weak: false }));
                    continue;
                }
                AnnTy::Vec(..) => {
                    self.error(
                        Diagnostic::error(
                            Code::BAD_ANNOTATION,
                            "`Vec` is the type of an output; a parameter has a fixed shape",
                        )
                        .primary(span_of(&**ann), "variable-length parameter")
                        .help("annotate the input `Array[T, d0, ...]`"),
                    );
                    continue;
                }
                AnnTy::Tuple(_) => {
                    self.error(
                        Diagnostic::error(
                            Code::BAD_ANNOTATION,
                            "a kernel parameter cannot be a tuple",
                        )
                        .primary(span_of(&**ann), "tuple type"),
                    );
                    continue;
                }
            };
            let ty = Type::array(elem.dtype, shape);
            let idx = self.k.params.len() as u32;
            self.k.params.push(Param {
                name: p.def.arg.to_string(),
                ty: ty.clone(),
                range: elem.range,
                span,
            });
            let v = self.k.push(Inst::Input(idx), ty, span);
            frame
                .locals
                .insert(p.def.arg.to_string(), Val::Node(Node { v, weak: false }));
        }
        let expected = f.returns.as_ref().and_then(|r| self.checked_annotation(r));
        if !self.diags.is_empty() {
            return None;
        }
        self.stack.push(f.name.to_string());
        let flow = self.block(&mut frame, &f.body);
        self.stack.pop();
        let (ret, ret_span) = match flow {
            Flow::Return(v, s) => (v, s),
            Flow::Next => {
                let end = span_of(f).end;
                self.error(
                    Diagnostic::error(
                        Code::RETURN_TYPE,
                        format!("kernel `{}` does not return a value", f.name),
                    )
                    .primary(
                        Span::new(end.saturating_sub(1), end),
                        "the body ends here without `return`",
                    ),
                );
                return None;
            }
        };
        let expected = expected?;
        self.outputs(ret, ret_span, &expected);
        self.check_updates();
        if self.diags.is_empty() {
            self.vecs(ret_span);
        }
        if self.diags.is_empty() {
            self.ranges = Default::default();
            Some(std::mem::replace(&mut self.k, Kernel::new("")))
        } else {
            None
        }
    }

    /// An annotation; if it is not a type and nothing has said why yet (the subset
    /// rules do not read annotations), says so.
    fn checked_annotation(&mut self, e: &Expr) -> Option<annot::AnnTy> {
        let before = self.diags.len();
        let t = self.annotation(e);
        if t.is_none() && self.diags.len() == before {
            let span = span_of(e);
            let text = self.src.text[span.start as usize..span.end as usize].to_string();
            self.error(
                Diagnostic::error(Code::BAD_ANNOTATION, format!("`{text}` is not a kernel type"))
                    .primary(span, "unsupported annotation")
                    .help("use a numpy integer dtype (`np.uint16`), a range type (`u12`), `Array[T, d0, ...]` or `tuple[...]`"),
            );
        }
        t
    }

    /// Checks the returned value against the annotation and records the outputs.
    fn outputs(&mut self, ret: Val, span: Span, expected: &AnnTy) {
        let (vals, tys): (Vec<Val>, Vec<&AnnTy>) = match (ret, expected) {
            (Val::Tuple(vs), AnnTy::Tuple(ts)) if vs.len() == ts.len() => (vs, ts.iter().collect()),
            (Val::Tuple(vs), AnnTy::Tuple(ts)) => {
                self.error(
                    Diagnostic::error(
                        Code::RETURN_TYPE,
                        format!(
                            "the kernel returns {} values but its annotation says {}",
                            vs.len(),
                            ts.len()
                        ),
                    )
                    .primary(span, format!("{} values", vs.len())),
                );
                return;
            }
            (v @ Val::Tuple(_), t) | (v, t @ AnnTy::Tuple(_)) => {
                let got = self.describe(&v);
                self.error(
                    Diagnostic::error(
                        Code::RETURN_TYPE,
                        "the returned value does not match the return annotation",
                    )
                    .primary(span, format!("this is {got}"))
                    .note(format!("the annotation says {}", t.describe())),
                );
                return;
            }
            (v, t) => (vec![v], vec![t]),
        };
        for (v, t) in vals.into_iter().zip(tys) {
            let node = match v {
                Val::Node(n) => n,
                Val::Poison => return,
                Val::Int(_) | Val::Bool(_) => {
                    self.error(
                        Diagnostic::error(Code::NOT_STREAMABLE, "the kernel returns a compile-time constant")
                            .primary(span, "does not depend on any input")
                            .help("compute the constant on the host; kernel outputs are streams derived from the inputs"),
                    );
                    return;
                }
                other => {
                    let got = self.describe(&other);
                    self.error(
                        Diagnostic::error(
                            Code::RETURN_TYPE,
                            "a kernel can only return arrays and numpy scalars",
                        )
                        .primary(span, format!("this is {got}")),
                    );
                    return;
                }
            };
            let got = self.k.ty(node.v).clone();
            let want = t.ty();
            if let AnnTy::Vec(e, cap) = t {
                // the shape is the selection's, checked with the masks in `vecs`
                if got.dtype != e.dtype {
                    self.error(
                        Diagnostic::error(
                            Code::RETURN_TYPE,
                            "the returned value does not match the return annotation",
                        )
                        .primary(
                            span,
                            format!("numpy computes `{}` elements", got.dtype.numpy_name()),
                        )
                        .note(format!("the annotation says {}", t.describe()))
                        .help(format!(
                            "annotate `Vec[np.{}, {cap}]`, or convert with `.astype(np.{})`",
                            got.dtype.numpy_name(),
                            e.dtype.numpy_name()
                        )),
                    );
                    return;
                }
                self.vec_outputs.push(Some(*cap));
                self.k.outputs.push(node.v);
                continue;
            }
            if got != want {
                self.error(
                    Diagnostic::error(
                        Code::RETURN_TYPE,
                        "the returned value does not match the return annotation",
                    )
                    .primary(span, format!("numpy computes {}", describe_ty(&got)))
                    .note(format!("the annotation says {}", describe_ty(&want)))
                    .help(if got.shape == want.shape {
                        format!(
                            "annotate `{}`, or convert with `.astype(np.{})`",
                            numpy_ann(&got),
                            want.dtype.numpy_name()
                        )
                    } else {
                        format!("annotate `{}`", numpy_ann(&got))
                    }),
                );
                return;
            }
            self.vec_outputs.push(None);
            self.k.outputs.push(node.v);
        }
    }

    fn describe(&self, v: &Val) -> String {
        match v {
            Val::Int(_) => "a Python int".into(),
            Val::Bool(_) => "a Python bool".into(),
            Val::None => "`None`".into(),
            Val::Tuple(vs) => format!("a tuple of {}", vs.len()),
            Val::Node(n) => describe_ty(self.k.ty(n.v)),
            Val::Empty(d, shape) => format!(
                "an empty {}",
                describe_ty(&Type::array(*d, shape.clone())).trim_start_matches("a ")
            ),
            Val::Table(_) => "a constant table".into(),
            Val::Helper(h) => format!("the function `{h}`"),
            Val::Numpy => "the numpy module".into(),
            Val::Hiss => "the hiss module".into(),
            Val::DType(d) => format!("the dtype `np.{}`", d.numpy_name()),
            Val::RangeType(..) => "a range type".into(),
            Val::ArrayCtor => "`Array`".into(),
            Val::StateCtor => "`State`".into(),
            Val::VecCtor => "`Vec`".into(),
            Val::Builtin(b) => format!("the builtin `{b}`"),
            Val::FloatEdges(_) => "the float64 bin edges of `np.histogram`".into(),
            Val::Float(..) => "a Python float".into(),
            Val::Typed(_, d) => format!("an `np.{}` constant", d.numpy_name()),
            Val::Slice(..) => "a slice".into(),
            Val::Ellipsis => "`...`".into(),
            Val::Poison => "an invalid value".into(),
        }
    }

    fn block(&mut self, f: &mut Frame, body: &[Stmt]) -> Flow {
        for s in body {
            if let Flow::Return(v, sp) = self.stmt(f, s) {
                return Flow::Return(v, sp);
            }
        }
        Flow::Next
    }

    fn stmt(&mut self, f: &mut Frame, s: &Stmt) -> Flow {
        match s {
            Stmt::Assign(a) => {
                let v = self.expr(f, &a.value);
                for t in &a.targets {
                    self.assign(f, t, v.clone());
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = self.expr(f, value);
                    self.assign(f, &a.target, v);
                }
            }
            Stmt::AugAssign(a) => {
                let old = self.expr(f, &a.target);
                let rhs = self.expr(f, &a.value);
                let span = span_of(a);
                let new = self.binop(a.op, old.clone(), rhs, span);
                // an array (or a state, 0-d too) is written in place, and every
                // name sharing it sees the change; a numpy scalar is immutable
                let in_memory = match &old {
                    Val::Node(n) => {
                        !n.weak
                            && (!self.k.ty(n.v).shape.is_empty()
                                || matches!(self.k.insts[n.v].inst, Inst::State(_)))
                    }
                    _ => false,
                };
                match (&*a.target, in_memory) {
                    (Expr::Name(_), false) => {
                        let new = self.in_place(old, new, span);
                        self.assign(f, &a.target, new);
                    }
                    (_, true) => {
                        let new = self.in_place(old.clone(), new, span);
                        self.write_into(f, old, new, span);
                    }
                    // `a[1, 2] += x`: `a[1, 2] = a[1, 2] + x`
                    _ => self.write_into(f, old, new, span),
                }
            }
            Stmt::Return(r) => {
                let v = match &r.value {
                    Some(e) => self.expr(f, e),
                    None => Val::None,
                };
                let span = r.value.as_ref().map_or(span_of(r), |e| span_of(&**e));
                return Flow::Return(v, span);
            }
            Stmt::If(i) => {
                self.nesting += 1;
                let flow = self.if_stmt(f, i);
                self.nesting -= 1;
                return flow;
            }
            Stmt::For(l) => {
                self.nesting += 1;
                let flow = self.for_stmt(f, l);
                self.nesting -= 1;
                return flow;
            }
            // a helper called for what it writes into its arguments
            Stmt::Expr(e) if matches!(&*e.value, Expr::Call(_)) => {
                self.expr(f, &e.value);
            }
            // Everything else was rejected by the subset rules, or does nothing.
            _ => {}
        }
        Flow::Next
    }

    fn assign(&mut self, f: &mut Frame, target: &Expr, v: Val) {
        match target {
            Expr::Name(n) => {
                f.locals.insert(n.id.to_string(), v);
            }
            Expr::Subscript(s) => self.subscript_assign(f, s, v),
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                match v {
                    Val::Tuple(vs) if vs.len() == elts.len() => {
                        for (t, v) in elts.iter().zip(vs) {
                            self.assign(f, t, v);
                        }
                    }
                    Val::Poison => {
                        for t in elts {
                            self.assign(f, t, Val::Poison);
                        }
                    }
                    other => {
                        let got = self.describe(&other);
                        self.error(
                            Diagnostic::error(
                                Code::UNSUPPORTED_STATEMENT,
                                format!("cannot unpack {got} into {} names", elts.len()),
                            )
                            .primary(span_of(target), "unpacking"),
                        );
                        for t in elts {
                            self.assign(f, t, Val::Poison);
                        }
                    }
                }
            }
            _ => {} // rejected by the subset rules
        }
    }

    /// `TARGET[INDEX] = v`: a state's update (`NAME[...] = v`), or a write into
    /// the array the subscript is a view of.
    fn subscript_assign(&mut self, f: &mut Frame, t: &ast::ExprSubscript, v: Val) {
        let span = span_of(t);
        let whole =
            matches!(&*t.slice, Expr::Constant(c) if matches!(c.value, ast::Constant::Ellipsis));
        if let Expr::Name(n) = &*t.value {
            if whole && self.states.contains_key(n.id.as_str()) {
                return self.update_state(f, n.id.to_string(), span, v);
            }
        }
        let base = self.expr(f, &t.value);
        let index = self.expr(f, &t.slice);
        // only arrays have memory to write into (a tuple's item or a table's
        // element is not one)
        let target = match base {
            Val::Node(n) if !n.weak => self.subscript(Val::Node(n), index, &t.slice, span),
            other => other,
        };
        self.write_into(f, target, v, span);
    }

    /// numpy's write of `v` into the memory `target` is a view of: a state's
    /// update (once, at the top level), or new contents for the array's object.
    fn write_into(&mut self, f: &mut Frame, target: Val, v: Val, span: Span) {
        let n = match target {
            Val::Node(n) if !n.weak => n,
            Val::Poison => return,
            other => {
                let got = self.describe(&other);
                self.error(
                    Diagnostic::error(
                        Code::UNSUPPORTED_STATEMENT,
                        format!("{got} cannot be assigned into"),
                    )
                    .primary(span, "assigned here")
                    .note("elements and slices of arrays computed by the kernel, its inputs and its states can be assigned"),
                );
                return;
            }
        };
        if let Some(idx) = self.state_root(n.v) {
            let name = self.k.states[idx as usize].name.clone();
            if let Some((_, new)) = self.spliced(n, v, span) {
                self.update_state(
                    f,
                    name,
                    span,
                    Val::Node(Node {
                        v: new,
                        weak: false,
                    }),
                );
            }
            return;
        }
        self.write(n, v, span);
    }

    /// `NAME[...] = v`: the update of state NAME, once, at the top level of the kernel.
    fn update_state(&mut self, f: &mut Frame, name: String, span: Span, v: Val) {
        let Some(&(idx, prev)) = self.states.get(&name) else {
            return;
        };
        if self.stack.len() != 1 || self.nesting > 0 {
            // reported here, not again as a state never updated
            if prev.is_none() {
                self.states.insert(name.clone(), (idx, Some(span)));
            }
            let where_ = if self.stack.len() != 1 {
                "in a helper function"
            } else {
                "inside `if` or `for`"
            };
            self.error(
                Diagnostic::error(Code::STATE, format!("state `{name}` is updated {where_}"))
                    .primary(span, "not at the top level of the kernel body")
                    .help(format!("compute the new value (with `np.where` for a choice) and assign `{name}[...] = new` once, at the top level of the kernel")),
            );
            return;
        }
        if let Some(first) = prev {
            self.error(
                Diagnostic::error(Code::STATE, format!("state `{name}` is updated twice"))
                    .primary(span, "second update")
                    .secondary(first, "first update")
                    .help(format!("a frame updates each state once: combine the two into one `{name}[...] = ...`")),
            );
            return;
        }
        self.states.insert(name.clone(), (idx, Some(span)));
        f.locals.remove(&name);
        let want = self.k.states[idx as usize].ty.clone();
        let node = match v {
            Val::Node(n) => n,
            Val::Poison => return,
            other => {
                let got = self.describe(&other);
                self.error(
                    Diagnostic::error(Code::STATE, format!("state `{name}` is assigned {got}"))
                        .primary(span, format!("`{name}` is {}", describe_ty(&want)))
                        .help("assign an array computed by the kernel, of the state's dtype and shape"),
                );
                return;
            }
        };
        let got = self.k.ty(node.v).clone();
        if got != want {
            let fix = if got.shape == want.shape {
                format!(
                    "cast it: `{name}[...] = (...).astype(np.{})`",
                    want.dtype.numpy_name()
                )
            } else {
                format!("compute an array of shape {:?}", want.shape)
            };
            self.error(
                Diagnostic::error(
                    Code::STATE,
                    format!(
                        "the new value of state `{name}` is {}, the state is {}",
                        describe_ty(&got),
                        describe_ty(&want)
                    ),
                )
                .primary(span, "the state keeps its own dtype and shape")
                .note("numpy would cast silently into the state; a kernel writes the cast")
                .help(fix),
            );
            return;
        }
        while self.k.updates.len() <= idx as usize {
            self.k.updates.push(node.v);
        }
        self.k.updates[idx as usize] = node.v;
    }

    /// The state (name, where it was updated) that `v` is a view of, if it has
    /// been updated: the state itself, or reshapes and slices of it.
    fn updated_view(&self, v: &Val) -> Option<(String, Span)> {
        match v {
            Val::Node(n) => {
                // an element picked by integers (`s[1, 2]`) is a numpy scalar: a copy
                let scalar = self.k.ty(n.v).shape.is_empty();
                let mut x = n.v;
                loop {
                    match self.k.insts[x].inst {
                        Inst::Slice(..) if scalar => return None,
                        Inst::Reshape(a) | Inst::Slice(a, _) => x = a,
                        Inst::State(i) => {
                            let name = self.k.states[i as usize].name.clone();
                            let at = self.states.get(&name)?.1?;
                            return Some((name, at));
                        }
                        _ => return None,
                    }
                }
            }
            Val::Tuple(items) => items.iter().find_map(|i| self.updated_view(i)),
            _ => None,
        }
    }

    /// Every state is updated exactly once (the other cases were reported where they happen).
    fn check_updates(&mut self) {
        let mut missing: Vec<(u32, String)> = self
            .states
            .iter()
            .filter(|(_, (_, at))| at.is_none())
            .map(|(n, (i, _))| (*i, n.clone()))
            .collect();
        missing.sort();
        for (i, name) in missing {
            let span = self.k.states[i as usize].span;
            self.error(
                Diagnostic::error(Code::STATE, format!("state `{name}` is never updated"))
                    .primary(span, "a state the kernel never assigns")
                    .help(format!("assign the next frame's value with `{name}[...] = ...`, or make `{name}` an `Array` input if it does not change")),
            );
        }
    }

    fn if_stmt(&mut self, f: &mut Frame, i: &ast::StmtIf) -> Flow {
        let test = self.expr(f, &i.test);
        let span = span_of(&*i.test);
        match self.truth(test, span) {
            Truth::Known(true) => self.block(f, &i.body),
            Truth::Known(false) => self.block(f, &i.orelse),
            Truth::Poison => Flow::Next,
            Truth::Dynamic(c) => {
                // Both branches run; names they assign, and arrays they write
                // into, are merged with selects.
                let before = f.locals.clone();
                let memory = self.alias_snapshot();
                let then_flow = self.block(f, &i.body);
                let then_locals = std::mem::replace(&mut f.locals, before.clone());
                let then_memory = self.alias_restore(memory.clone());
                let else_flow = self.block(f, &i.orelse);
                let else_locals = std::mem::take(&mut f.locals);
                let else_memory = self.alias_restore(memory);
                self.merge_branches(c, then_memory, else_memory, span);
                match (then_flow, else_flow) {
                    (Flow::Return(a, sa), Flow::Return(b, _)) => {
                        f.locals = before;
                        let v = self.select(c, a, b, span);
                        return Flow::Return(v, sa);
                    }
                    (Flow::Next, Flow::Next) => {}
                    _ => {
                        self.error(
                            Diagnostic::error(Code::UNSUPPORTED_STATEMENT, "`return` in only one branch of an `if` on a run-time value")
                                .primary(span_of(i), "this `if` depends on a run-time value")
                                .help("both branches must return, or neither; assign a name in both and return it after the `if`"),
                        );
                    }
                }
                let mut names: Vec<&String> =
                    then_locals.keys().chain(else_locals.keys()).collect();
                names.sort();
                names.dedup();
                let mut merged = before.clone();
                for n in names {
                    let (a, b) = (then_locals.get(n), else_locals.get(n));
                    match (a, b) {
                        (Some(a), Some(b)) => {
                            let same = matches!((a, b), (Val::Node(x), Val::Node(y)) if x.v == y.v);
                            let v = if same {
                                a.clone()
                            } else {
                                // an array that other names may share (a view, or
                                // an array bound before the `if`)
                                let views = [a, b].iter().any(|x| {
                                    matches!(x, Val::Node(n) if !self.k.ty(n.v).shape.is_empty()
                                        && (self.is_shared(n.v)
                                            || before.values().any(|bv| matches!(bv, Val::Node(m) if m.v == n.v))))
                                });
                                let v = self.select(c, a.clone(), b.clone(), span);
                                if let (true, Val::Node(n)) = (views, &v) {
                                    // numpy's name is one view or the other
                                    self.mark_ambiguous(n.v, span_of(i));
                                }
                                v
                            };
                            merged.insert(n.clone(), v);
                        }
                        _ => {
                            // assigned in one branch only: unusable afterwards
                            merged.remove(n);
                            self.error(
                                Diagnostic::error(Code::UNSUPPORTED_STATEMENT, format!("`{n}` is assigned in only one branch of an `if` on a run-time value"))
                                    .primary(span_of(i), "this `if` becomes a select in hardware")
                                    .help(format!("assign `{n}` in both branches")),
                            );
                        }
                    }
                }
                f.locals = merged;
                Flow::Next
            }
        }
    }

    /// The values a `for` loop's target takes, in order (the loop is unrolled):
    /// `range(...)` with constant bounds, a tuple or list known at compile time
    /// (ROI corners, say), a constant table's elements, and `enumerate` or `zip`
    /// of those. `None` after a diagnostic.
    fn loop_items(&mut self, f: &mut Frame, iter: &Expr) -> Option<Vec<Val>> {
        let call = match iter {
            Expr::Call(c) => match &*c.func {
                Expr::Name(n) if c.keywords.is_empty() && !f.locals.contains_key(n.id.as_str()) => {
                    Some((n.id.as_str(), c))
                }
                _ => None,
            },
            _ => None,
        };
        match call {
            Some(("range", c)) => self.range_items(f, iter, c),
            Some(("enumerate", c)) if matches!(c.args.len(), 1 | 2) => {
                let items = self.loop_items(f, &c.args[0])?;
                let start = match c.args.get(1).map(|a| self.expr(f, a)) {
                    None => 0,
                    Some(Val::Int(i)) => i,
                    Some(Val::Poison) => return None,
                    Some(_) => {
                        self.error(
                            Diagnostic::error(
                                Code::NOT_CONSTANT,
                                "`enumerate`'s start must be a compile-time integer",
                            )
                            .primary(span_of(&c.args[1]), "not known at compile time"),
                        );
                        return None;
                    }
                };
                Some(
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| Val::Tuple(vec![Val::Int(start + i as i128), v]))
                        .collect(),
                )
            }
            Some(("zip", c)) if !c.args.is_empty() => {
                let mut all = Vec::new();
                for a in &c.args {
                    all.push(self.loop_items(f, a)?);
                }
                let n = all.iter().map(|x| x.len()).min().unwrap_or(0);
                Some(
                    (0..n)
                        .map(|i| Val::Tuple(all.iter().map(|x| x[i].clone()).collect()))
                        .collect(),
                )
            }
            _ => match self.expr(f, iter) {
                Val::Tuple(vs) => Some(vs),
                // a table's elements, or its rows (tables again)
                Val::Table(t) => {
                    let span = span_of(iter);
                    let rows = t.values.shape[0] as i128;
                    Some(
                        (0..rows)
                            .map(|i| self.subscript(Val::Table(t.clone()), Val::Int(i), iter, span))
                            .collect(),
                    )
                }
                // an array's rows (views, as numpy's iteration gives)
                Val::Node(n) if !self.k.ty(n.v).is_scalar() => {
                    let rows = self.k.ty(n.v).shape[0] as i128;
                    if rows > hissc_aop::limits::MAX_UNROLL {
                        self.error(
                            Diagnostic::error(
                                Code::LIMIT,
                                format!("this loop runs {rows} times; hissc unrolls at most {} iterations", hissc_aop::limits::MAX_UNROLL),
                            )
                            .primary(span_of(iter), "too many iterations")
                            .help("use whole-array operations instead of a long loop"),
                        );
                        return None;
                    }
                    let span = span_of(iter);
                    Some(
                        (0..rows)
                            .map(|i| self.subscript(Val::Node(n), Val::Int(i), iter, span))
                            .collect(),
                    )
                }
                Val::Poison => None,
                other => {
                    let what = self.describe(&other);
                    self.error(
                        Diagnostic::error(
                            Code::UNSUPPORTED_STATEMENT,
                            format!("a `for` loop over {what}"),
                        )
                        .primary(span_of(iter), "not known at compile time")
                        .help("loops are unrolled: iterate over `range(N)`, a constant tuple or list, an array's rows, or `enumerate`/`zip` of those"),
                    );
                    None
                }
            },
        }
    }

    /// `range(...)`'s values, its bounds compile-time constants.
    fn range_items(&mut self, f: &mut Frame, iter: &Expr, c: &ast::ExprCall) -> Option<Vec<Val>> {
        let mut bounds = Vec::new();
        for a in &c.args {
            let v = self.expr(f, a);
            match v {
                Val::Int(i) => bounds.push(i),
                Val::Bool(b) => bounds.push(b as i128),
                Val::Poison => return None,
                _ => {
                    self.error(
                        Diagnostic::error(
                            Code::NOT_CONSTANT,
                            "loop bounds must be compile-time constants",
                        )
                        .primary(span_of(a), "not known at compile time")
                        .note("loops are unrolled, so their trip count must be fixed"),
                    );
                    return None;
                }
            }
        }
        let (start, stop, step) = match bounds.as_slice() {
            [n] => (0, *n, 1),
            [a, b] => (*a, *b, 1),
            [a, b, s] if *s != 0 => (*a, *b, *s),
            _ => {
                self.error(
                    Diagnostic::error(
                        Code::ARGUMENTS,
                        "`range` takes one to three integers, and a step other than 0",
                    )
                    .primary(span_of(iter), "bad range"),
                );
                return None;
            }
        };
        let count = if step > 0 {
            (stop - start).max(0) / step + ((stop - start).max(0) % step != 0) as i128
        } else {
            (start - stop).max(0) / -step + ((start - stop).max(0) % -step != 0) as i128
        };
        if count > hissc_aop::limits::MAX_UNROLL {
            self.error(
                Diagnostic::error(
                    Code::LIMIT,
                    format!(
                        "this loop runs {count} times; hissc unrolls at most {} iterations",
                        hissc_aop::limits::MAX_UNROLL
                    ),
                )
                .primary(span_of(iter), "too many iterations")
                .help("use whole-array operations instead of a long loop"),
            );
            return None;
        }
        Some((0..count).map(|n| Val::Int(start + n * step)).collect())
    }

    fn for_stmt(&mut self, f: &mut Frame, l: &ast::StmtFor) -> Flow {
        let Some(items) = self.loop_items(f, &l.iter) else {
            return Flow::Next;
        };
        for v in items {
            self.assign(f, &l.target, v);
            if let Flow::Return(v, s) = self.block(f, &l.body) {
                return Flow::Return(v, s);
            }
        }
        Flow::Next
    }

    /// Calls a helper: binds arguments, runs the body in a fresh frame.
    pub fn call_helper(
        &mut self,
        name: &str,
        args: Vec<Val>,
        kwargs: Vec<(String, Val)>,
        span: Span,
    ) -> Val {
        let def = self.m.helpers[name];
        if self.stack.iter().any(|s| s == name) {
            // reported by the subset rules (HS0104)
            return Val::Poison;
        }
        let params: Vec<&ast::ArgWithDefault> =
            def.args.posonlyargs.iter().chain(&def.args.args).collect();
        if args.len() > params.len() {
            return self.error(
                Diagnostic::error(
                    Code::ARGUMENTS,
                    format!(
                        "`{name}` takes {} arguments but {} were given",
                        params.len(),
                        args.len()
                    ),
                )
                .primary(span, "too many arguments")
                .secondary(span_of(def), "defined here"),
            );
        }
        let mut frame = Frame::default();
        let mut bound: Vec<Option<Val>> = vec![None; params.len()];
        for (i, a) in args.into_iter().enumerate() {
            bound[i] = Some(a);
        }
        for (k, v) in kwargs {
            match params.iter().position(|p| p.def.arg.as_str() == k) {
                Some(i) => bound[i] = Some(v),
                None => {
                    return self.error(
                        Diagnostic::error(
                            Code::ARGUMENTS,
                            format!("`{name}` has no parameter `{k}`"),
                        )
                        .primary(span, "unknown keyword argument"),
                    )
                }
            }
        }
        for (i, p) in params.iter().enumerate() {
            let v = match bound[i].take() {
                Some(v) => v,
                None => match &p.default {
                    Some(d) => {
                        let mut empty = Frame::default();
                        self.expr(&mut empty, d)
                    }
                    None => {
                        return self.error(
                            Diagnostic::error(
                                Code::ARGUMENTS,
                                format!("`{name}` is missing the argument `{}`", p.def.arg),
                            )
                            .primary(span, "missing argument"),
                        )
                    }
                },
            };
            frame.locals.insert(p.def.arg.to_string(), v);
        }
        self.stack.push(name.to_string());
        let flow = self.block(&mut frame, &def.body);
        self.stack.pop();
        match flow {
            Flow::Return(v, _) => v,
            Flow::Next => Val::None,
        }
    }

    /// A module-level value that outlives the IR it was computed in: numpy
    /// scalar constants become [`Val::Typed`]; `None` if it is computed at run time.
    fn frozen(&self, v: Val) -> Option<Val> {
        match v {
            Val::Node(n) => match self.k.insts[n.v].inst {
                Inst::Const(c) if self.k.ty(n.v).shape.is_empty() && !n.weak => {
                    Some(Val::Typed(c, self.k.dtype(n.v)))
                }
                _ => None,
            },
            Val::Tuple(vs) => vs
                .into_iter()
                .map(|v| self.frozen(v))
                .collect::<Option<Vec<_>>>()
                .map(Val::Tuple),
            v => Some(v),
        }
    }

    /// A module-level value as the kernel sees it: numpy scalar constants become
    /// constants of the kernel's IR.
    fn thawed(&mut self, v: Val, span: Span) -> Val {
        match v {
            Val::Typed(c, d) => Val::Node(self.constant(c, d, span)),
            Val::Tuple(vs) => Val::Tuple(vs.into_iter().map(|v| self.thawed(v, span)).collect()),
            v => v,
        }
    }

    fn lookup(&mut self, f: &Frame, name: &str, span: Span) -> Val {
        if let Some(v) = f.locals.get(name) {
            let v = v.clone();
            // a view of a state (`r = s`, `s[0]`, `s.reshape(...)`) read after the
            // update shows the new state in CPython
            if let Some((state, at)) = self.updated_view(&v) {
                return self.error(
                    Diagnostic::error(
                        Code::STATE,
                        format!("`{name}` is a view of state `{state}`, read after its update"),
                    )
                    .primary(span, "read here, after the update")
                    .secondary(at, "the state is updated here")
                    .note("in CPython a view shares the state's memory and shows the new values, which the hardware only has for the next frame")
                    .help(format!("use `{name}` before the update, or compute a new array from it (`{name} + 0`)")),
                );
            }
            return self.resolve(v, span);
        }
        if let Some(&(_, Some(at))) = self.states.get(name) {
            if self.stack.len() == 1 {
                return self.error(
                    Diagnostic::error(
                        Code::STATE,
                        format!("`{name}` is read after its update"),
                    )
                    .primary(span, "read here, after the update")
                    .secondary(at, "the state is updated here")
                    .note("in CPython this reads the new state, which the hardware only has for the next frame")
                    .help(format!("read `{name}` before the update, or keep the new value in a name (`new = ...; {name}[...] = new`) and use that")),
                );
            }
        }
        if let Some(v) = self.globals.get(name).cloned() {
            return self.thawed(v, span);
        }
        if let Some(b) = crate::names::BUILTINS.iter().find(|b| **b == name) {
            return Val::Builtin(b);
        }
        match name {
            "True" => Val::Bool(true),
            "False" => Val::Bool(false),
            "None" => Val::None,
            "bool" => Val::DType(DType::Bool),
            "tuple" => Val::Builtin("tuple"),
            _ => self.error(
                Diagnostic::error(Code::UNDEFINED_NAME, format!("`{name}` is not defined"))
                    .primary(span, "unknown name"),
            ),
        }
    }

    /// Makes an IR constant of a dtype.
    pub fn constant(&mut self, value: i128, dtype: DType, span: Span) -> Node {
        let v = self.k.push(Inst::Const(value), Type::scalar(dtype), span);
        Node { v, weak: false }
    }

    /// Appends an instruction.
    pub fn push(&mut self, inst: Inst, ty: Type, span: Span, weak: bool) -> Val {
        let v = self.k.push(inst, ty, span);
        Val::Node(Node { v, weak })
    }
}

pub(crate) fn hiss_value(name: &str) -> Option<Val> {
    if name == "Array" {
        return Some(Val::ArrayCtor);
    }
    if name == "State" {
        return Some(Val::StateCtor);
    }
    if name == "Vec" {
        return Some(Val::VecCtor);
    }
    if name == "kernel" {
        return Some(Val::Builtin("kernel"));
    }
    let (signed, bits) = match name.as_bytes().first()? {
        b'u' => (false, name[1..].parse::<u32>().ok()?),
        b'i' => (true, name[1..].parse::<u32>().ok()?),
        _ => return None,
    };
    if !(1..=63).contains(&bits) || (signed && bits < 2) {
        return None;
    }
    let container = [8, 16, 32, 64].into_iter().find(|&w| w >= bits)?;
    let dtype = DType::int(signed, container)?;
    let range = if signed {
        Interval::new(-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        Interval::new(0, (1i128 << bits) - 1)
    };
    Some(Val::RangeType(dtype, range))
}

/// How numpy would describe a type: `uint16 array of shape (32, 32)`.
pub(crate) fn describe_ty(t: &Type) -> String {
    if t.shape.is_empty() {
        format!("a `{}` scalar", t.dtype.numpy_name())
    } else {
        let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
        let dims = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        format!("a `{}` array of shape {dims}", t.dtype.numpy_name())
    }
}

/// The annotation that describes a type: `Array[np.uint16, 32, 32]`.
pub(crate) fn numpy_ann(t: &Type) -> String {
    let d = format!(
        "np.{}",
        if t.dtype == DType::Bool {
            "bool_"
        } else {
            t.dtype.numpy_name()
        }
    );
    if t.shape.is_empty() {
        d
    } else {
        let dims: Vec<String> = t.shape.iter().map(|x| x.to_string()).collect();
        format!("Array[{d}, {}]", dims.join(", "))
    }
}

pub(crate) enum Truth {
    Known(bool),
    Dynamic(Node),
    Poison,
}

impl Elem {
    fn from_val(v: &Val) -> Option<Elem> {
        match v {
            Val::DType(d) => Some(Elem {
                dtype: *d,
                range: Interval::of(*d),
            }),
            Val::RangeType(d, r) => Some(Elem {
                dtype: *d,
                range: *r,
            }),
            _ => None,
        }
    }
}
