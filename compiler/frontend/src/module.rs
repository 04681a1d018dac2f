//! The module level of a kernel file: imports, constants, helpers and kernels.

use crate::syntax::span_of;
use hissc_diagnostics::{Code, Diagnostic};
use rustpython_parser::ast::{self, Expr, Stmt};
use std::collections::HashMap;

/// What a kernel file defines at module level, borrowing its AST.
pub struct Module<'a> {
    /// The local name of `numpy` (usually `np`).
    pub numpy: Option<String>,
    /// The local name of `hiss` from `import hiss`.
    pub hiss: Option<String>,
    /// Names imported with `from hiss import ...`: local name to hiss name
    /// (`from hiss import *` imports every name a kernel can use).
    pub hiss_names: HashMap<String, String>,
    /// Names imported with `from typing import ...` (`Tuple`): local name to
    /// typing name.
    pub typing_names: HashMap<String, String>,
    /// Module-level assignments, in order (constants and tables).
    pub constants: Vec<&'a ast::StmtAssign>,
    /// Helper functions (no `@kernel`).
    pub helpers: HashMap<String, &'a ast::StmtFunctionDef>,
    /// `@kernel` functions in file order.
    pub kernels: Vec<&'a ast::StmtFunctionDef>,
}

impl<'a> Module<'a> {
    /// Is `e` a reference to the hiss name `what` (`kernel`, `Array`, `u12`, ...)?
    pub fn is_hiss(&self, e: &Expr, what: &str) -> bool {
        match e {
            Expr::Name(n) => self
                .hiss_names
                .get(n.id.as_str())
                .is_some_and(|h| h == what),
            Expr::Attribute(a) => {
                a.attr.as_str() == what
                    && matches!(&*a.value, Expr::Name(n) if Some(n.id.as_str()) == self.hiss.as_deref())
            }
            _ => false,
        }
    }

    /// Is `e` the numpy module?
    pub fn is_numpy(&self, e: &Expr) -> bool {
        matches!(e, Expr::Name(n) if Some(n.id.as_str()) == self.numpy.as_deref())
    }

    fn is_kernel_decorator(&self, e: &Expr) -> bool {
        match e {
            Expr::Call(c) => self.is_hiss(&c.func, "kernel"),
            e => self.is_hiss(e, "kernel"),
        }
    }
}

/// Collects the module level; reports statements that do not belong there.
pub fn collect<'a>(body: &'a [Stmt], diags: &mut Vec<Diagnostic>) -> Module<'a> {
    let mut m = Module {
        numpy: None,
        hiss: None,
        hiss_names: HashMap::new(),
        typing_names: HashMap::new(),
        constants: Vec::new(),
        helpers: HashMap::new(),
        kernels: Vec::new(),
    };
    // Imports first, so that decorators can be recognised wherever they are.
    for s in body {
        match s {
            Stmt::Import(i) => {
                for a in &i.names {
                    let local = a.asname.as_ref().unwrap_or(&a.name).to_string();
                    match a.name.as_str() {
                        "numpy" => m.numpy = Some(local),
                        "hiss" => m.hiss = Some(local),
                        other => diags.push(
                            Diagnostic::error(
                                Code::IMPORT,
                                format!("`{other}` cannot be imported in a kernel file"),
                            )
                            .primary(span_of(a), "not numpy or hiss")
                            .help("kernels may import `numpy as np` and names from `hiss` only"),
                        ),
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module = i.module.as_ref().map(|m| m.as_str()).unwrap_or("");
                if module == "hiss" {
                    for a in &i.names {
                        if a.name.as_str() == "*" {
                            for name in hiss_exports() {
                                m.hiss_names.insert(name.clone(), name);
                            }
                            continue;
                        }
                        let local = a.asname.as_ref().unwrap_or(&a.name).to_string();
                        m.hiss_names.insert(local, a.name.to_string());
                    }
                } else if module == "typing" {
                    // `Tuple[...]` spells a tuple return annotation, as `tuple[...]`
                    for a in &i.names {
                        let local = a.asname.as_ref().unwrap_or(&a.name).to_string();
                        m.typing_names.insert(local, a.name.to_string());
                    }
                } else if module != "__future__" {
                    diags.push(
                        Diagnostic::error(
                            Code::IMPORT,
                            format!("names cannot be imported from `{module}` in a kernel file"),
                        )
                        .primary(span_of(s), "not from hiss")
                        .help("write `import numpy as np` and use `np.NAME`"),
                    );
                }
            }
            _ => {}
        }
    }
    for s in body {
        match s {
            Stmt::Import(_) | Stmt::ImportFrom(_) | Stmt::Pass(_) => {}
            // `if __name__ == "__main__":` does not run when the file is imported
            Stmt::If(i) if is_main_guard(&i.test) => {}
            Stmt::Expr(e) if matches!(&*e.value, Expr::Constant(c) if matches!(c.value, ast::Constant::Str(_))) => {}
            Stmt::FunctionDef(f) => {
                if f.decorator_list.iter().any(|d| m.is_kernel_decorator(d)) {
                    m.kernels.push(f);
                } else {
                    m.helpers.insert(f.name.to_string(), f);
                }
                for d in &f.decorator_list {
                    if !m.is_kernel_decorator(d) {
                        diags.push(
                            Diagnostic::error(Code::MODULE_LEVEL, "decorators other than `@kernel` are not supported")
                                .primary(span_of(d), "unknown decorator"),
                        );
                    }
                }
            }
            // `N = 4`, and `H, W = 16, 32`
            Stmt::Assign(a)
                if a.targets.len() == 1
                    && match &a.targets[0] {
                        Expr::Name(_) => true,
                        Expr::Tuple(t) => t.elts.iter().all(|e| matches!(e, Expr::Name(_))),
                        _ => false,
                    } =>
            {
                m.constants.push(a);
            }
            other => diags.push(
                Diagnostic::error(Code::MODULE_LEVEL, "this statement cannot appear at module level in a kernel file")
                    .primary(span_of(other), "not an import, a constant or a function")
                    .note("module level holds imports, integer constants and tables, helpers and `@kernel` functions"),
            ),
        }
    }
    m
}

/// The names of `hiss` a kernel file can use: what `from hiss import *` binds.
fn hiss_exports() -> Vec<String> {
    let mut names: Vec<String> = ["kernel", "Array", "State", "Vec"]
        .map(String::from)
        .to_vec();
    names.extend((1..=63).map(|b| format!("u{b}")));
    names.extend((2..=63).map(|b| format!("i{b}")));
    names
}

/// `__name__ == "__main__"` (either way round).
fn is_main_guard(test: &Expr) -> bool {
    let Expr::Compare(c) = test else {
        return false;
    };
    let is_name = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "__name__");
    let is_main = |e: &Expr| matches!(e, Expr::Constant(k) if matches!(&k.value, ast::Constant::Str(s) if s == "__main__"));
    c.ops.len() == 1
        && matches!(c.ops[0], ast::CmpOp::Eq)
        && c.comparators.len() == 1
        && ((is_name(&c.left) && is_main(&c.comparators[0]))
            || (is_main(&c.left) && is_name(&c.comparators[0])))
}
