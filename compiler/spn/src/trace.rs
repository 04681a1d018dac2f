//! A network's top-level signals, cycle by cycle: what the simulator records
//! and the testbenches replay in GHDL. A [`TraceRow`] is one cycle of the
//! network's own ports; an [`AxisRow`] one cycle of its AXI4-Stream wrapper
//! (each output's [`Beat`]). They belong to the network's interface, so the
//! simulator that writes them and the VHDL back end that reads them both
//! depend on this crate and not on each other. [`csv`] writes a trace as
//! SME's CSV.

use crate::Network;
use std::fmt::Write as _;

/// The top-level signals in one cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRow {
    /// Reset asserted.
    pub rst: bool,
    /// (valid, data of each lane) of each input port.
    pub inputs: Vec<(bool, Vec<i128>)>,
    /// Each parameter port.
    pub params: Vec<i128>,
    /// (valid, data of each lane) of each output port; a variable-length
    /// output's selected elements are packed into its first lanes, the rest 0.
    pub outputs: Vec<(bool, Vec<i128>)>,
    /// For each variable-length output (in output order): the elements selected
    /// this cycle, and whether this cycle ends its frame.
    pub marks: Vec<(u32, bool)>,
}

/// One beat on an output: its lanes (a variable-length output's selected
/// elements packed from lane 0), `TLAST`, and how many lanes it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beat {
    /// Each lane's value.
    pub data: Vec<i128>,
    /// The frame's last beat.
    pub last: bool,
    /// Lanes that carry elements (all of them except in a variable-length output).
    pub count: u32,
}

/// Every top-level signal of the wrapper in one cycle: what the testbench
/// drives, and what it expects.
#[derive(Clone, Debug)]
pub struct AxisRow {
    /// Reset.
    pub rst: bool,
    /// Each state's load port: (valid, element), before the first frame.
    pub loads: Vec<(bool, i128)>,
    /// Each input stream: `TVALID`, `TDATA` (lanes), `TLAST` (driven).
    pub inputs: Vec<(bool, Vec<i128>, bool)>,
    /// Each input stream's `TREADY` (expected).
    pub ready: Vec<bool>,
    /// Each output's `TREADY` (driven).
    pub taking: Vec<bool>,
    /// Each output's beat on the bus, if `TVALID` (expected).
    pub outputs: Vec<Option<Beat>>,
}

/// The SME-style CSV of a trace of `net`: a header of signal names, then one
/// row per cycle (`U` for the data of an invalid element).
pub fn csv(net: &Network, rows: &[TraceRow]) -> String {
    // one data column per lane: `NAME_data`, or `NAME_data_0`, `NAME_data_1`, ...
    let header = |s: &mut String, name: &str, lanes: usize| {
        let _ = write!(s, ",{name}_valid");
        if lanes == 1 {
            let _ = write!(s, ",{name}_data");
        } else {
            for l in 0..lanes {
                let _ = write!(s, ",{name}_data_{l}");
            }
        }
    };
    let cells = |s: &mut String, v: bool, d: &[i128]| {
        s.push_str(if v { ",1" } else { ",0" });
        for x in d {
            if v {
                let _ = write!(s, ",{x}");
            } else {
                s.push_str(",U");
            }
        }
    };
    let mut s = String::from("cycle,rst");
    for p in &net.inputs {
        header(&mut s, &p.name, p.lanes.max(1) as usize);
    }
    for p in &net.params {
        let _ = write!(s, ",{}", p.name);
    }
    for o in &net.outputs {
        header(&mut s, &o.name, o.lanes.len());
    }
    s.push('\n');
    for (i, r) in rows.iter().enumerate() {
        let _ = write!(s, "{i},{}", r.rst as u8);
        for (v, d) in &r.inputs {
            cells(&mut s, *v, d);
        }
        for p in &r.params {
            let _ = write!(s, ",{p}");
        }
        for (v, d) in &r.outputs {
            cells(&mut s, *v, d);
        }
        s.push('\n');
    }
    s
}
