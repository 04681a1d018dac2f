//! Planning: which values a fused loop computes, which are only views, and
//! which steps run in what order.
//!
//! Elementwise instructions of one shape join that shape's open *group*: one
//! loop over the shape, a chunk of elements at a time, with every
//! intermediate in a small scratch buffer that stays in cache. Reductions
//! (but `argmax`/`argmin`), bin counts and `a[mask]` fold into the group of
//! their operand's shape as *sinks*. A group is closed, and so runs, as soon
//! as something outside it needs one of its values whole: a slice or
//! broadcast of it, a step, or an elementwise value that reads one of its
//! sinks. Its members read outside are stored. What is neither a group
//! member nor a view is a *step* over whole arrays (scalars, scans,
//! concatenations, `argmax`, copies).
//!
//! Groups and steps run in the order planned; everything a group reads was
//! written before it closes, and nothing reads a group's value before it
//! closes, so the order computes what the interpreter's definition order does.

use crate::view::{Base, View};
use cranelift_entity::EntityRef;
use hissc_aop::{DType, Inst, Interval, Kernel, ReduceOp, Value};
use std::collections::HashMap;

/// A fused loop's index.
pub(crate) type GroupId = usize;

/// How a value is computed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// Read in place through a view (inputs, states, slices, broadcasts, reshapes).
    View(View),
    /// Computed a chunk at a time inside a group's loop.
    Member(GroupId),
    /// Folded inside a group's loop into lanes of its own.
    Sink(GroupId),
    /// Written whole by a step.
    Step,
    /// Lanes fixed when the program is made (constants and tables).
    Const(Vec<i64>),
}

/// One step of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Run a group's loop.
    Group(GroupId),
    /// Compute one value whole from its operands' whole arrays.
    Eval(Value),
    /// Copy a view's elements into the value's own lanes (a table a loop indexes).
    Copy(Value),
}

/// A group: the values of one loop, in definition order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Group {
    /// The shapes of its values: one, or several of one size when a reshape
    /// made a member of one shape a member of another (the loop then runs
    /// over flat indices).
    pub shapes: Vec<Vec<u32>>,
    /// Members and sinks, in definition order.
    pub items: Vec<Value>,
    /// Can the loop run over flat indices (every view it reads is back to
    /// back, no reduction keeps an axis)?
    pub flat: bool,
}

/// What planning decided for a kernel.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Per value.
    pub nodes: Vec<Node>,
    /// Per value: its member lanes are written (read outside its loop, or a root).
    pub stored: Vec<bool>,
    /// Per value: a copy of its view is in its own lanes ([`Step::Copy`]).
    pub copied: Vec<bool>,
    /// Per value: a reshaped member, the same elements as this member.
    pub alias: Vec<Option<Value>>,
    /// The loops.
    pub groups: Vec<Group>,
    /// The frame's steps, in order.
    pub steps: Vec<Step>,
}

impl Plan {
    /// How a value's elements are read from outside its loop, once written.
    pub fn view(&self, k: &Kernel, v: Value) -> View {
        match &self.nodes[v.index()] {
            Node::View(view) if !self.copied[v.index()] => view.clone(),
            _ => View::whole(Base::Lanes(v), &k.ty(v).shape),
        }
    }
}

/// Is `inst` computed elementwise inside a loop (when its shape is not 0-d)?
fn in_loop(inst: &Inst) -> bool {
    inst.is_elementwise() || matches!(inst, Inst::Gather(..) | Inst::Iota)
}

/// Is `inst` folded inside the loop of its operand's shape?
pub(crate) fn is_sink(inst: &Inst) -> bool {
    match inst {
        Inst::Reduce(op, ..) => !matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin),
        Inst::Bincount(..) | Inst::Compress(..) => true,
        _ => false,
    }
}

struct Planner<'k> {
    k: &'k Kernel,
    /// Every value's interval (a cast that keeps every value is no loop).
    ranges: hissc_aop::passes::ranges::Ranges,
    plan: Plan,
    /// The open group of each shape (a group may be open for several).
    open: HashMap<Vec<u32>, GroupId>,
    /// Per group: has it run?
    closed: Vec<bool>,
}

impl Planner<'_> {
    fn close(&mut self, g: GroupId) {
        if !self.closed[g] {
            self.closed[g] = true;
            self.open.retain(|_, o| *o != g);
            self.plan.steps.push(Step::Group(g));
        }
    }

    /// `a` is read whole, outside its loop: its loop runs first and, for a
    /// member, stores it.
    fn outside(&mut self, a: Value) {
        match self.plan.nodes[a.index()] {
            Node::Member(g) => {
                self.plan.stored[a.index()] = true;
                self.close(g);
            }
            Node::Sink(g) => self.close(g),
            _ => {}
        }
    }

    /// `v` (of `shape`, reading `args` of that shape or 0-d) joins the open
    /// group of its shape; operands from elsewhere are read outside theirs.
    /// `flat`: `v` itself lets the loop run over flat indices.
    fn join(&mut self, v: Value, shape: &[u32], args: &[Value], as_sink: bool, flat: bool) {
        // sinks, steps and 0-d values first: reading one may close this shape's group
        for &a in args {
            if !matches!(self.plan.nodes[a.index()], Node::Member(_)) {
                self.outside(a);
            }
        }
        // a view read in place that is not back to back needs rows of one shape
        let flat = flat
            && args
                .iter()
                .all(|&a| self.k.ty(a).shape.is_empty() || self.plan.view(self.k, a).contiguous());
        if let Some(&g) = self.open.get(shape) {
            if !flat && self.plan.groups[g].shapes.len() > 1 {
                self.close(g);
            }
        }
        for &a in args {
            if let Node::Member(g) = self.plan.nodes[a.index()] {
                if self.open.get(shape) != Some(&g) {
                    self.outside(a);
                }
            }
        }
        let g = match self.open.get(shape) {
            Some(&g) => g,
            None => {
                self.plan.groups.push(Group {
                    shapes: vec![shape.to_vec()],
                    items: Vec::new(),
                    flat: true,
                });
                self.closed.push(false);
                let g = self.plan.groups.len() - 1;
                self.open.insert(shape.to_vec(), g);
                g
            }
        };
        self.plan.groups[g].items.push(v);
        self.plan.groups[g].flat &= flat;
        self.plan.nodes[v.index()] = if as_sink {
            Node::Sink(g)
        } else {
            Node::Member(g)
        };
    }

    fn step(&mut self, v: Value, args: &[Value]) {
        for &a in args {
            self.outside(a);
        }
        self.plan.steps.push(Step::Eval(v));
        self.plan.nodes[v.index()] = Node::Step;
    }

    /// `a`'s lanes as a table a loop indexes: a copy when it is a view that
    /// is not already lanes.
    fn table(&mut self, a: Value) {
        self.outside(a);
        if let Node::View(view) = &self.plan.nodes[a.index()] {
            let in_lanes =
                matches!(view.base, Base::Lanes(_)) && view.contiguous() && view.offset == 0;
            if !in_lanes && !self.plan.copied[a.index()] {
                self.plan.copied[a.index()] = true;
                self.plan.steps.push(Step::Copy(a));
            }
        }
    }

    /// A cast `v` of `a` that keeps every value of `a` (its interval lies in
    /// `v`'s dtype, and neither is a float, whose lanes are bits) holds the same
    /// lanes: when both are members of one loop, `v` is `a`'s register and
    /// costs no pass over the chunk.
    fn cast_in_place(&mut self, v: Value, a: Value) {
        let (from, to) = (self.k.dtype(a), self.k.dtype(v));
        let floats = from == DType::F64 || to == DType::F64;
        let keeps = self.ranges[a].within(Interval::of(to)) && (!floats || from == to);
        let same_loop = matches!(
            (&self.plan.nodes[v.index()], &self.plan.nodes[a.index()]),
            (Node::Member(g), Node::Member(h)) if g == h
        );
        if keeps && same_loop {
            self.plan.alias[v.index()] = Some(self.plan.alias[a.index()].unwrap_or(a));
        }
    }

    /// Can a reshape of `a` stay in `a`'s loop (an open member of a loop
    /// that can run flat)?
    fn reshapes_in_loop(&self, a: Value) -> bool {
        match self.plan.nodes[a.index()] {
            Node::Member(g) => !self.closed[g] && self.plan.groups[g].flat,
            _ => false,
        }
    }

    fn plan_value(&mut self, v: Value) {
        let k = self.k;
        let d = &k.insts[v];
        let shape = &d.ty.shape;
        let args = d.inst.args();
        match &d.inst {
            Inst::Input(i) => {
                let p = &k.params[*i as usize];
                if p.is_stream() {
                    self.plan.nodes[v.index()] =
                        Node::View(View::whole(Base::Input(*i as usize), shape));
                } else {
                    self.step(v, &[]);
                }
            }
            Inst::State(i) => {
                self.plan.nodes[v.index()] =
                    Node::View(View::whole(Base::State(*i as usize), shape));
            }
            Inst::Const(c) => self.plan.nodes[v.index()] = Node::Const(vec![*c as i64]),
            Inst::Table(t) => {
                self.plan.nodes[v.index()] = Node::Const(t.iter().map(|&x| x as i64).collect())
            }
            Inst::Reshape(a) if self.reshapes_in_loop(*a) => {
                // the same elements in the same loop, which now runs flat
                let Node::Member(g) = self.plan.nodes[a.index()] else {
                    unreachable!("checked by reshapes_in_loop")
                };
                self.plan.alias[v.index()] = Some(self.plan.alias[a.index()].unwrap_or(*a));
                self.plan.nodes[v.index()] = Node::Member(g);
                self.plan.groups[g].items.push(v);
                if !self.plan.groups[g].shapes.contains(shape) {
                    self.plan.groups[g].shapes.push(shape.clone());
                }
                self.open.insert(shape.clone(), g);
            }
            Inst::Slice(a, _) | Inst::Broadcast(a) | Inst::Reshape(a) => {
                self.outside(*a);
                let from = self.plan.view(k, *a);
                let view = match &d.inst {
                    Inst::Slice(_, sel) => Some(from.slice(sel)),
                    Inst::Broadcast(_) => Some(from.broadcast(shape)),
                    _ => from.reshape(shape),
                };
                match view {
                    Some(view) => self.plan.nodes[v.index()] = Node::View(view),
                    None => self.step(v, &[*a]),
                }
            }
            Inst::Gather(t, i) if !shape.is_empty() => {
                self.table(*t);
                self.join(v, shape, &[*i], false, true);
            }
            inst if in_loop(inst) && !shape.is_empty() => {
                self.join(v, shape, &args, false, true);
                if let Inst::Cast(a) = inst {
                    self.cast_in_place(v, *a);
                }
            }
            inst if is_sink(inst) => {
                let of = k.ty(args[0]).shape.clone();
                // a reduction that keeps an axis needs the loop's rows
                let flat = match inst {
                    Inst::Reduce(_, _, axes) => axes.is_empty() || of.len() <= 1,
                    _ => true,
                };
                if of.is_empty() {
                    self.step(v, &args);
                } else {
                    self.join(v, &of, &args, true, flat);
                }
            }
            Inst::Gather(t, _) => {
                self.table(*t);
                self.step(v, &args);
            }
            _ => self.step(v, &args),
        }
    }
}

/// The values that no input or state reaches (`np.indices`, tables and
/// what is computed from them alone), each one's elements as the reference
/// interpreter computes them: the same in every frame, so computed once.
/// Values computed only for other invariant values are `Some` and empty:
/// never read in a frame.
fn invariants(k: &Kernel) -> Vec<Option<Vec<i64>>> {
    let n = k.insts.len();
    let mut varies = vec![false; n];
    for (v, d) in k.insts.iter() {
        varies[v.index()] = matches!(d.inst, Inst::Input(_) | Inst::State(_))
            || d.inst.args().iter().any(|a| varies[a.index()]);
    }
    // those a varying value reads (or a root), and more than a constant
    let mut wanted = vec![false; n];
    for (v, d) in k.insts.iter() {
        if varies[v.index()] {
            for a in d.inst.args() {
                wanted[a.index()] |= !varies[a.index()];
            }
        }
    }
    for r in k.roots() {
        wanted[r.index()] |= !varies[r.index()];
    }
    for (v, d) in k.insts.iter() {
        if matches!(d.inst, Inst::Const(_) | Inst::Table(_)) {
            wanted[v.index()] = false;
        }
    }
    if !wanted.contains(&true) {
        return vec![None; n];
    }
    let dead = |i: usize| {
        !varies[i]
            && !wanted[i]
            && !matches!(k.insts[Value::new(i)].inst, Inst::Const(_) | Inst::Table(_))
    };
    // a kernel of the invariant instructions alone, run once
    let mut sub = Kernel::new(k.name.clone());
    let mut map = vec![None; n];
    for (v, d) in k.insts.iter() {
        if !varies[v.index()] {
            let inst = d
                .inst
                .map_args(|a| map[a.index()].expect("invariant operands first"));
            map[v.index()] = Some(sub.push(inst, d.ty.clone(), d.span));
        }
    }
    let keep: Vec<Value> = (0..n).filter(|&i| wanted[i]).map(Value::new).collect();
    sub.outputs = keep
        .iter()
        .map(|v| map[v.index()].expect("invariant"))
        .collect();
    // it reads no input and no state
    let arrays = hissc_aop::interp::run_data(&sub, &[], &mut []);
    let mut out: Vec<Option<Vec<i64>>> = (0..n).map(|i| dead(i).then(Vec::new)).collect();
    for (v, a) in keep.iter().zip(arrays) {
        out[v.index()] = Some(a.data.iter().map(|&x| x as i64).collect());
    }
    out
}

/// Plans `k`.
pub(crate) fn plan(k: &Kernel) -> Plan {
    let fixed = invariants(k);
    let n = k.insts.len();
    let mut p = Planner {
        k,
        ranges: hissc_aop::passes::ranges::ranges(k),
        plan: Plan {
            nodes: vec![Node::Step; n],
            stored: vec![false; n],
            copied: vec![false; n],
            alias: vec![None; n],
            groups: Vec::new(),
            steps: Vec::new(),
        },
        open: HashMap::new(),
        closed: Vec::new(),
    };
    for (v, lanes) in k.insts.keys().zip(fixed) {
        match lanes {
            Some(lanes) => p.plan.nodes[v.index()] = Node::Const(lanes),
            None => p.plan_value(v),
        }
    }
    // the roots: members are stored (views are read in place when the frame ends)
    for r in k.roots() {
        if let Node::Member(_) = p.plan.nodes[r.index()] {
            p.plan.stored[r.index()] = true;
        }
    }
    for g in 0..p.plan.groups.len() {
        p.close(g);
    }
    p.plan
}
