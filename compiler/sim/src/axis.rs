//! The AXI4-Stream wrapper, modelled cycle by cycle with the network inside it.
//!
//! [`simulate_axis`] streams frames through the wrapper that
//! [`hissc_spn::axis`] plans, with producers that offer beats and consumers
//! that take them at random (each pause or stall lasts as long as a random
//! draw says), and records every top-level signal of every cycle: the
//! testbench replays these rows in GHDL against the generated wrapper and
//! checks every handshake and every beat. The outputs are rebuilt from the
//! beats the consumers took, so a lost or duplicated beat shows up as a wrong
//! value against the reference interpreter.
//!
//! The network advances one cycle per enabled cycle, through the same engine
//! as the native simulation; what the wrapper decides per cycle is written
//! here once, in [`Wrapper::enable`], exactly as the VHDL computes it.

use crate::engine::Engine;
use crate::run::{lanes_at, split_bound, Stream};
use cranelift_entity::EntityRef;
use hissc_aop::types::numel;
use hissc_aop::Array;
use hissc_spn::axis::{Plan, FIFO_DEPTH};
pub use hissc_spn::trace::{AxisRow, Beat};
use hissc_spn::Network;
use std::collections::VecDeque;

/// How producers and consumers behave: the chance, per cycle, that a producer
/// with beats left offers none, and that a consumer is not ready.
#[derive(Clone, Copy, Debug)]
pub struct Pressure {
    /// Seed of the random patterns.
    pub seed: u64,
    /// Chance of a producer pause, per cycle.
    pub pause: f64,
    /// Chance of a consumer stall, per cycle.
    pub stall: f64,
}

/// What a run through the wrapper gives.
#[derive(Debug)]
pub struct AxisRun {
    /// Every cycle's signals, the reset and the state preamble first.
    pub rows: Vec<AxisRow>,
    /// For each frame, every output (the states' next values included) rebuilt
    /// from the beats the consumers took.
    pub frames: Vec<Vec<Array>>,
    /// Cycles the network was enabled.
    pub enabled: u64,
}

/// xorshift64*: the patterns only need to be varied and repeatable.
struct Rng(u64);

impl Rng {
    fn chance(&mut self, p: f64) -> bool {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        (x as f64 / (1u64 << 53) as f64) < p
    }
}

/// The wrapper's registers.
struct Wrapper {
    plan: Plan,
    /// Enabled cycles since the current frame started (`period` between frames).
    phase: u32,
    /// Each output's queue.
    fifos: Vec<VecDeque<Beat>>,
    /// Each output's beats of the current frame so far.
    beats: Vec<u32>,
}

impl Wrapper {
    /// This cycle's decision from the registers and the producers' `TVALID`s:
    /// whether the network is enabled, whether a frame starts, and which
    /// inputs' beats it takes (their `TREADY`).
    fn enable(&self, offered: &[bool]) -> (bool, bool, Vec<bool>) {
        let p = &self.plan;
        let between = self.phase >= p.period;
        let starting = between && offered.iter().all(|&v| v);
        let needed: Vec<bool> = p
            .in_beats
            .iter()
            .map(|&n| starting || (!between && self.phase < n))
            .collect();
        let inputs_ok = needed.iter().zip(offered).all(|(&n, &v)| !n || v);
        let room = self.fifos.iter().all(|f| f.len() < FIFO_DEPTH);
        let ce = inputs_ok && room;
        let ready = needed.iter().map(|&n| n && ce).collect();
        (ce, starting, ready)
    }
}

/// One output's place in the engine.
struct OutSlots {
    slots: Vec<usize>,
    mask: Option<Vec<usize>>,
}

/// Streams `frames` frames (per input port, read in place: every frame's
/// elements back to back, or one frame that every frame repeats) through the
/// wrapper of `net` with the given parameters and initial states.
pub fn simulate_axis(
    net: &Network,
    params: &[i128],
    inputs: &[Stream],
    frames: usize,
    states: &[Vec<i128>],
    pressure: Pressure,
) -> Result<AxisRun, String> {
    let plan = Plan::new(net);
    if inputs.len() != net.inputs.len() {
        return Err(format!(
            "{} input streams given, the network has {}",
            inputs.len(),
            net.inputs.len()
        ));
    }
    for (p, d) in net.inputs.iter().zip(inputs) {
        let want = numel(&p.shape) * if d.repeated { 1 } else { frames };
        if d.data.len() != want {
            return Err(format!(
                "input `{}` is given {} elements, expected {want}",
                p.name,
                d.data.len()
            ));
        }
    }
    let mut e = Engine::new(net);
    e.set_params(params);
    e.set_states(states)?;
    e.reset();
    let outs: Vec<OutSlots> = net
        .outputs
        .iter()
        .map(|o| OutSlots {
            slots: o.lanes.iter().map(|b| b.index()).collect(),
            mask: o
                .mask
                .as_ref()
                .map(|m| m.iter().map(|b| b.index()).collect()),
        })
        .collect();
    let lanes: Vec<usize> = net.inputs.iter().map(|p| p.lanes.max(1) as usize).collect();
    let mut w = Wrapper {
        phase: plan.period,
        fifos: vec![VecDeque::new(); net.outputs.len()],
        beats: vec![0; net.outputs.len()],
        plan,
    };
    let mut rng = Rng(pressure.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    // a cycle with no beat offered, taken or on a bus
    let idle = |rst: bool, loads: Vec<(bool, i128)>| AxisRow {
        rst,
        loads,
        inputs: lanes.iter().map(|&l| (false, vec![0; l], false)).collect(),
        ready: vec![false; lanes.len()],
        taking: vec![false; net.outputs.len()],
        outputs: vec![None; net.outputs.len()],
    };
    let no_loads = vec![(false, 0); states.len()];
    let mut rows = vec![idle(true, no_loads.clone())];
    // the state preamble: one element of every state per cycle; the network
    // runs idle cycles meanwhile, as between frames
    let longest = states.iter().map(Vec::len).max().unwrap_or(0);
    let mut enabled = 0u64;
    for k in 0..longest {
        for i in 0..lanes.len() {
            e.idle(i, 0, 1);
        }
        e.eval(1);
        e.carry(1);
        enabled += 1;
        let loads = states
            .iter()
            .map(|s| s.get(k).map_or((false, 0), |&v| (true, v)))
            .collect();
        rows.push(idle(false, loads));
    }
    // each producer's next beat, and whether it is offering it
    let per_run =
        |beats: &[u32]| -> Vec<usize> { beats.iter().map(|&n| n as usize * frames).collect() };
    let total = per_run(&w.plan.in_beats);
    let mut next = vec![0usize; lanes.len()];
    let mut offering = vec![false; lanes.len()];
    // what the consumers took, per output
    let mut taken: Vec<Vec<Beat>> = vec![Vec::new(); net.outputs.len()];
    let want = per_run(&w.plan.out_beats);
    let budget = 64 * (enabled as usize + 16 + total.iter().chain(&want).sum::<usize>()) + 10_000;
    while taken.iter().zip(&want).any(|(t, &n)| t.len() < n) {
        if rows.len() > budget {
            return Err(format!(
                "the AXI4-Stream model made no progress in {budget} cycles (a bug in hissc)"
            ));
        }
        for i in 0..lanes.len() {
            if !offering[i] && next[i] < total[i] {
                offering[i] = !rng.chance(pressure.pause);
            }
        }
        let taking: Vec<bool> = (0..net.outputs.len())
            .map(|_| !rng.chance(pressure.stall))
            .collect();
        let (ce, starting, ready) = w.enable(&offering);
        let beats = (0..lanes.len())
            .map(|i| {
                if !offering[i] {
                    return (false, vec![0; lanes[i]], false);
                }
                let n = w.plan.in_beats[i] as usize;
                let s = &inputs[i];
                // a repeated frame starts over every frame
                let mut at = next[i] * lanes[i];
                if s.repeated {
                    at %= s.data.len();
                }
                (
                    true,
                    s.data[at..at + lanes[i]].to_vec(),
                    next[i] % n == n - 1,
                )
            })
            .collect();
        rows.push(AxisRow {
            rst: false,
            loads: no_loads.clone(),
            inputs: beats,
            ready,
            taking,
            outputs: w.fifos.iter().map(|f| f.front().cloned()).collect(),
        });
        let row = rows.last().expect("the row just pushed");
        // the clock edge: consumers take, then the network steps
        for (o, f) in w.fifos.iter_mut().enumerate() {
            if row.taking[o] {
                if let Some(b) = f.pop_front() {
                    taken[o].push(b);
                }
            }
        }
        if !ce {
            continue;
        }
        for i in 0..lanes.len() {
            if row.ready[i] {
                e.drive(i, 0, &row.inputs[i].1);
                next[i] += 1;
                offering[i] = false;
            } else {
                e.idle(i, 0, 1);
            }
        }
        e.eval(1);
        for (o, s) in outs.iter().enumerate() {
            if !e.bus(s.slots[0], 0).0 {
                continue;
            }
            let (data, count) = lanes_at(&e, &s.slots, s.mask.as_deref(), 0);
            let n = w.plan.out_beats[o];
            let last = w.beats[o] == n - 1;
            w.beats[o] = if last { 0 } else { w.beats[o] + 1 };
            w.fifos[o].push_back(Beat { data, last, count });
        }
        e.carry(1);
        enabled += 1;
        w.phase = if starting {
            1
        } else if w.phase < w.plan.period {
            w.phase + 1
        } else {
            w.phase
        };
    }
    let frames_out = rebuild(net, &w.plan, &taken, frames)?;
    Ok(AxisRun {
        rows,
        frames: frames_out,
        enabled,
    })
}

/// Each frame's outputs from the beats the consumers took.
fn rebuild(
    net: &Network,
    plan: &Plan,
    taken: &[Vec<Beat>],
    frames: usize,
) -> Result<Vec<Vec<Array>>, String> {
    let mut out: Vec<Vec<Array>> = (0..frames).map(|_| Vec::new()).collect();
    for ((o, beats), &n) in net.outputs.iter().zip(taken).zip(&plan.out_beats) {
        for (f, chunk) in beats.chunks(n as usize).enumerate() {
            if chunk.last().map(|b| b.last) != Some(true) {
                return Err(format!(
                    "output `{}`: frame {f} does not end with TLAST",
                    o.name
                ));
            }
            let data: Vec<i128> = chunk
                .iter()
                .flat_map(|b| b.data[..b.count as usize].iter())
                .map(|&v| o.dtype.wrap(v))
                .collect();
            let shape = if o.mask.is_some() {
                vec![data.len() as u32]
            } else {
                o.shape.clone()
            };
            out[f].push(Array::new(o.dtype, shape, data));
        }
    }
    Ok(out)
}

/// [`simulate_axis`] with a kernel's bound arguments (as `hissc verify` binds
/// them, split by [`split_bound`]); gives the scalar parameters' values too.
pub fn simulate_axis_bound(
    net: &Network,
    params: &[hissc_aop::Param],
    b: &hissc_aop::array::Bound,
    states: &[Vec<i128>],
    pressure: Pressure,
) -> Result<(AxisRun, Vec<i128>), String> {
    let (scalars, streams) = split_bound(params, b);
    let run = simulate_axis(net, &scalars, &streams, b.frames, states, pressure)?;
    Ok((run, scalars))
}
