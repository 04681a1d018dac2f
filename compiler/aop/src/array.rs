//! Concrete arrays (exact integers with a numpy dtype and shape), and binding the
//! user's input files to a kernel's parameters, frames and batches included.

use crate::ir::{Kernel, Param};
use crate::types::{numel, DType, Shape};

/// A numpy array held as exact integers in C order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Array {
    /// numpy dtype.
    pub dtype: DType,
    /// Shape (empty for a 0-d array).
    pub shape: Shape,
    /// Elements in C (row-major) order, each within the dtype's range.
    pub data: Vec<i128>,
}

impl Array {
    /// An array; `data.len()` must match the shape.
    pub fn new(dtype: DType, shape: Shape, data: Vec<i128>) -> Self {
        debug_assert_eq!(numel(&shape), data.len());
        Array { dtype, shape, data }
    }

    /// A 0-d array.
    pub fn scalar(dtype: DType, v: i128) -> Self {
        Array::new(dtype, Vec::new(), vec![v])
    }
}

/// The user's inputs bound to a kernel's parameters.
#[derive(Debug, Clone)]
pub struct Bound {
    /// One array per parameter, in signature order (scalars as 0-d arrays).
    pub args: Vec<Array>,
    /// For each parameter: does it carry a leading batch axis?
    pub batched: Vec<bool>,
    /// Number of frames (1 when nothing is batched).
    pub frames: usize,
    /// True when some input was given as a batch: outputs gain a leading axis.
    pub is_batch: bool,
}

impl Bound {
    /// Frames given as a kernel's call arguments (every parameter's argument
    /// in signature order, scalars as 0-d arrays) bound as one batch: each
    /// array parameter's frames stacked along a batch axis, the scalars taken
    /// from the first frame.
    pub fn stacked(params: &[crate::Param], frames: &[Vec<Array>]) -> Bound {
        let n = frames.len();
        let mut args = Vec::with_capacity(params.len());
        let mut batched = Vec::with_capacity(params.len());
        for (i, p) in params.iter().enumerate() {
            if p.is_stream() {
                let mut shape = vec![n as u32];
                shape.extend(&p.ty.shape);
                let data = frames.iter().flat_map(|f| f[i].data.iter().copied());
                args.push(Array::new(p.ty.dtype, shape, data.collect()));
                batched.push(true);
            } else {
                let first = frames.first().map_or(0, |f| f[i].data[0]);
                args.push(Array::new(p.ty.dtype, Vec::new(), vec![first]));
                batched.push(false);
            }
        }
        Bound {
            args,
            batched,
            frames: n,
            is_batch: true,
        }
    }

    /// The elements of each argument in frame `f`, in place (no copy).
    pub fn frame_data(&self, f: usize) -> Vec<&[i128]> {
        self.args
            .iter()
            .zip(&self.batched)
            .map(|(a, &b)| {
                if b {
                    let n = a.data.len() / a.shape[0] as usize;
                    &a.data[f * n..(f + 1) * n]
                } else {
                    &a.data[..]
                }
            })
            .collect()
    }

    /// Combines per-frame outputs into the kernel's outputs.
    pub fn collect(&self, per_frame: Vec<Vec<Array>>) -> Vec<Array> {
        if !self.is_batch {
            return per_frame.into_iter().next().unwrap_or_default();
        }
        let n = per_frame.first().map_or(0, |o| o.len());
        (0..n)
            .map(|i| {
                // output `i` of every frame, along a new leading axis (no copies of the parts)
                let first = &per_frame[0][i];
                let mut shape = vec![per_frame.len() as u32];
                shape.extend_from_slice(&first.shape);
                let data = per_frame
                    .iter()
                    .flat_map(|o| o[i].data.iter().copied())
                    .collect();
                Array::new(first.dtype, shape, data)
            })
            .collect()
    }
}

/// Binds named arrays (from `.npy` files) and named integers (`--param`) to the kernel.
///
/// Checks the dtype, the shape (optionally with one leading batch axis, the same
/// number of frames for every batched input) and range-type promises; every
/// error names the input.
pub fn bind(
    k: &Kernel,
    arrays: Vec<(String, Array)>,
    params: &[(String, i128)],
) -> Result<Bound, String> {
    bind_params(&k.name, &k.params, arrays, params)
}

/// [`bind`] against the parameters `ps` of kernel `kernel` (a runtime that has
/// a bundle's manifest, not the kernel's IR, binds with this).
pub fn bind_params(
    kernel: &str,
    ps: &[Param],
    mut arrays: Vec<(String, Array)>,
    params: &[(String, i128)],
) -> Result<Bound, String> {
    let headers: Vec<Header> = arrays
        .iter()
        .map(|(n, a)| Header {
            name: n.clone(),
            dtype: a.dtype,
            shape: a.shape.clone(),
        })
        .collect();
    let l = bind_headers(kernel, ps, &headers, params)?;
    let mut args = Vec::new();
    for (p, v) in ps.iter().zip(&l.values) {
        match v {
            Some(v) => args.push(Array::scalar(p.ty.dtype, *v)),
            None => {
                // each input is taken once: the arrays move into the binding, uncopied
                let at = arrays
                    .iter()
                    .position(|(n, _)| *n == p.name)
                    .expect("bind_headers found every input");
                let a = arrays.swap_remove(at).1;
                check_promise(p, &a.data, 0, &a.shape)?;
                args.push(a);
            }
        }
    }
    Ok(Bound {
        args,
        batched: l.batched,
        frames: l.frames,
        is_batch: l.is_batch,
    })
}

/// An input as its file's header describes it, before its elements are read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The parameter it is given for.
    pub name: String,
    /// Its dtype.
    pub dtype: DType,
    /// Its shape: a frame, or `[F, frame...]`.
    pub shape: Shape,
}

/// How inputs bind to a kernel's parameters, from their headers alone: what a
/// stream of frames needs to know before its first element arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// For each parameter: does its input carry a leading batch axis?
    pub batched: Vec<bool>,
    /// For each parameter: its value, for a scalar parameter.
    pub values: Vec<Option<i128>>,
    /// Number of frames (1 when nothing is batched).
    pub frames: usize,
    /// True when some input was given as a batch: outputs gain a leading axis.
    pub is_batch: bool,
}

/// Checks the inputs' names, dtypes and shapes (optionally with one leading batch
/// axis, the same number of frames for every batched input) and the scalar
/// parameters' values against the parameters `ps` of kernel `kernel`; every
/// error names the input. The elements' range promises are checked as they are
/// read, by [`check_promise`].
pub fn bind_headers(
    kernel: &str,
    ps: &[Param],
    headers: &[Header],
    params: &[(String, i128)],
) -> Result<Layout, String> {
    let k = Params {
        name: kernel,
        params: ps,
    };
    for h in headers {
        match k.params.iter().find(|p| p.name == h.name) {
            None => return Err(unknown(&k, &h.name, "--in")),
            Some(p) if !p.is_stream() => {
                return Err(format!(
                    "`{}` is a scalar parameter of `{}`: give it with --param {}=INT, not --in",
                    h.name, k.name, h.name
                ))
            }
            _ => {}
        }
    }
    for (name, _) in params {
        match k.params.iter().find(|p| &p.name == name) {
            None => return Err(unknown(&k, name, "--param")),
            Some(p) if p.is_stream() => {
                return Err(format!(
                    "`{name}` is an array input of `{}`: give it with --in {name}=FILE.npy, not --param",
                    k.name
                ))
            }
            _ => {}
        }
    }
    let mut values = Vec::new();
    let mut batched = Vec::new();
    let mut frames: Option<(usize, &str)> = None;
    for p in k.params {
        if p.is_stream() {
            let Some(a) = headers.iter().find(|h| h.name == p.name) else {
                return Err(format!(
                    "missing input `{}`: give it with --in {}=FILE.npy",
                    p.name, p.name
                ));
            };
            if a.dtype != p.ty.dtype {
                return Err(format!(
                    "input `{}` has dtype {}, the kernel expects {}",
                    p.name,
                    a.dtype.numpy_name(),
                    p.ty.dtype.numpy_name()
                ));
            }
            let is_batch = a.shape.len() == p.ty.shape.len() + 1 && a.shape[1..] == p.ty.shape[..];
            if a.shape != p.ty.shape && !is_batch {
                return Err(format!(
                    "input `{}` has shape {:?}, the kernel expects {:?} (or a batch of them, (F, {}))",
                    p.name,
                    a.shape,
                    p.ty.shape,
                    p.ty.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
                ));
            }
            if is_batch {
                let f = a.shape[0] as usize;
                match frames {
                    Some((g, other)) if g != f => {
                        return Err(format!(
                            "input `{}` holds {f} frames but `{other}` holds {g}",
                            p.name
                        ))
                    }
                    _ => frames = Some((f, &p.name)),
                }
                if f == 0 {
                    return Err(format!("input `{}` is a batch of zero frames", p.name));
                }
            }
            batched.push(is_batch);
            values.push(None);
        } else {
            let Some((_, v)) = params.iter().find(|(n, _)| *n == p.name) else {
                return Err(format!(
                    "missing parameter `{}`: give it with --param {}=INT",
                    p.name, p.name
                ));
            };
            if !(p.range.lo..=p.range.hi).contains(v) {
                return Err(format!(
                    "parameter `{}` is {v}, outside the range of its type [{}, {}]",
                    p.name, p.range.lo, p.range.hi
                ));
            }
            batched.push(false);
            values.push(Some(*v));
        }
    }
    Ok(Layout {
        batched,
        values,
        frames: frames.map_or(1, |f| f.0),
        is_batch: frames.is_some(),
    })
}

/// Checks the range promise of input `p` on `data`, the elements from flat index
/// `first` on of an input of shape `shape`; the error names the element.
pub fn check_promise(p: &Param, data: &[i128], first: usize, shape: &[u32]) -> Result<(), String> {
    if p.range.lo <= p.ty.dtype.min() && p.ty.dtype.max() <= p.range.hi {
        // no promise beyond the dtype, which every element of it keeps
        return Ok(());
    }
    match data
        .iter()
        .position(|v| !(p.range.lo..=p.range.hi).contains(v))
    {
        None => Ok(()),
        Some(i) => {
            let idx = unravel(first + i, shape);
            Err(format!(
                "input `{}` breaks its range promise: element {idx:?} is {}, outside [{}, {}]",
                p.name, data[i], p.range.lo, p.range.hi
            ))
        }
    }
}

/// A kernel's name and parameters, as binding needs them.
struct Params<'a> {
    name: &'a str,
    params: &'a [Param],
}

fn unknown(k: &Params, name: &str, flag: &str) -> String {
    let names: Vec<String> = k.params.iter().map(|p| format!("`{}`", p.name)).collect();
    format!(
        "{flag} {name}: kernel `{}` has no parameter `{name}` (its parameters: {})",
        k.name,
        names.join(", ")
    )
}

/// The multi-index of flat index `i`.
pub fn unravel(mut i: usize, shape: &[u32]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        idx[d] = i % n as usize;
        i /= n as usize;
    }
    idx
}
