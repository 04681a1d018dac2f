//! The cycle engine: evaluates the flattened network one clock cycle at a time.

use crate::flat::{flatten, Flat, Op, Opnd};
use hissc_aop::{semantics, ReduceOp};

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
use hissc_spn::Network;

/// The state of a running network.
pub struct Engine {
    flat: Flat,
    cur: Vec<i128>,
    nxt: Vec<i128>,
    cv: Vec<bool>,
    nv: Vec<bool>,
    st: Vec<i128>,
}

impl Engine {
    /// A network in reset state.
    pub fn new(net: &Network) -> Engine {
        let flat = flatten(net);
        let (n, s) = (flat.slots, flat.state);
        Engine {
            flat,
            cur: vec![0; n],
            nxt: vec![0; n],
            cv: vec![false; n],
            nv: vec![false; n],
            st: vec![0; s],
        }
    }

    #[inline]
    fn get(&self, o: Opnd) -> i128 {
        match o {
            Opnd::Slot(s) => self.cur[s as usize],
            Opnd::Const(c) => c,
        }
    }

    /// Sets the parameter registers and computes the static buses.
    pub fn set_params(&mut self, params: &[i128]) {
        for (i, p) in params.iter().enumerate() {
            if let Some(s) = self.flat.param_slots[i] {
                self.cur[s as usize] = *p;
            }
        }
        let statics = std::mem::take(&mut self.flat.statics);
        for op in &statics {
            let (dst, v) = self.elementwise(op);
            self.cur[dst] = v;
        }
        self.flat.statics = statics;
        self.nxt.copy_from_slice(&self.cur);
    }

    /// Synchronous reset: every valid flag and counter to zero.
    pub fn reset(&mut self) {
        self.cv.iter_mut().for_each(|v| *v = false);
        self.nv.iter_mut().for_each(|v| *v = false);
        self.st.iter_mut().for_each(|v| *v = 0);
        for op in &self.flat.ops {
            if let Op::Bincount { bins, state, .. } = op {
                self.st[state + 2] = *bins as i128; // nothing to stream out yet
            }
        }
    }

    /// Drives input port `port` for the current cycle: one value per lane.
    #[inline]
    pub fn set_input(&mut self, port: usize, valid: bool, data: &[i128]) {
        for (&s, &d) in self.flat.input_slots[port].iter().zip(data) {
            self.cur[s as usize] = d;
            self.cv[s as usize] = valid;
        }
    }

    /// Marks input port `port` idle for the current cycle.
    #[inline]
    pub fn set_idle(&mut self, port: usize) {
        for &s in &self.flat.input_slots[port] {
            self.cv[s as usize] = false;
        }
    }

    /// The value and valid flag of a bus in the current cycle.
    #[inline]
    pub fn bus(&self, slot: usize) -> (bool, i128) {
        (self.cv[slot], self.cur[slot])
    }

    #[inline(always)]
    fn elementwise(&self, op: &Op) -> (usize, i128) {
        match *op {
            Op::Unary { dst, op, d, a, .. } => (dst as usize, semantics::unary(op, d, self.get(a))),
            Op::Binary {
                dst, op, d, a, b, ..
            } => (
                dst as usize,
                semantics::binary(op, d, self.get(a), self.get(b)),
            ),
            Op::Compare { dst, op, a, b, .. } => {
                (dst as usize, op.eval(self.get(a), self.get(b)) as i128)
            }
            Op::Select { dst, c, a, b, .. } => (
                dst as usize,
                if self.get(c) != 0 {
                    self.get(a)
                } else {
                    self.get(b)
                },
            ),
            Op::Cast { dst, d, a, .. } => (dst as usize, d.wrap(self.get(a))),
            // as the hardware: the index's low bits read a power-of-two ROM (the
            // index is in range whenever it is valid)
            Op::Lookup {
                dst, ref table, a, ..
            } => {
                let size = table.len().max(2).next_power_of_two();
                (
                    dst as usize,
                    table
                        .get(self.get(a) as usize & (size - 1))
                        .copied()
                        .unwrap_or(0),
                )
            }
            _ => unreachable!("not an elementwise op"),
        }
    }

    /// One rising clock edge.
    pub fn tick(&mut self) {
        let ops = std::mem::take(&mut self.flat.ops);
        for op in &ops {
            match op {
                Op::Unary { v, .. }
                | Op::Binary { v, .. }
                | Op::Compare { v, .. }
                | Op::Select { v, .. }
                | Op::Cast { v, .. }
                | Op::Lookup { v, .. } => {
                    let (dst, val) = self.elementwise(op);
                    self.nxt[dst] = val;
                    self.nv[dst] = self.cv[*v as usize];
                }
                Op::Reduce {
                    dst,
                    arg,
                    op,
                    d,
                    shape,
                    reduced,
                    line,
                    flat,
                    idx,
                    acc,
                    late,
                } => {
                    let (dst, arg) = (*dst as usize, *arg as usize);
                    self.nxt[dst] = self.cur[dst];
                    self.nv[dst] = false;
                    if let Some(l) = *late {
                        // the result of the previous cycle leaves now
                        if self.st[l + 1] != 0 {
                            self.nxt[dst] = self.st[l];
                            self.nv[dst] = true;
                            self.st[l + 1] = 0;
                        }
                    }
                    if self.cv[arg] {
                        let x = self.cur[arg];
                        let (mut first, mut last, mut addr, mut pos) = (true, true, 0usize, 0i128);
                        for i in 0..shape.len() {
                            let k = self.st[idx + i];
                            if reduced[i] {
                                first &= k == 0;
                                last &= k as u32 + 1 == shape[i];
                                if !*flat {
                                    pos = k;
                                }
                            } else {
                                addr += k as usize * line[i] as usize;
                            }
                            if *flat {
                                pos = pos * shape[i] as i128 + k;
                            }
                        }
                        let (a, ai) = (acc + 2 * addr, acc + 2 * addr + 1);
                        let arg_op = matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin);
                        let (value, index) = if arg_op {
                            if first || semantics::arg_better(*op, x, self.st[a]) {
                                (x, pos)
                            } else {
                                (self.st[a], self.st[ai])
                            }
                        } else {
                            let prev = if first {
                                semantics::reduce_identity(*op, *d)
                            } else {
                                self.st[a]
                            };
                            (semantics::reduce_step(*op, *d, prev, x), 0)
                        };
                        self.st[a] = value;
                        self.st[ai] = index;
                        if last {
                            let out = if arg_op { index } else { value };
                            match *late {
                                Some(l) => {
                                    self.st[l] = out;
                                    self.st[l + 1] = 1;
                                }
                                None => {
                                    self.nxt[dst] = out;
                                    self.nv[dst] = true;
                                }
                            }
                        }
                        advance(&mut self.st[*idx..*idx + shape.len()], shape);
                    }
                }
                &Op::ReduceAll {
                    dst,
                    arg,
                    op,
                    d,
                    n,
                    acc,
                } => {
                    let (dst, arg) = (dst as usize, arg as usize);
                    self.nxt[dst] = self.cur[dst];
                    self.nv[dst] = false;
                    if self.cv[arg] {
                        let k = self.st[acc + 1];
                        let prev = if k == 0 {
                            semantics::reduce_identity(op, d)
                        } else {
                            self.st[acc]
                        };
                        let v = semantics::reduce_step(op, d, prev, self.cur[arg]);
                        self.st[acc] = v;
                        if k + 1 == n {
                            self.st[acc + 1] = 0;
                            self.nxt[dst] = v;
                            self.nv[dst] = true;
                        } else {
                            self.st[acc + 1] = k + 1;
                        }
                    }
                }
                Op::Slice {
                    dst,
                    arg,
                    shape,
                    sel,
                    idx,
                } => {
                    let (dst, arg) = (*dst as usize, *arg as usize);
                    self.nxt[dst] = self.cur[arg];
                    self.nv[dst] = false;
                    if self.cv[arg] {
                        let keep = (0..shape.len()).all(|i| {
                            let k = self.st[idx + i] as u32;
                            let (s, st, c) = sel[i];
                            k >= s && (k - s).is_multiple_of(st) && (k - s) / st < c
                        });
                        self.nv[dst] = keep;
                        advance(&mut self.st[*idx..*idx + shape.len()], shape);
                    }
                }
                &Op::Scan {
                    dst,
                    arg,
                    d,
                    count,
                    acc,
                    cnt,
                } => {
                    let (dst, arg) = (dst as usize, arg as usize);
                    self.nxt[dst] = self.cur[dst];
                    self.nv[dst] = self.cv[arg];
                    if self.cv[arg] {
                        let x = self.cur[arg];
                        let v = if self.st[cnt] == 0 {
                            d.wrap(x)
                        } else {
                            d.wrap(self.st[acc] + x)
                        };
                        self.st[acc] = v;
                        self.nxt[dst] = v;
                        self.st[cnt] = (self.st[cnt] + 1) % count as i128;
                    }
                }
                &Op::Bincount {
                    dst,
                    x,
                    w,
                    m,
                    bins,
                    count,
                    float,
                    mem,
                    state,
                } => {
                    let dst = dst as usize;
                    let (cnt, bank, rd, rbank) = (state, state + 1, state + 2, state + 3);
                    // stream out the finished bank, clearing it as it goes (after a
                    // countdown from -2: the hardware's block RAM pipeline)
                    self.nxt[dst] = self.cur[dst];
                    self.nv[dst] = false;
                    if self.st[rd] < 0 {
                        self.st[rd] += 1;
                    } else if (self.st[rd] as u32) < bins {
                        let at =
                            mem + (self.st[rbank] as usize) * bins as usize + self.st[rd] as usize;
                        let v = self.st[at];
                        self.nxt[dst] = if float {
                            (v as f64).to_bits() as i128
                        } else {
                            v
                        };
                        self.nv[dst] = true;
                        self.st[at] = 0;
                        self.st[rd] += 1;
                    }
                    let x = x as usize;
                    if self.cv[x] {
                        if m.is_none_or(|m| self.cur[m as usize] != 0) {
                            let at = mem
                                + (self.st[bank] as usize) * bins as usize
                                + self.cur[x] as usize;
                            self.st[at] += w.map_or(1, |w| self.cur[w as usize]);
                        }
                        self.st[cnt] += 1;
                        if self.st[cnt] as u32 == count {
                            self.st[cnt] = 0;
                            self.st[rbank] = self.st[bank];
                            self.st[bank] ^= 1;
                            // the hardware's pipeline: 2 cycles, and 2 more to make float64
                            self.st[rd] = if float {
                                -2 - hissc_spn::sched::FLOAT_LATENCY as i128
                            } else {
                                -2
                            };
                        }
                    }
                }
                Op::Broadcast {
                    dst,
                    arg,
                    timing,
                    mem,
                    len,
                    wcnt,
                    rcnt,
                    to,
                    strides,
                } => {
                    let (dst, arg, timing) = (*dst as usize, *arg as usize, *timing as usize);
                    let w = self.st[*wcnt] as usize;
                    let writing = self.cv[arg];
                    self.nxt[dst] = self.cur[dst];
                    self.nv[dst] = self.cv[timing];
                    if self.cv[timing] {
                        let mut src = 0usize;
                        for (i, s) in strides.iter().enumerate() {
                            src += self.st[rcnt + i] as usize * *s as usize;
                        }
                        self.nxt[dst] = if writing && w == src {
                            self.cur[arg]
                        } else {
                            self.st[mem + src]
                        };
                        // advance the read counters, innermost axis first
                        for i in (0..to.len()).rev() {
                            self.st[rcnt + i] += 1;
                            if self.st[rcnt + i] as u32 == to[i] {
                                self.st[rcnt + i] = 0;
                            } else {
                                break;
                            }
                        }
                    }
                    if writing {
                        self.st[mem + w] = self.cur[arg];
                        self.st[*wcnt] = ((w + 1) % *len as usize) as i128;
                    }
                }
                &Op::Delay {
                    dst,
                    arg,
                    ring,
                    n,
                    pos,
                } => {
                    let (dst, arg) = (dst as usize, arg as usize);
                    if n == 1 {
                        self.nxt[dst] = self.cur[arg];
                        self.nv[dst] = self.cv[arg];
                    } else {
                        let p = self.st[pos] as usize;
                        let at = ring + 2 * p;
                        self.nxt[dst] = self.st[at];
                        self.nv[dst] = self.st[at + 1] != 0;
                        self.st[at] = self.cur[arg];
                        self.st[at + 1] = self.cv[arg] as i128;
                        self.st[pos] = ((p + 1) % (n as usize - 1)) as i128;
                    }
                }
            }
        }
        self.flat.ops = ops;
        // Combinational buses (inputs, statics) keep their values across the swap.
        std::mem::swap(&mut self.cur, &mut self.nxt);
        std::mem::swap(&mut self.cv, &mut self.nv);
        for &s in self.flat.input_slots.iter().flatten() {
            self.cv[s as usize] = false;
        }
    }
}
