//! What a data object's body is, how its frames are read, and how its kept
//! frames are stored.
//!
//! A body is told by its first bytes: a `.npy` file (its magic), an HDF5 file
//! (its signature), DECTRIS Stream V2 messages (a CBOR map), or else raw
//! little-endian frames. Every one is read as one stream of frames of the
//! kernel's data input, checked against its dtype and frame shape:
//!
//! - `.npy` and raw frames run as they arrive;
//! - Stream V2 is decoded as it arrives ([`crate::detector`]);
//! - HDF5 is not a streaming format (its chunk index may be anywhere in the
//!   file): the body is received into the buffer first, and once it is in,
//!   its frames are read from its dataset in place, a chunk at a time, decoded up
//!   to four frames ahead of the kernel on a thread of their own (memory: a
//!   few frames), before the answer. The dataset is `/entry/data/data` unless the
//!   object's metadata `hiss-dataset` names another.
//!
//! Stored: an object whose frames are all kept is stored as received; with
//! `hiss-keep` only the kept frames are, in the body's own format (an HDF5
//! body's kept frames as an HDF5 file of one bitshuffle-LZ4 chunk per frame,
//! each chunk copied from the body when it is one). With `hiss-store: bslz4`
//! (an object's metadata, or the kernel's for the bucket) the kept frames of
//! any body are stored that way: compressed after selection.

use crate::detector::Messages;
use crate::kernel::{Attached, HashWriter, Written};
use hiss_runtime::detector::h5::{self, Chunk, H5Frames};
use hiss_runtime::stream::Body;
use hissc_aop::DType;
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

/// The user-metadata name of an HDF5 object's dataset.
pub const DATASET: &str = "hiss-dataset";
/// The user-metadata name of how kept frames are stored.
pub const STORE: &str = "hiss-store";

/// The HDF5 file signature.
const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Bytes of a body's start [`is_hdf5`] looks at.
pub const SIGNATURE_BYTES: usize = HDF5_MAGIC.len();

/// Whether a body starting with `head` is an HDF5 file: not a streaming
/// format, so it runs from the buffer once it is in.
pub fn is_hdf5(head: &[u8]) -> bool {
    head.starts_with(HDF5_MAGIC)
}

/// How an object's body was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// A `.npy` file.
    Npy,
    /// Raw little-endian frames.
    Raw,
    /// DECTRIS Stream V2 messages ([`crate::detector`]), and where each is.
    Stream2(Messages),
    /// An HDF5 file, its frames in this dataset.
    Hdf5(String),
}

/// How kept frames are stored (`hiss-store`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Store {
    /// In the body's own format.
    #[default]
    AsReceived,
    /// As an HDF5 file of one bitshuffle-LZ4 chunk per frame.
    Bslz4,
}

impl Store {
    /// `hiss-store` of `metadata`, when it has one.
    pub fn of(metadata: &BTreeMap<String, String>) -> Result<Option<Store>, String> {
        match metadata.get(STORE).map(|s| s.trim()) {
            None => Ok(None),
            Some("bslz4") => Ok(Some(Store::Bslz4)),
            Some("as-received") => Ok(Some(Store::AsReceived)),
            Some(v) => Err(format!(
                "metadata `{STORE}: {v}`: kept frames are stored `as-received` or as `bslz4` (HDF5)"
            )),
        }
    }
}

/// What a data object's metadata says about reading and storing it.
#[derive(Clone, Debug, Default)]
pub struct Object {
    /// The body's length as announced (0 when unknown).
    pub len: u64,
    /// `hiss-dataset`: an HDF5 body's dataset.
    pub dataset: Option<String>,
    /// `hiss-store`, where the object says.
    pub store: Option<Store>,
    /// The body's own file in the buffer, when the run reads it from there
    /// (an HDF5 body is opened in place; a streamed one has none yet).
    pub file: Option<std::path::PathBuf>,
}

impl Object {
    /// From an object's user metadata, refused with the reason when it says
    /// something the node does not do.
    pub fn from_metadata(len: u64, metadata: &BTreeMap<String, String>) -> Result<Object, String> {
        Ok(Object {
            len,
            dataset: metadata.get(DATASET).map(|s| s.trim().to_string()),
            store: Store::of(metadata)?,
            file: None,
        })
    }
}

/// The kernel's data input: its name, dtype and one frame's shape.
fn data_input(k: &Attached) -> Result<(&str, DType, Vec<u32>), String> {
    let p = k
        .bundle
        .manifest
        .inputs
        .iter()
        .find(|p| p.name == k.data_input)
        .ok_or("the kernel has no data input")?;
    let dtype = DType::from_numpy_name(&p.dtype)
        .ok_or_else(|| format!("the kernel's `{}` has dtype `{}`", p.name, p.dtype))?;
    Ok((&p.name, dtype, p.shape.iter().map(|&d| d as u32).collect()))
}

/// Reads the start of `body`, tells its format, and gives a reader of its
/// frames (and how the batch reads them). `dir` is the run's own directory.
pub fn open_body(
    mut body: impl Read + Send + 'static,
    k: &Attached,
    object: &Object,
    dir: &Path,
) -> Result<(BodyFormat, Box<dyn Read + Send>, Body), String> {
    let mut magic = [0u8; SIGNATURE_BYTES];
    let mut got = 0;
    while got < magic.len() {
        let n = body
            .read(&mut magic[got..])
            .map_err(|e| format!("the body cannot be read: {e}"))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let head = magic[..got].to_vec();
    let reader = std::io::Cursor::new(head.clone()).chain(body);
    if head.starts_with(b"\x93NUMPY") {
        return Ok((BodyFormat::Npy, Box::new(reader), Body::Npy));
    }
    if is_hdf5(&head) {
        return open_hdf5(k, object);
    }
    if got > 0 && crate::detector::is_stream2(head[0]) {
        // decoded as it arrives, then run from the decoded frames
        let (name, dtype, shape) = data_input(k)?;
        let path = dir.join(".frames.raw");
        let (bytes, messages) = crate::detector::decode_to(reader, &path, name, dtype, &shape)?;
        let f = std::fs::File::open(&path).map_err(|e| e.to_string())?;
        // the open file stays readable; its name goes now
        let _ = std::fs::remove_file(&path);
        let r = std::io::BufReader::with_capacity(1 << 20, f);
        return Ok((
            BodyFormat::Stream2(messages),
            Box::new(r),
            Body::Raw { bytes },
        ));
    }
    Ok((
        BodyFormat::Raw,
        Box::new(reader),
        Body::Raw { bytes: object.len },
    ))
}

/// An HDF5 body, read a frame at a time from its file in the buffer.
fn open_hdf5(
    k: &Attached,
    object: &Object,
) -> Result<(BodyFormat, Box<dyn Read + Send>, Body), String> {
    let (name, dtype, shape) = data_input(k)?;
    // the ingest receives an HDF5 body whole before it runs (`is_hdf5`)
    let path = object
        .file
        .as_deref()
        .ok_or("an HDF5 body runs from its file in the buffer, and this one has none")?;
    let dataset = object.dataset.as_deref().unwrap_or(h5::DEFAULT_DATASET);
    let frames = H5Frames::open(path, Some(dataset)).map_err(|e| format!("the HDF5 body: {e}"))?;
    if frames.dtype != dtype || frames.frame != shape {
        return Err(format!(
            "the HDF5 body's `{dataset}` holds `{}` frames of {:?}; the kernel's `{name}` takes `{}` {:?}",
            frames.dtype.numpy_name(),
            frames.frame,
            dtype.numpy_name(),
            shape
        ));
    }
    let bytes = (frames.frame_bytes() * frames.count) as u64;
    Ok((
        BodyFormat::Hdf5(dataset.to_string()),
        // decoded a few frames ahead on a thread of their own
        Box::new(frames.prefetching(2)),
        Body::Raw { bytes },
    ))
}

/// Writes the frames of the object at `src` (of `format`) whose flag in
/// `keep` is set to `dst` (fsynced), stored as `store` says (an HDF5 body's
/// always as bitshuffle-LZ4 HDF5). Gives what was written.
pub fn write_kept(
    format: &BodyFormat,
    src: &Path,
    dst: &Path,
    keep: &[bool],
    k: &Attached,
    store: Store,
) -> Result<Written, String> {
    match (format, store) {
        (BodyFormat::Hdf5(dataset), _) => kept_hdf5(src, dataset, dst, keep)?,
        (f, Store::Bslz4) => {
            let (_, dtype, shape) = data_input(k)?;
            kept_frames_as_bslz4(f, src, dst, keep, dtype, &shape)?
        }
        (BodyFormat::Stream2(m), Store::AsReceived) => {
            return crate::detector::write_kept(src, dst, m, keep)
        }
        (f, Store::AsReceived) => {
            let (_, _, shape) = data_input(k)?;
            return write_kept_frames(src, dst, *f == BodyFormat::Npy, keep, shape.len());
        }
    }
    written(dst)
}

/// The kept frames of an HDF5 body, their bitshuffle-LZ4 chunks copied.
fn kept_hdf5(src: &Path, dataset: &str, dst: &Path, keep: &[bool]) -> Result<(), String> {
    let f = H5Frames::open(src, Some(dataset))?;
    let kept: Vec<usize> = (0..f.count)
        .filter(|&i| keep.get(i).copied().unwrap_or(false))
        .collect();
    h5::write_bslz4(dst, f.dtype, &f.frame, kept.len(), |j| {
        let i = kept[j];
        if let Some(c) = f.bslz4_chunk(i)? {
            return Ok(Chunk::Bslz4(c));
        }
        let mut buf = vec![0u8; f.frame_bytes()];
        f.read(i, &mut buf)?;
        Ok(Chunk::Frame(buf))
    })
}

/// The kept frames of a `.npy`, raw or Stream V2 body as bitshuffle-LZ4 HDF5.
fn kept_frames_as_bslz4(
    format: &BodyFormat,
    src: &Path,
    dst: &Path,
    keep: &[bool],
    dtype: DType,
    shape: &[u32],
) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let frame = shape.iter().map(|&d| d as usize).product::<usize>() * dtype.bytes();
    let file = std::io::BufReader::new(std::fs::File::open(src).map_err(io)?);
    let mut source: Box<dyn FnMut() -> Result<Vec<u8>, String>> = match format {
        BodyFormat::Stream2(_) => {
            let mut m = hiss_runtime::detector::stream2::Messages::new(file, None);
            Box::new(move || loop {
                let msg = m.next_message()?.ok_or("the series ends early")?;
                if let Some(img) = msg.image {
                    return Ok(img.data);
                }
            })
        }
        f => {
            let mut r = file;
            if *f == BodyFormat::Npy {
                hiss_runtime::npy::read_header(&mut r, "object")?;
            }
            Box::new(move || {
                let mut b = vec![0u8; frame];
                r.read_exact(&mut b).map_err(io)?;
                Ok(b)
            })
        }
    };
    let count = keep.iter().filter(|&&x| x).count();
    let mut at = 0usize;
    h5::write_bslz4(dst, dtype, shape, count, |_| loop {
        let f = source()?;
        at += 1;
        if keep.get(at - 1).copied().unwrap_or(false) {
            return Ok(Chunk::Frame(f));
        }
    })
}

/// The size and MD5 of a file just written, after an fsync.
fn written(path: &Path) -> Result<Written, String> {
    let io = |e: std::io::Error| e.to_string();
    let f = std::fs::File::options()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    let mut w = HashWriter::new(std::io::sink());
    std::io::copy(&mut std::io::BufReader::new(f), &mut w).map_err(io)?;
    Ok(w.finish().1)
}

/// Writes the frames of the object at `src` whose flag in `keep` is set to
/// `dst` (fsynced): a `.npy` with its frame count rewritten (`frame_ndim` is the
/// number of axes of one frame), or raw frames. Gives what was written.
pub fn write_kept_frames(
    src: &Path,
    dst: &Path,
    npy: bool,
    keep: &[bool],
    frame_ndim: usize,
) -> Result<Written, String> {
    let io = |e: std::io::Error| e.to_string();
    let f = std::fs::File::open(src).map_err(io)?;
    let total = f.metadata().map_err(io)?.len();
    let mut r = std::io::BufReader::new(f);
    let mut w = HashWriter::new(BufWriter::new(std::fs::File::create(dst).map_err(io)?));
    let frames = keep.len() as u64;
    let kept = keep.iter().filter(|&&k| k).count() as u32;
    let data_bytes = if npy {
        let mut counted = CountingReader { r: &mut r, n: 0 };
        let (dtype, shape) = hiss_runtime::npy::read_header(&mut counted, "object")?;
        let header = counted.n;
        // a batch [F, frame...] keeps its axis; a single frame stays one
        let mut out_shape = shape.clone();
        if shape.len() == frame_ndim + 1 {
            out_shape[0] = kept;
        }
        w.write_all(&hiss_runtime::npy::header(dtype, &out_shape))
            .map_err(io)?;
        total - header
    } else {
        total
    };
    let frame = data_bytes / frames.max(1);
    let mut buf = vec![0u8; frame as usize];
    for &k in keep {
        r.read_exact(&mut buf).map_err(io)?;
        if k {
            w.write_all(&buf).map_err(io)?;
        }
    }
    let (w, written) = w.finish();
    let f = w.into_inner().map_err(|e| e.to_string())?;
    f.sync_all().map_err(io)?;
    Ok(written)
}

/// Counts the bytes read through it.
struct CountingReader<'a, R: Read> {
    r: &'a mut R,
    n: u64,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.r.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}
