//! A generator of random, well-typed kernels over the elementwise part of the
//! language, with reductions and row/column broadcasting, and of inputs for them.
//!
//! The generator tracks numpy 2's types itself (so that it can write the return
//! annotation numpy would agree with); the frontend must accept every kernel it
//! writes, and every engine must agree on every input.

use hissc_aop::{Array, DType};

/// A deterministic source of choices: xorshift64* from a seed, or a recorded
/// list of choices replayed (then 0, the simplest choice, once it runs out).
/// Replayed choices let proptest shrink a failing kernel: fewer and smaller
/// choices make a smaller kernel (`below(n)` of 0 is the first option, a
/// depth of 1, no helper, no loop).
pub struct Rng {
    state: u64,
    replay: Option<(Vec<u64>, usize)>,
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            replay: None,
        }
    }

    /// A generator that replays `choices`, then gives zeros.
    pub fn replay(choices: Vec<u64>) -> Rng {
        Rng {
            state: 1,
            replay: Some((choices, 0)),
        }
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        if let Some((choices, at)) = &mut self.replay {
            let x = choices.get(*at).copied().unwrap_or(0);
            *at += 1;
            return x;
        }
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.bits() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i128, hi: i128) -> i128 {
        let span = (hi - lo + 1) as u128;
        lo + ((self.bits() as u128 | ((self.bits() as u128) << 64)) % span) as i128
    }

    /// One of the items.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A value of a dtype, often at an edge of its range.
    pub fn value(&mut self, lo: i128, hi: i128) -> i128 {
        match self.below(6) {
            0 => lo,
            1 => hi,
            2 => 0.clamp(lo, hi),
            _ => self.range(lo, hi),
        }
    }
}

/// The shape class of an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Full,
    Row,
    Col,
    Scalar,
}

#[derive(Clone, Debug)]
struct Ex {
    text: String,
    dtype: DType,
    shape: Shape,
}

/// A generated kernel and what it needs.
#[derive(Clone, Debug)]
pub struct GenKernel {
    /// Python source.
    pub source: String,
    /// Parameters in order: name, dtype, shape (empty for scalars).
    pub params: Vec<(String, DType, Vec<u32>)>,
    /// `State[...]` parameters: name, dtype, shape.
    pub states: Vec<(String, DType, Vec<u32>)>,
}

/// The integer dtypes (bool aside).
const INTS: &[DType] = DType::INTEGERS.split_first().unwrap().1;

fn np(d: DType) -> String {
    format!(
        "np.{}",
        if d == DType::Bool {
            "bool_"
        } else {
            d.numpy_name()
        }
    )
}

struct Gen<'r> {
    rng: &'r mut Rng,
    leaves: Vec<Ex>,
}

fn join(a: Shape, b: Shape) -> Option<Shape> {
    use Shape::*;
    match (a, b) {
        (x, Scalar) | (Scalar, x) => Some(x),
        (x, y) if x == y => Some(x),
        (Full, _) | (_, Full) => Some(Full),
        _ => None, // row with column: an outer product, not generated
    }
}

impl Gen<'_> {
    fn literal(&mut self, d: DType) -> String {
        let (lo, hi) = (d.min().max(-100), d.max().min(100));
        self.rng.range(lo, hi).to_string()
    }

    fn leaf(&mut self) -> Ex {
        let i = self.rng.below(self.leaves.len() as u64) as usize;
        self.leaves[i].clone()
    }

    fn int_expr(&mut self, depth: u32) -> Ex {
        for _ in 0..20 {
            let e = self.expr(depth);
            if e.dtype != DType::Bool {
                return e;
            }
        }
        self.leaf()
    }

    fn expr(&mut self, depth: u32) -> Ex {
        if depth == 0 || self.rng.below(4) == 0 {
            return self.leaf();
        }
        for _ in 0..20 {
            if let Some(e) = self.try_expr(depth) {
                return e;
            }
        }
        self.leaf()
    }

    fn try_expr(&mut self, depth: u32) -> Option<Ex> {
        let d = depth - 1;
        Some(match self.rng.below(11) {
            0..=2 => {
                let (a, b) = (self.int_expr(d), self.int_expr(d));
                let op = self.rng.pick(&["+", "-", "*", "&", "|", "^"]);
                let dt = DType::promote(a.dtype, b.dtype)?;
                Ex {
                    text: format!("({} {op} {})", a.text, b.text),
                    dtype: dt,
                    shape: join(a.shape, b.shape)?,
                }
            }
            3 => {
                let a = self.int_expr(d);
                let op = self.rng.pick(&["+", "-", "*", "//", "%", ">>", "<<"]);
                let lit = match op {
                    "//" | "%" => {
                        let hi = a.dtype.max().min(9);
                        let lo = if a.dtype.is_signed() { -9 } else { 1 };
                        let mut v = self.rng.range(lo, hi);
                        if v == 0 {
                            v = 3;
                        }
                        v.to_string()
                    }
                    ">>" | "<<" => self
                        .rng
                        .range(0, a.dtype.bits() as i128 + 1)
                        .min(a.dtype.max())
                        .to_string(),
                    _ => self.literal(a.dtype),
                };
                Ex {
                    text: format!("({} {op} {lit})", a.text),
                    dtype: a.dtype,
                    shape: a.shape,
                }
            }
            4 => {
                let (c1, c2) = (self.int_expr(d), self.int_expr(d));
                let cmp = self.rng.pick(&["<", "<=", ">", ">=", "==", "!="]);
                let (a, b) = (self.int_expr(d), self.int_expr(d));
                let dt = DType::promote(a.dtype, b.dtype)?;
                let shape = join(join(join(c1.shape, c2.shape)?, a.shape)?, b.shape)?;
                Ex {
                    text: format!(
                        "np.where({} {cmp} {}, {}, {})",
                        c1.text, c2.text, a.text, b.text
                    ),
                    dtype: dt,
                    shape,
                }
            }
            5 => {
                let a = self.int_expr(d);
                let cmp = self.rng.pick(&["<", ">", "=="]);
                let lit = self.literal(a.dtype);
                let (x, y) = (self.int_expr(d), self.literal(DType::I8));
                let y_fits = x.dtype.holds(y.parse::<i128>().ok()?);
                if !y_fits {
                    return None;
                }
                Ex {
                    text: format!("np.where({} {cmp} {lit}, {}, {y})", a.text, x.text),
                    dtype: x.dtype,
                    shape: join(a.shape, x.shape)?,
                }
            }
            6 => {
                let (a, b) = (self.int_expr(d), self.int_expr(d));
                let f = self.rng.pick(&["np.minimum", "np.maximum"]);
                let dt = DType::promote(a.dtype, b.dtype)?;
                Ex {
                    text: format!("{f}({}, {})", a.text, b.text),
                    dtype: dt,
                    shape: join(a.shape, b.shape)?,
                }
            }
            7 => {
                let a = self.int_expr(d);
                let (x, y) = (self.literal(a.dtype), self.literal(a.dtype));
                Ex {
                    text: format!("np.clip({}, {x}, {y})", a.text),
                    dtype: a.dtype,
                    shape: a.shape,
                }
            }
            8 => {
                let a = self.int_expr(d);
                if a.dtype.is_signed() && self.rng.below(2) == 0 {
                    Ex {
                        text: format!("np.abs({})", a.text),
                        ..a
                    }
                } else {
                    Ex {
                        text: format!("(-{})", a.text),
                        ..a
                    }
                }
            }
            9 => {
                let a = self.expr(d);
                let to = self.rng.pick(INTS);
                Ex {
                    text: format!("{}.astype({})", a.text, np(to)),
                    dtype: to,
                    shape: a.shape,
                }
            }
            _ => {
                let a = self.int_expr(d);
                Ex {
                    text: format!("(~{})", a.text),
                    ..a
                }
            }
        })
    }
}

/// Writes a random kernel from a seed.
pub fn kernel(seed: u64) -> GenKernel {
    kernel_with(&mut Rng::new(seed), false)
}

/// The kernel a seed makes, writing into its intermediate array through
/// numpy's views and aliases ([`write_in_place`]): what `hissc-gen` gives the
/// long runs against CPython + numpy.
pub fn kernel_writing(seed: u64) -> GenKernel {
    kernel_with(&mut Rng::new(seed), true)
}

/// Writes the kernel a list of choices makes (see [`Rng::replay`]): what
/// proptest shrinks.
pub fn kernel_from(choices: Vec<u64>) -> GenKernel {
    kernel_with(&mut Rng::replay(choices), false)
}

fn kernel_with(rng: &mut Rng, writes: bool) -> GenKernel {
    // drawn first, so the other choices keep their places (a choice that
    // shrinks to 0 leaves the state out)
    let with_state = rng.below(3) == 2;
    let h = 2 + rng.below(3) as u32;
    let w = 2 + rng.below(6) as u32;
    let mut params = Vec::new();
    let mut leaves = Vec::new();
    let n_full = 1 + rng.below(2);
    for i in 0..n_full {
        let d = rng.pick(INTS);
        let name = format!("a{i}");
        leaves.push(Ex {
            text: name.clone(),
            dtype: d,
            shape: Shape::Full,
        });
        params.push((name, d, vec![h, w]));
    }
    match rng.below(3) {
        0 => {
            let d = rng.pick(INTS);
            leaves.push(Ex {
                text: "row".into(),
                dtype: d,
                shape: Shape::Row,
            });
            params.push(("row".into(), d, vec![w]));
        }
        1 => {
            let d = rng.pick(INTS);
            leaves.push(Ex {
                text: "col".into(),
                dtype: d,
                shape: Shape::Col,
            });
            params.push(("col".into(), d, vec![h, 1]));
        }
        _ => {}
    }
    if rng.below(2) == 0 {
        let d = rng.pick(INTS);
        leaves.push(Ex {
            text: "t".into(),
            dtype: d,
            shape: Shape::Scalar,
        });
        params.push(("t".into(), d, vec![]));
    }
    // a state of the frame's shape, read like an input and updated before the return
    let mut states = Vec::new();
    if with_state {
        let d = rng.pick(INTS);
        // read as a new array: a view of the state (`r = s`) would show the
        // update in CPython, which hissc rejects (HS0309)
        leaves.push(Ex {
            text: "(s + 0)".into(),
            dtype: d,
            shape: Shape::Full,
        });
        states.push(("s".to_string(), d, vec![h, w]));
    }
    let mut g = Gen { rng, leaves };
    let depth = 1 + g.rng.below(4) as u32;
    let mut module = String::new();
    let mut body = String::new();
    // an intermediate name, sometimes through a helper, a loop or a constant `if`
    let x = g.expr(depth);
    match g.rng.below(4) {
        0 => {
            module.push_str(
                "def helper(v, k):
    return np.maximum(v, k)


",
            );
            let k = g.literal(x.dtype);
            body.push_str(&format!("    x = helper({}, {k})\n", x.text));
        }
        1 => {
            let n = 1 + g.rng.below(3);
            body.push_str(&format!(
                "    x = {}\n    for i in range({n}):\n        x = np.maximum(x, x >> i)\n",
                x.text
            ));
        }
        2 => {
            let k = g.rng.below(4);
            let other = g.literal(x.dtype);
            body.push_str(&format!(
                "    if {k} > 1:\n        x = {}\n    else:\n        x = np.minimum({}, {other})\n",
                if k > 1 { x.text.clone() } else { "a0".into() },
                if k > 1 { "a0".into() } else { x.text.clone() }
            ));
        }
        _ => body.push_str(&format!("    x = {}\n", x.text)),
    }
    g.leaves.push(Ex {
        text: "x".into(),
        ..x.clone()
    });
    if writes && x.shape == Shape::Full && x.dtype != DType::Bool {
        write_in_place(&mut g, x.dtype, h, w, &mut module, &mut body);
    }
    let mut e = g.expr(depth);
    // the result must stream: make sure it covers the full frame
    if e.shape != Shape::Full {
        let full = g
            .leaves
            .iter()
            .find(|l| l.text == "a0")
            .cloned()
            .expect("a0");
        match DType::promote(e.dtype, full.dtype) {
            Some(dt) => {
                e = Ex {
                    text: format!("np.maximum({}, a0)", e.text),
                    dtype: dt,
                    shape: Shape::Full,
                }
            }
            None => {
                e = Ex {
                    text: format!("np.maximum({}.astype({}), a0)", e.text, np(full.dtype)),
                    dtype: full.dtype,
                    shape: Shape::Full,
                }
            }
        }
    }
    let small = if e.dtype == DType::U64 {
        format!("{}.astype(np.int32)", e.text)
    } else {
        e.text.clone()
    };
    let sd = if e.dtype == DType::U64 {
        DType::I32
    } else {
        e.dtype
    };
    let n = h * w;
    let arr = |d: DType, dims: &[u32]| {
        let dims: Vec<String> = dims.iter().map(|x| x.to_string()).collect();
        format!("Array[{}, {}]", np(d), dims.join(", "))
    };
    // bin counts stream out while the next frame streams in: at most n - 4 bins
    let max_bins = n.saturating_sub(4);
    let mut form = g.rng.below(20);
    if max_bins == 0 && matches!(form, 10 | 11 | 13) {
        form = 15;
    }
    let (ret, ann) = match form {
        0 => (format!("{}.sum()", e.text), np(e.dtype.sum_dtype())),
        1 => (format!("{}.max()", e.text), np(e.dtype)),
        2 => (format!("{}.min()", e.text), np(e.dtype)),
        3 => (format!("np.count_nonzero({} > 0)", e.text), np(DType::I64)),
        4 => (format!("({} > 1).any()", e.text), np(DType::Bool)),
        5 => {
            let op = g.rng.pick(&["argmax", "argmin"]);
            (format!("np.{op}({})", e.text), np(DType::I64))
        }
        6 => {
            let ax = g.rng.below(2) as usize;
            let f = g.rng.pick(&["sum", "max", "min"]);
            let d = if f == "sum" {
                e.dtype.sum_dtype()
            } else {
                e.dtype
            };
            (format!("{}.{f}(axis={ax})", e.text), arr(d, &[[w, h][ax]]))
        }
        7 => {
            let ax = g.rng.below(2) as usize;
            (
                format!("np.argmax({}, axis={ax})", e.text),
                arr(DType::I64, &[[w, h][ax]]),
            )
        }
        8 => (
            format!("np.cumsum({})", e.text),
            arr(e.dtype.sum_dtype(), &[n]),
        ),
        9 => {
            let (r0, rs) = (g.rng.below(h as u64) as u32, 1 + g.rng.below(2) as u32);
            let (c0, cs) = (g.rng.below(w as u64) as u32, 1 + g.rng.below(3) as u32);
            let (rc, cc) = ((h - r0).div_ceil(rs), (w - c0).div_ceil(cs));
            let sl = format!("{}[{r0}::{rs}, {c0}::{cs}]", e.text);
            if g.rng.below(2) == 0 {
                (sl, arr(e.dtype, &[rc, cc]))
            } else {
                (format!("{sl}.sum()"), np(e.dtype.sum_dtype()))
            }
        }
        10 => {
            let bins = 1 + g.rng.below(max_bins.min(12) as u64) as u32;
            (
                format!(
                    "np.bincount(np.clip({small}, 0, {}).ravel(), minlength={bins})",
                    bins - 1
                ),
                arr(DType::I64, &[bins]),
            )
        }
        11 => {
            let bins = 1 + g.rng.below(max_bins.min(8) as u64) as i128;
            let width = 1 + g.rng.below(20) as i128;
            let lo = g.rng.range(sd.min().max(-50), 50);
            let (lo, hi) = (lo, lo + bins * width);
            (
                format!("np.histogram({small}, bins={bins}, range=({lo}, {hi}))[0]"),
                arr(DType::I64, &[bins as u32]),
            )
        }
        12 => {
            let len = 2 + g.rng.below(15);
            let td = g.rng.pick(&[DType::U8, DType::I16, DType::I32]);
            let vals: Vec<String> = (0..len).map(|_| g.literal(td)).collect();
            module.push_str(&format!(
                "TABLE = np.array([{}], dtype={})\n\n\n",
                vals.join(", "),
                np(td)
            ));
            (
                format!("TABLE[np.clip({small}, 0, {})]", len - 1),
                arr(td, &[h, w]),
            )
        }
        13 => {
            let bins = 1 + g.rng.below(max_bins.min(8) as u64) as u32;
            let wd = g.rng.pick(&[DType::U8, DType::I16, DType::U32, DType::I32]);
            (
                format!("np.bincount(np.clip({small}, 0, {}).ravel(), weights=a0.ravel().astype({}), minlength={bins})", bins - 1, np(wd)),
                arr(DType::F64, &[bins]),
            )
        }
        14 => (
            format!("{}.reshape({w}, {h}).max(axis=0)", e.text),
            arr(e.dtype, &[h]),
        ),
        // a stencil: two shifted views of one array combined elementwise (the
        // slices move elements between lanes by different amounts)
        17 => {
            let (dr, dc) = ((h > 2) as u32, 1 + (w > 3) as u32);
            let (r0, r1) = (
                g.rng.below(dr as u64 + 1) as u32,
                g.rng.below(dr as u64 + 1) as u32,
            );
            let (c0, c1) = (
                g.rng.below(dc as u64 + 1) as u32,
                g.rng.below(dc as u64 + 1) as u32,
            );
            let (rc, cc) = (h - dr, w - dc);
            let compare = g.rng.below(2) == 0;
            module.push_str(&format!(
                "def stencil(v):\n    return {}v[{r0}:{}, {c0}:{}]{}v[{r1}:{}, {c1}:{}]{}\n\n\n",
                if compare { "" } else { "np.maximum(" },
                r0 + rc,
                c0 + cc,
                if compare { " > " } else { ", " },
                r1 + rc,
                c1 + cc,
                if compare { "" } else { ")" },
            ));
            let d = if compare { DType::Bool } else { e.dtype };
            (format!("stencil({})", e.text), arr(d, &[rc, cc]))
        }
        // variable-length outputs: indices and values of a selection, and
        // arithmetic on a selection
        18 => {
            let t = g.literal(e.dtype);
            body.push_str(&format!("    hit = {} > {t}\n", e.text));
            (
                format!("np.flatnonzero(hit), ({})[hit]", e.text),
                format!("tuple[Vec[np.int64, {n}], Vec[{}, {n}]]", np(e.dtype)),
            )
        }
        19 if e.dtype != DType::Bool => {
            let t = g.literal(e.dtype);
            let idx = g.rng.below(2) == 0;
            body.push_str(&format!("    hit = {} <= {t}\n", e.text));
            if idx {
                (
                    format!("np.flatnonzero(hit) % {w}"),
                    format!("Vec[np.int64, {n}]"),
                )
            } else {
                (
                    format!("np.maximum(({})[hit], {t}) - 1", e.text),
                    format!("Vec[{}, {n}]", np(e.dtype)),
                )
            }
        }
        // np.count_nonzero gives np.int64 (numpy >= 2.3), which promotes the array
        16 if e.dtype != DType::U64 => (
            format!("{}.max() + np.count_nonzero({} > 1)", e.text, e.text),
            np(DType::promote(e.dtype, DType::I64).unwrap_or(DType::I64)),
        ),
        _ => (e.text.clone(), arr(e.dtype, &[h, w])),
    };
    if let Some((name, d, _)) = states.first() {
        // the result is computed before the update, which reads the state last;
        // the update is an assignment or an in-place operator on the state
        let update = if !writes || g.rng.below(2) == 0 {
            format!("{name}[...] = ({}).astype({}) ^ {name}", e.text, np(*d))
        } else {
            format!("{name} ^= ({}).astype({})", e.text, np(*d))
        };
        body.push_str(&format!("    r = {ret}\n    {update}\n    return r\n"));
    } else {
        body.push_str(&format!("    return {ret}\n"));
    }
    let args: Vec<String> = params
        .iter()
        .map(|(n, d, s)| {
            if s.is_empty() {
                format!("{n}: {}", np(*d))
            } else {
                let dims: Vec<String> = s.iter().map(|x| x.to_string()).collect();
                format!("{n}: Array[{}, {}]", np(*d), dims.join(", "))
            }
        })
        .collect();
    let args: Vec<String> = args
        .into_iter()
        .chain(states.iter().map(|(n, d, s)| {
            let dims: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            format!("{n}: State[{}, {}]", np(*d), dims.join(", "))
        }))
        .collect();
    let source = format!(
        "import numpy as np\nfrom hiss import kernel, Array, State, Vec\n\n{module}\n@kernel\ndef k({}) -> {ann}:\n{body}",
        args.join(", ")
    );
    GenKernel {
        source,
        params,
        states,
    }
}

/// Writes into the array `x` (of the frame's shape, an integer dtype) through
/// numpy's sharing rules: a second name, a basic-slicing view, an element, a
/// slice assignment, a contiguous `reshape`/`ravel` view, a helper writing
/// into its argument — or into a copy, which must leave `x` alone.
fn write_in_place(g: &mut Gen, d: DType, h: u32, w: u32, module: &mut String, body: &mut String) {
    // Python ints fit the dtype (numpy raises OverflowError otherwise), so the
    // in-place result keeps it
    let lit = g.literal(d);
    let shift = g.rng.below(3);
    let op = g.rng.pick(&["+=", "-=", "*=", "^=", "|=", "&="]);
    let (op, lit) = if g.rng.below(5) == 0 {
        (g.rng.pick(&["<<=", ">>="]), shift.to_string())
    } else {
        (op, lit)
    };
    let r0 = g.rng.below(h as u64) as u32;
    let r1 = r0 + 1 + g.rng.below((h - r0) as u64) as u32;
    let c0 = g.rng.below(w as u64) as u32;
    let cs = 1 + g.rng.below(3) as u32;
    let view = format!("x[{r0}:{r1}, {c0}::{cs}]");
    // an array operand of x's dtype, when there is one (in-place casting is
    // numpy's 'same_kind': another dtype could be refused by numpy)
    let same: Vec<Ex> = g
        .leaves
        .iter()
        .filter(|l| l.dtype == d && l.shape != Shape::Row && l.text != "x")
        .cloned()
        .collect();
    let text = match g.rng.below(9) {
        0 => format!("    y = x\n    y {op} {lit}\n"),
        1 => format!("    v = {view}\n    v {op} {lit}\n"),
        2 => format!("    {view} = {lit}\n"),
        3 => format!("    x[{r0}] {op} {lit}\n    x[{r0}, {c0}] = {lit}\n"),
        4 => format!(
            "    f = x.ravel()\n    f[{}::{cs}] {op} {lit}\n",
            c0 * h / w
        ),
        5 => {
            module.push_str(&format!(
                "def bump(v, k):\n    v {op} k\n    return v\n\n\n"
            ));
            format!("    z = bump({view}, {lit})\n    z {op} {lit}\n")
        }
        6 => format!("    y = x.copy()\n    y {op} {lit}\n    x = np.maximum(x, y)\n"),
        7 if !same.is_empty() => {
            let o = same[g.rng.below(same.len() as u64) as usize].text.clone();
            let op = g.rng.pick(&["+=", "-=", "^=", "|="]);
            format!("    y = x\n    y {op} {o}\n")
        }
        _ => format!(
            "    x[...] {op} {lit}\n    x.reshape(-1)[{c0}::{}] = {lit}\n",
            1 + cs
        ),
    };
    body.push_str(&text);
}

/// Random arguments for one frame (scalars as 0-d arrays), in parameter order.
pub fn frame(rng: &mut Rng, k: &GenKernel) -> Vec<Array> {
    k.params
        .iter()
        .map(|(_, d, shape)| {
            let n: usize = shape.iter().map(|&x| x as usize).product();
            let data = (0..n)
                .map(|_| rng.value(DType::min(*d), DType::max(*d)))
                .collect();
            Array::new(*d, shape.clone(), data)
        })
        .collect()
}
