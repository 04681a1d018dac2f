//! `hissc sim --vcd FILE`: the simulation as a Value Change Dump for GTKWave.
//!
//! Every top-level signal (clock, reset, input streams, parameters, outputs) and
//! every bus of the process network, each named after the Python variable its
//! line assigns (`pedestal_b3`, `out_b9`; the bus number keeps names unique) with
//! its `_v` valid flag. One cycle is 10 ns: a cycle's values change at its start,
//! the clock rises in its middle.

use crate::driver::Failure;
use hissc_diagnostics::SourceFile;
use hissc_spn::trace::TraceRow;
use hissc_spn::Network;
use std::fmt::Write as _;
use std::path::Path;

/// A VCD identifier: base 94 over the printable characters.
fn ident(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'!' + (i % 94) as u8) as char);
        i /= 94;
        if i == 0 {
            return s;
        }
    }
}

/// The Python name a bus is called by: the variable its line assigns, if any.
fn var_name(src: &SourceFile, net: &Network, b: hissc_spn::Bus) -> String {
    let n = &net.nodes[b];
    if let hissc_spn::ProcKind::Input(i, _) = n.kind {
        return net.inputs[i as usize].name.clone();
    }
    if n.span.is_none() {
        return "e".into();
    }
    let line = src.line_text(src.line(n.span));
    let t = line.trim_start();
    let name: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let rest = t[name.len()..].trim_start();
    let assigns = rest.starts_with('=') && !rest.starts_with("==")
        || rest.starts_with('[') && rest.contains("] =");
    if !name.is_empty() && assigns && !name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        name
    } else if t.starts_with("return") {
        "ret".into()
    } else {
        "e".into()
    }
}

struct Var {
    id: String,
    width: u32,
}

/// A value change's text before its identifier: `0`/`1`, or `b0101 ` for a vector.
fn value(v: i128, w: u32) -> String {
    if w == 1 {
        (v & 1).to_string()
    } else {
        format!("b{} ", hissc_vhdl::tb::bits(v, w))
    }
}

/// Writes the waveforms of a simulation: `rows` are its trace, `buses` every
/// bus's (valid, value) per cycle.
pub fn write(
    path: &Path,
    net: &Network,
    src: &SourceFile,
    rows: &[TraceRow],
    buses: &[Vec<(bool, i128)>],
) -> Result<(), Failure> {
    let mut head = String::new();
    let mut vars: Vec<Var> = Vec::new();
    let mut decl = |head: &mut String, name: &str, width: u32| {
        let id = ident(vars.len());
        let _ = writeln!(head, "$var wire {width} {id} {name} $end");
        vars.push(Var { id, width });
    };
    let _ = writeln!(
        head,
        "$date hissc sim $end\n$version hissc {} $end\n$timescale 1ns $end\n$scope module {} $end",
        env!("CARGO_PKG_VERSION"),
        net.name
    );
    decl(&mut head, "clk", 1);
    decl(&mut head, "rst", 1);
    for p in &net.inputs {
        decl(&mut head, &format!("{}_valid", p.name), 1);
        for l in 0..p.lanes.max(1) {
            let lane = if p.lanes > 1 {
                format!("_{l}")
            } else {
                String::new()
            };
            decl(&mut head, &format!("{}_data{lane}", p.name), p.dtype.bits());
        }
    }
    for p in &net.params {
        decl(&mut head, &p.name, p.dtype.bits());
    }
    for o in &net.outputs {
        decl(&mut head, &format!("{}_valid", o.name), 1);
        for l in 0..o.lanes.len() {
            let lane = if o.lanes.len() > 1 {
                format!("_{l}")
            } else {
                String::new()
            };
            decl(&mut head, &format!("{}_data{lane}", o.name), o.dtype.bits());
        }
    }
    let _ = writeln!(head, "$scope module network $end");
    for (b, n) in net.nodes.iter() {
        let name = format!("{}_{b}", var_name(src, net, b));
        decl(&mut head, &name, n.width);
        decl(&mut head, &format!("{name}_v"), 1);
    }
    let _ = writeln!(head, "$upscope $end\n$upscope $end\n$enddefinitions $end");
    let mut out = head;
    let mut last: Vec<Option<i128>> = vec![None; vars.len()];
    for (c, row) in rows.iter().enumerate() {
        // this cycle's values, in the order the variables were declared
        let mut now: Vec<i128> = vec![0, row.rst as i128];
        for (valid, data) in &row.inputs {
            now.push(*valid as i128);
            now.extend(data);
        }
        now.extend(&row.params);
        for (valid, data) in &row.outputs {
            now.push(*valid as i128);
            now.extend(data);
        }
        for &(valid, v) in buses.get(c).map_or(&[][..], |r| &r[..]) {
            now.push(v);
            now.push(valid as i128);
        }
        let _ = writeln!(out, "#{}", 10 * c);
        for (i, (var, v)) in vars.iter().zip(&now).enumerate() {
            if last[i] != Some(*v) {
                let _ = writeln!(out, "{}{}", value(*v, var.width), var.id);
                last[i] = Some(*v);
            }
        }
        let _ = writeln!(out, "#{}\n1{}", 10 * c + 5, vars[0].id);
        last[0] = Some(1);
    }
    let _ = writeln!(out, "#{}", 10 * rows.len());
    std::fs::write(path, out)
        .map_err(|e| Failure::User(format!("cannot write `{}`: {e}", path.display())))
}
