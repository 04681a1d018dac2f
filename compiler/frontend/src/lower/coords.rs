//! Coordinates as compile-time arrays: `np.arange`, `np.indices`, and
//! module-level tables used as arrays in arithmetic. Each is the flat index of
//! its elements (an `iota`), computed on (integer division and remainder for
//! `np.indices`, a ROM read for a table), so in hardware it is a counter that
//! runs in step with the stream it is combined with.

use super::{Lowerer, Node, Val};
use hissc_aop::{BinaryOp, CmpOp, DType, Inst, Type};
use hissc_diagnostics::{Code, Diagnostic, Span};

impl Lowerer<'_> {
    /// The flat indices of an int64 array of `shape`.
    pub(crate) fn iota(&mut self, shape: Vec<u32>, span: Span) -> Node {
        let v = self
            .k
            .push(Inst::Iota, Type::array(DType::I64, shape), span);
        Node { v, weak: false }
    }

    /// `x op c` in int64, for a constant `c`.
    pub(crate) fn int64_op(&mut self, op: BinaryOp, x: Node, c: i128, span: Span) -> Node {
        let c = self.constant(c, DType::I64, span);
        let ty = self.k.ty(x.v).clone();
        let v = self.k.push(Inst::Binary(op, x.v, c.v), ty, span);
        Node { v, weak: false }
    }

    /// `x op c` for an int64 `x` and a constant `c`: a bool array.
    pub(crate) fn int64_compare(&mut self, op: CmpOp, x: Node, c: i128, span: Span) -> Node {
        let c = self.constant(c, DType::I64, span);
        let shape = self.k.ty(x.v).shape.clone();
        let v = self.k.push(
            Inst::Compare(op, x.v, c.v),
            Type::array(DType::Bool, shape),
            span,
        );
        Node { v, weak: false }
    }

    /// Each element's coordinate along `axis` of an array of `dims`, from its
    /// flat index `flat` (an [`Self::iota`]).
    pub(crate) fn coordinate(&mut self, flat: Node, dims: &[u32], axis: usize, span: Span) -> Node {
        let stride: i128 = dims[axis + 1..].iter().map(|&d| d as i128).product();
        let mut x = flat;
        if stride != 1 {
            x = self.int64_op(BinaryOp::FloorDiv, x, stride, span);
        }
        if axis > 0 {
            x = self.int64_op(BinaryOp::Mod, x, dims[axis] as i128, span);
        }
        x
    }

    /// A module-level table where an array is expected: its elements in order
    /// (`TABLE * frame[0]`), read from a ROM along the flat index.
    pub(crate) fn table_array(&mut self, v: Val, span: Span) -> Val {
        let Val::Table(t) = v else {
            return v;
        };
        let ix = self.iota(t.values.shape.clone(), span);
        let d = t.values.dtype;
        let len = t.values.data.len() as u32;
        let table = self.k.push(
            Inst::Table(t.values.data.clone()),
            Type::array(d, vec![len]),
            t.span,
        );
        self.push(
            Inst::Gather(table, ix.v),
            Type::array(d, t.values.shape.clone()),
            span,
            false,
        )
    }

    /// The integer arguments of `np.arange` / the shape of `np.indices`.
    fn ints(&mut self, args: &[(Val, Span)], what: &str) -> Option<Vec<i128>> {
        let mut out = Vec::new();
        for (v, s) in args {
            match v {
                Val::Int(i) => out.push(*i),
                Val::Tuple(items) => {
                    for it in items {
                        match it {
                            Val::Int(i) => out.push(*i),
                            _ => {
                                self.not_constant(*s, what);
                                return None;
                            }
                        }
                    }
                }
                Val::Poison => return None,
                _ => {
                    self.not_constant(*s, what);
                    return None;
                }
            }
        }
        Some(out)
    }

    fn not_constant(&mut self, span: Span, what: &str) {
        self.error(
            Diagnostic::error(
                Code::NOT_CONSTANT,
                format!("the arguments of `{what}` must be integer constants"),
            )
            .primary(span, "not known at compile time")
            .help("coordinates are compile-time arrays: give their sizes as constants"),
        );
    }

    /// `np.arange(stop)`, `np.arange(start, stop[, step])`: int64.
    pub(crate) fn arange(&mut self, args: &[(Val, Span)], span: Span) -> Val {
        let Some(v) = self.ints(args, "np.arange") else {
            return Val::Poison;
        };
        let (start, stop, step) = match v.as_slice() {
            [n] => (0, *n, 1),
            [a, b] => (*a, *b, 1),
            [a, b, s] if *s != 0 => (*a, *b, *s),
            _ => {
                return self.error(
                    Diagnostic::error(
                        Code::ARGUMENTS,
                        "`np.arange` takes one to three integers, and a step other than 0",
                    )
                    .primary(span, "bad arguments"),
                )
            }
        };
        // ceil(span / step) for a positive span and step
        let up = |span: i128, step: i128| (span.max(0) + step - 1) / step;
        let count = if step > 0 {
            up(stop - start, step)
        } else {
            up(start - stop, -step)
        };
        let max = hissc_aop::limits::MAX_ELEMENTS as i128;
        if count < 1 || count > max {
            return self.error(
                Diagnostic::error(Code::LIMIT, format!("`np.arange` of {count} elements"))
                    .primary(span, format!("a kernel's arrays have 1 to {max} elements"))
                    .help("an empty range has nothing to stream"),
            );
        }
        let mut x = self.iota(vec![count as u32], span);
        if step != 1 {
            x = self.int64_op(BinaryOp::Mul, x, step, span);
        }
        if start != 0 {
            x = self.int64_op(BinaryOp::Add, x, start, span);
        }
        Val::Node(x)
    }

    /// `np.indices(shape)`: one int64 array of coordinates per axis, as a tuple
    /// (unpack it, `y, x = np.indices((H, W))`, or index it, `np.indices(s)[0]`).
    pub(crate) fn indices(&mut self, args: &[(Val, Span)], span: Span) -> Val {
        let Some(shape) = self.ints(args, "np.indices") else {
            return Val::Poison;
        };
        let max = hissc_aop::limits::MAX_ELEMENTS as i128;
        if shape.is_empty()
            || shape.len() > 3
            || shape.iter().any(|&d| d < 1)
            || shape.iter().product::<i128>() > max
        {
            return self.error(
                Diagnostic::error(
                    Code::ARGUMENTS,
                    "`np.indices` takes the shape of an array: one to three positive sizes",
                )
                .primary(span, "not an array's shape"),
            );
        }
        let dims: Vec<u32> = shape.iter().map(|&d| d as u32).collect();
        let flat = self.iota(dims.clone(), span);
        let out = (0..dims.len())
            .map(|a| Val::Node(self.coordinate(flat, &dims, a, span)))
            .collect();
        Val::Tuple(out)
    }
}
