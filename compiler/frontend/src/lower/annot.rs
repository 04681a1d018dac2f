//! Type annotations: `np.uint16`, `u12`, `Array[T, d0, ...]`, `State[T, ...]`, `tuple[...]`.

use super::{describe_ty, Frame, Lowerer, Val};
use crate::syntax::span_of;
use hissc_aop::{DType, Interval, Shape, Type};
use hissc_diagnostics::{Code, Diagnostic};
use rustpython_parser::ast::Expr;

/// An element type: a dtype and the promise of a range type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Elem {
    pub dtype: DType,
    pub range: Interval,
}

/// A resolved annotation.
#[derive(Clone, Debug)]
pub(crate) enum AnnTy {
    Scalar(Elem),
    Array(Elem, Shape),
    /// `State[T, d0, ...]` (a 0-d state with no dimensions).
    State(Elem, Shape),
    /// `Vec[T, N]`: at most N elements, the count known at run time.
    Vec(Elem, u32),
    Tuple(Vec<AnnTy>),
}

impl AnnTy {
    /// The dtype and shape numpy will produce (outputs of tuples: see `Tuple`).
    pub fn ty(&self) -> Type {
        match self {
            AnnTy::Scalar(e) => Type::scalar(e.dtype),
            AnnTy::Array(e, s) | AnnTy::State(e, s) => Type::array(e.dtype, s.clone()),
            AnnTy::Vec(e, n) => Type::array(e.dtype, vec![*n]),
            AnnTy::Tuple(_) => Type::scalar(DType::Bool),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            AnnTy::Tuple(ts) => format!("a tuple of {}", ts.len()),
            AnnTy::State(..) => format!("a state ({})", describe_ty(&self.ty())),
            AnnTy::Vec(e, n) => format!("a `{}` Vec of at most {n} elements", e.dtype.numpy_name()),
            t => describe_ty(&t.ty()),
        }
    }
}

impl Lowerer<'_> {
    /// Resolves an annotation; reports HS0202 (or HS0301 for floats) and gives `None` on error.
    pub(crate) fn annotation(&mut self, e: &Expr) -> Option<AnnTy> {
        let span = span_of(e);
        let bad = |msg: &str| {
            Diagnostic::error(Code::BAD_ANNOTATION, format!("`{}` is not a kernel type", msg))
                .primary(span, "unsupported annotation")
                .help("use a numpy integer dtype (`np.uint16`), a range type (`u12`), `Array[T, d0, ...]` or `tuple[...]`")
        };
        if let Expr::Subscript(s) = e {
            let mut frame = Frame::default();
            let head = self.expr(&mut frame, &s.value);
            let items: Vec<&Expr> = match &*s.slice {
                Expr::Tuple(t) => t.elts.iter().collect(),
                other => vec![other],
            };
            return match head {
                Val::ArrayCtor => {
                    let elem = self.elem(items[0])?;
                    if items.len() < 2 || items.len() > 4 {
                        self.error(
                            Diagnostic::error(Code::BAD_ANNOTATION, "arrays have one to three dimensions")
                                .primary(span, format!("{} dimensions", items.len().saturating_sub(1)))
                                .help("write `Array[T, d0]`, `Array[T, d0, d1]` or `Array[T, d0, d1, d2]`"),
                        );
                        return None;
                    }
                    let shape = self.dims(span, &items[1..])?;
                    Some(AnnTy::Array(elem, shape))
                }
                Val::StateCtor => {
                    let elem = self.elem(items[0])?;
                    if items.len() > 4 {
                        self.error(
                            Diagnostic::error(Code::BAD_ANNOTATION, "a state has zero to three dimensions")
                                .primary(span, format!("{} dimensions", items.len() - 1))
                                .help("write `State[T]`, `State[T, d0]`, `State[T, d0, d1]` or `State[T, d0, d1, d2]`"),
                        );
                        return None;
                    }
                    let shape = self.dims(span, &items[1..])?;
                    Some(AnnTy::State(elem, shape))
                }
                Val::VecCtor => {
                    if items.len() != 2 {
                        self.error(
                            Diagnostic::error(
                                Code::BAD_ANNOTATION,
                                "a Vec has an element type and a capacity",
                            )
                            .primary(span, "write `Vec[T, N]`"),
                        );
                        return None;
                    }
                    let elem = self.elem(items[0])?;
                    let shape = self.dims(span, &items[1..])?;
                    Some(AnnTy::Vec(elem, shape[0]))
                }
                Val::Builtin("tuple") => {
                    let mut parts = Vec::new();
                    for it in items {
                        let t = self.annotation(it)?;
                        if matches!(t, AnnTy::Tuple(_)) {
                            self.error(bad("nested tuple"));
                            return None;
                        }
                        parts.push(t);
                    }
                    Some(AnnTy::Tuple(parts))
                }
                Val::Poison => None,
                _ => {
                    self.error(bad(&self.src.text[span.start as usize..span.end as usize]));
                    None
                }
            };
        }
        self.elem(e).map(AnnTy::Scalar)
    }

    /// The dimensions of an array or state annotation: positive constants, within the limits.
    fn dims(&mut self, span: hissc_diagnostics::Span, items: &[&Expr]) -> Option<Shape> {
        let mut frame = Frame::default();
        let mut shape = Vec::new();
        let max = hissc_aop::limits::MAX_ELEMENTS;
        for d in items {
            let v = self.expr(&mut frame, d);
            match v {
                Val::Int(n) if n >= 1 && n <= max as i128 => shape.push(n as u32),
                Val::Int(n) if n > max as i128 => {
                    self.error(
                            Diagnostic::error(
                                Code::LIMIT,
                                format!("an array dimension of {n} is more than a frame may have"),
                            )
                            .primary(span_of(*d), format!("at most {max} elements per frame"))
                            .help("split the frame: an input with one more leading axis is a batch of frames"),
                        );
                    return None;
                }
                Val::Poison => return None,
                _ => {
                    self.error(
                        Diagnostic::error(
                            Code::BAD_ANNOTATION,
                            "array dimensions must be positive integer constants",
                        )
                        .primary(span_of(*d), "not a positive constant"),
                    );
                    return None;
                }
            }
        }
        let n = hissc_aop::types::numel(&shape) as u64;
        if n > max {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            self.error(
                Diagnostic::error(
                    Code::LIMIT,
                    format!("an array of {n} elements is more than a frame may have"),
                )
                .primary(
                    span,
                    format!("{} elements, at most {max}", dims.join(" × ")),
                )
                .help("split the frame: an input with one more leading axis is a batch of frames"),
            );
            return None;
        }
        Some(shape)
    }

    fn elem(&mut self, e: &Expr) -> Option<Elem> {
        let span = span_of(e);
        if let Expr::Name(n) = e {
            match n.id.as_str() {
                "float" => {
                    self.error(
                        Diagnostic::error(
                            Code::FLOAT,
                            "`float` is not a kernel type: kernels compute with integers",
                        )
                        .primary(span, "floating point"),
                    );
                    return None;
                }
                "int" => {
                    self.error(
                        Diagnostic::error(
                            Code::BAD_ANNOTATION,
                            "`int` has no fixed width in hardware",
                        )
                        .primary(span, "Python int")
                        .help(
                            "use a numpy dtype such as `np.int32`, or a range type such as `u12`",
                        ),
                    );
                    return None;
                }
                _ => {}
            }
        }
        let mut frame = Frame::default();
        let v = self.expr(&mut frame, e);
        match Elem::from_val(&v) {
            Some(el) => Some(el),
            None if matches!(v, Val::Poison) => None,
            None => {
                let text = self.src.text[span.start as usize..span.end as usize].to_string();
                self.error(
                    Diagnostic::error(Code::BAD_ANNOTATION, format!("`{text}` is not an element type"))
                        .primary(span, "not a dtype")
                        .help("use `np.bool_`, `np.uint8` ... `np.int64`, or a range type `u1..u63`, `i2..i63` from hiss"),
                );
                None
            }
        }
    }
}
