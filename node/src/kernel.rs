//! Kernels attached to buckets, and one object's frames through one.
//!
//! A kernel is attached by writing its bundle as `.hiss/kernel.hbx`: scalar
//! parameters come from the object's user metadata `hiss-param-NAME`, and
//! `hiss-keep: outK` names a bool output that decides frame by frame what is
//! stored. The data objects carry the kernel's first input stream (signature
//! order); its other array inputs are the objects `.hiss/in/NAME.npy`, the same
//! for every frame. [`attach`] checks all of it before the kernel replaces the
//! previous one and chooses the kind of slot its objects run on (see
//! [`crate::slots`]); [`run_object`] streams one object's body through a slot
//! of the pool as the body arrives, writing the outputs as `.npy` files.

pub use crate::formats::BodyFormat;
use crate::formats::{open_body, Object, Store};
use crate::slots::{Kind, Pool, Taken};
use bytes::Bytes;
use hiss_runtime::stream::{Batch, Body, FrameSink, Input, NpySink, Out, OutSpec};
use hiss_runtime::{Bundle, CpuSlot, EmulatedSlot, Slot};
use hissc_aop::DType;
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// A kernel attached to a bucket.
#[derive(Debug)]
pub struct Attached {
    /// The checked bundle.
    pub bundle: Bundle,
    /// Its sha256 (what a slot that keeps it loaded is known by).
    pub id: String,
    /// The kind of slot its objects run on.
    pub kind: Kind,
    /// Its scalar parameters' values.
    pub params: Vec<(String, i128)>,
    /// The output (index and name) that decides which frames are stored.
    pub keep: Option<(usize, String)>,
    /// The input stream the data objects carry.
    pub data_input: String,
    /// The inputs read from `.hiss/in/NAME.npy`.
    pub fixed_inputs: Vec<String>,
    /// The kernel's states (name, dtype, shape), kept as `.hiss/state/NAME.npy`.
    pub states: Vec<hissc_aop::Param>,
    /// How the bucket's kept frames are stored (`hiss-store`; an object may say otherwise).
    pub store: Store,
}

/// The user-metadata name of parameter `NAME`.
pub const PARAM_PREFIX: &str = "hiss-param-";
/// The user-metadata name of the keep output.
pub const KEEP: &str = "hiss-keep";

/// The output file name of output `i` of `n`, as `hissc run` names them.
fn output_name(i: usize, n: usize) -> String {
    if n == 1 {
        "out".into()
    } else {
        format!("out{i}")
    }
}

/// Checks a bundle and its metadata against the slots of `pool`; gives the
/// kernel to attach, or why not.
pub fn attach(
    bytes: &[u8],
    metadata: &BTreeMap<String, String>,
    pool: &Pool,
) -> Result<Attached, String> {
    let bundle = Bundle::from_bytes(bytes).map_err(|e| e.to_string())?;
    let m = &bundle.manifest;
    // the emulated slot loads it: the network parses and verifies
    let mut slot = EmulatedSlot::new(&m.target);
    slot.load(&bundle).map_err(|e| e.to_string())?;
    // and so does the CPU slot when the bundle has its array ops
    let cpu = bundle.part("kernel.aop").is_some();
    if cpu {
        CpuSlot::new().load(&bundle).map_err(|e| e.to_string())?;
    }
    let kind = pool.kind_for(cpu).ok_or_else(|| {
        format!(
            "this node's slots ({}) cannot run it: the bundle has no `kernel.aop` (format \
             version {}); build it again with `hissc bundle`, or give the node an emulated slot",
            pool.spec(),
            m.format_version
        )
    })?;
    let mut params = Vec::new();
    for (k, v) in metadata {
        let Some(name) = k.strip_prefix(PARAM_PREFIX) else {
            continue;
        };
        let value: i128 = v
            .trim()
            .parse()
            .map_err(|_| format!("metadata `{k}`: `{v}` is not an integer"))?;
        slot.set_param(name, value)
            .map_err(|e| format!("metadata `{k}`: {e}"))?;
        params.push((name.to_string(), value));
    }
    for p in &m.params {
        if !params.iter().any(|(n, _)| *n == p.name) {
            return Err(format!(
                "kernel `{}` needs parameter `{}` ({}): give it as metadata `{PARAM_PREFIX}{}`",
                m.kernel, p.name, p.dtype, p.name
            ));
        }
    }
    let n = m.outputs.len();
    let keep = match metadata.get(KEEP) {
        None => None,
        Some(want) => {
            let want = want.trim();
            let i = (0..n).find(|&i| output_name(i, n) == want).ok_or_else(|| {
                let names: Vec<String> = (0..n).map(|i| output_name(i, n)).collect();
                format!(
                    "metadata `{KEEP}: {want}`: kernel `{}` has no output `{want}` (its outputs: {})",
                    m.kernel,
                    names.join(", ")
                )
            })?;
            let o = &m.outputs[i];
            if o.dtype != "bool" || !o.shape.is_empty() {
                return Err(format!(
                    "metadata `{KEEP}: {want}`: output `{want}` is {} of shape {:?}; the keep output is one bool per frame",
                    o.dtype, o.shape
                ));
            }
            Some((i, want.to_string()))
        }
    };
    let data_input = m
        .inputs
        .first()
        .ok_or_else(|| format!("kernel `{}` has no input stream for data objects", m.kernel))?
        .name
        .clone();
    let fixed_inputs = m.inputs[1..].iter().map(|p| p.name.clone()).collect();
    let states = m.state_types()?;
    let store = Store::of(metadata)?.unwrap_or_default();
    Ok(Attached {
        states,
        store,
        id: hiss_runtime::bundle::sha256_hex(bytes),
        kind,
        bundle,
        params,
        keep,
        data_input,
        fixed_inputs,
    })
}

/// Reads bytes sent through a channel as they arrive (from the request body).
pub struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    chunk: Bytes,
}

impl ChannelReader {
    /// A reader of what `rx` receives, until the sender closes.
    pub fn new(rx: tokio::sync::mpsc::Receiver<Bytes>) -> ChannelReader {
        ChannelReader {
            rx,
            chunk: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(c) => self.chunk = c,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        let _ = self.chunk.split_to(n);
        Ok(n)
    }
}

/// A result file flushed and fsynced; what went into it.
fn durable(w: HashWriter<BufWriter<std::fs::File>>) -> Result<Written, String> {
    let (w, written) = w.finish();
    let f = w.into_inner().map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    Ok(written)
}

/// What one object's run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Frames in the object.
    pub frames: usize,
    /// What the object's body was.
    pub format: BodyFormat,
    /// The keep output per frame, when the kernel has one.
    pub keep: Option<Vec<bool>>,
    /// Each output's `.npy` file (written and fsynced): its name (`out.npy`),
    /// path, and the size and MD5 (hex) of what was written.
    pub files: Vec<(String, PathBuf, Written)>,
    /// Every scalar output per frame, by output name (`out`, `out0`, ...).
    pub scalars: Vec<(String, Vec<serde_json::Value>)>,
    /// The kernel's states as the object's last frame left them: each one's
    /// `.npy` file (written and fsynced) as for `files`, by the state's name.
    pub states: Vec<(String, PathBuf, Written)>,
}

/// The size and MD5 (hex) of what a [`HashWriter`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Bytes.
    pub size: u64,
    /// MD5 of them, hex (an object's ETag).
    pub md5: String,
}

/// A writer that hashes what passes through it, so a file's ETag needs no
/// second read.
pub struct HashWriter<W: Write> {
    inner: W,
    md5: md5::Md5,
    size: u64,
}

impl<W: Write> HashWriter<W> {
    /// Hashes what is written to `inner`.
    pub fn new(inner: W) -> Self {
        use md5::Digest;
        HashWriter {
            inner,
            md5: md5::Md5::new(),
            size: 0,
        }
    }

    /// The writer, and what went through it.
    pub fn finish(self) -> (W, Written) {
        use md5::Digest;
        let digest = self.md5.finalize();
        (
            self.inner,
            Written {
                size: self.size,
                md5: hex_simd::encode_to_string(digest, hex_simd::AsciiCase::Lower),
            },
        )
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use md5::Digest;
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A scalar output's value as JSON (bool, integer, or float64).
fn json_value(dtype: DType, v: i128) -> serde_json::Value {
    match dtype {
        DType::Bool => serde_json::Value::Bool(v != 0),
        DType::F64 => serde_json::Number::from_f64(f64::from_bits(v as u64))
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        _ if v >= 0 => serde_json::Value::from(v as u64),
        _ => serde_json::Value::from(v as i64),
    }
}

/// The sink of a node run: `.npy` files, the keep flags and the scalar outputs.
struct NodeSink {
    npy: NpySink<HashWriter<BufWriter<std::fs::File>>>,
    keep: Option<(usize, Vec<bool>)>,
    /// (output index, name, dtype, values) of the scalar outputs.
    scalars: Vec<(usize, String, DType, Vec<serde_json::Value>)>,
}

impl FrameSink for NodeSink {
    fn start(&mut self, outputs: &[OutSpec]) -> Result<(), String> {
        let n = outputs.len();
        for (i, o) in outputs.iter().enumerate() {
            if o.shape.len() <= 1 && (o.shape.is_empty() || o.shape[0] as usize == o.frames) {
                // one value per frame (with the batch axis, or of a single frame)
                self.scalars
                    .push((i, output_name(i, n), o.dtype, Vec::new()));
            }
        }
        self.npy.start(outputs)
    }

    fn frames(&mut self, frames: Vec<Vec<Out>>) -> Result<(), String> {
        for f in &frames {
            if let Some((i, flags)) = self.keep.as_mut() {
                flags.push(f[*i].get(0) != 0);
            }
            for (i, _, d, values) in &mut self.scalars {
                if f[*i].shape().is_empty() {
                    values.push(json_value(*d, f[*i].get(0)));
                }
            }
        }
        self.npy.frames(frames)
    }

    fn end(&mut self) -> Result<(), String> {
        self.npy.end()
    }
}

/// Runs one object's body (read from `body` as it arrives, `len` bytes in all)
/// through the slot `taken` (loading `k` into it unless it holds it); the
/// fixed inputs are read from the files `fixed` (by name); the outputs are
/// written into `dir`.
pub fn run_object(
    k: &Attached,
    taken: &mut Taken,
    body: impl Read + Send + 'static,
    object: &Object,
    fixed: Vec<(String, std::fs::File)>,
    states: Vec<Vec<i128>>,
    dir: &Path,
) -> Result<RunOutput, String> {
    let started = std::time::Instant::now();
    // a kernel without states takes the idle slots of its kind too: its
    // frames are independent, so one object runs on all of their cores
    let lent = if k.states.is_empty() && taken.kind() == Kind::Cpu {
        taken.idle_of_kind()
    } else {
        Vec::new()
    };
    let slot = taken.slot_with(&k.id, &k.bundle)?;
    slot.set_threads(1 + lent.len());
    let out = run_on(k, slot, body, object, fixed, states, dir);
    slot.set_threads(1);
    let frames = out.as_ref().map_or(0, |o| o.frames as u64);
    taken.done(frames, started.elapsed());
    for l in &lent {
        l.lent(started.elapsed());
    }
    out
}

/// [`run_object`] on a loaded slot.
pub fn run_on(
    k: &Attached,
    slot: &mut dyn Slot,
    body: impl Read + Send + 'static,
    object: &Object,
    fixed: Vec<(String, std::fs::File)>,
    states: Vec<Vec<i128>>,
    dir: &Path,
) -> Result<RunOutput, String> {
    slot.set_states(states).map_err(|e| e.to_string())?;
    for (n, v) in &k.params {
        slot.set_param(n, *v).map_err(|e| e.to_string())?;
    }
    let (format, reader, body) = open_body(body, k, object, dir)?;
    let mut inputs = vec![Input {
        name: k.data_input.clone(),
        reader,
        body,
    }];
    for (name, f) in fixed {
        inputs.push(Input {
            name,
            reader: Box::new(std::io::BufReader::new(f)),
            body: Body::Npy,
        });
    }
    let iface = slot.interface().map_err(|e| e.to_string())?;
    let mut batch = Batch::open(&iface, inputs)?;
    batch.set_block(slot.block_frames(batch.block()));
    let at = dir.to_path_buf();
    let mut sink = NodeSink {
        npy: NpySink::new(move |o| {
            std::fs::File::create(at.join(&o.file))
                .map(|f| HashWriter::new(BufWriter::with_capacity(1 << 16, f)))
                .map_err(|e| format!("cannot write `{}`: {e}", o.file))
        }),
        keep: k.keep.as_ref().map(|(i, _)| (*i, Vec::new())),
        scalars: Vec::new(),
    };
    let frames = batch.frames();
    let states = hiss_runtime::api::run_batch_states(slot, &mut batch, &mut sink)
        .map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    for (o, w) in sink.npy.into_outputs() {
        files.push((o.file.clone(), dir.join(&o.file), durable(w)?));
    }
    // the states the object left, beside its results
    let states = k
        .states
        .iter()
        .zip(&states)
        .map(|(p, a)| {
            let name = p.name.clone();
            let path = dir.join(format!("state_{name}.npy"));
            let f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
            let mut w = HashWriter::new(BufWriter::new(f));
            w.write_all(&hiss_runtime::npy::to_bytes(a))
                .map_err(|e| e.to_string())?;
            Ok((name, path, durable(w)?))
        })
        .collect::<Result<_, String>>()?;
    Ok(RunOutput {
        frames,
        format,
        keep: sink.keep.map(|(_, k)| k),
        files,
        scalars: sink
            .scalars
            .into_iter()
            .map(|(_, n, _, v)| (n, v))
            .collect(),
        states,
    })
}

impl RunOutput {
    /// How `other`, a run of the same object elsewhere, differs from this one
    /// (frames, keep flags, the bytes of every output and state file), if it
    /// does.
    pub fn differs_from(&self, other: &RunOutput) -> Option<String> {
        if self.frames != other.frames {
            return Some(format!("{} frames against {}", self.frames, other.frames));
        }
        if self.keep != other.keep {
            return Some("the frames kept".into());
        }
        let files = |o: &RunOutput| -> Vec<(String, String)> {
            o.files
                .iter()
                .map(|(n, _, w)| (n.clone(), w.md5.clone()))
                .chain(
                    o.states
                        .iter()
                        .map(|(n, _, w)| (format!("state {n}"), w.md5.clone())),
                )
                .collect()
        };
        let (a, b) = (files(self), files(other));
        if a.len() != b.len() {
            return Some("the outputs written".into());
        }
        a.iter()
            .zip(&b)
            .find(|(x, y)| x != y)
            .map(|((name, _), _)| format!("output `{name}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(md5s: &[&str], keep: Option<Vec<bool>>) -> RunOutput {
        let file = |(i, m): (usize, &&str)| {
            let w = Written {
                size: 1,
                md5: m.to_string(),
            };
            (format!("out{i}.npy"), PathBuf::from("x"), w)
        };
        RunOutput {
            frames: 2,
            format: BodyFormat::Npy,
            keep,
            files: md5s.iter().enumerate().map(file).collect(),
            scalars: vec![],
            states: vec![],
        }
    }

    #[test]
    fn two_runs_of_an_object_are_compared_file_by_file() {
        let a = run(&["aa", "bb"], Some(vec![true, false]));
        assert_eq!(
            a.differs_from(&run(&["aa", "bb"], Some(vec![true, false]))),
            None
        );
        assert_eq!(
            a.differs_from(&run(&["aa", "bc"], Some(vec![true, false]))),
            Some("output `out1.npy`".into())
        );
        assert_eq!(
            a.differs_from(&run(&["aa", "bb"], Some(vec![true, true]))),
            Some("the frames kept".into())
        );
        let mut fewer = run(&["aa", "bb"], Some(vec![true, false]));
        fewer.frames = 1;
        assert_eq!(a.differs_from(&fewer), Some("2 frames against 1".into()));
    }
}
