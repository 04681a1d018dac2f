//! The hardware interface of a kernel: entity and port names and widths.
//!
//! - `clk`, `rst` (synchronous, active high);
//! - per input stream `NAME`: `NAME_valid` and `NAME_data`, as wide as the input's
//!   range needs (a `u12` input has 12 bits; unsigned unless the range is negative),
//!   times the lanes (with `--lanes N`, lane `l` is the `l`-th group of bits from
//!   the low end);
//! - per scalar parameter `NAME`: `NAME`, registered by the host, stable during a frame;
//! - per state `NAME`: `NAME_load_valid`/`NAME_load_data`, one element per cycle in
//!   C order, to set the state's memory before the first frame after a reset;
//! - per variable-length output also `out_count` (selected elements this cycle,
//!   packed into the low lanes) and `out_last` (the frame's last cycle);
//! - per output: `out_valid`/`out_data` (`out0_...`, `out1_...` for tuples), as wide as
//!   numpy's dtype (a `uint64` sum has 64 bits, a `bool` 1), times the lanes.

use crate::namer::Namer;
use cranelift_entity::EntityRef;
use hissc_aop::{DType, Interval};
use hissc_diagnostics::Span;
use hissc_spn::{Bus, Network};

/// The VHDL type of a data port: `std_logic` for one bit (GHDL's netlists mishandle
/// one-element vectors), else `std_logic_vector(w-1 downto 0)`.
pub fn port_type(width: u32) -> String {
    if width == 1 {
        "std_logic".into()
    } else {
        format!("std_logic_vector({} downto 0)", width - 1)
    }
}

/// An entity's port declarations, one per line (`NAME : in TYPE -- comment`,
/// indented as given): the semicolons that separate them go before the comments.
pub fn port_lines(ports: &[String]) -> String {
    let mut out = String::new();
    for (i, p) in ports.iter().enumerate() {
        let (code, comment) = match p.split_once(" -- ") {
            Some((c, m)) => (c, format!(" -- {m}")),
            None => (p.as_str(), String::new()),
        };
        let sep = if i + 1 == ports.len() { "" } else { ";" };
        out.push_str(&format!("{code}{sep}{comment}\n"));
    }
    out
}

/// Width and signedness of a port for values in `r`.
pub fn port_width(r: Interval) -> (u32, bool) {
    r.port_bits()
}

/// An input stream port.
pub struct StreamIn {
    /// `NAME_valid`.
    pub valid: String,
    /// `NAME_data`.
    pub data: String,
    /// Bits of one lane of `NAME_data`.
    pub width: u32,
    /// Elements per cycle: lane `l` is bits `(l+1)*width-1 downto l*width`.
    pub lanes: u32,
    /// Two's complement (else unsigned).
    pub signed: bool,
    /// The Python name.
    pub py: String,
}

impl StreamIn {
    /// Bits of `NAME_data` (every lane).
    pub fn total(&self) -> u32 {
        self.width * self.lanes
    }
}

/// A scalar parameter port.
pub struct ParamIn {
    /// Port name.
    pub name: String,
    /// Bits.
    pub width: u32,
    /// Two's complement (else unsigned).
    pub signed: bool,
    /// The Python name.
    pub py: String,
}

impl StreamOut {
    /// Bits of `out_data` (every lane).
    pub fn total(&self) -> u32 {
        self.width * self.lanes.len() as u32
    }
}

/// An output port pair.
pub struct StreamOut {
    /// `out_valid`.
    pub valid: String,
    /// `out_data`.
    pub data: String,
    /// Bits of one lane of `out_data` (numpy's dtype).
    pub width: u32,
    /// numpy dtype.
    pub dtype: DType,
    /// The buses it shows, lane 0 (the low bits) first.
    pub lanes: Vec<Bus>,
    /// The Python expression it comes from.
    pub span: Span,
    /// A variable-length output's mask buses (one per lane) and its extra ports.
    pub vec: Option<VecPorts>,
}

/// The ports of a variable-length output beside `out_valid`/`out_data`: how many
/// lanes carry selected elements this cycle (packed from lane 0), and whether the
/// cycle ends the frame (also when nothing in it is selected).
pub struct VecPorts {
    /// The selection, one bool bus per lane.
    pub mask: Vec<Bus>,
    /// `out_count`.
    pub count: String,
    /// Bits of `out_count`.
    pub count_width: u32,
    /// `out_last`.
    pub last: String,
    /// Valid cycles per frame.
    pub cycles: u32,
}

/// Every port of the entity.
pub struct Interface {
    /// Entity name.
    pub entity: String,
    /// Input streams, in signature order.
    pub inputs: Vec<StreamIn>,
    /// Parameters, in signature order.
    pub params: Vec<ParamIn>,
    /// Each state's load port (one element per cycle), in the network's state order.
    pub loads: Vec<StreamIn>,
    /// Outputs, in order (the kernel's, then each state's next value).
    pub outputs: Vec<StreamOut>,
    /// The timing monitor's output (`frame_error`): high from the cycle after
    /// the inputs broke the native timing until reset.
    pub error: String,
    /// The monitor's phase counter (an internal signal, named after the ports).
    pub phase: String,
}

/// Internal signal names derived from bus `b` (reserved before ports are named).
pub fn internal_names(b: Bus) -> Vec<String> {
    let i = b.index();
    [
        "", "_v", "_acc", "_cnt", "_mem", "_mem_t", "_w", "_d", "_dv", "_dly_t", "_x", "_q",
        "_q_t", "_n", "_cur", "_tk", "_oc",
    ]
    .iter()
    .map(|s| format!("b{i}{s}"))
    .chain((0..4).map(|k| format!("b{i}_r{k}")))
    .chain((0..8).flat_map(|k| {
        [
            format!("b{i}_q{k}"),
            format!("b{i}_q{k}_t"),
            format!("b{i}_n{k}"),
        ]
    }))
    .chain([format!("p_b{i}_oc"), format!("p_b{i}_pack")])
    .chain((0..=32).flat_map(|k| [format!("b{i}_pc{k}"), format!("b{i}_slot{k}")]))
    .chain([format!("p_b{i}")])
    .collect()
}

/// Names every port of the network's entity.
pub fn interface(net: &Network, namer: &mut Namer) -> Interface {
    for (b, _) in net.nodes.iter() {
        for n in internal_names(b) {
            namer.reserve(&n);
        }
    }
    let entity = namer.name(&net.name);
    let inputs = net
        .inputs
        .iter()
        .map(|p| {
            let (width, signed) = port_width(p.range);
            StreamIn {
                valid: namer.name(&format!("{}_valid", p.name)),
                data: namer.name(&format!("{}_data", p.name)),
                width,
                lanes: p.lanes.max(1),
                signed,
                py: p.name.clone(),
            }
        })
        .collect();
    let params = net
        .params
        .iter()
        .map(|p| {
            let (width, signed) = port_width(p.range);
            ParamIn {
                name: namer.name(&p.name),
                width,
                signed,
                py: p.name.clone(),
            }
        })
        .collect();
    let loads = net
        .states
        .iter()
        .map(|s| {
            let (width, signed) = port_width(Interval::of(s.dtype));
            StreamIn {
                valid: namer.name(&format!("{}_load_valid", s.name)),
                data: namer.name(&format!("{}_load_data", s.name)),
                width,
                lanes: 1,
                signed,
                py: s.name.clone(),
            }
        })
        .collect();
    let outputs = net
        .outputs
        .iter()
        .map(|o| StreamOut {
            valid: namer.name(&format!("{}_valid", o.name)),
            data: namer.name(&format!("{}_data", o.name)),
            width: o.dtype.bits(),
            dtype: o.dtype,
            lanes: o.lanes.clone(),
            span: net.nodes[o.lanes[0]].span,
            vec: o.mask.as_ref().map(|m| VecPorts {
                mask: m.clone(),
                count: namer.name(&format!("{}_count", o.name)),
                count_width: 32 - (m.len() as u32).leading_zeros(),
                last: namer.name(&format!("{}_last", o.name)),
                cycles: net.nodes[o.lanes[0]].sched.elements(),
            }),
        })
        .collect();
    // after every user-visible name, so they keep theirs
    let error = namer.name("frame_error");
    let phase = namer.name("frame_phase");
    Interface {
        entity,
        inputs,
        params,
        loads,
        outputs,
        error,
        phase,
    }
}
