//! Frames as they come: a batch read from `.npy` or raw bodies a block of frames
//! at a time, pumped through a running design, its outputs written as they
//! complete. Memory holds a block of frames, the design's state and the inputs
//! that every frame repeats, never the batch: a 100 MB `.npy` streams through in
//! a few megabytes.
//!
//! [`Batch::open`] reads every input's header and binds it to the kernel (names,
//! dtypes, shapes, frame counts and scalar values, as `hissc run` binds files)
//! before a single element is read; [`Batch::next_block`] reads the next block and
//! checks its range promises; [`pump`] moves blocks from a batch through a
//! [`FrameRun`] into a [`FrameSink`], such as [`NpySink`], which writes each
//! output as a `.npy` whose header is known from the start.

use crate::error::SlotError;
use crate::npy;
use hissc_aop::types::numel;
use hissc_aop::{Array, DType, Header, Layout, Param, Shape};
use std::io::{Read, Write};

/// Elements per block, inputs and outputs together (at least one frame is
/// always read): held as exact integers, a block takes 1 MiB.
pub const BLOCK_ELEMENTS: usize = 1 << 16;

/// How an input's bytes are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// A `.npy` file: a header, then the elements.
    Npy,
    /// Raw little-endian elements of the parameter's dtype, `bytes` of them in
    /// all: a whole number of frames.
    Raw {
        /// The body's length.
        bytes: u64,
    },
}

/// One input of a kernel, read as it comes.
pub struct Input<'a> {
    /// The parameter it is given for.
    pub name: String,
    /// Its bytes.
    pub reader: Box<dyn Read + Send + 'a>,
    /// Their layout.
    pub body: Body,
}

/// A kernel's interface, as a stream of frames needs it.
#[derive(Clone, Debug)]
pub struct Interface {
    /// The kernel's name.
    pub kernel: String,
    /// Its parameters (array inputs and scalars), each group in signature order.
    pub params: Vec<Param>,
    /// The scalar parameters' values.
    pub values: Vec<(String, i128)>,
    /// Its outputs, in order.
    pub outputs: Vec<OutType>,
}

/// An output of a kernel: dtype and one frame's shape (for a variable-length
/// output, the most elements a frame gives).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutType {
    /// numpy's dtype.
    pub dtype: DType,
    /// One frame's shape.
    pub shape: Shape,
    /// A `Vec[T, N]`: each frame gives a 1-D array of its own length.
    pub vec: bool,
}

/// An output as a sink writes it: its file name (`out.npy`, `out0.npy`, ...),
/// dtype and whole shape (with the batch axis when the batch has one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutSpec {
    /// `out.npy`, or `outK.npy` for a tuple's K-th output (`hissc run`'s names).
    pub file: String,
    /// Its dtype.
    pub dtype: DType,
    /// Its shape.
    pub shape: Shape,
    /// Frames in the batch.
    pub frames: usize,
    /// A variable-length output: `shape` ends with the most one frame gives; the
    /// file holds every frame's elements, and for a batch (a leading axis in
    /// `shape`) `outK_offsets.npy` where each frame ends.
    pub vec: bool,
}

/// The files of a run's outputs (`hissc run`'s names), with a batch axis when
/// the inputs had one.
pub fn out_specs(outputs: &[OutType], is_batch: bool, frames: usize) -> Vec<OutSpec> {
    let one = outputs.len() == 1;
    outputs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let mut shape = Vec::new();
            if is_batch {
                shape.push(frames as u32);
            }
            shape.extend_from_slice(&o.shape);
            OutSpec {
                file: if one {
                    "out.npy".into()
                } else {
                    format!("out{i}.npy")
                },
                dtype: o.dtype,
                shape,
                frames,
                vec: o.vec,
            }
        })
        .collect()
}

/// A streamed input: where its elements come from and how many are read.
struct Port<'a> {
    /// Index in [`Interface::params`].
    param: usize,
    reader: Box<dyn Read + Send + 'a>,
    dtype: DType,
    /// The whole input's shape (with the batch axis).
    shape: Shape,
    /// Elements per frame.
    frame: usize,
}

/// A block of frames read from a batch: for each streamed input, in port order,
/// the block's elements back to back, as the body holds them (little-endian
/// elements of the input's dtype).
#[derive(Debug)]
pub struct Block {
    /// Frames in the block.
    pub frames: usize,
    /// Each streamed input's dtype, in port order.
    pub dtypes: Vec<DType>,
    /// Each streamed input's bytes, in port order.
    pub bytes: Vec<Vec<u8>>,
}

impl Block {
    /// Each streamed input's elements as exact integers (for the engines
    /// that compute with them).
    pub fn exact(&self) -> Vec<Vec<i128>> {
        self.dtypes
            .iter()
            .zip(&self.bytes)
            .map(|(&d, b)| {
                let mut out = Vec::with_capacity(b.len() / d.bytes());
                npy::decode(d, b, &mut out);
                out
            })
            .collect()
    }
}

/// One output of one frame, as an engine gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// Exact integers (the interpreter, the simulator).
    Exact(Array),
    /// The CPU slot's, encoded as `.npy` elements.
    Lanes(hissc_cpu::Output),
}

impl Out {
    /// Its dtype.
    pub fn dtype(&self) -> DType {
        match self {
            Out::Exact(a) => a.dtype,
            Out::Lanes(o) => o.dtype,
        }
    }

    /// Its shape (a `Vec` output: as many as it holds).
    pub fn shape(&self) -> &[u32] {
        match self {
            Out::Exact(a) => &a.shape,
            Out::Lanes(o) => &o.shape,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Out::Exact(a) => a.data.len(),
            Out::Lanes(o) => o.len(),
        }
    }

    /// Has it no elements?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as an exact integer.
    pub fn get(&self, i: usize) -> i128 {
        match self {
            Out::Exact(a) => a.data[i],
            Out::Lanes(o) => o.get(i),
        }
    }

    /// Appends its elements as a `.npy` body holds them.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Out::Exact(a) => npy::encode(a.dtype, &a.data, out),
            Out::Lanes(o) => out.extend_from_slice(&o.bytes),
        }
    }

    /// As exact integers.
    pub fn into_array(self) -> Array {
        match self {
            Out::Exact(a) => a,
            Out::Lanes(o) => o.to_array(),
        }
    }
}

/// Frames of exact outputs as a sink takes them.
pub fn exact_frames(frames: Vec<Vec<Array>>) -> Vec<Vec<Out>> {
    frames
        .into_iter()
        .map(|f| f.into_iter().map(Out::Exact).collect())
        .collect()
}

/// A batch of frames being read.
pub struct Batch<'a> {
    iface: Interface,
    layout: Layout,
    /// The inputs with a batch axis.
    ports: Vec<Port<'a>>,
    /// Per input stream (in order): the frame every frame repeats, when it has
    /// no batch axis.
    fixed: Vec<Option<Vec<i128>>>,
    /// Frames read so far.
    read: usize,
    /// Frames per block.
    block: usize,
}

/// Reads exactly `n` elements of `dtype` into `buf`; `shown` names the input.
fn read_bytes(
    r: &mut dyn Read,
    dtype: DType,
    n: usize,
    shown: &str,
    buf: &mut Vec<u8>,
) -> Result<(), String> {
    buf.resize(n * dtype.bytes(), 0);
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            format!("`{shown}` ends before the elements its header promises")
        }
        _ => format!("`{shown}` cannot be read: {e}"),
    })
}

/// Reads exactly `n` elements of `dtype`; `shown` names the input.
fn read_elements(
    r: &mut dyn Read,
    dtype: DType,
    n: usize,
    shown: &str,
    buf: &mut Vec<u8>,
) -> Result<Vec<i128>, String> {
    read_bytes(r, dtype, n, shown, buf)?;
    let mut out = Vec::with_capacity(n);
    npy::decode(dtype, buf, &mut out);
    Ok(out)
}

/// Checks the range promise of input `p` on its little-endian elements
/// `bytes` of `dtype`, the elements from flat index `first` on of an input of
/// shape `shape`; the error names the element.
fn check_promise_bytes(
    p: &Param,
    dtype: DType,
    bytes: &[u8],
    first: usize,
    shape: &[u32],
) -> Result<(), String> {
    if p.range.lo <= p.ty.dtype.min() && p.ty.dtype.max() <= p.range.hi {
        // no promise beyond the dtype, which every element of it keeps
        return Ok(());
    }
    // a few thousand elements at a time, as exact integers
    let step = 4096 * dtype.bytes();
    let mut out = Vec::with_capacity(4096);
    for (i, chunk) in bytes.chunks(step).enumerate() {
        out.clear();
        npy::decode(dtype, chunk, &mut out);
        hissc_aop::check_promise(p, &out, first + i * 4096, shape)?;
    }
    Ok(())
}

impl<'a> Batch<'a> {
    /// Reads every input's header and binds the inputs to `iface`'s kernel;
    /// reads the inputs that every frame repeats (those without a batch axis).
    pub fn open(iface: &Interface, inputs: Vec<Input<'a>>) -> Result<Batch<'a>, String> {
        let mut headers = Vec::new();
        let mut readers = Vec::new();
        for mut i in inputs {
            let (dtype, shape) = match i.body {
                Body::Npy => npy::read_header(&mut i.reader, &i.name)?,
                Body::Raw { bytes } => {
                    let p = iface
                        .params
                        .iter()
                        .find(|p| p.name == i.name && p.is_stream())
                        .ok_or_else(|| {
                            format!("`{}` has no input stream `{}`", iface.kernel, i.name)
                        })?;
                    let d = p.ty.dtype;
                    let frame = (numel(&p.ty.shape) * d.bytes()) as u64;
                    if bytes % frame != 0 || bytes == 0 {
                        return Err(format!(
                            "`{}` is {bytes} bytes, not a whole number of {:?} {} frames ({frame} bytes each)",
                            i.name,
                            p.ty.shape,
                            d.numpy_name()
                        ));
                    }
                    let frames = u32::try_from(bytes / frame)
                        .map_err(|_| format!("`{}` holds too many frames", i.name))?;
                    let mut shape = vec![frames];
                    shape.extend_from_slice(&p.ty.shape);
                    (d, shape)
                }
            };
            headers.push(Header {
                name: i.name.clone(),
                dtype,
                shape,
            });
            readers.push(i);
        }
        let layout =
            hissc_aop::bind_headers(&iface.kernel, &iface.params, &headers, &iface.values)?;
        let mut ports = Vec::new();
        let mut fixed = Vec::new();
        let mut buf = Vec::new();
        for (k, p) in iface.params.iter().enumerate() {
            if !p.is_stream() {
                continue;
            }
            let at = readers
                .iter()
                .position(|r| r.name == p.name)
                .expect("binding found every input");
            let h = &headers[at];
            let frame = numel(&p.ty.shape);
            let mut r = std::mem::replace(&mut readers[at].reader, Box::new(std::io::empty()));
            if layout.batched[k] {
                fixed.push(None);
                ports.push(Port {
                    param: k,
                    reader: r,
                    dtype: h.dtype,
                    shape: h.shape.clone(),
                    frame,
                });
            } else {
                let data = read_elements(&mut r, h.dtype, frame, &p.name, &mut buf)?;
                hissc_aop::check_promise(p, &data, 0, &h.shape)?;
                fixed.push(Some(data));
            }
        }
        let per_frame: usize = ports.iter().map(|p| p.frame).sum::<usize>()
            + iface.outputs.iter().map(|o| numel(&o.shape)).sum::<usize>();
        Ok(Batch {
            iface: iface.clone(),
            block: (BLOCK_ELEMENTS / per_frame.max(1)).max(1),
            layout,
            ports,
            fixed,
            read: 0,
        })
    }

    /// Frames per block.
    pub fn block(&self) -> usize {
        self.block
    }

    /// Reads `frames` frames per block from now on (at least one).
    pub fn set_block(&mut self, frames: usize) {
        self.block = frames.max(1);
    }

    /// Frames in the batch.
    pub fn frames(&self) -> usize {
        self.layout.frames
    }

    /// The scalar parameters' values, in order.
    pub fn scalars(&self) -> Vec<i128> {
        self.layout.values.iter().flatten().copied().collect()
    }

    /// Per input stream (in order): the frame every frame repeats, or `None`
    /// for an input read a block at a time. Taken once.
    pub fn take_fixed(&mut self) -> Vec<Option<Vec<i128>>> {
        std::mem::take(&mut self.fixed)
    }

    /// The outputs as the batch gives them: with a batch axis when an input had one.
    pub fn outputs(&self) -> Vec<OutSpec> {
        out_specs(
            &self.iface.outputs,
            self.layout.is_batch,
            self.layout.frames,
        )
    }

    /// Reads the next block of frames (range promises checked), or `None` after
    /// the last.
    pub fn next_block(&mut self) -> Result<Option<Block>, String> {
        let n = self.block.min(self.layout.frames - self.read);
        if n == 0 {
            return Ok(None);
        }
        let mut bytes = Vec::with_capacity(self.ports.len());
        let mut dtypes = Vec::with_capacity(self.ports.len());
        for port in &mut self.ports {
            let p = &self.iface.params[port.param];
            let mut buf = Vec::new();
            read_bytes(
                &mut port.reader,
                port.dtype,
                n * port.frame,
                &p.name,
                &mut buf,
            )?;
            check_promise_bytes(p, port.dtype, &buf, self.read * port.frame, &port.shape)?;
            bytes.push(buf);
            dtypes.push(port.dtype);
        }
        self.read += n;
        Ok(Some(Block {
            frames: n,
            dtypes,
            bytes,
        }))
    }
}

/// Where a parameter's elements come from in a run of blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgSource {
    /// An array every frame repeats: input stream number `.0` (its fixed frame).
    Fixed(usize),
    /// An array pushed a block at a time: the block's streamed input number `.0`.
    Port(usize),
    /// A scalar: number `.0` of the scalar values.
    Scalar(usize),
}

/// Per parameter of `params` (signature order), where a run finds its
/// elements; `fixed` has, per input stream, the frame every frame repeats or
/// `None` for a streamed one (as [`Batch::take_fixed`] gives them).
pub fn arg_sources<T>(params: &[Param], fixed: &[Option<T>]) -> Vec<ArgSource> {
    let (mut stream, mut port, mut scalar) = (0, 0, 0);
    params
        .iter()
        .map(|p| {
            if !p.is_stream() {
                scalar += 1;
                return ArgSource::Scalar(scalar - 1);
            }
            stream += 1;
            if fixed[stream - 1].is_some() {
                ArgSource::Fixed(stream - 1)
            } else {
                port += 1;
                ArgSource::Port(port - 1)
            }
        })
        .collect()
}

/// A design running frames: takes them a block at a time, gives the outputs of
/// the frames that have completed.
pub trait FrameRun {
    /// Runs a block of frames more.
    fn push(&mut self, block: &Block) -> Result<Vec<Vec<Out>>, SlotError>;
    /// No more frames: the outputs of the frames still in flight.
    fn finish(&mut self) -> Result<Vec<Vec<Out>>, SlotError>;
    /// The kernel's states as the frames so far left them (after `finish`, as
    /// the last frame left them); none for a kernel without states.
    fn states(&self) -> Vec<Array> {
        Vec::new()
    }
}

/// Where a run's outputs go, frame by frame.
pub trait FrameSink {
    /// Before the first frame: what the outputs are.
    fn start(&mut self, outputs: &[OutSpec]) -> Result<(), String>;
    /// The outputs of the next frames, in order (one array per output each).
    fn frames(&mut self, frames: Vec<Vec<Out>>) -> Result<(), String>;
    /// After the last frame.
    fn end(&mut self) -> Result<(), String>;
}

/// Moves every frame of `batch` through `run` into `sink`.
pub fn pump(
    batch: &mut Batch,
    run: &mut dyn FrameRun,
    sink: &mut dyn FrameSink,
) -> Result<(), SlotError> {
    sink.start(&batch.outputs()).map_err(SlotError::Run)?;
    while let Some(b) = batch.next_block().map_err(SlotError::Input)? {
        let out = run.push(&b)?;
        sink.frames(out).map_err(SlotError::Run)?;
    }
    let out = run.finish()?;
    sink.frames(out).map_err(SlotError::Run)?;
    sink.end().map_err(SlotError::Run)
}

/// Opens the writer of an output.
type Opener<W> = Box<dyn FnMut(&OutSpec) -> Result<W, String>>;

/// Writes each output as a `.npy` into a writer of its own, as frames come. A
/// variable-length output's elements are held until the batch ends (its
/// header needs their count; they are at most the frames' size), while its
/// offsets (`outK_offsets.npy`, for a batch) are written as frames come.
pub struct NpySink<W: Write> {
    open: Opener<W>,
    /// Every file: the outputs' (in order), then the offsets files.
    outs: Vec<(OutSpec, W)>,
    /// What each file of `outs` holds.
    kinds: Vec<FileKind>,
    /// Frames written.
    written: usize,
    buf: Vec<u8>,
}

/// What a file of an [`NpySink`] holds.
enum FileKind {
    /// Output `.0`, every frame's elements as they come.
    Fixed(usize),
    /// Variable-length output `.0`: its encoded elements so far, and their count.
    Values(usize, Vec<u8>, u64),
    /// The offsets of variable-length output `.0`: the elements so far.
    Offsets(usize, u64),
}

impl<W: Write> NpySink<W> {
    /// A sink that opens the writer of each output with `open`.
    pub fn new(open: impl FnMut(&OutSpec) -> Result<W, String> + 'static) -> NpySink<W> {
        NpySink {
            open: Box::new(open),
            outs: Vec::new(),
            kinds: Vec::new(),
            written: 0,
            buf: Vec::new(),
        }
    }

    /// The outputs and their writers, after [`FrameSink::end`].
    pub fn into_outputs(self) -> Vec<(OutSpec, W)> {
        self.outs
    }

    /// The outputs started so far.
    pub fn specs(&self) -> impl Iterator<Item = &OutSpec> {
        self.outs.iter().map(|(o, _)| o)
    }
}

impl<W: Write> FrameSink for NpySink<W> {
    fn start(&mut self, outputs: &[OutSpec]) -> Result<(), String> {
        let mut offsets = Vec::new();
        for (i, o) in outputs.iter().enumerate() {
            let mut w = (self.open)(o)?;
            if o.vec {
                self.kinds.push(FileKind::Values(i, Vec::new(), 0));
                if o.shape.len() == 2 {
                    let spec = OutSpec {
                        file: o.file.replace(".npy", "_offsets.npy"),
                        dtype: DType::I64,
                        shape: vec![o.frames as u32 + 1],
                        frames: o.frames,
                        vec: false,
                    };
                    offsets.push((i, spec));
                }
            } else {
                w.write_all(&npy::header(o.dtype, &o.shape))
                    .map_err(|e| format!("cannot write `{}`: {e}", o.file))?;
                self.kinds.push(FileKind::Fixed(i));
            }
            self.outs.push((o.clone(), w));
        }
        for (i, spec) in offsets {
            let mut w = (self.open)(&spec)?;
            self.buf.clear();
            self.buf
                .extend_from_slice(&npy::header(spec.dtype, &spec.shape));
            npy::encode(DType::I64, &[0], &mut self.buf);
            w.write_all(&self.buf)
                .map_err(|e| format!("cannot write `{}`: {e}", spec.file))?;
            self.kinds.push(FileKind::Offsets(i, 0));
            self.outs.push((spec, w));
        }
        Ok(())
    }

    fn frames(&mut self, frames: Vec<Vec<Out>>) -> Result<(), String> {
        for ((o, w), kind) in self.outs.iter_mut().zip(&mut self.kinds) {
            self.buf.clear();
            match kind {
                FileKind::Fixed(i) => {
                    for f in &frames {
                        f[*i].encode(&mut self.buf);
                    }
                }
                FileKind::Values(i, held, count) => {
                    for f in &frames {
                        f[*i].encode(held);
                        *count += f[*i].len() as u64;
                    }
                    continue;
                }
                FileKind::Offsets(i, count) => {
                    for f in &frames {
                        *count += f[*i].len() as u64;
                        npy::encode(DType::I64, &[*count as i128], &mut self.buf);
                    }
                }
            }
            w.write_all(&self.buf)
                .map_err(|e| format!("cannot write `{}`: {e}", o.file))?;
        }
        self.written += frames.len();
        Ok(())
    }

    fn end(&mut self) -> Result<(), String> {
        for ((o, w), kind) in self.outs.iter_mut().zip(&mut self.kinds) {
            if self.written != o.frames {
                return Err(format!(
                    "`{}` got {} frames of the batch's {}",
                    o.file, self.written, o.frames
                ));
            }
            if let FileKind::Values(_, held, count) = kind {
                o.shape = vec![*count as u32];
                w.write_all(&npy::header(o.dtype, &o.shape))
                    .and_then(|_| w.write_all(held))
                    .map_err(|e| format!("cannot write `{}`: {e}", o.file))?;
                *held = Vec::new();
            }
            w.flush()
                .map_err(|e| format!("cannot write `{}`: {e}", o.file))?;
        }
        Ok(())
    }
}
