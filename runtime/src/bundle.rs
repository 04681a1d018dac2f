//! Kernel bundles (`.hbx`): one file holding everything a HISS node needs to run
//! a kernel, every byte of it checked.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic        8 bytes   "HISSBNDL"
//! version      u32       FORMAT_VERSION
//! index length u32       n
//! index sha256 32 bytes  of the index
//! index        n bytes   JSON: [{"name", "offset", "length", "sha256"}], parts in order
//! parts        ...       each part's bytes, back to back, from the end of the index
//! ```
//!
//! The parts are the JSON manifest ([`Manifest`]), the bitstream, the VHDL, the
//! process network's text form, the kernel source and (from format version 2)
//! the array-op IR's text form, which the CPU slot compiles. A version-1 file
//! (no `kernel.aop`) is still read; it runs only where the network runs. A reader refuses a file
//! whose magic, version, index hash, part offsets or part hashes do not check
//! out, or that has bytes after its last part, naming what is wrong — in the
//! spirit of OPAE's `.gbs` and Xilinx's `.xclbin`, whose headers describe and
//! protect what follows.

use hissc_aop::{DType, Interval, Param, Type};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// The first eight bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"HISSBNDL";

/// The format version this runtime writes (it reads this one and version 1).
pub const FORMAT_VERSION: u32 = 2;

/// The parts every bundle has, in order.
pub const PARTS: [&str; 6] = [
    "manifest.json",
    "bitstream.bin",
    "design.vhd",
    "network.spn",
    "kernel.py",
    "kernel.aop",
];

/// The parts of a bundle of format `version` (a version-1 bundle has no
/// `kernel.aop`), or `None` for a version this runtime does not read.
fn parts_of(version: u32) -> Option<&'static [&'static str]> {
    match version {
        1 => Some(&PARTS[..5]),
        2 => Some(&PARTS),
        _ => None,
    }
}

/// sha256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One entry of the index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    /// The part's name (one of [`PARTS`]).
    pub name: String,
    /// Where it starts, from the start of the file.
    pub offset: u64,
    /// Its length in bytes.
    pub length: u64,
    /// sha256 of its bytes (hex).
    pub sha256: String,
}

/// A port of the kernel: an input stream, a parameter or an output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// The Python name (`out`, `out0`, ... for outputs).
    pub name: String,
    /// numpy's dtype name (`uint16`, `float64`, ...).
    pub dtype: String,
    /// One frame's shape (empty for a scalar).
    pub shape: Vec<u64>,
    /// The values it may carry (a range type's promise, or the dtype's range),
    /// as decimal strings (64-bit values do not fit every JSON reader).
    pub range: Option<(String, String)>,
    /// Elements per cycle (input streams).
    pub lanes: Option<u32>,
    /// A variable-length output (`Vec[T, N]`; `shape` is `[N]`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vec: bool,
}

/// The kernel's interface as a network has it: input streams, parameters and
/// outputs, in order.
pub fn ports(net: &hissc_spn::Network) -> (Vec<PortSpec>, Vec<PortSpec>, Vec<PortSpec>) {
    let range = |r: hissc_aop::Interval| Some((r.lo.to_string(), r.hi.to_string()));
    let shape = |s: &[u32]| s.iter().map(|&d| d as u64).collect::<Vec<u64>>();
    let inputs = net
        .inputs
        .iter()
        .map(|p| PortSpec {
            name: p.name.clone(),
            dtype: p.dtype.numpy_name().to_string(),
            shape: shape(&p.shape),
            range: range(p.range),
            lanes: Some(p.lanes),
            vec: false,
        })
        .collect();
    let params = net
        .params
        .iter()
        .map(|p| PortSpec {
            name: p.name.clone(),
            dtype: p.dtype.numpy_name().to_string(),
            shape: vec![],
            range: range(p.range),
            lanes: None,
            vec: false,
        })
        .collect();
    let outputs = net
        .kernel_outputs()
        .iter()
        .map(|o| PortSpec {
            name: o.name.clone(),
            dtype: o.dtype.numpy_name().to_string(),
            shape: shape(&o.shape),
            range: None,
            lanes: Some(o.lanes.len() as u32),
            vec: o.mask.is_some(),
        })
        .collect();
    (inputs, params, outputs)
}

/// The kernel's states (`State[...]` parameters) as a network keeps them.
pub fn state_ports(net: &hissc_spn::Network) -> Vec<PortSpec> {
    net.states
        .iter()
        .map(|s| PortSpec {
            name: s.name.clone(),
            dtype: s.dtype.numpy_name().to_string(),
            shape: s.shape.iter().map(|&d| d as u64).collect(),
            range: None,
            lanes: Some(s.lanes),
            vec: false,
        })
        .collect()
}

/// Resources the design uses on its device, from place and route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Logic cells used and available.
    pub logic_cells: (u64, u64),
    /// Block RAMs used and available.
    pub block_rams: (u64, u64),
    /// DSP blocks used and available.
    pub dsps: (u64, u64),
    /// I/O pins used and available.
    pub ios: (u64, u64),
}

/// What a bundle is: the kernel's interface, how it was built, what it costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The `@kernel` function.
    pub kernel: String,
    /// sha256 of the kernel source (hex).
    pub source_sha256: String,
    /// Input streams, in signature order.
    pub inputs: Vec<PortSpec>,
    /// Scalar parameters, in signature order.
    pub params: Vec<PortSpec>,
    /// State kept across frames (none before the language's v2 states).
    pub states: Vec<PortSpec>,
    /// Outputs, in order.
    pub outputs: Vec<PortSpec>,
    /// The FPGA (`ice40-hx8k`).
    pub target: String,
    /// The package.
    pub package: String,
    /// Elements per cycle of the widest input stream.
    pub lanes: u32,
    /// The clock the design is specified for: min(nextpnr, icetime) Fmax, in MHz.
    pub clock_mhz: f64,
    /// nextpnr's post-route Fmax in MHz.
    pub fmax_nextpnr_mhz: f64,
    /// icetime's Fmax in MHz (iCE40 targets; `None` on ECP5, where nextpnr's
    /// figure is the clock).
    pub fmax_icetime_mhz: Option<f64>,
    /// Resources from place and route.
    pub resources: Resources,
    /// The detector stream's rate at the clock, in Gbit/s.
    pub throughput_gbps: f64,
    /// Cycles from a frame's start to its last output.
    pub latency_cycles: u32,
    /// Cycles between the starts of two frames.
    pub frame_cycles: u32,
    /// The hissc that made it.
    pub hissc_version: String,
    /// The tools that built it: (name, version).
    pub tools: Vec<(String, String)>,
}

/// A bundle in memory: the manifest and every part's bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    /// The manifest (also the `manifest.json` part).
    pub manifest: Manifest,
    /// The parts in [`PARTS`] order: (name, bytes), `manifest.json` first.
    pub parts: Vec<(String, Vec<u8>)>,
}

/// Why a file is not a bundle this runtime can use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleError {
    /// The file is shorter than the header or than a part says it is.
    Truncated(String),
    /// The first bytes are not [`MAGIC`].
    NotABundle,
    /// A format version this runtime does not read.
    Version(u32),
    /// The index, a part or the manifest does not hash to what it says.
    Hash(String),
    /// The index or the manifest is not what the format says.
    Malformed(String),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::Truncated(what) => write!(f, "the bundle is truncated: {what}"),
            BundleError::NotABundle => {
                write!(f, "not a hissc bundle (it does not start with `HISSBNDL`)")
            }
            BundleError::Version(v) => write!(
                f,
                "bundle format version {v} is not one this runtime reads (it reads 1 and {FORMAT_VERSION})"
            ),
            BundleError::Hash(what) => write!(f, "the bundle is corrupt: {what}"),
            BundleError::Malformed(what) => write!(f, "the bundle is malformed: {what}"),
        }
    }
}

impl std::error::Error for BundleError {}

const HEADER: usize = 8 + 4 + 4 + 32;

impl Bundle {
    /// A bundle of a manifest and the other parts' bytes (bitstream, VHDL,
    /// network text, kernel source, array-op text, in that order).
    pub fn new(manifest: Manifest, rest: [Vec<u8>; 5]) -> Bundle {
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
        let mut parts = vec![(PARTS[0].to_string(), json)];
        parts.extend(PARTS[1..].iter().zip(rest).map(|(n, b)| (n.to_string(), b)));
        Bundle { manifest, parts }
    }

    /// The bytes of part `name`.
    pub fn part(&self, name: &str) -> Option<&[u8]> {
        self.parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // the index's length depends on the offsets it holds: settle it first
        let mut start = 0u64;
        let mut index = Vec::new();
        for _ in 0..4 {
            let mut offset = (HEADER + index.len()) as u64;
            let entries: Vec<PartEntry> = self
                .parts
                .iter()
                .map(|(name, bytes)| {
                    let e = PartEntry {
                        name: name.clone(),
                        offset,
                        length: bytes.len() as u64,
                        sha256: sha256_hex(bytes),
                    };
                    offset += bytes.len() as u64;
                    e
                })
                .collect();
            let next = serde_json::to_vec(&entries).expect("the index serializes");
            let settled = next.len() == index.len() && start == (HEADER + next.len()) as u64;
            start = (HEADER + next.len()) as u64;
            index = next;
            if settled {
                break;
            }
        }
        let mut out = Vec::with_capacity(start as usize);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.manifest.format_version.to_le_bytes());
        out.extend_from_slice(&(index.len() as u32).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&index));
        out.extend_from_slice(&index);
        for (_, bytes) in &self.parts {
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Reads and checks a bundle: magic, version, the index's hash, every part's
    /// place and hash, nothing after the last part, and the manifest.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, BundleError> {
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(if bytes.len() < 8 && MAGIC.starts_with(bytes) {
                BundleError::Truncated("the header".into())
            } else {
                BundleError::NotABundle
            });
        }
        if bytes.len() < HEADER {
            return Err(BundleError::Truncated("the header".into()));
        }
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let version = u32_at(8);
        let expected = parts_of(version).ok_or(BundleError::Version(version))?;
        let n = u32_at(12) as usize;
        let index = bytes
            .get(HEADER..HEADER + n)
            .ok_or_else(|| BundleError::Truncated("the index of parts".into()))?;
        if Sha256::digest(index).as_slice() != &bytes[16..HEADER] {
            return Err(BundleError::Hash(
                "the index of parts does not match its sha256".into(),
            ));
        }
        let entries: Vec<PartEntry> = serde_json::from_slice(index)
            .map_err(|e| BundleError::Malformed(format!("the index of parts: {e}")))?;
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        if names != expected {
            return Err(BundleError::Malformed(format!(
                "its parts are {names:?}, not {expected:?}"
            )));
        }
        let mut end = (HEADER + n) as u64;
        let mut parts = Vec::new();
        for e in &entries {
            if e.offset != end {
                return Err(BundleError::Malformed(format!(
                    "part `{}` is not where the previous part ends",
                    e.name
                )));
            }
            let data = usize::try_from(e.offset)
                .ok()
                .zip(usize::try_from(e.offset + e.length).ok())
                .and_then(|(a, b)| bytes.get(a..b))
                .ok_or_else(|| BundleError::Truncated(format!("part `{}`", e.name)))?;
            if sha256_hex(data) != e.sha256 {
                return Err(BundleError::Hash(format!(
                    "part `{}` does not match its sha256",
                    e.name
                )));
            }
            end += e.length;
            parts.push((e.name.clone(), data.to_vec()));
        }
        if end != bytes.len() as u64 {
            return Err(BundleError::Malformed(format!(
                "{} bytes after the last part",
                bytes.len() as u64 - end
            )));
        }
        let manifest: Manifest = serde_json::from_slice(&parts[0].1)
            .map_err(|e| BundleError::Malformed(format!("part `manifest.json`: {e}")))?;
        if manifest.format_version != version {
            return Err(BundleError::Malformed(format!(
                "part `manifest.json` says format version {}, the header {version}",
                manifest.format_version
            )));
        }
        let source = &parts[4].1;
        if sha256_hex(source) != manifest.source_sha256 {
            return Err(BundleError::Hash(
                "part `kernel.py` is not the source the manifest names".into(),
            ));
        }
        Ok(Bundle { manifest, parts })
    }
}

/// A manifest for tests of the runtime's own pieces (no compiler involved).
#[cfg(test)]
pub(crate) fn test_manifest(kernel: &str, target: &str, source: &[u8]) -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        kernel: kernel.into(),
        source_sha256: sha256_hex(source),
        inputs: vec![],
        params: vec![],
        states: vec![],
        outputs: vec![],
        target: target.into(),
        package: "ct256".into(),
        lanes: 1,
        clock_mhz: 100.0,
        fmax_nextpnr_mhz: 100.0,
        fmax_icetime_mhz: Some(100.0),
        resources: Resources {
            logic_cells: (1, 7680),
            block_rams: (0, 32),
            dsps: (0, 0),
            ios: (1, 256),
        },
        throughput_gbps: 1.0,
        latency_cycles: 1,
        frame_cycles: 1,
        hissc_version: "test".into(),
        tools: vec![],
    }
}

/// A manifest's port as a kernel parameter: dtype, shape and range promise.
pub fn param(p: &PortSpec) -> Result<Param, String> {
    let dtype = DType::from_numpy_name(&p.dtype)
        .ok_or_else(|| format!("`{}` has an unknown dtype `{}`", p.name, p.dtype))?;
    let range = match &p.range {
        None => Interval::of(dtype),
        Some((lo, hi)) => match (lo.parse(), hi.parse()) {
            (Ok(lo), Ok(hi)) if lo <= hi => Interval::new(lo, hi),
            _ => return Err(format!("`{}` has a malformed range", p.name)),
        },
    };
    let shape = p
        .shape
        .iter()
        .map(|&d| u32::try_from(d).map_err(|_| format!("`{}` is too large", p.name)))
        .collect::<Result<Vec<u32>, String>>()?;
    Ok(Param {
        name: p.name.clone(),
        ty: Type::array(dtype, shape),
        range,
        span: Default::default(),
    })
}

impl Manifest {
    /// The kernel's parameters as binding takes them: the input streams, then
    /// the scalar parameters (each group in signature order).
    pub fn kernel_params(&self) -> Result<Vec<Param>, String> {
        self.inputs.iter().chain(&self.params).map(param).collect()
    }

    /// The states' names, dtypes and shapes.
    pub fn state_types(&self) -> Result<Vec<Param>, String> {
        self.states.iter().map(param).collect()
    }

    /// The outputs' dtypes and one frame's shape each.
    pub fn output_types(&self) -> Result<Vec<crate::OutType>, String> {
        self.outputs
            .iter()
            .map(|o| {
                let p = param(o)?;
                Ok(crate::OutType {
                    dtype: p.ty.dtype,
                    shape: p.ty.shape,
                    vec: o.vec,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        let source = b"import numpy as np\n".to_vec();
        let mut manifest = test_manifest("k", "ice40-hx8k", &source);
        manifest.inputs = vec![PortSpec {
            name: "frame".into(),
            dtype: "uint16".into(),
            shape: vec![4, 4],
            range: Some(("0".into(), "4095".into())),
            lanes: Some(1),
            vec: false,
        }];
        manifest.outputs = vec![PortSpec {
            name: "out".into(),
            dtype: "uint64".into(),
            shape: vec![],
            range: None,
            lanes: None,
            vec: false,
        }];
        Bundle::new(
            manifest,
            [
                vec![0xAA; 300],
                b"entity k is end;".to_vec(),
                b"network k {}".to_vec(),
                source,
                b"kernel k() {}".to_vec(),
            ],
        )
    }

    #[test]
    fn written_and_read_back() {
        let b = sample();
        let bytes = b.to_bytes();
        assert_eq!(Bundle::from_bytes(&bytes).unwrap(), b);
        assert_eq!(&bytes[..8], MAGIC);
    }

    /// A version-1 bundle (written before `kernel.aop`) is read, without it;
    /// a version-2 header over a version-1 manifest is not.
    #[test]
    fn version_one_is_read_without_the_array_ops() {
        let mut b = sample();
        b.manifest.format_version = 1;
        b.parts.pop();
        b.parts[0].1 = serde_json::to_vec_pretty(&b.manifest).unwrap();
        let bytes = b.to_bytes();
        assert_eq!(bytes[8], 1);
        let back = Bundle::from_bytes(&bytes).unwrap();
        assert_eq!(back.part("kernel.aop"), None);
        assert_eq!(back, b);
        let mut mixed = bytes.clone();
        mixed[8] = 2;
        let e = Bundle::from_bytes(&mixed).unwrap_err().to_string();
        assert!(e.contains("its parts are"), "{e}");
    }

    /// Every byte is checked: a flipped bit anywhere is refused, naming the part
    /// (or the header) it falls in.
    #[test]
    fn a_flipped_byte_anywhere_is_refused() {
        let bytes = sample().to_bytes();
        let index_end =
            HEADER + u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        let entries: Vec<PartEntry> = serde_json::from_slice(&bytes[HEADER..index_end]).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            let e = Bundle::from_bytes(&bad).expect_err("a flipped byte must be refused");
            let text = e.to_string();
            if let Some(p) = entries
                .iter()
                .find(|p| (p.offset..p.offset + p.length).contains(&(i as u64)))
            {
                assert!(
                    text.contains(&format!("part `{}`", p.name)),
                    "byte {i} in {}: {text}",
                    p.name
                );
            } else if (16..index_end).contains(&i) {
                assert!(text.contains("index"), "byte {i}: {text}");
            }
        }
    }

    #[test]
    fn truncated_and_wrong_versions_are_named() {
        let bytes = sample().to_bytes();
        for cut in [4, 20, 200, bytes.len() - 1] {
            let e = Bundle::from_bytes(&bytes[..cut]).unwrap_err();
            assert!(matches!(e, BundleError::Truncated(_)), "cut at {cut}: {e}");
        }
        let e = Bundle::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
        assert_eq!(e.to_string(), "the bundle is truncated: part `kernel.aop`");
        let mut v3 = bytes.clone();
        v3[8] = 3;
        assert_eq!(
            Bundle::from_bytes(&v3).unwrap_err().to_string(),
            "bundle format version 3 is not one this runtime reads (it reads 1 and 2)"
        );
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(Bundle::from_bytes(&extra)
            .unwrap_err()
            .to_string()
            .contains("after the last part"));
        assert_eq!(
            Bundle::from_bytes(b"GIF89a..").unwrap_err(),
            BundleError::NotABundle
        );
    }
}
