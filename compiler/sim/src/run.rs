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

/// Simulates `frames` (each: one array per input port, in port order) with the
/// given parameter values.
pub fn simulate(
    net: &Network,
    frames: &[Vec<Array>],
    params: &[i128],
    want_trace: bool,
) -> Result<SimResult, String> {
    let mut e = Engine::new(net);
    e.set_params(params);
    e.reset();
    let period = net.frame_period() as u64;
    let latency = net
        .outputs
        .iter()
        .map(|o| net.nodes[o.lanes[0]].sched.last_time())
        .max()
        .unwrap_or(0);
    let nf = frames.len() as u64;
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
    let mut inputs_row: Vec<(bool, Vec<i128>)> = lanes
        .iter()
        .map(|&l| (false, vec![0; l as usize]))
        .collect();
    // per input: elements driven, first and last cycle with an element
    let mut driven = vec![(0u64, u64::MAX, 0u64); net.inputs.len()];
    // (frame, cycle within the frame) of the current cycle, counted without division
    let (mut f, mut j) = (0u64, 0u64);
    for cycle in 0..total_cycles {
        let rst = cycle == 0;
        if !rst {
            for (i, row) in inputs_row.iter_mut().enumerate() {
                let l = lanes[i] as usize;
                if f < nf && j < in_len[i] {
                    let at = j as usize * l;
                    let data = &frames[f as usize][i].data[at..at + l];
                    e.set_input(i, true, data);
                    let d = &mut driven[i];
                    *d = (d.0 + l as u64, d.1.min(cycle), cycle);
                    if want_trace {
                        row.0 = true;
                        row.1.copy_from_slice(data);
                    }
                } else {
                    e.set_idle(i);
                    if want_trace {
                        row.0 = false;
                        row.1.iter_mut().for_each(|x| *x = 0);
                    }
                }
            }
        }
        if !rst {
            for (k, slots) in out_slots.iter().enumerate() {
                if e.bus(slots[0]).0 {
                    collected[k].extend(slots.iter().map(|&s| e.bus(s).1));
                }
            }
        }
        if let Some(t) = trace.as_mut() {
            let outputs = out_slots
                .iter()
                .map(|slots| {
                    (
                        e.bus(slots[0]).0,
                        slots.iter().map(|&s| e.bus(s).1).collect(),
                    )
                })
                .collect();
            t.push(TraceRow {
                rst,
                inputs: inputs_row.clone(),
                params: params.to_vec(),
                outputs,
            });
        }
        if rst {
            e.reset();
        } else {
            e.tick();
            j += 1;
            if j == period {
                j = 0;
                f += 1;
            }
        }
    }
    let mut per_frame = vec![Vec::new(); frames.len()];
    for (k, o) in net.outputs.iter().enumerate() {
        let n = numel(&o.shape);
        if collected[k].len() != n * frames.len() {
            return Err(format!(
                "output `{}` produced {} elements in {total_cycles} cycles, expected {}",
                o.name,
                collected[k].len(),
                n * frames.len()
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
