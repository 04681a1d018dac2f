//! What detectors write, decoded to the frames a kernel takes.
//!
//! - [`bslz4`]: bitshuffle + LZ4, the compression of DECTRIS and PSI
//!   detectors' data (the HDF5 filter's framing), encoded and decoded here.
//! - [`stream2`]: DECTRIS Stream V2 image messages (CBOR), one or more in a
//!   body: each image's channel is one frame.
//! - `h5`: HDF5 files (NeXus/NXmx), frames in a chunked dataset (the cargo
//!   feature `hdf5`, on by default: it links the HDF5 C library).
//!
//! [`Frames`] is the result: the frames' dtype and shape and their elements,
//! little-endian as a `.npy` body holds them, so every path that reads `.npy`
//! (`hissc run`/`sim`/`verify`, a node's slots) reads these too.

pub mod bslz4;
#[cfg(feature = "hdf5")]
pub mod h5;
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
/// Stream V2 channel, an HDF5 dataset), read and decoded to a `.npy` file;
/// `None` when the name is not a detector format's (a `.npy` file, say).
pub fn npy_of(spec: &str) -> Option<Result<Vec<u8>, String>> {
    let (file, selector) = match spec.rsplit_once(':') {
        Some((f, sel)) if format_of(f).is_some() => (f, Some(sel)),
        _ => (spec, None),
    };
    let format = format_of(file)?;
    Some((|| {
        let frames = match format {
            Format::Stream2 => {
                let bytes =
                    std::fs::read(file).map_err(|e| format!("cannot read `{file}`: {e}"))?;
                stream2::frames(&bytes, selector)
            }
            Format::Hdf5 => hdf5_frames(file, selector),
        };
        Ok(frames.map_err(|e| format!("`{file}`: {e}"))?.to_npy())
    })())
}

#[cfg(feature = "hdf5")]
fn hdf5_frames(file: &str, dataset: Option<&str>) -> Result<Frames, String> {
    h5::frames(std::path::Path::new(file), dataset)
}

#[cfg(not(feature = "hdf5"))]
fn hdf5_frames(_file: &str, _dataset: Option<&str>) -> Result<Frames, String> {
    Err("this build reads no HDF5 files (cargo feature `hdf5`, which needs libhdf5)".into())
}

/// The detector format a file's name says (`.cbor`: Stream V2 messages;
/// `.h5`, `.hdf5`, `.nxs`: HDF5), if any.
pub fn format_of(path: &str) -> Option<Format> {
    let lower = path.to_ascii_lowercase();
    let ends = |exts: &[&str]| exts.iter().any(|e| lower.ends_with(e));
    if ends(&[".cbor", ".cbor2"]) {
        Some(Format::Stream2)
    } else if ends(&[".h5", ".hdf5", ".hdf", ".nxs"]) {
        Some(Format::Hdf5)
    } else {
        None
    }
}

/// A detector file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// DECTRIS Stream V2 CBOR messages.
    Stream2,
    /// HDF5: frames in a dataset's first axis.
    Hdf5,
}
