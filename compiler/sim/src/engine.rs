//! The cycle engine: evaluates the flattened network one clock cycle at a time.

use crate::flat::{flatten, Flat, Op, Opnd};
use hissc_aop::semantics;
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
    }

    /// Drives input port `port` for the current cycle.
    #[inline]
    pub fn set_input(&mut self, port: usize, valid: bool, data: i128) {
        let s = self.flat.input_slots[port] as usize;
        self.cur[s] = data;
        self.cv[s] = valid;
    }

    /// The value and valid flag of a bus in the current cycle.
    #[inline]
    pub fn bus(&self, slot: usize) -> (bool, i128) {
        (self.cv[slot], self.cur[slot])
    }

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
                | Op::Cast { v, .. } => {
                    let (dst, val) = self.elementwise(op);
                    self.nxt[dst] = val;
                    self.nv[dst] = self.cv[*v as usize];
                }
                &Op::Reduce {
                    dst,
                    arg,
                    op,
                    d,
                    count,
                    acc,
                    cnt,
                } => {
                    let (dst, arg) = (dst as usize, arg as usize);
                    self.nxt[dst] = self.cur[dst];
                    self.nv[dst] = false;
                    if self.cv[arg] {
                        let x = self.cur[arg];
                        let first = self.st[cnt] == 0;
                        let a = if first {
                            semantics::reduce_step(op, d, semantics::reduce_identity(op, d), x)
                        } else {
                            semantics::reduce_step(op, d, self.st[acc], x)
                        };
                        if self.st[cnt] as u32 == count - 1 {
                            self.nxt[dst] = a;
                            self.nv[dst] = true;
                            self.st[cnt] = 0;
                        } else {
                            self.st[cnt] += 1;
                        }
                        self.st[acc] = a;
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
        for &s in &self.flat.input_slots {
            self.cv[s as usize] = false;
        }
    }
}
