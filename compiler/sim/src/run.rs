//! Running frames through the engine: input schedule, output collection, traces.
//!
//! Cycle 0 is a reset cycle. Frame `f` starts in cycle `1 + f * P`, where `P` is
//! the frame period (the longest input stream, in cycles); every input streams
//! its elements on consecutive cycles from the frame's start, `lanes` of them per
//! cycle. Outputs are collected (all their lanes) whenever their valid flag is
//! high, until every frame's outputs are complete.

use crate::engine::Engine;
use cranelift_entity::EntityRef;
use hissc_aop::types::numel;
use hissc_aop::Array;
use hissc_spn::Network;

/// The top-level signals in one cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRow {
    /// Reset asserted.
    pub rst: bool,
    /// (valid, data of each lane) of each input port.
    pub inputs: Vec<(bool, Vec<i128>)>,
    /// Each parameter port.
    pub params: Vec<i128>,
    /// (valid, data of each lane) of each output port.
    pub outputs: Vec<(bool, Vec<i128>)>,
}

/// What a simulation produced.
#[derive(Debug)]
pub struct SimResult {
    /// For each frame, its outputs (numpy dtype and shape).
    pub frames: Vec<Vec<Array>>,
    /// Cycles simulated, the reset cycle included.
    pub cycles: u64,
    /// For each input stream, elements per cycle from its first element to its last
    /// (frames back to back: its lane count means the stream never waited).
    pub elements_per_cycle: Vec<f64>,
    /// Cycles from a frame's start to its last output.
    pub latency: u32,
    /// One row per cycle, when asked for.
    pub trace: Option<Vec<TraceRow>>,
}

/// One input port's elements: either every frame back to back, or one frame that
/// every frame repeats (an input the user gave without a batch axis).
#[derive(Clone, Copy, Debug)]
pub struct Stream<'a> {
    /// The elements, in C order.
    pub data: &'a [i128],
    /// Whether `data` holds one frame for all frames.
    pub repeated: bool,
}

/// Simulates `frames` (each: one array per input port, in port order) with the
/// given parameter values.
pub fn simulate(
    net: &Network,
    frames: &[Vec<Array>],
    params: &[i128],
    want_trace: bool,
) -> Result<SimResult, String> {
    // frames back to back per port, as the hardware sees them
    let ports = net.inputs.len();
    let joined: Vec<Vec<i128>> = (0..ports)
        .map(|i| {
            frames
                .iter()
                .flat_map(|f| f[i].data.iter().copied())
                .collect()
        })
        .collect();
    let streams: Vec<Stream> = joined
        .iter()
        .map(|d| Stream {
            data: d,
            repeated: false,
        })
        .collect();
    simulate_streams(net, frames.len(), &streams, params, want_trace)
}

/// Simulates `frames` frames read straight from `streams` (one per input port),
/// with the given parameter values: nothing is copied per frame.
pub fn simulate_streams(
    net: &Network,
    frames: usize,
    streams: &[Stream],
    params: &[i128],
    want_trace: bool,
) -> Result<SimResult, String> {
    let mut e = Engine::new(net);
    e.set_params(params);
    let period = net.frame_period() as u64;
    let latency = net
        .outputs
        .iter()
        .map(|o| net.nodes[o.lanes[0]].sched.last_time())
        .max()
        .unwrap_or(0);
    let nf = frames as u64;
    let total_cycles = 1 + (nf.saturating_sub(1)) * period + latency as u64 + 1;
    let mut collected: Vec<Vec<i128>> = vec![Vec::new(); net.outputs.len()];
    let mut trace = if want_trace {
        Some(Vec::with_capacity(total_cycles as usize + 1))
    } else {
        None
    };
    let out_slots: Vec<Vec<usize>> = net
        .outputs
        .iter()
        .map(|o| o.lanes.iter().map(|b| b.index()).collect())
        .collect();
    let lanes: Vec<u64> = net.inputs.iter().map(|p| p.lanes.max(1) as u64).collect();
    let in_len: Vec<u64> = net
        .inputs
        .iter()
        .zip(&lanes)
        .map(|(p, l)| numel(&p.shape) as u64 / l)
        .collect();
    // per input: elements driven, first and last cycle with an element
    let mut driven = vec![(0u64, u64::MAX, 0u64); net.inputs.len()];
    // (frame, cycle within the frame) of the block's first cycle, counted without division
    let (mut f, mut j) = (0u64, 0u64);
    // cycle 0: reset
    let row_of = |e: &Engine, t: usize, rst: bool| TraceRow {
        rst,
        inputs: (0..lanes.len())
            .map(|i| {
                let slots = e.input_slots(i);
                let valid = e.bus(slots[0] as usize, t).0;
                let data = slots
                    .iter()
                    .map(|&s| if valid { e.bus(s as usize, t).1 } else { 0 })
                    .collect();
                (valid && !rst, data)
            })
            .collect(),
        params: params.to_vec(),
        outputs: out_slots
            .iter()
            .map(|slots| {
                (
                    e.bus(slots[0], t).0,
                    slots.iter().map(|&s| e.bus(s, t).1).collect(),
                )
            })
            .collect(),
    };
    if let Some(tr) = trace.as_mut() {
        tr.push(row_of(&e, 0, true));
    }
    e.reset();
    let mut cycle = 1u64;
    while cycle < total_cycles {
        let n = (e.block() as u64).min(total_cycles - cycle) as usize;
        // each input in runs of cycles: its elements of the current frame, or idle
        for i in 0..lanes.len() {
            let (l, s) = (lanes[i], &streams[i]);
            let (mut g, mut k, mut t) = (f, j, 0usize);
            while t < n {
                let left = (n - t) as u64;
                let run = if g < nf && k < in_len[i] {
                    let run = (in_len[i] - k).min(left);
                    let base = if s.repeated { 0 } else { g * in_len[i] * l };
                    let at = (base + k * l) as usize;
                    e.drive(i, t, &s.data[at..at + (run * l) as usize]);
                    let d = &mut driven[i];
                    let c = cycle + t as u64;
                    *d = (d.0 + run * l, d.1.min(c), c + run - 1);
                    run
                } else {
                    let run = if g < nf { (period - k).min(left) } else { left };
                    e.idle(i, t, run as usize);
                    run
                };
                t += run as usize;
                k += run;
                if k == period {
                    k = 0;
                    g += 1;
                }
            }
        }
        j += n as u64;
        while j >= period {
            j -= period;
            f += 1;
        }
        e.eval(n);
        for t in 0..n {
            for (k, slots) in out_slots.iter().enumerate() {
                if e.bus(slots[0], t).0 {
                    collected[k].extend(slots.iter().map(|&s| e.bus(s, t).1));
                }
            }
            if let Some(tr) = trace.as_mut() {
                tr.push(row_of(&e, t, false));
            }
        }
        e.carry(n);
        cycle += n as u64;
    }
    let mut per_frame = vec![Vec::new(); frames];
    for (k, o) in net.outputs.iter().enumerate() {
        let n = numel(&o.shape);
        if collected[k].len() != n * frames {
            return Err(format!(
                "output `{}` produced {} elements in {total_cycles} cycles, expected {}",
                o.name,
                collected[k].len(),
                n * frames
            ));
        }
        for (f, chunk) in collected[k].chunks(n).enumerate() {
            let data = chunk.iter().map(|&v| o.dtype.wrap(v)).collect();
            per_frame[f].push(Array::new(o.dtype, o.shape.clone(), data));
        }
    }
    Ok(SimResult {
        frames: per_frame,
        cycles: total_cycles,
        elements_per_cycle: driven
            .iter()
            .map(|&(n, first, last)| {
                if n == 0 {
                    0.0
                } else {
                    n as f64 / (last - first + 1) as f64
                }
            })
            .collect(),
        latency,
        trace,
    })
}

/// Simulates frames given as every parameter's argument in signature order (a
/// kernel's call arguments; scalars as 0-d arrays, taken from the first frame).
pub fn simulate_args(
    net: &Network,
    k: &hissc_aop::Kernel,
    frames: &[Vec<Array>],
    want_trace: bool,
) -> Result<SimResult, String> {
    let first = frames.first().ok_or("no frames to simulate")?;
    let scalars: Vec<i128> = k
        .params
        .iter()
        .zip(first)
        .filter(|(p, _)| !p.is_stream())
        .map(|(_, a)| a.data[0])
        .collect();
    let streams: Vec<Vec<Array>> = frames
        .iter()
        .map(|f| {
            k.params
                .iter()
                .zip(f)
                .filter(|(p, _)| p.is_stream())
                .map(|(_, a)| a.clone())
                .collect()
        })
        .collect();
    simulate(net, &streams, &scalars, want_trace)
}

/// Simulates every frame of inputs bound to the kernel parameters `params`
/// (in signature order), reading the arrays in place.
pub fn simulate_bound(
    net: &Network,
    params: &[hissc_aop::Param],
    b: &hissc_aop::array::Bound,
    want_trace: bool,
) -> Result<SimResult, String> {
    if b.frames == 0 {
        return Err("no frames to simulate".into());
    }
    let mut scalars = Vec::new();
    let mut streams = Vec::new();
    for ((p, a), &batched) in params.iter().zip(&b.args).zip(&b.batched) {
        if p.is_stream() {
            streams.push(Stream {
                data: &a.data,
                repeated: !batched,
            });
        } else {
            scalars.push(a.data[0]);
        }
    }
    simulate_streams(net, b.frames, &streams, &scalars, want_trace)
}
