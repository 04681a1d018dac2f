//! Running frames through the engine: input schedule, output collection, traces.
//!
//! Cycle 0 is a reset cycle. Frame `f` starts in cycle `1 + f * P`, where `P` is
//! the frame period (the longest input stream); every input streams its elements
//! on consecutive cycles from the frame's start. Outputs are collected whenever
//! their valid flag is high, until every frame's outputs are complete.

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
    /// (valid, data) of each input port.
    pub inputs: Vec<(bool, i128)>,
    /// Each parameter port.
    pub params: Vec<i128>,
    /// (valid, data) of each output port.
    pub outputs: Vec<(bool, i128)>,
}

/// What a simulation produced.
#[derive(Debug)]
pub struct SimResult {
    /// For each frame, its outputs (numpy dtype and shape).
    pub frames: Vec<Vec<Array>>,
    /// Cycles simulated, the reset cycle included.
    pub cycles: u64,
    /// For each input stream, elements per cycle while it streams.
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
        .map(|o| {
            let s = net.nodes[o.bus].sched;
            s.time() + s.elements().max(1) - 1
        })
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
    let out_slots: Vec<usize> = net.outputs.iter().map(|o| o.bus.index()).collect();
    let in_len: Vec<u64> = net.inputs.iter().map(|p| numel(&p.shape) as u64).collect();
    let mut inputs_row = vec![(false, 0i128); net.inputs.len()];
    for cycle in 0..total_cycles {
        let rst = cycle == 0;
        if !rst {
            let rel = cycle - 1;
            let (f, j) = (rel / period, rel % period);
            for (i, row) in inputs_row.iter_mut().enumerate() {
                *row = if f < nf && j < in_len[i] {
                    (true, frames[f as usize][i].data[j as usize])
                } else {
                    (false, 0)
                };
                e.set_input(i, row.0, row.1);
            }
        }
        let outputs: Vec<(bool, i128)> = out_slots.iter().map(|&s| e.bus(s)).collect();
        if !rst {
            for (k, (v, d)) in outputs.iter().enumerate() {
                if *v {
                    collected[k].push(*d);
                }
            }
        }
        if let Some(t) = trace.as_mut() {
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
        elements_per_cycle: in_len.iter().map(|_| 1.0).collect(),
        latency,
        trace,
    })
}
