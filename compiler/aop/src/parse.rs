//! Parses the text form printed by [`crate::print`] (a pest grammar, `aop.pest`).
//!
//! The parser checks only syntax and that values are defined in order; run
//! [`crate::verify`] on the result for the typing rules.

use crate::ir::{BinaryOp, CmpOp, Inst, Kernel, Param, ReduceOp, UnaryOp, Value};
use crate::types::{DType, Interval, Type};
use cranelift_entity::EntityRef;
use hissc_diagnostics::Span;
use pest::iterators::Pair;
use pest::Parser;

mod grammar {
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "aop.pest"]
    pub struct AopParser;
}
use grammar::{AopParser, Rule};

type R<T> = std::result::Result<T, String>;

fn err<T>(p: &Pair<Rule>, msg: impl std::fmt::Display) -> R<T> {
    let (l, c) = p.line_col();
    Err(format!("{l}:{c}: {msg}"))
}

/// Parses one kernel in the IR text form.
pub fn parse(text: &str) -> R<Kernel> {
    let mut file = AopParser::parse(Rule::file, text).map_err(|e| e.to_string())?;
    let kernel = file
        .next()
        .and_then(|f| f.into_inner().next())
        .ok_or("empty file")?;
    let mut it = kernel.into_inner();
    let name = it.next().ok_or("missing kernel name")?.as_str().to_string();
    let mut k = Kernel::new(name);
    for p in it {
        match p.as_rule() {
            Rule::param => {
                let is_state = p
                    .clone()
                    .into_inner()
                    .next()
                    .is_some_and(|x| x.as_rule() == Rule::state_kw);
                let q = param(p)?;
                if is_state {
                    k.states.push(q);
                } else {
                    k.params.push(q);
                }
            }
            Rule::update => {
                let mut it = p.clone().into_inner();
                let name = it.next().ok_or("missing state name")?;
                let Some(i) = k.states.iter().position(|s| s.name == name.as_str()) else {
                    return err(&name, format!("no state `{}`", name.as_str()));
                };
                if i != k.updates.len() {
                    return err(&name, "updates must follow the states' order");
                }
                let v = value(&k, &it.next().ok_or("missing value")?)?;
                k.updates.push(v);
            }
            Rule::inst => inst(&mut k, p)?,
            Rule::ret => {
                for v in p.into_inner() {
                    let val = value(&k, &v)?;
                    k.outputs.push(val);
                }
            }
            _ => return err(&p, "unexpected item"),
        }
    }
    Ok(k)
}

fn span(p: Pair<Rule>) -> Span {
    let s = &p.as_str()[1..];
    let (a, b) = s.split_once("..").unwrap_or(("0", "0"));
    Span::new(a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

fn int(p: &Pair<Rule>) -> R<i128> {
    p.as_str()
        .parse()
        .or_else(|_| err(p, "integer out of range"))
}

fn ty(p: Pair<Rule>) -> R<Type> {
    let mut it = p.into_inner();
    let d = it.next().ok_or("missing dtype")?;
    let dtype = match DType::from_ir_name(d.as_str()) {
        Some(t) => t,
        None => return err(&d, format!("unknown dtype `{}`", d.as_str())),
    };
    let shape = match it.next() {
        Some(dims) => dims_of(dims)?,
        None => Vec::new(),
    };
    Ok(Type::array(dtype, shape))
}

fn dims_of(p: Pair<Rule>) -> R<Vec<u32>> {
    p.into_inner()
        .map(|d| {
            d.as_str()
                .parse()
                .or_else(|_| err(&d, "dimension out of range"))
        })
        .collect()
}

fn param(p: Pair<Rule>) -> R<Param> {
    let mut it = p.into_inner().skip_while(|x| x.as_rule() == Rule::state_kw);
    let name = it.next().ok_or("missing name")?.as_str().to_string();
    let ty = ty(it.next().ok_or("missing type")?)?;
    let mut param = Param {
        name,
        range: Interval::of(ty.dtype),
        ty,
        span: Span::NONE,
    };
    for rest in it {
        match rest.as_rule() {
            Rule::range => {
                let ends: Vec<Pair<Rule>> = rest.into_inner().collect();
                let (lo, hi) = (int(&ends[0])?, int(&ends[1])?);
                if lo > hi {
                    return err(&ends[0], "empty range");
                }
                param.range = Interval::new(lo, hi);
            }
            _ => param.span = span(rest),
        }
    }
    Ok(param)
}

fn value(k: &Kernel, p: &Pair<Rule>) -> R<Value> {
    let n: usize = p.as_str()[1..].parse().or_else(|_| err(p, "bad value"))?;
    if n >= k.insts.len() {
        return err(p, format!("{} used before it is defined", p.as_str()));
    }
    Ok(Value::new(n))
}

fn inst(k: &mut Kernel, p: Pair<Rule>) -> R<()> {
    let mut it = p.into_inner();
    let def = it.next().ok_or("missing value")?;
    if def.as_str() != format!("v{}", k.insts.len()) {
        return err(&def, format!("expected v{} here", k.insts.len()));
    }
    let ty = ty(it.next().ok_or("missing type")?)?;
    let op = it.next().ok_or("missing op")?;
    let sp = it.next().map(span).unwrap_or(Span::NONE);
    let inst = match op.as_rule() {
        Rule::input_op => {
            let name = op.clone().into_inner().next().ok_or("missing name")?;
            match k.params.iter().position(|q| q.name == name.as_str()) {
                Some(i) => Inst::Input(i as u32),
                None => return err(&name, format!("no parameter `{}`", name.as_str())),
            }
        }
        Rule::state_op => {
            let name = op.clone().into_inner().next().ok_or("missing name")?;
            match k.states.iter().position(|q| q.name == name.as_str()) {
                Some(i) => Inst::State(i as u32),
                None => return err(&name, format!("no state `{}`", name.as_str())),
            }
        }
        Rule::iota_op => Inst::Iota,
        Rule::concat_op => {
            let parts: Vec<Pair<Rule>> = op.clone().into_inner().collect();
            let (axis, vs) = parts.split_last().ok_or("missing axis")?;
            let vs = vs.iter().map(|v| value(k, v)).collect::<R<Vec<Value>>>()?;
            Inst::Concat(vs, int(axis)? as u32)
        }
        Rule::const_op => Inst::Const(int(&op.clone().into_inner().next().ok_or("missing")?)?),
        Rule::reduce_op => {
            let mut parts = op.clone().into_inner();
            let name = parts.next().ok_or("missing reduction")?;
            let red = match name.as_str().parse::<ReduceOp>() {
                Ok(r) => r,
                Err(()) => return err(&name, format!("unknown reduction `{}`", name.as_str())),
            };
            let arg = value(k, &parts.next().ok_or("missing operand")?)?;
            let axes = match parts.next() {
                Some(d) => dims_of(d)?,
                None => Vec::new(),
            };
            Inst::Reduce(red, arg, axes)
        }
        Rule::slice_op => {
            let mut parts = op.clone().into_inner();
            let a = value(k, &parts.next().ok_or("missing operand")?)?;
            let start = dims_of(parts.next().ok_or("missing start")?)?;
            let step = dims_of(parts.next().ok_or("missing step")?)?;
            let count = dims_of(parts.next().ok_or("missing count")?)?;
            if start.len() != step.len() || step.len() != count.len() {
                return err(&op, "start, step and count need one entry per axis");
            }
            Inst::Slice(
                a,
                start
                    .into_iter()
                    .zip(step)
                    .zip(count)
                    .map(|((a, b), c)| (a, b, c))
                    .collect(),
            )
        }
        Rule::table_op => {
            let ints = op.clone().into_inner().next().ok_or("missing values")?;
            Inst::Table(ints.into_inner().map(|i| int(&i)).collect::<R<_>>()?)
        }
        Rule::bincount_op => {
            let mut parts = op.clone().into_inner();
            let x = value(k, &parts.next().ok_or("missing operand")?)?;
            let bins_p = parts.next().ok_or("missing bins")?;
            let bins: u32 = bins_p
                .as_str()
                .parse()
                .or_else(|_| err(&bins_p, "bins out of range"))?;
            let (mut w, mut m) = (None, None);
            for p in parts {
                let v = value(k, &p.clone().into_inner().next().ok_or("missing value")?)?;
                if p.as_rule() == Rule::weights {
                    w = Some(v);
                } else {
                    m = Some(v);
                }
            }
            Inst::Bincount(x, w, m, bins)
        }
        _ => {
            let mut parts = op.clone().into_inner();
            let name = parts.next().ok_or("missing op")?;
            let args: Vec<Value> = parts.map(|v| value(k, &v)).collect::<R<_>>()?;
            generic(&op, name.as_str(), &args)?
        }
    };
    k.push(inst, ty, sp);
    Ok(())
}

fn generic(p: &Pair<Rule>, name: &str, a: &[Value]) -> R<Inst> {
    let want = |n: usize| -> R<()> {
        if a.len() == n {
            Ok(())
        } else {
            err(p, format!("`{name}` takes {n} operands, not {}", a.len()))
        }
    };
    if let Ok(op) = name.parse::<UnaryOp>() {
        want(1)?;
        return Ok(Inst::Unary(op, a[0]));
    }
    if let Ok(op) = name.parse::<BinaryOp>() {
        want(2)?;
        return Ok(Inst::Binary(op, a[0], a[1]));
    }
    if let Ok(op) = name.parse::<CmpOp>() {
        want(2)?;
        return Ok(Inst::Compare(op, a[0], a[1]));
    }
    match name {
        "where" => want(3).map(|_| Inst::Where(a[0], a[1], a[2])),
        "cast" => want(1).map(|_| Inst::Cast(a[0])),
        "broadcast" => want(1).map(|_| Inst::Broadcast(a[0])),
        "reshape" => want(1).map(|_| Inst::Reshape(a[0])),
        "gather" => want(2).map(|_| Inst::Gather(a[0], a[1])),
        "cumsum" => want(1).map(|_| Inst::Scan(a[0])),
        "compress" => want(2).map(|_| Inst::Compress(a[0], a[1])),
        _ => err(p, format!("unknown op `{name}`")),
    }
}
