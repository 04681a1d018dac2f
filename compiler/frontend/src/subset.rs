//! The subset rules: every statement and expression outside the kernel language,
//! reported all at once, before anything is evaluated (like a linter).
//!
//! Rules: statements (HS0101), expressions (HS0102), calls of unknown functions
//! and methods (HS0103), recursion among helpers (HS0104), imports inside
//! functions (HS0105), floating point (HS0301), and missing annotations on
//! kernels (HS0201).

use crate::module::Module;
use crate::names;
use crate::syntax::span_of;
use hissc_diagnostics::{Code, Diagnostic, Span};
use rustpython_parser::ast::{self, Constant, Expr, Operator, Stmt};
use std::collections::HashMap;

/// Runs every rule over the module's functions and its constants' values.
pub fn check(m: &Module, diags: &mut Vec<Diagnostic>) {
    let mut c = Checker {
        m,
        diags,
        calls: Vec::new(),
        module_level: true,
    };
    for a in &m.constants {
        c.expr(&a.value);
    }
    c.module_level = false;
    c.calls.clear();
    for k in &m.kernels {
        c.signature(k);
        c.block(&k.body);
    }
    let mut helpers: Vec<_> = m.helpers.values().collect();
    helpers.sort_by_key(|f| span_of(**f));
    let mut graph: HashMap<&str, Vec<(String, Span)>> = HashMap::new();
    for h in helpers {
        c.calls.clear();
        c.block(&h.body);
        graph.insert(h.name.as_str(), std::mem::take(&mut c.calls));
    }
    recursion(m, &graph, c.diags);
}

struct Checker<'m, 'd> {
    m: &'m Module<'m>,
    diags: &'d mut Vec<Diagnostic>,
    /// Helper calls seen in the current function (name, call span).
    calls: Vec<(String, Span)>,
    /// Checking a module-level constant, where a float is a value to compare with.
    module_level: bool,
}

impl Checker<'_, '_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn signature(&mut self, f: &ast::StmtFunctionDef) {
        let a = &f.args;
        for p in a.posonlyargs.iter().chain(&a.args).chain(&a.kwonlyargs) {
            if p.def.annotation.is_none() {
                self.push(
                    Diagnostic::error(
                        Code::MISSING_ANNOTATION,
                        format!("kernel parameter `{}` has no type annotation", p.def.arg),
                    )
                    .primary(span_of(&p.def), "needs a type")
                    .help(format!(
                        "annotate it, e.g. `{}: np.uint16` for a run-time register or `{}: Array[np.uint16, 64, 64]` for an input stream",
                        p.def.arg, p.def.arg
                    )),
                );
            }
            if let Some(d) = &p.default {
                self.push(
                    Diagnostic::error(
                        Code::BAD_ANNOTATION,
                        "kernel parameters cannot have default values",
                    )
                    .primary(span_of(&**d), "default value"),
                );
            }
        }
        if let Some(v) = a.vararg.as_ref().or(a.kwarg.as_ref()) {
            self.push(
                Diagnostic::error(
                    Code::BAD_ANNOTATION,
                    "kernels cannot take `*args` or `**kwargs`",
                )
                .primary(span_of(&**v), "not a fixed parameter"),
            );
        }
        if f.returns.is_none() {
            let start = span_of(f).start;
            let name_end = start + 4 + f.name.as_str().len() as u32;
            self.push(
                Diagnostic::error(
                    Code::MISSING_ANNOTATION,
                    format!("kernel `{}` has no return annotation", f.name),
                )
                .primary(Span::new(start, name_end), "needs `-> TYPE`")
                .help("add the return type, e.g. `-> Array[np.uint16, 64, 64]` or `-> np.uint64`"),
            );
        }
    }

    fn block(&mut self, body: &[Stmt]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn unsupported(&mut self, s: &Stmt, what: &str, help: &str) {
        let mut d = Diagnostic::error(
            Code::UNSUPPORTED_STATEMENT,
            format!("{what} is not supported in kernels"),
        )
        .primary(keyword_span(s, what), "not in the kernel language");
        if !help.is_empty() {
            d = d.help(help);
        }
        self.push(d);
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    self.target(t);
                }
                self.expr(&a.value);
            }
            Stmt::AugAssign(a) => {
                self.target(&a.target);
                self.binop_rules(a.op, span_of(a));
                self.expr(&a.value);
            }
            Stmt::AnnAssign(a) => {
                self.target(&a.target);
                if let Some(v) = &a.value {
                    self.expr(v);
                }
            }
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.expr(v);
                }
            }
            Stmt::If(i) => {
                self.expr(&i.test);
                self.block(&i.body);
                self.block(&i.orelse);
            }
            Stmt::For(f) => {
                self.target(&f.target);
                // what the loop iterates over is checked by the lowering: a
                // `range`, or a tuple, list or table known at compile time
                self.expr(&f.iter);
                self.block(&f.body);
                if !f.orelse.is_empty() {
                    self.unsupported(s, "`for ... else`", "");
                }
            }
            Stmt::Expr(e) => match &*e.value {
                Expr::Constant(c) if matches!(c.value, Constant::Str(_)) => {}
                Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if n.id.as_str() == "print") => {
                    self.push(
                        Diagnostic::error(Code::UNSUPPORTED_STATEMENT, "`print` is not supported in kernels")
                            .primary(span_of(e), "hardware has no console")
                            .help("return the value as an output instead"),
                    )
                }
                // a helper called for what it writes into its arguments
                Expr::Call(c) if matches!(&*c.func, Expr::Name(n) if self.m.helpers.contains_key(n.id.as_str())) => {
                    self.expr(&e.value);
                }
                other => {
                    self.expr(other);
                    self.push(
                        Diagnostic::error(Code::UNSUPPORTED_STATEMENT, "an expression whose value is discarded does nothing in a kernel")
                            .primary(span_of(other), "value not used")
                            .help("assign it to a name or return it"),
                    );
                }
            },
            Stmt::Pass(_) => {}
            Stmt::While(_) => self.unsupported(
                s,
                "`while`",
                "a loop must have a constant trip count: write `for i in range(N)`, which hissc unrolls",
            ),
            Stmt::Try(_) | Stmt::TryStar(_) => self.unsupported(s, "`try`", "kernels cannot raise or catch exceptions"),
            Stmt::With(_) | Stmt::AsyncWith(_) => self.unsupported(s, "`with`", ""),
            Stmt::ClassDef(_) => self.unsupported(s, "`class`", ""),
            Stmt::FunctionDef(_) | Stmt::AsyncFunctionDef(_) => {
                self.unsupported(s, "`def`", "define helper functions at module level")
            }
            Stmt::Global(_) | Stmt::Nonlocal(_) => {
                self.unsupported(s, "`global`", "module-level names are constants; read them, do not assign them")
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => self.push(
                Diagnostic::error(Code::IMPORT, "imports inside functions are not supported")
                    .primary(span_of(s), "import here")
                    .help("import `numpy as np` and names from `hiss` at module level"),
            ),
            Stmt::Break(_) | Stmt::Continue(_) => self.unsupported(s, "`break`", "loops are unrolled with a fixed trip count"),
            Stmt::Raise(_) => self.unsupported(s, "`raise`", ""),
            Stmt::Assert(_) => self.unsupported(s, "`assert`", ""),
            Stmt::Delete(_) => self.unsupported(s, "`del`", ""),
            Stmt::Match(_) => self.unsupported(s, "`match`", "use `if`/`elif`/`else`"),
            Stmt::AsyncFor(_) => self.unsupported(s, "`async for`", ""),
            Stmt::TypeAlias(_) => self.unsupported(s, "`type`", ""),
        }
    }

    fn target(&mut self, t: &Expr) {
        match t {
            Expr::Name(_) => {}
            Expr::Tuple(tu) => tu.elts.iter().for_each(|e| self.target(e)),
            Expr::List(l) => l.elts.iter().for_each(|e| self.target(e)),
            // `NAME[...] = EXPR` (a state's update) and writes into elements and
            // slices of arrays: the lowering follows numpy's views
            Expr::Subscript(s) => {
                self.expr(&s.value);
                self.expr(&s.slice);
            }
            Expr::Attribute(_) => self.push(
                Diagnostic::error(
                    Code::UNSUPPORTED_STATEMENT,
                    "assignment to an attribute is not supported",
                )
                .primary(span_of(t), "attribute assignment"),
            ),
            _ => self.push(
                Diagnostic::error(Code::UNSUPPORTED_STATEMENT, "this cannot be assigned to")
                    .primary(span_of(t), "not a name"),
            ),
        }
    }

    fn binop_rules(&mut self, op: Operator, span: Span) {
        match op {
            // a module-level constant may be Python float arithmetic
            Operator::Div if self.module_level => {}
            Operator::Div => self.push(
                Diagnostic::error(
                    Code::FLOAT,
                    "true division `/` gives floating point, which kernels do not have",
                )
                .primary(span, "float division")
                .help("use floor division `//` by a constant, or `>>` for a power of two"),
            ),
            Operator::MatMult => self.push(
                Diagnostic::error(
                    Code::UNSUPPORTED_EXPRESSION,
                    "matrix multiplication `@` is not supported",
                )
                .primary(span, "not elementwise"),
            ),
            _ => {}
        }
    }

    fn expr(&mut self, e: &Expr) {
        let span = span_of(e);
        let bad = |what: &str| {
            Diagnostic::error(
                Code::UNSUPPORTED_EXPRESSION,
                format!("{what} are not supported in kernels"),
            )
            .primary(span, "not in the kernel language")
        };
        match e {
            Expr::BinOp(b) => {
                self.binop_rules(b.op, span);
                self.expr(&b.left);
                self.expr(&b.right);
            }
            Expr::UnaryOp(u) => self.expr(&u.operand),
            Expr::BoolOp(b) => b.values.iter().for_each(|v| self.expr(v)),
            Expr::Compare(c) => {
                // a float literal compared with integers has an exact integer
                // meaning (numpy compares in float64): the lowering decides
                for v in std::iter::once(&*c.left).chain(&c.comparators) {
                    if !is_float_constant(v) {
                        self.expr(v);
                    }
                }
                if c.ops.iter().any(|o| matches!(o, ast::CmpOp::In | ast::CmpOp::NotIn | ast::CmpOp::Is | ast::CmpOp::IsNot)) {
                    self.push(bad("`in` and `is` comparisons"));
                }
            }
            Expr::IfExp(i) => {
                self.expr(&i.test);
                self.expr(&i.body);
                self.expr(&i.orelse);
            }
            Expr::Call(c) => self.call(c, span),
            Expr::Constant(c) => match &c.value {
                Constant::Float(_) if self.module_level => {}
                Constant::Float(_) | Constant::Complex { .. } => self.push(
                    Diagnostic::error(Code::FLOAT, "floating-point numbers are not supported in kernels")
                        .primary(span, "a float literal")
                        .help("kernels compute with integers; scale to an integer and shift back with `>>`"),
                ),
                Constant::Str(_) | Constant::Bytes(_) => self.push(bad("strings")),
                // `...` in an index; the lowering says where else it means nothing
                Constant::Ellipsis => {}
                _ => {}
            },
            Expr::Attribute(a) => {
                if self.m.is_numpy(&a.value) {
                    self.np_name(a.attr.as_str(), span, false);
                } else {
                    self.expr(&a.value);
                }
            }
            Expr::Subscript(s) => {
                self.expr(&s.value);
                self.expr(&s.slice);
            }
            Expr::Slice(s) => {
                for p in [&s.lower, &s.upper, &s.step].into_iter().flatten() {
                    self.expr(p);
                }
            }
            Expr::Tuple(t) => t.elts.iter().for_each(|v| self.expr(v)),
            Expr::List(l) => l.elts.iter().for_each(|v| self.expr(v)),
            Expr::Name(_) => {}
            Expr::Lambda(_) => self.push(bad("lambdas").help("define a helper function at module level")),
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::GeneratorExp(_) => {
                self.push(bad("comprehensions").help("use whole-array numpy operations or a `for` loop over `range`"))
            }
            Expr::Dict(_) | Expr::Set(_) => self.push(bad("dicts and sets")),
            Expr::NamedExpr(_) => self.push(bad("assignment expressions (`:=`)")),
            Expr::Await(_) | Expr::Yield(_) | Expr::YieldFrom(_) => self.push(bad("`await` and `yield`")),
            Expr::JoinedStr(_) | Expr::FormattedValue(_) => self.push(bad("f-strings")),
            Expr::Starred(_) => self.push(bad("starred expressions")),
        }
    }

    /// `np.NAME` used as a value (`call` false) or called.
    fn np_name(&mut self, name: &str, span: Span, call: bool) {
        if names::NP_FLOAT.contains(&name) {
            self.push(
                Diagnostic::error(
                    Code::FLOAT,
                    format!("`np.{name}` works in floating point, which kernels do not have"),
                )
                .primary(span, "floating point")
                .help(
                    "keep integer sums and divide on the host, or use `//` by a constant or `>>`",
                ),
            );
        } else if names::np_function(name).is_none()
            && !names::NP_DTYPES.contains(&name)
            && (call || !names::NP_VALUES.contains(&name))
        {
            let what = if call { "function" } else { "name" };
            self.push(
                Diagnostic::error(Code::UNKNOWN_FUNCTION, format!("`np.{name}` is not a {what} of the kernel language"))
                    .primary(span, "unsupported numpy function")
                    .note("kernels stream through hardware one element per cycle; see docs/language.md for the numpy functions hissc compiles"),
            );
        }
    }

    fn call(&mut self, c: &ast::ExprCall, span: Span) {
        for a in &c.args {
            self.expr(a);
        }
        for k in &c.keywords {
            if k.arg.is_none() {
                self.push(
                    Diagnostic::error(
                        Code::UNSUPPORTED_EXPRESSION,
                        "`**kwargs` arguments are not supported",
                    )
                    .primary(span_of(k), "not in the kernel language"),
                );
            }
            self.expr(&k.value);
        }
        match &*c.func {
            Expr::Attribute(a) if self.m.is_numpy(&a.value) => {
                self.np_name(a.attr.as_str(), span, true)
            }
            Expr::Attribute(a) => {
                if let Expr::Attribute(inner) = &*a.value {
                    if self.m.is_numpy(&inner.value) {
                        // np.fft.fft2(...), np.linalg.norm(...): a numpy submodule
                        let name = format!("{}.{}", inner.attr, a.attr);
                        self.push(
                            Diagnostic::error(Code::UNKNOWN_FUNCTION, format!("`np.{name}` is not a function of the kernel language"))
                                .primary(span, "unsupported numpy function")
                                .note("kernels stream through hardware one element per cycle; see docs/language.md for the numpy functions hissc compiles"),
                        );
                        return;
                    }
                }
                let method = a.attr.as_str();
                if method == "mean" {
                    self.push(
                        Diagnostic::error(
                            Code::FLOAT,
                            "`.mean()` gives floating point, which kernels do not have",
                        )
                        .primary(span, "floating point")
                        .help("use `.sum()` and divide on the host, or `//` by the element count"),
                    );
                } else if names::method(method).is_none() {
                    self.push(
                        Diagnostic::error(
                            Code::UNKNOWN_FUNCTION,
                            format!("`.{method}()` is not a method of the kernel language"),
                        )
                        .primary(span, "unsupported method")
                        .note(format!(
                            "array methods are {}",
                            names::METHODS
                                .iter()
                                .map(|m| format!("`.{}()`", m.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                }
                self.expr(&a.value);
            }
            Expr::Name(n) => {
                let name = n.id.as_str();
                if self.m.helpers.contains_key(name) {
                    self.calls.push((name.to_string(), span));
                } else if name == "float" {
                    self.push(
                        Diagnostic::error(Code::FLOAT, "`float(...)` is not supported in kernels")
                            .primary(span, "floating point"),
                    );
                } else if self.m.hiss_names.contains_key(name)
                    || self.m.kernels.iter().any(|k| k.name.as_str() == name)
                {
                    // calling a kernel or a hiss name is caught when evaluating
                } else if !names::BUILTINS.contains(&name) && name != "print" {
                    self.push(
                        Diagnostic::error(Code::UNKNOWN_FUNCTION, format!("`{name}` is not a function a kernel can call"))
                            .primary(span, "unknown function")
                            .help("call helpers defined in this file, numpy functions as `np.NAME`, or `abs`, `range`, `int`, `bool`, `len`"),
                    );
                }
            }
            other => self.push(
                Diagnostic::error(
                    Code::UNSUPPORTED_EXPRESSION,
                    "only named functions can be called",
                )
                .primary(span_of(other), "not a function name"),
            ),
        }
    }
}

/// The span of a statement's leading keyword (`while`), or the whole statement.
fn keyword_span(s: &Stmt, what: &str) -> Span {
    let sp = span_of(s);
    let kw = what.trim_matches('`').split(' ').next().unwrap_or("");
    if kw.chars().all(|c| c.is_ascii_lowercase()) && !kw.is_empty() {
        Span::new(sp.start, sp.start + kw.len() as u32)
    } else {
        sp
    }
}

/// Reports every helper call that closes a cycle in the call graph.
fn recursion(m: &Module, graph: &HashMap<&str, Vec<(String, Span)>>, diags: &mut Vec<Diagnostic>) {
    let mut names: Vec<&&str> = graph.keys().collect();
    names.sort_by_key(|n| span_of(m.helpers[**n]));
    for &&start in &names {
        for (callee, span) in &graph[start] {
            // does callee reach start?
            let mut seen = vec![callee.as_str()];
            let mut stack = vec![callee.as_str()];
            let mut cyclic = false;
            while let Some(n) = stack.pop() {
                if n == start {
                    cyclic = true;
                    break;
                }
                for (next, _) in graph.get(n).map(|v| v.as_slice()).unwrap_or(&[]) {
                    if !seen.contains(&next.as_str()) {
                        seen.push(next.as_str());
                        stack.push(next.as_str());
                    }
                }
            }
            if cyclic {
                let msg = if callee == start {
                    format!("helper `{start}` calls itself")
                } else {
                    format!("helper `{start}` calls `{callee}`, which calls `{start}` again")
                };
                diags.push(
                    Diagnostic::error(Code::RECURSION, msg)
                        .primary(*span, "recursive call")
                        .note("helpers are inlined at every call, so recursion would never end")
                        .help("write the repetition as `for i in range(N)`, which hissc unrolls"),
                );
            }
        }
    }
}

/// `2.5`, `-2.5`, or Python float arithmetic on literals and names
/// (`1.5 * E_PHOTON`, `E / 2`), which the lowering folds when the names are
/// constants and refuses otherwise.
fn is_float_constant(e: &Expr) -> bool {
    fn number(e: &Expr) -> bool {
        match e {
            Expr::Constant(c) => matches!(c.value, Constant::Float(_) | Constant::Int(_)),
            Expr::Name(_) => true,
            Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub | ast::UnaryOp::UAdd) => {
                number(&u.operand)
            }
            Expr::BinOp(b) => {
                matches!(
                    b.op,
                    Operator::Add | Operator::Sub | Operator::Mult | Operator::Div
                ) && number(&b.left)
                    && number(&b.right)
            }
            _ => false,
        }
    }
    fn has_float(e: &Expr) -> bool {
        match e {
            Expr::Constant(c) => matches!(c.value, Constant::Float(_)),
            Expr::UnaryOp(u) => has_float(&u.operand),
            Expr::BinOp(b) => b.op == Operator::Div || has_float(&b.left) || has_float(&b.right),
            _ => false,
        }
    }
    number(e) && has_float(e)
}
