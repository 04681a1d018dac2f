//! HDF5 files of detector frames (NeXus/NXmx as DECTRIS's file writer and
//! MAX IV's receiver write them): frames in a chunked dataset, by default
//! `/entry/data/data`, its first axis the frames, usually one chunk per frame
//! compressed with bitshuffle-LZ4 (filter 32008).
//!
//! The file structure is libhdf5's ([`hiss_hdf5`]): whatever layout, chunk
//! index or superblock a writer chose is read as the reference library reads
//! it. The codecs are ours: bitshuffle-LZ4 and LZ4 are registered with libhdf5
//! as Rust functions ([`register_codecs`]), so no plugin directory is needed;
//! deflate and shuffle are libhdf5's own.
//!
//! Reading a frame: where a chunk is exactly one frame and its filters are
//! bitshuffle-LZ4, LZ4 or none, the chunk's stored bytes are read from the
//! file and decoded here (one copy, no library lock held while decoding);
//! any other layout is read through libhdf5 frame by frame. A run reads them
//! decoded a few frames ahead on a thread of their own
//! ([`H5Frames::prefetching`]); memory is those frames (and libhdf5's 1 MiB
//! chunk cache).
//!
//! Writing ([`write_bslz4`]): one chunk per frame through bitshuffle-LZ4, each
//! chunk written as given (`H5Dwrite_chunk`), so a chunk already compressed
//! (a kept frame of a bslz4 file) is copied, not compressed again. h5py with
//! `hdf5plugin` reads these files.

use super::{bslz4, Frames};
use hiss_hdf5::{Class, Dataset, Element, Filter, Layout, Writer};
use hissc_aop::DType;
use std::path::Path;

/// Where frames are when a file does not say: NeXus/NXmx's data.
pub const DEFAULT_DATASET: &str = "/entry/data/data";

/// bitshuffle's filter parameters as its plugin stores them: version 0.4,
/// the element size, the block (0: bitshuffle's default), LZ4.
fn bitshuffle_params(elem_size: usize) -> Vec<u32> {
    vec![0, 4, elem_size as u32, 0, 2]
}

/// Registers bitshuffle-LZ4 and LZ4 with libhdf5 (once per process).
pub fn register_codecs() -> Result<(), String> {
    hiss_hdf5::register(hiss_hdf5::BITSHUFFLE, bitshuffle_codec)?;
    hiss_hdf5::register(hiss_hdf5::LZ4, lz4_codec)
}

/// The element size bitshuffle's parameters `[major, minor, elem_size,
/// block, compression]` name, when their compression is LZ4.
fn bitshuffle_elem(params: &[u32]) -> Result<usize, String> {
    let elem = *params
        .get(2)
        .ok_or("bitshuffle's parameters name no element size")? as usize;
    match params.get(4).copied().unwrap_or(0) {
        2 => Ok(elem),
        0 => Err("bitshuffle without LZ4 is not read here (bitshuffle-LZ4 is)".into()),
        3 => Err("bitshuffle with Zstandard is not read here (bitshuffle-LZ4 is)".into()),
        c => Err(format!("bitshuffle's compression {c} is unknown")),
    }
}

/// The bitshuffle filter (bitshuffle-LZ4).
fn bitshuffle_codec(decode: bool, params: &[u32], input: &[u8]) -> Result<Vec<u8>, String> {
    let elem = bitshuffle_elem(params)?;
    if decode {
        bslz4::decode(input, elem).map_err(|e| e.to_string())
    } else {
        if !matches!(elem, 1 | 2 | 4 | 8) || !input.len().is_multiple_of(elem) {
            return Err(format!(
                "bitshuffle of {} bytes in elements of {elem}",
                input.len()
            ));
        }
        let block = match params.get(3).copied().unwrap_or(0) as usize {
            0 => bslz4::default_block(elem),
            b if b % 8 == 0 => b,
            b => {
                return Err(format!(
                    "a bitshuffle block of {b} elements, not a multiple of 8"
                ))
            }
        };
        Ok(bslz4::encode(input, elem, block))
    }
}

/// The LZ4 filter's framing: the size (8 bytes, big-endian), the block size (4
/// bytes), then per block its stored length (4 bytes) and an LZ4 block, or
/// the block as it is where LZ4 did not make it smaller.
fn lz4_codec(decode: bool, params: &[u32], input: &[u8]) -> Result<Vec<u8>, String> {
    if decode {
        return lz4_decode(input);
    }
    let block = match params.first().copied().unwrap_or(0) as usize {
        0 => 1 << 30,
        b => b,
    };
    let mut out = Vec::with_capacity(12 + input.len());
    out.extend_from_slice(&(input.len() as u64).to_be_bytes());
    out.extend_from_slice(&(block as u32).to_be_bytes());
    for piece in input.chunks(block) {
        let packed = lz4_flex::block::compress(piece);
        let stored: &[u8] = if packed.len() < piece.len() {
            &packed
        } else {
            piece
        };
        out.extend_from_slice(&(stored.len() as u32).to_be_bytes());
        out.extend_from_slice(stored);
    }
    Ok(out)
}

fn lz4_decode(src: &[u8]) -> Result<Vec<u8>, String> {
    let head = |at: usize, n: usize| -> Result<&[u8], String> {
        src.get(at..at + n)
            .ok_or_else(|| format!("lz4: the body ends at byte {}, inside a header", src.len()))
    };
    let total = u64::from_be_bytes(head(0, 8)?.try_into().expect("8 bytes"));
    let block = u32::from_be_bytes(head(8, 4)?.try_into().expect("4 bytes")) as u64;
    if total > (src.len() as u64).saturating_mul(256) + 64 || (block == 0 && total > 0) {
        return Err(format!(
            "lz4: a header of {total} bytes in blocks of {block} from a body of {}",
            src.len()
        ));
    }
    let mut out = vec![0u8; total as usize];
    let (mut at, mut done) = (12usize, 0usize);
    while done < out.len() {
        let want = (block as usize).min(out.len() - done);
        let len = u32::from_be_bytes(head(at, 4)?.try_into().expect("4 bytes")) as usize;
        at += 4;
        let body = src.get(at..at + len).ok_or_else(|| {
            format!("lz4: a block of {len} bytes at byte {at} runs past the body")
        })?;
        if len == want {
            out[done..done + want].copy_from_slice(body);
        } else {
            bslz4::lz4_block(body, &mut out[done..done + want])
                .map_err(|e| format!("lz4: the block at byte {at}: {e}"))?;
        }
        at += len;
        done += want;
    }
    if at != src.len() {
        return Err(format!(
            "lz4: {} bytes after the last block",
            src.len() - at
        ));
    }
    Ok(out)
}

/// How a frame's chunk is decoded without libhdf5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direct {
    Raw,
    Bslz4,
    Lz4,
}

/// The frames of an HDF5 dataset, read one at a time.
pub struct H5Frames {
    ds: Dataset,
    file: std::fs::File,
    /// The dataset's name.
    pub name: String,
    /// numpy's dtype of a pixel.
    pub dtype: DType,
    /// One frame's shape.
    pub frame: Vec<u32>,
    /// How many frames.
    pub count: usize,
    direct: Option<Direct>,
    /// A chunk's stored bytes, read again for every frame (no allocation).
    chunk: std::cell::RefCell<Vec<u8>>,
}

impl H5Frames {
    /// Opens the frames of dataset `name` (default [`DEFAULT_DATASET`]) of the
    /// HDF5 file at `path`.
    pub fn open(path: &Path, name: Option<&str>) -> Result<H5Frames, String> {
        register_codecs()?;
        let name = name.unwrap_or(DEFAULT_DATASET).to_string();
        let ds = Dataset::open(path, &name)?;
        let dtype = dtype_of(ds.element).ok_or_else(|| {
            format!(
                "`{name}` holds {}, not integers or floats",
                describe(ds.element)
            )
        })?;
        let Some((&count, frame)) = ds.shape.split_first() else {
            return Err(format!("`{name}` is a scalar, not frames"));
        };
        let frame: Vec<u32> = frame
            .iter()
            .map(|&d| u32::try_from(d).map_err(|_| format!("`{name}`'s axis of {d} is too long")))
            .collect::<Result<_, _>>()?;
        for f in &ds.filters {
            if ![
                hiss_hdf5::BITSHUFFLE,
                hiss_hdf5::LZ4,
                hiss_hdf5::DEFLATE,
                hiss_hdf5::SHUFFLE,
            ]
            .contains(&f.id)
            {
                return Err(format!(
                    "`{name}` is compressed with filter {} (`{}`); frames are read through bitshuffle-LZ4, LZ4, deflate and shuffle",
                    f.id, f.name
                ));
            }
            if f.id == hiss_hdf5::BITSHUFFLE {
                // refused now with its reason, not at the first frame
                bitshuffle_elem(&f.params).map_err(|e| format!("`{name}`: {e}"))?;
            }
        }
        let one_frame = match &ds.layout {
            Layout::Chunked(c) => c[0] == 1 && c[1..] == ds.shape[1..],
            _ => false,
        };
        let direct = match (one_frame && ds.element.little_endian, &ds.filters[..]) {
            (false, _) => None,
            (true, []) => Some(Direct::Raw),
            (true, [f]) if f.id == hiss_hdf5::BITSHUFFLE => Some(Direct::Bslz4),
            (true, [f]) if f.id == hiss_hdf5::LZ4 => Some(Direct::Lz4),
            _ => None,
        };
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
        Ok(H5Frames {
            ds,
            file,
            name,
            dtype,
            frame,
            count: count as usize,
            direct,
            chunk: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// Bytes in one frame.
    pub fn frame_bytes(&self) -> usize {
        self.frame.iter().map(|&d| d as usize).product::<usize>() * self.dtype.bytes()
    }

    /// The stored bytes of frame `i`'s chunk, when it is one frame written
    /// through every filter of the pipeline, into `bytes` (resized): whether
    /// it is (otherwise the frame is read through libhdf5).
    fn stored_into(&self, i: usize, bytes: &mut Vec<u8>) -> Result<bool, String> {
        use std::os::unix::fs::FileExt;
        let mut offset = vec![0u64; self.ds.shape.len()];
        offset[0] = i as u64;
        let Some(place) = self.ds.chunk(&offset)? else {
            return Ok(false);
        };
        if place.filter_mask != 0 {
            return Ok(false);
        }
        bytes.resize(place.size as usize, 0);
        self.file.read_exact_at(bytes, place.addr).map_err(|e| {
            format!(
                "frame {i}'s chunk at byte {} cannot be read: {e}",
                place.addr
            )
        })?;
        Ok(true)
    }

    /// Reads frame `i` into `out` (one frame's bytes, little-endian).
    pub fn read(&self, i: usize, out: &mut [u8]) -> Result<(), String> {
        assert_eq!(out.len(), self.frame_bytes());
        let mut chunk = self.chunk.borrow_mut();
        if let Some(d) = self.direct {
            if self.stored_into(i, &mut chunk)? {
                let bytes = &chunk[..];
                let size = |n: usize| {
                    if n == out.len() {
                        Ok(())
                    } else {
                        Err(format!(
                            "frame {i}'s chunk decodes to {n} bytes; a frame has {}",
                            out.len()
                        ))
                    }
                };
                match d {
                    Direct::Raw => {
                        size(bytes.len())?;
                        out.copy_from_slice(bytes);
                    }
                    Direct::Bslz4 => bslz4::decode_into(bytes, self.dtype.bytes(), out)
                        .map_err(|e| format!("frame {i}'s chunk: {e}"))?,
                    Direct::Lz4 => {
                        let decoded = lz4_decode(bytes)?;
                        size(decoded.len())?;
                        out.copy_from_slice(&decoded);
                    }
                }
                return Ok(());
            }
        }
        let mut start = vec![0u64; self.ds.shape.len()];
        start[0] = i as u64;
        let mut count = self.ds.shape.clone();
        count[0] = 1;
        self.ds
            .read(&start, &count, out)
            .map_err(|e| format!("frame {i}: {e}"))
    }

    /// Frame `i`'s chunk as a bitshuffle-LZ4 body when it is stored as one
    /// (what a kept frame is copied as); `None` otherwise.
    pub fn bslz4_chunk(&self, i: usize) -> Result<Option<Vec<u8>>, String> {
        match self.direct {
            Some(Direct::Bslz4) => {
                let mut bytes = Vec::new();
                Ok(self.stored_into(i, &mut bytes)?.then_some(bytes))
            }
            _ => Ok(None),
        }
    }
}

/// Every frame of an [`H5Frames`] as one stream of bytes, the frames read
/// and decoded ahead on a thread of their own (memory: `depth` + 1 frames),
/// so decoding overlaps with whatever reads them.
pub struct PrefetchReader {
    rx: std::sync::mpsc::Receiver<Result<Vec<u8>, String>>,
    /// Frames read go back to the thread to be filled again (no allocation
    /// per frame: a long run's memory stays a few frames).
    back: std::sync::mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
    at: usize,
}

impl H5Frames {
    /// A reader of every frame's bytes in order, up to `depth` frames decoded
    /// ahead on another thread.
    pub fn prefetching(self, depth: usize) -> PrefetchReader {
        let (tx, rx) = std::sync::mpsc::sync_channel(depth.max(1));
        let (back, used) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            for i in 0..self.count {
                let mut b = used
                    .try_recv()
                    .unwrap_or_else(|_| vec![0u8; self.frame_bytes()]);
                b.resize(self.frame_bytes(), 0);
                let r = self.read(i, &mut b).map(|()| b);
                let failed = r.is_err();
                // the reader gone (the run ended early): stop
                if tx.send(r).is_err() || failed {
                    break;
                }
            }
        });
        PrefetchReader {
            rx,
            back,
            buf: Vec::new(),
            at: 0,
        }
    }
}

impl std::io::Read for PrefetchReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.buf.len() {
            match self.rx.recv() {
                Ok(Ok(b)) => {
                    let done = std::mem::replace(&mut self.buf, b);
                    if !done.is_empty() {
                        let _ = self.back.send(done);
                    }
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
                // every frame given
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Every frame of dataset `name` of the file at `path`, decoded.
pub fn frames(path: &Path, name: Option<&str>) -> Result<Frames, String> {
    let f = H5Frames::open(path, name)?;
    let mut data = vec![0u8; f.frame_bytes() * f.count];
    let fb = f.frame_bytes();
    for i in 0..f.count {
        f.read(i, &mut data[i * fb..(i + 1) * fb])?;
    }
    Ok(Frames {
        dtype: f.dtype,
        frame: f.frame.clone(),
        count: f.count,
        data,
    })
}

/// One frame for [`write_bslz4`]: its elements, or a bitshuffle-LZ4 body of them.
pub enum Chunk {
    /// Little-endian elements, compressed as they are written.
    Frame(Vec<u8>),
    /// A bitshuffle-LZ4 body, written as it is.
    Bslz4(Vec<u8>),
}

/// Writes `count` frames of `dtype` and shape `frame` to a new HDF5 file at
/// `path`, dataset [`DEFAULT_DATASET`], one bitshuffle-LZ4 chunk per frame;
/// `next` gives them in order.
pub fn write_bslz4(
    path: &Path,
    dtype: DType,
    frame: &[u32],
    count: usize,
    mut next: impl FnMut(usize) -> Result<Chunk, String>,
) -> Result<(), String> {
    register_codecs()?;
    let es = dtype.bytes();
    let element = element_of(dtype)?;
    let mut shape = vec![count as u64];
    shape.extend(frame.iter().map(|&d| d as u64));
    let mut chunk = shape.clone();
    chunk[0] = 1;
    let filter = Filter {
        id: hiss_hdf5::BITSHUFFLE,
        params: bitshuffle_params(es),
        name: String::new(),
    };
    let w = Writer::create(path, DEFAULT_DATASET, element, &shape, &chunk, &[filter])?;
    let frame_bytes = frame.iter().map(|&d| d as usize).product::<usize>() * es;
    let mut offset = vec![0u64; shape.len()];
    for i in 0..count {
        let body = match next(i)? {
            Chunk::Frame(b) => {
                assert_eq!(b.len(), frame_bytes, "a frame's bytes");
                bslz4::encode(&b, es, bslz4::default_block(es))
            }
            Chunk::Bslz4(b) => b,
        };
        offset[0] = i as u64;
        w.write_chunk(&offset, &body)?;
    }
    w.finish()
}

fn dtype_of(e: Element) -> Option<DType> {
    match e.class {
        Class::Integer { signed } => DType::int(signed, 8 * e.size as u32),
        Class::Float if e.size == 8 => Some(DType::F64),
        _ => None,
    }
}

fn element_of(d: DType) -> Result<Element, String> {
    let class = match d {
        DType::F64 => Class::Float,
        DType::Bool => return Err("bool frames are not written to HDF5".into()),
        d => Class::Integer {
            signed: d.is_signed(),
        },
    };
    Ok(Element {
        class,
        size: d.bytes(),
        little_endian: true,
    })
}

fn describe(e: Element) -> String {
    match e.class {
        Class::Integer { .. } => format!("{}-byte integers", e.size),
        Class::Float => format!("{}-byte floats", e.size),
        Class::Other(c) => format!("elements of HDF5 class {c}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lz4_framing_round_trips_and_refuses_a_short_body() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i / 300) as u8).collect();
        for block in [0u32, 4096, 77] {
            let body = lz4_codec(false, &[block], &data).unwrap();
            assert_eq!(lz4_codec(true, &[block], &body).unwrap(), data);
            assert!(lz4_codec(true, &[], &body[..body.len() - 1]).is_err());
        }
    }

    #[test]
    fn frames_written_as_bslz4_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.h5");
        let frames: Vec<Vec<u8>> = (0..3u16)
            .map(|k| {
                (0..6 * 10u16)
                    .flat_map(|i| (i * k % 7).to_le_bytes())
                    .collect()
            })
            .collect();
        write_bslz4(&path, DType::U16, &[6, 10], 3, |i| {
            Ok(if i == 1 {
                Chunk::Bslz4(bslz4::encode(&frames[i], 2, 8))
            } else {
                Chunk::Frame(frames[i].clone())
            })
        })
        .unwrap();
        let f = H5Frames::open(&path, None).unwrap();
        assert_eq!(
            (f.dtype, f.frame.clone(), f.count),
            (DType::U16, vec![6, 10], 3)
        );
        assert_eq!(f.direct, Some(Direct::Bslz4));
        let all = super::frames(&path, None).unwrap();
        assert_eq!(all.data, frames.concat());
        let missing = H5Frames::open(&path, Some("/entry/data/nothing"))
            .err()
            .unwrap();
        assert!(missing.contains("no `/entry/data/nothing`"), "{missing}");
    }
}
