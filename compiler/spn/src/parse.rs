//! Parses the text form printed by [`crate::print`] (a pest grammar, `spn.pest`).
//! Run [`crate::verify`] on the result for the network's invariants.

use crate::ir::{Bincount, Broadcast, Reduce, Segment};
use crate::ir::{
    Bus, LaneView, Network, Node, Output, Pattern, Port, ProcKind, Sched, Src, StatePort,
};
use cranelift_entity::EntityRef;
use hissc_aop::{BinaryOp, CmpOp, DType, Interval, ReduceOp, UnaryOp};
use hissc_diagnostics::Span;
use pest::iterators::Pair;
use pest::Parser;

mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "spn.pest"]
    pub struct SpnParser;
}
use grammar::{Rule, SpnParser};

type R<T> = std::result::Result<T, String>;

fn err<T>(p: &Pair<Rule>, msg: impl std::fmt::Display) -> R<T> {
    let (l, c) = p.line_col();
    Err(format!("{l}:{c}: {msg}"))
}

fn num<T: std::str::FromStr>(p: &Pair<Rule>) -> R<T> {
    let s = p.as_str().trim_start_matches(['#', 's', 'b']);
    s.parse().or_else(|_| err(p, "number out of range"))
}

fn dtype(p: &Pair<Rule>) -> R<DType> {
    DType::from_ir_name(p.as_str())
        .map_or_else(|| err(p, format!("unknown dtype `{}`", p.as_str())), Ok)
}

fn dims(p: Pair<Rule>) -> R<Vec<u32>> {
    p.into_inner().map(|d| num(&d)).collect()
}

fn range(p: Pair<Rule>) -> R<Interval> {
    let v: Vec<Pair<Rule>> = p.into_inner().collect();
    let (lo, hi): (i128, i128) = (num(&v[0])?, num(&v[1])?);
    if lo > hi {
        return err(&v[0], "empty range");
    }
    Ok(Interval::new(lo, hi))
}

/// Parses one network in the text form.
pub fn parse(text: &str) -> R<Network> {
    let mut file = SpnParser::parse(Rule::file, text).map_err(|e| e.to_string())?;
    let net = file
        .next()
        .and_then(|f| f.into_inner().next())
        .ok_or("empty file")?;
    let mut it = net.into_inner();
    let name = it.next().ok_or("missing name")?.as_str().to_string();
    let mut n = Network::new(name);
    for p in it {
        match p.as_rule() {
            Rule::port => {
                let mut parts = p.into_inner();
                let kind = parts.next().ok_or("missing kind")?;
                let pname = parts.next().ok_or("missing name")?.as_str().to_string();
                let dt = dtype(&parts.next().ok_or("missing dtype")?)?;
                let mut port = Port {
                    name: pname,
                    dtype: dt,
                    shape: Vec::new(),
                    range: Interval::of(dt),
                    lanes: 1,
                };
                for rest in parts {
                    match rest.as_rule() {
                        Rule::dims => port.shape = dims(rest)?,
                        Rule::lanes => {
                            port.lanes = rest.as_str()[1..]
                                .parse()
                                .map_err(|_| format!("bad lane count {}", rest.as_str()))?
                        }
                        _ => port.range = range(rest)?,
                    }
                }
                if kind.as_str() == "input" {
                    n.inputs.push(port);
                } else {
                    n.params.push(port);
                }
            }
            Rule::node => node(&mut n, p)?,
            Rule::period => {
                let v = p.clone().into_inner().next().ok_or("missing period")?;
                n.min_period = num(&v)?;
            }
            Rule::state => {
                let mut parts = p.clone().into_inner();
                let sname = parts.next().ok_or("missing name")?.as_str().to_string();
                let dt = dtype(&parts.next().ok_or("missing dtype")?)?;
                let mut shape = Vec::new();
                let mut lanes = 1;
                let mut next = None;
                for rest in parts {
                    match rest.as_rule() {
                        Rule::dims => shape = dims(rest)?,
                        Rule::lanes => {
                            lanes = rest.as_str()[1..]
                                .parse()
                                .map_err(|_| format!("bad lane count {}", rest.as_str()))?
                        }
                        _ => match n.outputs.iter().position(|o| o.name == rest.as_str()) {
                            Some(i) => next = Some(i as u32),
                            None => return err(&rest, format!("no output `{}`", rest.as_str())),
                        },
                    }
                }
                n.states.push(StatePort {
                    name: sname,
                    dtype: dt,
                    shape,
                    lanes,
                    next: next.ok_or("missing next output")?,
                });
            }
            Rule::output => {
                let mut parts = p.into_inner();
                let oname = parts.next().ok_or("missing name")?.as_str().to_string();
                let dt = dtype(&parts.next().ok_or("missing dtype")?)?;
                let mut shape = Vec::new();
                let mut lanes = Vec::new();
                let mut mask = None;
                for rest in parts {
                    match rest.as_rule() {
                        Rule::dims => shape = dims(rest)?,
                        Rule::mask => {
                            mask = Some(
                                rest.clone()
                                    .into_inner()
                                    .map(|b| bus_ref(&n, &b))
                                    .collect::<R<Vec<Bus>>>()?,
                            )
                        }
                        _ => lanes.push(bus_ref(&n, &rest)?),
                    }
                }
                n.outputs.push(Output {
                    name: oname,
                    lanes,
                    dtype: dt,
                    shape,
                    mask,
                });
            }
            _ => return err(&p, "unexpected item"),
        }
    }
    Ok(n)
}

fn bus_ref(n: &Network, p: &Pair<Rule>) -> R<Bus> {
    let i: usize = num(p)?;
    if i >= n.nodes.len() {
        return err(p, format!("{} used before it is defined", p.as_str()));
    }
    Ok(Bus::new(i))
}

enum Arg {
    Bus(Bus),
    Const(i128),
    Dims(Vec<i128>),
    Uint(u32),
}

fn node(n: &mut Network, p: Pair<Rule>) -> R<()> {
    let mut parts = p.into_inner().peekable();
    let def = parts.next().ok_or("missing bus")?;
    if def.as_str() != format!("b{}", n.nodes.len()) {
        return err(&def, format!("expected b{} here", n.nodes.len()));
    }
    let mnem = parts.next().ok_or("missing op")?;
    let mut args = Vec::new();
    while let Some(a) = parts.peek() {
        let a = match a.as_rule() {
            Rule::bus => Arg::Bus(bus_ref(n, a)?),
            Rule::konst => Arg::Const(num(a)?),
            Rule::dims => Arg::Dims(a.clone().into_inner().map(|d| num(&d)).collect::<R<_>>()?),
            Rule::uint => Arg::Uint(num(a)?),
            _ => break,
        };
        args.push(a);
        parts.next();
    }
    let width: u32 = num(&parts.next().ok_or("missing width")?)?;
    let range = range(parts.next().ok_or("missing range")?)?;
    let sched_p = parts.next().ok_or("missing schedule")?;
    let sched_inner = sched_p.into_inner().next().ok_or("missing schedule")?;
    let sched = match sched_inner.as_rule() {
        Rule::static_s => Sched::Static,
        _ => {
            let mut it = sched_inner.into_inner();
            let t: u32 = num(&it.next().ok_or("missing time")?)?;
            let mut positions = Vec::new();
            let mut prev_end = 0u32;
            for (i, r) in it.enumerate() {
                let v: Vec<Pair<Rule>> = r.into_inner().collect();
                let (s, l): (u32, u32) = (num(&v[0])?, num(&v[1])?);
                if l == 0 || (i == 0 && s != 0) || (i > 0 && s <= prev_end) {
                    return err(
                        &v[0],
                        "runs must be non-empty, start at 0, and be sorted and apart",
                    );
                }
                prev_end = s + l;
                positions.extend(s..s + l);
            }
            let (_, pat) = Pattern::from_positions(positions);
            Sched::Stream { t, pat }
        }
    };
    let span = match parts.next() {
        Some(s) => {
            let (a, b) = s.as_str()[1..].split_once("..").unwrap_or(("0", "0"));
            Span::new(a.parse().unwrap_or(0), b.parse().unwrap_or(0))
        }
        None => Span::NONE,
    };
    let kind = kind(&mnem, &args)?;
    n.nodes.push(Node {
        kind,
        width,
        range,
        sched,
        span,
    });
    Ok(())
}

fn kind(p: &Pair<Rule>, args: &[Arg]) -> R<ProcKind> {
    let text = p.as_str();
    let mut parts = text.split('.');
    let op = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    let dt = |i: usize| -> R<DType> {
        rest.get(i)
            .and_then(|s| DType::from_ir_name(s))
            .map_or_else(|| err(p, format!("`{text}` needs a dtype suffix")), Ok)
    };
    let src = |i: usize| -> R<Src> {
        match args.get(i) {
            Some(Arg::Bus(b)) => Ok(Src::Bus(*b)),
            Some(Arg::Const(c)) => Ok(Src::Const(*c)),
            _ => err(
                p,
                format!("`{text}` operand {} must be a bus or a constant", i + 1),
            ),
        }
    };
    let bus = |i: usize| -> R<Bus> {
        match args.get(i) {
            Some(Arg::Bus(b)) => Ok(*b),
            _ => err(p, format!("`{text}` operand {} must be a bus", i + 1)),
        }
    };
    let uint = |i: usize| -> R<u32> {
        match args.get(i) {
            Some(Arg::Uint(u)) => Ok(*u),
            _ => err(p, format!("`{text}` operand {} must be a number", i + 1)),
        }
    };
    let ints_at = |i: usize| -> R<Vec<i128>> {
        match args.get(i) {
            Some(Arg::Dims(d)) => Ok(d.clone()),
            _ => err(p, format!("`{text}` operand {} must be a list", i + 1)),
        }
    };
    let dims_at = |i: usize| -> R<Vec<u32>> {
        ints_at(i)?
            .into_iter()
            .map(|x| u32::try_from(x).or_else(|_| err(p, "a list of non-negative numbers")))
            .collect()
    };
    let count = |n: usize| -> R<()> {
        if args.len() == n {
            Ok(())
        } else {
            err(
                p,
                format!("`{text}` takes {n} operands, not {}", args.len()),
            )
        }
    };
    if let Ok(u) = op.parse::<UnaryOp>() {
        count(1)?;
        return Ok(ProcKind::Unary(u, dt(0)?, src(0)?));
    }
    if let Ok(b) = op.parse::<BinaryOp>() {
        count(2)?;
        return Ok(ProcKind::Binary(b, dt(0)?, src(0)?, src(1)?));
    }
    if let Ok(c) = op.parse::<CmpOp>() {
        count(2)?;
        return Ok(ProcKind::Compare(c, src(0)?, src(1)?));
    }
    Ok(match op {
        "input" if args.len() == 2 => ProcKind::Input(uint(0)?, uint(1)?),
        "input" => {
            count(1)?;
            ProcKind::Input(uint(0)?, 0)
        }
        "param" => {
            count(1)?;
            ProcKind::Param(uint(0)?)
        }
        "select" => {
            count(3)?;
            ProcKind::Select(src(0)?, src(1)?, src(2)?)
        }
        "cast" => {
            count(1)?;
            ProcKind::Cast(dt(0)?, src(0)?)
        }
        "float" => {
            count(1)?;
            ProcKind::Float(src(0)?)
        }
        "pack" => {
            if args.len() < 3 {
                return err(p, "`pack` takes its lanes, a width and a lane");
            }
            let n = args.len() - 2;
            ProcKind::Pack {
                lanes: (0..n).map(bus).collect::<R<Vec<Bus>>>()?,
                width: uint(n)?,
                lane: uint(n + 1)?,
            }
        }
        "merge" => {
            if args.len() < 3 {
                return err(
                    p,
                    "`merge` takes its streams, the blocks and the repetitions",
                );
            }
            let n = args.len() - 2;
            ProcKind::Merge {
                srcs: (0..n).map(bus).collect::<R<Vec<Bus>>>()?,
                blocks: dims_at(n)?,
                reps: uint(n + 1)?,
            }
        }
        "reduce" => {
            count(3)?;
            let name = rest.first().copied().unwrap_or("");
            let r = name
                .parse::<ReduceOp>()
                .map_or_else(|()| err(p, format!("unknown reduction `{name}`")), Ok)?;
            ProcKind::Reduce(Reduce {
                op: r,
                dtype: dt(1)?,
                arg: bus(0)?,
                shape: dims_at(1)?,
                axes: dims_at(2)?,
            })
        }
        "slice" => {
            count(5)?;
            let (start, step, cnt) = (dims_at(2)?, dims_at(3)?, dims_at(4)?);
            if start.len() != step.len() || step.len() != cnt.len() {
                return err(p, "start, step and count need one entry per axis");
            }
            let sel = start
                .into_iter()
                .zip(step)
                .zip(cnt)
                .map(|((a, b), c)| (a, b, c))
                .collect();
            ProcKind::Slice(bus(0)?, dims_at(1)?, sel)
        }
        "segment" => {
            count(4)?;
            let name = rest.first().copied().unwrap_or("");
            let op = name
                .parse::<ReduceOp>()
                .map_or_else(|()| err(p, format!("unknown reduction `{name}`")), Ok)?;
            ProcKind::Segment(Segment {
                op,
                d: dt(1)?,
                arg: bus(0)?,
                width: uint(1)?,
                lane: uint(2)?,
                lanes: uint(3)?,
            })
        }
        "cumsum" => {
            count(2)?;
            ProcKind::Scan(dt(0)?, bus(0)?, uint(1)?)
        }
        "lookup" => {
            count(2)?;
            ProcKind::Lookup(ints_at(1)?, src(0)?)
        }
        "bincount" => {
            let suffix = rest.first().copied().unwrap_or("");
            let (w, float, m) = match suffix {
                "" => (false, false, false),
                "w" => (true, true, false),
                "i" => (true, false, false),
                "m" => (false, false, true),
                "wm" => (true, true, true),
                "im" => (true, false, true),
                _ => return err(p, format!("unknown bincount form `{text}`")),
            };
            let n = 1 + w as usize + m as usize;
            count(n + 2)?;
            ProcKind::Bincount(Bincount {
                x: bus(0)?,
                weights: if w { Some(bus(1)?) } else { None },
                mask: if m { Some(bus(n - 1)?) } else { None },
                bins: uint(n)?,
                count: uint(n + 1)?,
                float,
            })
        }
        "broadcast" => {
            // a lane's view: its lane and lanes, and the stored stream's lanes
            let view = match args.len() {
                4 => LaneView::WHOLE,
                7 => LaneView {
                    lane: uint(4)?,
                    lanes: uint(5)?,
                    arg_lanes: uint(6)?,
                },
                n => return err(p, format!("`{text}` takes 4 or 7 operands, not {n}")),
            };
            ProcKind::Broadcast(Broadcast {
                arg: bus(0)?,
                timing: bus(1)?,
                from: dims_at(2)?,
                to: dims_at(3)?,
                view,
            })
        }
        "delay" => {
            count(2)?;
            ProcKind::Delay(bus(0)?, uint(1)?)
        }
        "iota" => ProcKind::Iota {
            timing: bus(0)?,
            first: uint(1)?,
            step: uint(2)?,
            wrap: match args.len() {
                3 => None,
                4 => Some(uint(3)?),
                n => return err(p, format!("`{text}` takes 3 or 4 operands, not {n}")),
            },
        },
        "load" => {
            count(3)?;
            ProcKind::Load {
                state: uint(0)?,
                lane: uint(1)?,
                timing: bus(2)?,
            }
        }
        _ => return err(p, format!("unknown process `{text}`")),
    })
}
