//! Running frames through the engine: input schedule, output collection, traces.
//!
//! Cycle 0 is a reset cycle. Frame `f` starts in cycle `1 + f * P`, where `P` is
//! the frame period (the longest input stream, in cycles); every input streams
//! its elements on consecutive cycles from the frame's start, `lanes` of them per
//! cycle. Outputs are collected (all their lanes) whenever their valid flag is
//! high, until every frame's outputs are complete.
//!
//! [`Streamer`] takes the frames as they come: each [`Streamer::push`] simulates
//! every cycle its frames' elements are driven in and hands back the outputs of
//! every frame that has completed, so memory holds the design's state and the
//! frames in flight, not the batch. Where the next frame has not come yet the
//! schedule is the batch's (a frame's inputs are idle after its last element), so
//! pushing frames one at a time, in blocks, or all at once gives the same cycles,
//! outputs and trace.

use crate::engine::Engine;
use cranelift_entity::EntityRef;
use hissc_aop::types::numel;
use hissc_aop::{Array, DType, Shape};
pub use hissc_spn::trace::TraceRow;
use hissc_spn::Network;

/// What a simulation produced.
#[derive(Debug)]
pub struct SimResult {
    /// For each frame, its outputs (numpy dtype and shape).
    pub frames: Vec<Vec<Array>>,
    /// Each state as the last frame left it (from the state's `next` output).
    pub states: Vec<Array>,
    /// Cycles simulated, the reset cycle included.
    pub cycles: u64,
    /// For each input stream, elements per cycle from its first element to its last
    /// (frames back to back: its lane count means the stream never waited).
    pub elements_per_cycle: Vec<f64>,
    /// Cycles from a frame's start to its last output.
    pub latency: u32,
    /// One row per cycle, when asked for.
    pub trace: Option<Vec<TraceRow>>,
    /// Every bus's (valid, value) in every cycle, when asked for (waveforms).
    pub buses: Option<Vec<Vec<(bool, i128)>>>,
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

/// An output port as the streamer hands it back.
struct OutPort {
    name: String,
    dtype: DType,
    shape: Shape,
    /// Elements per frame.
    numel: usize,
    /// Its bus slots, one per lane.
    slots: Vec<usize>,
    /// A variable-length output's mask slots, one per lane.
    mask: Option<Vec<usize>>,
}

/// A simulation that takes frames as they come (see the module's documentation).
pub struct Streamer {
    e: Engine,
    params: Vec<i128>,
    /// Cycles per frame.
    period: u64,
    /// Cycles from a frame's start to its last output.
    latency: u32,
    outs: Vec<OutPort>,
    /// Per input port: lanes, and cycles its elements take per frame.
    lanes: Vec<u64>,
    in_len: Vec<u64>,
    /// Per input port: the frame every frame repeats, if it is not streamed.
    fixed: Vec<Option<Vec<i128>>>,
    /// Frames pushed.
    fed: u64,
    /// The next cycle to simulate, and its (frame, cycle within the frame).
    cycle: u64,
    frame: u64,
    within: u64,
    /// Per input: elements driven, first and last cycle with an element.
    driven: Vec<(u64, u64, u64)>,
    /// Per output: elements of frames not yet handed back.
    collected: Vec<Vec<i128>>,
    /// Per variable-length output: where each frame not yet handed back ends in
    /// `collected`, and the frame positions seen of the frame in progress.
    ends: Vec<Vec<usize>>,
    seen: Vec<usize>,
    /// Per variable-length output, per cycle of the current block: its marks.
    block_marks: Vec<Vec<(u32, bool)>>,
    /// Frames whose outputs were handed back.
    emitted: u64,
    /// The kernel's outputs among `outs` (the states' next values follow).
    kernel_outs: usize,
    /// Each state as the last completed frame left it.
    states: Vec<Array>,
    trace: Option<Vec<TraceRow>>,
    /// Every bus in every cycle, when recorded.
    buses: Option<Vec<Vec<(bool, i128)>>>,
}

impl Streamer {
    /// A network after its reset cycle, with its parameter values; `fixed` has one
    /// entry per input port: the one frame that every frame repeats, or `None` for
    /// a port whose frames are pushed.
    pub fn new(
        net: &Network,
        params: &[i128],
        fixed: Vec<Option<Vec<i128>>>,
        want_trace: bool,
    ) -> Result<Streamer, String> {
        if fixed.len() != net.inputs.len() {
            return Err(format!(
                "the network has {} input ports, {} were given",
                net.inputs.len(),
                fixed.len()
            ));
        }
        for (p, f) in net.inputs.iter().zip(&fixed) {
            if let Some(f) = f {
                if f.len() != numel(&p.shape) {
                    return Err(format!(
                        "input `{}` is given {} elements, its frame has {}",
                        p.name,
                        f.len(),
                        numel(&p.shape)
                    ));
                }
            }
        }
        let mut e = Engine::new(net);
        e.set_params(params);
        let lanes: Vec<u64> = net.inputs.iter().map(|p| p.lanes.max(1) as u64).collect();
        let in_len = net
            .inputs
            .iter()
            .zip(&lanes)
            .map(|(p, l)| numel(&p.shape) as u64 / l)
            .collect();
        let mut s = Streamer {
            params: params.to_vec(),
            period: net.frame_period() as u64,
            latency: net
                .outputs
                .iter()
                .map(|o| net.nodes[o.lanes[0]].sched.last_time())
                .max()
                .unwrap_or(0),
            outs: net
                .outputs
                .iter()
                .map(|o| OutPort {
                    name: o.name.clone(),
                    dtype: o.dtype,
                    shape: o.shape.clone(),
                    numel: numel(&o.shape),
                    slots: o.lanes.iter().map(|b| b.index()).collect(),
                    mask: o
                        .mask
                        .as_ref()
                        .map(|m| m.iter().map(|b| b.index()).collect()),
                })
                .collect(),
            ends: vec![Vec::new(); net.outputs.len()],
            seen: vec![0; net.outputs.len()],
            block_marks: vec![Vec::new(); net.outputs.iter().filter(|o| o.mask.is_some()).count()],
            driven: vec![(0, u64::MAX, 0); lanes.len()],
            lanes,
            in_len,
            fixed,
            fed: 0,
            cycle: 1,
            frame: 0,
            within: 0,
            collected: vec![Vec::new(); net.outputs.len()],
            emitted: 0,
            kernel_outs: net.kernel_outputs().len(),
            states: net
                .states
                .iter()
                .map(|s| Array::new(s.dtype, s.shape.clone(), vec![0; numel(&s.shape)]))
                .collect(),
            trace: want_trace.then(Vec::new),
            buses: None,
            e,
        };
        // cycle 0: reset
        if s.trace.is_some() {
            let row = s.row(0, true);
            if let Some(t) = s.trace.as_mut() {
                t.push(row);
            }
        }
        s.e.reset();
        Ok(s)
    }

    /// Records every bus in every cycle from now on (waveforms); before the first
    /// frame, the reset cycle is the first row.
    pub fn record_buses(&mut self) {
        if self.buses.is_none() {
            let reset = vec![(false, 0); self.e.slots()];
            self.buses = Some(if self.cycle == 1 {
                vec![reset]
            } else {
                Vec::new()
            });
        }
    }

    /// Sets the states before the first frame (their elements in C order, in the
    /// network's state order); without this they start at zero.
    pub fn set_states(&mut self, states: &[Vec<i128>]) -> Result<(), String> {
        if self.fed > 0 {
            return Err("states are set before the first frame".into());
        }
        self.e.set_states(states)?;
        for (a, s) in self.states.iter_mut().zip(states) {
            a.data.copy_from_slice(s);
        }
        Ok(())
    }

    /// Each state as the last completed frame left it (the initial state before one has).
    pub fn states(&self) -> &[Array] {
        &self.states
    }

    /// The input ports whose frames are pushed, as indices of the network's inputs.
    pub fn streamed(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.fixed.len()).filter(|&i| self.fixed[i].is_none())
    }

    /// Cycles simulated so far, the reset cycle included.
    pub fn cycles(&self) -> u64 {
        self.cycle
    }

    /// Pushes `frames` frames: `data` holds, for each streamed port in port order,
    /// those frames' elements back to back. Simulates every cycle that drives them
    /// and gives the outputs of every frame completed so far and not given before.
    pub fn push(&mut self, frames: usize, data: &[&[i128]]) -> Result<Vec<Vec<Array>>, String> {
        let ports: Vec<usize> = self.streamed().collect();
        if data.len() != ports.len() {
            return Err(format!(
                "{} streamed inputs, {} were given",
                ports.len(),
                data.len()
            ));
        }
        for (&i, d) in ports.iter().zip(data) {
            let want = frames as u64 * self.in_len[i] * self.lanes[i];
            if d.len() as u64 != want {
                return Err(format!(
                    "input port {i} is given {} elements for {frames} frames, expected {want}",
                    d.len()
                ));
            }
        }
        if frames == 0 {
            return Ok(Vec::new());
        }
        let first = self.fed;
        self.fed += frames as u64;
        // up to the last cycle that drives an element of the last frame pushed
        let max_in = self.in_len.iter().copied().max().unwrap_or(0);
        let until = 1 + (self.fed - 1) * self.period + max_in;
        let mut chunks: Vec<Option<&[i128]>> = vec![None; self.fixed.len()];
        for (&i, d) in ports.iter().zip(data) {
            chunks[i] = Some(d);
        }
        self.advance(until, first, &chunks);
        Ok(self.complete())
    }

    /// Simulates until the last frame's outputs are out; gives the outputs not
    /// given before and what the run measured.
    pub fn finish(mut self) -> Result<SimResult, String> {
        if self.fed == 0 {
            return Err("no frames to simulate".into());
        }
        let total = 1 + (self.fed - 1) * self.period + self.latency as u64 + 1;
        let first = self.fed;
        self.advance(total.max(self.cycle), first, &vec![None; self.fixed.len()]);
        let frames = self.complete();
        for (o, c) in self.outs.iter().zip(&self.collected) {
            if self.emitted != self.fed || (o.mask.is_none() && !c.is_empty()) {
                return Err(format!(
                    "output `{}` produced {} elements in {} cycles, expected {}",
                    o.name,
                    self.emitted as usize * o.numel + c.len(),
                    self.cycle,
                    self.fed as usize * o.numel
                ));
            }
        }
        Ok(SimResult {
            frames,
            cycles: self.cycle,
            elements_per_cycle: self
                .driven
                .iter()
                .map(|&(n, first, last)| {
                    if n == 0 {
                        0.0
                    } else {
                        n as f64 / (last - first + 1) as f64
                    }
                })
                .collect(),
            latency: self.latency,
            states: self.states,
            trace: self.trace,
            buses: self.buses,
        })
    }

    /// The outputs of every frame whose outputs are all collected, taken out.
    fn complete(&mut self) -> Vec<Vec<Array>> {
        let done = self
            .outs
            .iter()
            .zip(&self.collected)
            .zip(&self.ends)
            .map(|((o, c), e)| match o.mask {
                Some(_) => e.len(),
                None => c.len() / o.numel.max(1),
            })
            .min()
            .unwrap_or(0);
        if done == 0 {
            return Vec::new();
        }
        let mut frames: Vec<Vec<Array>> = (0..done).map(|_| Vec::new()).collect();
        for ((o, c), e) in self
            .outs
            .iter()
            .zip(&mut self.collected)
            .zip(&mut self.ends)
        {
            if o.mask.is_some() {
                let mut from = 0;
                for (f, &end) in e[..done].iter().enumerate() {
                    let data = c[from..end].iter().map(|&v| o.dtype.wrap(v)).collect();
                    frames[f].push(Array::new(o.dtype, vec![(end - from) as u32], data));
                    from = end;
                }
                c.drain(..from);
                e.drain(..done);
                for x in e.iter_mut() {
                    *x -= from;
                }
                continue;
            }
            for (f, chunk) in c[..done * o.numel].chunks(o.numel.max(1)).enumerate() {
                let data = chunk.iter().map(|&v| o.dtype.wrap(v)).collect();
                frames[f].push(Array::new(o.dtype, o.shape.clone(), data));
            }
            c.drain(..done * o.numel);
        }
        self.emitted += done as u64;
        // the states' next values: the last frame's are the states now
        for f in &mut frames {
            let next = f.split_off(self.kernel_outs);
            if !next.is_empty() {
                self.states = next;
            }
        }
        frames
    }

    /// Simulates up to (not including) cycle `until`; frames from `first` on read
    /// their elements from `chunks` (per port), frames from `self.fed` on are not
    /// there (their inputs idle).
    fn advance(&mut self, until: u64, first: u64, chunks: &[Option<&[i128]>]) {
        let (period, nf) = (self.period, self.fed);
        while self.cycle < until {
            let n = (self.e.block() as u64).min(until - self.cycle) as usize;
            // each input in runs of cycles: its elements of the current frame, or idle
            for (i, &chunk) in chunks.iter().enumerate() {
                let (l, len) = (self.lanes[i], self.in_len[i]);
                let (mut g, mut k, mut t) = (self.frame, self.within, 0usize);
                while t < n {
                    let left = (n - t) as u64;
                    let run = if g < nf && k < len {
                        let run = (len - k).min(left);
                        let (data, base) = match (&self.fixed[i], chunk) {
                            (Some(frame), _) => (&frame[..], 0),
                            (None, Some(chunk)) => (chunk, (g - first) * len * l),
                            (None, None) => {
                                unreachable!("a pushed frame's elements are driven in its push")
                            }
                        };
                        let at = (base + k * l) as usize;
                        self.e.drive(i, t, &data[at..at + (run * l) as usize]);
                        let d = &mut self.driven[i];
                        let c = self.cycle + t as u64;
                        *d = (d.0 + run * l, d.1.min(c), c + run - 1);
                        run
                    } else {
                        let run = if g < nf { (period - k).min(left) } else { left };
                        self.e.idle(i, t, run as usize);
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
            self.within += n as u64;
            while self.within >= period {
                self.within -= period;
                self.frame += 1;
            }
            self.e.eval(n);
            let mut v = 0;
            for (i, (o, c)) in self.outs.iter().zip(&mut self.collected).enumerate() {
                let valid = self.e.valid_row(o.slots[0], n);
                let Some(mask) = &o.mask else {
                    for t in (0..n).filter(|&t| valid[t]) {
                        c.extend(o.slots.iter().map(|&s| self.e.bus(s, t).1));
                    }
                    continue;
                };
                // the selected elements, and where each frame's positions end
                let marks = &mut self.block_marks[v];
                v += 1;
                marks.clear();
                for (t, &valid) in valid.iter().enumerate().take(n) {
                    if !valid {
                        marks.push((0, false));
                        continue;
                    }
                    let mut k = 0;
                    for (&s, &m) in o.slots.iter().zip(mask) {
                        if self.e.bus(m, t).1 != 0 {
                            c.push(self.e.bus(s, t).1);
                            k += 1;
                        }
                    }
                    self.seen[i] += o.slots.len();
                    let last = self.seen[i] >= o.numel;
                    if last {
                        self.seen[i] = 0;
                        self.ends[i].push(c.len());
                    }
                    marks.push((k, last));
                }
            }
            if self.trace.is_some() {
                for t in 0..n {
                    let row = self.row(t, false);
                    if let Some(tr) = self.trace.as_mut() {
                        tr.push(row);
                    }
                }
            }
            if let Some(rows) = self.buses.as_mut() {
                for t in 0..n {
                    rows.push((0..self.e.slots()).map(|s| self.e.bus(s, t)).collect());
                }
            }
            self.e.carry(n);
            self.cycle += n as u64;
        }
    }

    /// The top-level signals in cycle `t` of the block.
    fn row(&self, t: usize, rst: bool) -> TraceRow {
        let e = &self.e;
        TraceRow {
            rst,
            inputs: (0..self.lanes.len())
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
            params: self.params.clone(),
            outputs: self
                .outs
                .iter()
                .map(|o| {
                    let valid = e.bus(o.slots[0], t).0;
                    let data = match &o.mask {
                        Some(_) if !valid => vec![0; o.slots.len()],
                        _ => lanes_at(e, &o.slots, o.mask.as_deref(), t).0,
                    };
                    (valid, data)
                })
                .collect(),
            marks: self
                .block_marks
                .iter()
                .map(|m| {
                    if rst {
                        (0, false)
                    } else {
                        m.get(t).copied().unwrap_or((0, false))
                    }
                })
                .collect(),
        }
    }
}

/// An output's lanes in cycle `t` of the block, as its port carries them: every
/// lane, or for a variable-length output (`mask`) the selected elements packed
/// into the first lanes and the rest 0; and how many lanes carry elements.
pub(crate) fn lanes_at(
    e: &Engine,
    slots: &[usize],
    mask: Option<&[usize]>,
    t: usize,
) -> (Vec<i128>, u32) {
    let Some(mask) = mask else {
        return (
            slots.iter().map(|&s| e.bus(s, t).1).collect(),
            slots.len() as u32,
        );
    };
    let mut d: Vec<i128> = slots
        .iter()
        .zip(mask)
        .filter(|(_, &m)| e.bus(m, t).1 != 0)
        .map(|(&s, _)| e.bus(s, t).1)
        .collect();
    let count = d.len() as u32;
    d.resize(slots.len(), 0);
    (d, count)
}

/// A kernel's bound arguments split as the network takes them: its scalar
/// parameters' values, and each array input as a stream read in place (one
/// frame repeated unless the argument is a batch).
pub fn split_bound<'a>(
    params: &[hissc_aop::Param],
    b: &'a hissc_aop::array::Bound,
) -> (Vec<i128>, Vec<Stream<'a>>) {
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
    (scalars, streams)
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
    simulate_streams(net, frames.len(), &streams, params, &[], want_trace)
}

/// Simulates `frames` frames read straight from `streams` (one per input port),
/// with the given parameter values, from the given states (zeros when none are
/// given): nothing is copied per frame.
pub fn simulate_streams(
    net: &Network,
    frames: usize,
    streams: &[Stream],
    params: &[i128],
    states: &[Vec<i128>],
    want_trace: bool,
) -> Result<SimResult, String> {
    let fixed = streams
        .iter()
        .map(|s| s.repeated.then(|| s.data.to_vec()))
        .collect();
    let mut s = Streamer::new(net, params, fixed, want_trace)?;
    if !states.is_empty() {
        s.set_states(states)?;
    }
    let data: Vec<&[i128]> = streams
        .iter()
        .filter(|s| !s.repeated)
        .map(|s| s.data)
        .collect();
    let mut out = s.push(frames, &data)?;
    let mut r = s.finish()?;
    out.append(&mut r.frames);
    r.frames = out;
    Ok(r)
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
    let scalars = scalar_args(k, first);
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

/// The scalar parameters' values among a kernel's call arguments (in
/// signature order; scalars as 0-d arrays).
pub fn scalar_args(k: &hissc_aop::Kernel, args: &[Array]) -> Vec<i128> {
    k.params
        .iter()
        .zip(args)
        .filter(|(p, _)| !p.is_stream())
        .map(|(_, a)| a.data[0])
        .collect()
}

/// Simulates every frame of inputs bound to the kernel parameters `params`
/// (in signature order), reading the arrays in place.
pub fn simulate_bound(
    net: &Network,
    params: &[hissc_aop::Param],
    b: &hissc_aop::array::Bound,
    states: &[Vec<i128>],
    want_trace: bool,
) -> Result<SimResult, String> {
    if b.frames == 0 {
        return Err("no frames to simulate".into());
    }
    let (scalars, streams) = split_bound(params, b);
    simulate_streams(net, b.frames, &streams, &scalars, states, want_trace)
}

#[cfg(test)]
mod tests {
    //! The simulator against the reference interpreter on kernels given in the
    //! array-op IR's text form (no Python): values, states, frames pushed in
    //! blocks, and a network's measured figures.

    use super::*;
    use hissc_aop::Kernel;

    /// A row sum of a product with a broadcast row (a delay, a multiplier, a
    /// reduction whose results come out spread over the frame).
    const ROWSUM: &str = "kernel rowsum(frame: i16[4, 6] @0..1, gain: i16[6] @0..1) {
  v0: i16[4, 6] = input frame @0..1
  v1: i16[6] = input gain @0..1
  v2: i16[4, 6] = broadcast v1 @0..1
  v3: i16[4, 6] = mul v0, v2 @0..1
  v4: i64[4] = reduce sum v3 axes [1] @0..1
  return v4
}
";

    /// A state that accumulates every frame.
    const ACC: &str = "kernel acc(frame: u8[2, 3] @0..1, state total: u32[2, 3] @0..1) {
  v0: u8[2, 3] = input frame @0..1
  v1: u32[2, 3] = state total @0..1
  v2: u32[2, 3] = cast v0 @0..1
  v3: u32[2, 3] = add v1, v2 @0..1
  v4: u64 = reduce sum v3 @0..1
  update total = v3
  return v4
}
";

    fn lowered(text: &str) -> (Kernel, Network) {
        let k = hissc_aop::parse::parse(text).expect("the kernel parses");
        let net = hissc_spn::lower::lower(&k).expect("the kernel lowers");
        hissc_spn::verify::verify(&net).expect("the network verifies");
        (k, net)
    }

    /// `frames` frames of each input: element i of frame f is a pseudo-random
    /// value of the input's dtype.
    fn frames(k: &Kernel, n: usize, seed: u64) -> Vec<Vec<Array>> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                k.params
                    .iter()
                    .filter(|p| p.is_stream())
                    .map(|p| {
                        let data = (0..p.ty.numel())
                            .map(|_| {
                                x = x
                                    .wrapping_mul(6364136223846793005)
                                    .wrapping_add(1442695040888963407);
                                let span = (p.range.hi - p.range.lo + 1) as u128;
                                p.range.lo + ((x >> 11) as u128 % span) as i128
                            })
                            .collect();
                        Array::new(p.ty.dtype, p.ty.shape.clone(), data)
                    })
                    .collect()
            })
            .collect()
    }

    /// The interpreter's outputs of every frame, and the states they leave.
    fn interpreted(k: &Kernel, frames: &[Vec<Array>]) -> (Vec<Vec<Array>>, Vec<Vec<i128>>) {
        let mut states = hissc_aop::interp::zero_states(k);
        let outs = frames
            .iter()
            .map(|f| {
                let args: Vec<&[i128]> = f.iter().map(|a| a.data.as_slice()).collect();
                hissc_aop::interp::run_data(k, &args, &mut states)
            })
            .collect();
        (outs, states)
    }

    #[test]
    fn a_broadcast_product_summed_by_rows_equals_the_interpreter() {
        let (k, net) = lowered(ROWSUM);
        let f = frames(&k, 5, 1);
        let r = simulate(&net, &f, &[], true).unwrap();
        assert_eq!(r.frames, interpreted(&k, &f).0);
        // one element per cycle, frames back to back: a frame every 24 cycles
        assert_eq!(net.frame_period(), 24);
        assert_eq!(r.elements_per_cycle[0], 1.0);
        assert_eq!(r.trace.as_ref().map(Vec::len), Some(r.cycles as usize));
        assert!(r.cycles >= 1 + 4 * 24 + r.latency as u64);
    }

    #[test]
    fn a_state_carries_from_frame_to_frame() {
        let (k, net) = lowered(ACC);
        let f = frames(&k, 4, 2);
        let r = simulate(&net, &f, &[], false).unwrap();
        let (outs, states) = interpreted(&k, &f);
        assert_eq!(r.frames, outs);
        assert_eq!(r.states.len(), 1);
        assert_eq!(r.states[0].data, states[0]);
        // from a state given, not zeros
        let start = vec![vec![7, 0, 1, 4_000_000_000, 5, 6]];
        let streams: Vec<Vec<i128>> = vec![f.iter().flat_map(|fr| fr[0].data.clone()).collect()];
        let data: Vec<Stream> = streams
            .iter()
            .map(|d| Stream {
                data: d,
                repeated: false,
            })
            .collect();
        let r = simulate_streams(&net, f.len(), &data, &[], &start, false).unwrap();
        let mut st = start.clone();
        for (fr, got) in f.iter().zip(&r.frames) {
            let want = hissc_aop::interp::run_data(&k, &[&fr[0].data], &mut st);
            assert_eq!(*got, want);
        }
        assert_eq!(r.states[0].data, st[0], "the u32 state wraps as numpy's");
    }

    #[test]
    fn frames_pushed_one_by_one_equal_the_batch() {
        let (k, net) = lowered(ROWSUM);
        let f = frames(&k, 4, 3);
        let batch = simulate(&net, &f, &[], true).unwrap();
        let mut s = Streamer::new(&net, &[], vec![None, None], true).unwrap();
        let mut got = Vec::new();
        for fr in &f {
            let data: Vec<&[i128]> = fr.iter().map(|a| a.data.as_slice()).collect();
            got.extend(s.push(1, &data).unwrap());
        }
        let mut rest = s.finish().unwrap();
        got.append(&mut rest.frames);
        assert_eq!(got, batch.frames);
        assert_eq!(rest.cycles, batch.cycles);
        assert_eq!(rest.trace, batch.trace);
    }

    #[test]
    fn a_wrong_number_of_elements_is_refused() {
        let (_, net) = lowered(ROWSUM);
        let mut s = Streamer::new(&net, &[], vec![None, None], false).unwrap();
        let short = vec![0i128; 23];
        let gain = vec![0i128; 6];
        let e = s.push(1, &[&short, &gain]).unwrap_err();
        assert!(e.contains("23 elements for 1 frames, expected 24"), "{e}");
    }
}
