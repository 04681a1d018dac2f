//! What detectors write, decoded to the frames a kernel takes.
//!
//! - [`bslz4`]: bitshuffle + LZ4, the compression of DECTRIS and PSI
//!   detectors' data (the HDF5 filter's framing), encoded and decoded here.
//! - [`stream2`]: DECTRIS Stream V2 image messages (CBOR), one or more in a
//!   body: each image's channel is one frame.
//!
//! [`Frames`] is the result: the frames' dtype and shape and their elements,
//! little-endian as a `.npy` body holds them, so every path that reads `.npy`
//! (`hissc run`/`sim`/`verify`, a node's slots) reads these too.

pub mod bslz4;
pub mod stream2;

use hissc_aop::DType;

/// Frames decoded from a detector's file or stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frames {
    /// numpy's dtype of a pixel.
    pub dtype: DType,
    /// One frame's shape.
    pub frame: Vec<u32>,
    /// How many frames.
    pub count: usize,
    /// Every frame's elements in order, little-endian.
    pub data: Vec<u8>,
}

impl Frames {
    /// The frames as a `.npy` file of shape `(count, *frame)`.
    pub fn to_npy(&self) -> Vec<u8> {
        let mut shape = vec![self.count as u32];
        shape.extend_from_slice(&self.frame);
        let mut out = crate::npy::header(self.dtype, &shape);
        out.extend_from_slice(&self.data);
        out
    }
}

/// A detector file named on the command line, `FILE` or `FILE:SELECTOR` (a
/// Stream V2 channel), read and decoded to a `.npy` file; `None` when the name
/// is not a detector format's (a `.npy` file, say).
pub fn npy_of(spec: &str) -> Option<Result<Vec<u8>, String>> {
    let (file, selector) = match spec.rsplit_once(':') {
        Some((f, sel)) if format_of(f).is_some() => (f, Some(sel)),
        _ => (spec, None),
    };
    let format = format_of(file)?;
    Some((|| {
        let bytes = std::fs::read(file).map_err(|e| format!("cannot read `{file}`: {e}"))?;
        let frames = decode(format, &bytes, selector).map_err(|e| format!("`{file}`: {e}"))?;
        Ok(frames.to_npy())
    })())
}

/// The detector format a file's name says (`.cbor`: Stream V2 messages), if any.
pub fn format_of(path: &str) -> Option<Format> {
    let lower = path.to_ascii_lowercase();
    (lower.ends_with(".cbor") || lower.ends_with(".cbor2")).then_some(Format::Stream2)
}

/// A detector file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// DECTRIS Stream V2 CBOR messages.
    Stream2,
}

/// Decodes `bytes` of `format`; `channel` picks one of several channels (by
/// name) where the images have more than one.
pub fn decode(format: Format, bytes: &[u8], channel: Option<&str>) -> Result<Frames, String> {
    match format {
        Format::Stream2 => stream2::frames(bytes, channel),
    }
}
