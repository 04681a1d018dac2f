//! The cycle engine: evaluates the flattened network a block of clock cycles at a
//! time.
//!
//! Every bus has a row of `B + 1` cells, one per cycle of the block: cell `t` is
//! the bus's value (and valid flag) during cycle `t` of the block. A registered
//! process computes cell `t + 1` of its bus from cell `t` of its operands, so,
//! because the node order is a topological order (the verifier's guarantee), one
//! pass over the processes in that order, each over the whole block, computes
//! exactly what cycle-by-cycle evaluation computes — with one dispatch per process
//! per block instead of one per cycle, and inner loops over plain arrays.
//! Cell `B` of the block (the first cycle of the next) becomes cell 0 of the next
//! block ([`Engine::carry`]). Each process's private state (counters,
//! accumulators, memories) advances in cycle order inside its own loop.
//!
//! Input buses are written by the driver for each cycle of a block before
//! [`Engine::eval`]; static buses hold their value in every cell.

pub(crate) mod bincount;
pub(crate) mod broadcast;
pub(crate) mod delay;
pub(crate) mod iota;
pub(crate) mod load;
pub(crate) mod merge;
pub(crate) mod pack;
pub(crate) mod reduce;
pub(crate) mod scan;
pub(crate) mod segment;
pub(crate) mod slice;

use crate::flat::{flatten, Flat, Op, Opnd};
use hissc_aop::semantics;
use hissc_spn::Network;

/// Advances a multi-index counter over `shape` (innermost axis first), wrapping.
fn advance(idx: &mut [i128], shape: &[u32]) {
    for i in (0..shape.len()).rev() {
        idx[i] += 1;
        if idx[i] < shape[i] as i128 {
            return;
        }
        idx[i] = 0;
    }
}

/// Cycles per block for a network of `slots` buses: long enough that dispatch
/// vanishes, short enough that the rows of a wide network stay in cache.
fn block_len(slots: usize) -> usize {
    ((1usize << 18) / slots.max(1)).clamp(8, 1024)
}

/// The state of a running network.
pub struct Engine {
    flat: Flat,
    /// Cycles per block.
    len: usize,
    /// Row stride (`len + 1`).
    row: usize,
    /// Bus values, one row per bus.
    val: Vec<i128>,
    /// Valid flags, one row per bus.
    vld: Vec<bool>,
    /// Private state of the processes.
    st: Vec<i128>,
    /// Each state's memory, element `q * banks + l` in bank `l` at address `q`.
    mems: Vec<Vec<i128>>,
    /// Each state's write side.
    stores: Vec<load::Store>,
}

impl Engine {
    /// A network in reset state.
    pub fn new(net: &Network) -> Engine {
        let flat = flatten(net);
        // a block never holds a state write and the next frame's read of it
        let slack = hissc_spn::proc::load::slack(net).map_or(usize::MAX, |s| s.max(1) as usize);
        let len = block_len(flat.slots).min(slack);
        let row = len + 1;
        Engine {
            val: vec![0; flat.slots * row],
            vld: vec![false; flat.slots * row],
            st: vec![0; flat.state],
            mems: net
                .states
                .iter()
                .map(|s| vec![0; hissc_aop::types::numel(&s.shape)])
                .collect(),
            stores: load::Store::all(net),
            flat,
            len,
            row,
        }
    }

    /// Sets each state's memory (its elements in C order; zeros when never set).
    pub fn set_states(&mut self, states: &[Vec<i128>]) -> Result<(), String> {
        if states.len() != self.mems.len() {
            return Err(format!(
                "{} states given, the network has {}",
                states.len(),
                self.mems.len()
            ));
        }
        for (m, s) in self.mems.iter_mut().zip(states) {
            if m.len() != s.len() {
                return Err(format!(
                    "a state of {} elements is given {}",
                    m.len(),
                    s.len()
                ));
            }
            m.copy_from_slice(s);
        }
        Ok(())
    }

    /// Number of buses (slots).
    pub fn slots(&self) -> usize {
        self.flat.slots
    }

    /// The most cycles one [`Engine::eval`] takes.
    pub fn block(&self) -> usize {
        self.len
    }

    /// Sets the parameter registers and computes the static buses (in every cell).
    pub fn set_params(&mut self, params: &[i128]) {
        for (i, p) in params.iter().enumerate() {
            if let Some(s) = self.flat.param_slots[i] {
                let at = s as usize * self.row;
                self.val[at..at + self.row].fill(*p);
            }
        }
        for k in 0..self.flat.statics.len() {
            let (dst, v) = self.elementwise(&self.flat.statics[k], 0);
            let at = dst * self.row;
            self.val[at..at + self.row].fill(v);
        }
    }

    /// Synchronous reset: every valid flag and counter to zero.
    pub fn reset(&mut self) {
        self.vld.fill(false);
        self.st.fill(0);
        for s in &mut self.stores {
            s.wcnt.fill(0);
        }
        for op in &self.flat.ops {
            if let Op::Bincount(b) = op {
                self.st[b.state + 2] = b.bins as i128; // nothing to stream out yet
            }
        }
    }

    /// Drives input port `port` in cycles `t0..` of the block with `data`: its
    /// elements in order, `lanes` per cycle (lane `l` of a cycle takes element `l`).
    pub fn drive(&mut self, port: usize, t0: usize, data: &[i128]) {
        let slots = &self.flat.input_slots[port];
        let lanes = slots.len();
        let k = data.len() / lanes;
        for (l, &s) in slots.iter().enumerate() {
            let at = s as usize * self.row + t0;
            if lanes == 1 {
                self.val[at..at + k].copy_from_slice(data);
            } else {
                for (cell, x) in self.val[at..at + k]
                    .iter_mut()
                    .zip(data[l..].iter().step_by(lanes))
                {
                    *cell = *x;
                }
            }
            self.vld[at..at + k].fill(true);
        }
    }

    /// Marks input port `port` idle in cycles `t0..t0 + k` of the block (its data holds).
    pub fn idle(&mut self, port: usize, t0: usize, k: usize) {
        for &s in &self.flat.input_slots[port] {
            let at = s as usize * self.row + t0;
            // cell 0 holds what the previous block's last cycle carried over
            let held = self.val[if t0 > 0 { at - 1 } else { at }];
            self.val[at..at + k].fill(held);
            self.vld[at..at + k].fill(false);
        }
    }

    /// The bus slots of input port `port`, one per lane.
    pub fn input_slots(&self, port: usize) -> &[u32] {
        &self.flat.input_slots[port]
    }

    /// The valid flags of a bus in cycles `0..n` of the block.
    #[inline]
    pub fn valid_row(&self, slot: usize, n: usize) -> &[bool] {
        let at = slot * self.row;
        &self.vld[at..at + n]
    }

    /// The valid flag and value of a bus in cycle `t` of the block.
    #[inline]
    pub fn bus(&self, slot: usize, t: usize) -> (bool, i128) {
        let at = slot * self.row + t;
        (self.vld[at], self.val[at])
    }

    #[inline(always)]
    fn get(&self, o: Opnd, t: usize) -> i128 {
        match o {
            Opnd::Slot(s) => self.val[s as usize * self.row + t],
            Opnd::Const(c) => c,
        }
    }

    /// An elementwise process's bus and its value from the operands in cell `t`.
    #[inline(always)]
    fn elementwise(&self, op: &Op, t: usize) -> (usize, i128) {
        match *op {
            Op::Unary { dst, op, d, a, .. } => {
                (dst as usize, semantics::unary(op, d, self.get(a, t)))
            }
            Op::Binary {
                dst, op, d, a, b, ..
            } => (
                dst as usize,
                semantics::binary(op, d, self.get(a, t), self.get(b, t)),
            ),
            Op::Compare { dst, op, a, b, .. } => (
                dst as usize,
                op.eval(self.get(a, t), self.get(b, t)) as i128,
            ),
            Op::Select { dst, c, a, b, .. } => (
                dst as usize,
                if self.get(c, t) != 0 {
                    self.get(a, t)
                } else {
                    self.get(b, t)
                },
            ),
            Op::Cast { dst, d, a, .. } => (dst as usize, d.wrap(self.get(a, t))),
            Op::Float { dst, a, .. } => (dst as usize, (self.get(a, t) as f64).to_bits() as i128),
            // as the hardware: the index's low bits read a power-of-two ROM (the
            // index is in range whenever it is valid)
            Op::Lookup {
                dst, ref table, a, ..
            } => {
                let size = hissc_spn::proc::elementwise::rom_size(table.len());
                (
                    dst as usize,
                    table
                        .get(self.get(a, t) as usize & (size - 1))
                        .copied()
                        .unwrap_or(0),
                )
            }
            Op::Reduce(_)
            | Op::ReduceAll(_)
            | Op::Slice(_)
            | Op::Scan(_)
            | Op::Segment(_)
            | Op::Bincount(_)
            | Op::Broadcast(_)
            | Op::Pack(_)
            | Op::Delay(_)
            | Op::Load(_)
            | Op::Iota(_)
            | Op::Merge(_) => unreachable!("not an elementwise op"),
        }
    }

    /// Evaluates cycles `0..n` of the block (`n <= block()`): afterwards every
    /// bus's cells `0..=n` hold its values in those cycles and the next.
    pub fn eval(&mut self, n: usize) {
        debug_assert!(n <= self.len);
        // the cycle after the block: inputs idle, holding their data
        for &s in self.flat.input_slots.iter().flatten() {
            let at = s as usize * self.row + n;
            self.val[at] = self.val[at - 1];
            self.vld[at] = false;
        }
        let ops = std::mem::take(&mut self.flat.ops);
        for op in &ops {
            self.eval_op(op, n);
        }
        self.flat.ops = ops;
        self.store(n);
    }

    /// Makes cell `n` (the cycle after an evaluated block of `n`) cell 0 of the next block.
    pub fn carry(&mut self, n: usize) {
        for s in 0..self.flat.slots {
            let at = s * self.row;
            self.val[at] = self.val[at + n];
            self.vld[at] = self.vld[at + n];
        }
    }

    /// Cells `d..d + n` from `f` of two operands' cells `0..n`.
    #[inline(always)]
    fn map2(&mut self, d: usize, n: usize, a: Opnd, b: Opnd, f: impl Fn(i128, i128) -> i128) {
        let row = self.row;
        match (a, b) {
            (Opnd::Slot(a), Opnd::Slot(b)) => {
                let (a, b) = (a as usize * row, b as usize * row);
                for t in 0..n {
                    self.val[d + t] = f(self.val[a + t], self.val[b + t]);
                }
            }
            (Opnd::Slot(a), Opnd::Const(c)) => {
                let a = a as usize * row;
                for t in 0..n {
                    self.val[d + t] = f(self.val[a + t], c);
                }
            }
            (Opnd::Const(c), Opnd::Slot(b)) => {
                let b = b as usize * row;
                for t in 0..n {
                    self.val[d + t] = f(c, self.val[b + t]);
                }
            }
            (Opnd::Const(x), Opnd::Const(y)) => self.val[d..d + n].fill(f(x, y)),
        }
    }

    /// One process over cycles `0..n` of the block.
    fn eval_op(&mut self, op: &Op, n: usize) {
        let row = self.row;
        // cell t of bus `s`
        let at = |s: u32, t: usize| s as usize * row + t;
        match op {
            Op::Unary { dst, v, .. }
            | Op::Binary { dst, v, .. }
            | Op::Compare { dst, v, .. }
            | Op::Select { dst, v, .. }
            | Op::Cast { dst, v, .. }
            | Op::Float { dst, v, .. }
            | Op::Lookup { dst, v, .. } => {
                let d = at(*dst, 1);
                match *op {
                    // the common ones with their dispatch hoisted out of the loop
                    Op::Binary {
                        op, d: ty, a, b, ..
                    } => self.map2(d, n, a, b, |x, y| semantics::binary(op, ty, x, y)),
                    Op::Compare { op, a, b, .. } => {
                        self.map2(d, n, a, b, |x, y| op.eval(x, y) as i128)
                    }
                    Op::Select {
                        c: Opnd::Slot(c),
                        a,
                        b,
                        ..
                    } => {
                        let c = at(c, 0);
                        for t in 0..n {
                            self.val[d + t] = if self.val[c + t] != 0 {
                                self.get(a, t)
                            } else {
                                self.get(b, t)
                            };
                        }
                    }
                    _ => {
                        for t in 0..n {
                            self.val[d + t] = self.elementwise(op, t).1;
                        }
                    }
                }
                let s = at(*v, 0);
                self.vld.copy_within(s..s + n, d);
            }
            Op::Reduce(x) => self.reduce(x, n),
            Op::ReduceAll(x) => self.reduce_all(x, n),
            Op::Slice(x) => self.slice(x, n),
            Op::Scan(x) => self.scan(x, n),
            Op::Segment(x) => self.segment(x, n),
            Op::Bincount(x) => self.bincount(x, n),
            Op::Broadcast(x) => self.broadcast(x, n),
            Op::Pack(x) => self.pack(x, n),
            Op::Delay(x) => self.delay(x, n),
            Op::Load(x) => self.load(x, n),
            Op::Iota(x) => self.iota(x, n),
            Op::Merge(x) => self.merge(x, n),
        }
    }
}
