//! Detector objects in a node: a body of DECTRIS Stream V2 messages (CBOR,
//! images compressed with bitshuffle-LZ4, [`hiss_runtime::detector`]).
//!
//! When the kernel runs: a Stream V2 body is decoded as it arrives, one message
//! at a time (memory: one image), into a file of raw frames beside the run's
//! results; the kernel runs over that file once the body is in, before the
//! answer, as for every object. Each image must have the kernel's dtype and
//! frame shape, or the object is refused and nothing is stored. With
//! `hiss-keep`, the object stored is the body's own messages with only the kept
//! images (the `start` and `end` messages stay): still the detector's format,
//! still compressed.

use crate::kernel::{HashWriter, Written};
use hiss_runtime::detector::stream2;
use hissc_aop::DType;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

/// Whether a body starting with `first` is CBOR messages (a top-level map,
/// as every Stream V2 message is).
pub fn is_stream2(first: u8) -> bool {
    (0xA0..=0xBF).contains(&first)
}

/// Where each message of a Stream V2 body is (its bytes) and whether it is an
/// image: what [`write_kept`] copies, found as the body is decoded.
pub type Messages = Vec<(std::ops::Range<u64>, bool)>;

/// Decodes the Stream V2 messages of `body` into raw frames at `path`, each
/// image checked against the kernel's data input `name` (`dtype`, one frame
/// of `shape`). Gives the frames' bytes and where the messages are.
pub fn decode_to(
    body: impl Read,
    path: &Path,
    name: &str,
    dtype: DType,
    shape: &[u32],
) -> Result<(u64, Messages), String> {
    let io = |e: std::io::Error| format!("cannot write the decoded frames: {e}");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).map_err(io)?);
    let mut msgs = stream2::Messages::new(body, None);
    let mut bytes = 0u64;
    let mut pieces = Messages::new();
    let mut images = 0usize;
    while let Some(m) = msgs.next_message()? {
        let Some(img) = m.image else {
            pieces.push((m.range, false));
            continue;
        };
        if img.dtype != dtype || img.shape[..] != shape[..] {
            return Err(format!(
                "image {images} (byte {}) is `{}` {:?}; the kernel's `{name}` takes `{}` {:?} frames",
                m.range.start,
                img.dtype.numpy_name(),
                img.shape,
                dtype.numpy_name(),
                shape
            ));
        }
        w.write_all(&img.data).map_err(io)?;
        bytes += img.data.len() as u64;
        pieces.push((m.range, true));
        images += 1;
    }
    if images == 0 {
        return Err("the Stream V2 body has no image message".into());
    }
    w.flush().map_err(io)?;
    Ok((bytes, pieces))
}

/// Writes the messages of the Stream V2 object at `src` to `dst` (fsynced),
/// each image only when its flag in `keep` is set, copying their bytes from
/// where decoding found them ([`decode_to`]). Gives what was written.
pub fn write_kept(
    src: &Path,
    dst: &Path,
    messages: &Messages,
    keep: &[bool],
) -> Result<Written, String> {
    use std::io::Seek;
    let io = |e: std::io::Error| e.to_string();
    let mut r = std::fs::File::open(src).map_err(io)?;
    let mut w = HashWriter::new(BufWriter::new(std::fs::File::create(dst).map_err(io)?));
    let mut buf = Vec::new();
    let mut image = 0usize;
    for (range, is_image) in messages {
        if *is_image {
            image += 1;
            if !keep.get(image - 1).copied().unwrap_or(false) {
                continue;
            }
        }
        r.seek(std::io::SeekFrom::Start(range.start)).map_err(io)?;
        buf.resize((range.end - range.start) as usize, 0);
        r.read_exact(&mut buf).map_err(io)?;
        w.write_all(&buf).map_err(io)?;
    }
    let (w, written) = w.finish();
    let f = w.into_inner().map_err(|e| e.to_string())?;
    f.sync_all().map_err(io)?;
    Ok(written)
}
