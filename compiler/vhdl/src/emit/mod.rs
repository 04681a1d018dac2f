//! The synthesizable VHDL design: one entity, one process per network process.
//!
//! Every bus is a `signed` signal as wide as its range needs (unsigned values get
//! a sign bit); every stream bus has a `_v` (valid) flag. Registered processes
//! update on the rising edge of `clk`; `rst` (synchronous, active high) clears
//! valid flags and counters. Processes whose operands are all static are
//! combinational. Arithmetic is done at a width that holds the exact result; where
//! numpy would wrap (range analysis says it can), the result is cut to the dtype's
//! bits and sign- or zero-extended, exactly as numpy does.

mod bincount;
mod broadcast;
mod delay;
mod elementwise;
mod iota;
mod load;
mod merge;
mod pack;
mod reduce;
mod scan;
mod segment;
mod slice;
mod timing;
mod vec;

use crate::interface::{Interface, StreamOut};
use hissc_aop::passes::ranges::{binary_exact, unary_exact};
use hissc_aop::{BinaryOp, DType, Interval, ReduceOp, UnaryOp};
use hissc_diagnostics::SourceFile;
use hissc_spn::{Bus, Network, ProcKind, Src};
use std::fmt::Write;

/// A constant as a `signed` literal of width `w`.
pub fn lit(v: i128, w: u32) -> String {
    // GHDL 2.0 synthesizes integer constants wider than 32 bits wrongly (it extends
    // them from 32 bits), so those become bit strings too
    if (-(1i128 << 30) < v) && (v < 1i128 << 30) && w <= 32 {
        format!("to_signed({v}, {w})")
    } else {
        let bits: String = (0..w)
            .rev()
            .map(|i| if (v >> i.min(127)) & 1 == 1 { '1' } else { '0' })
            .collect();
        format!("signed'(\"{bits}\")")
    }
}

/// A port's bits as an aggregate a conversion can take (`'(0 => x)` for one bit).
fn port_bits(name: &str, width: u32) -> String {
    if width == 1 {
        format!("'(0 => {name})")
    } else {
        format!("({name})")
    }
}

/// A port's bits (from [`port_bits`]) as a `signed` bus value of width `w`.
fn port_value(bits: &str, signed: bool, w: u32) -> String {
    if signed {
        format!("resize(signed{bits}, {w})")
    } else {
        format!("signed(resize(unsigned{bits}, {w}))")
    }
}

struct Emitter<'a> {
    net: &'a Network,
    src: &'a SourceFile,
    decls: String,
    body: String,
    uses_div: bool,
    uses_float: bool,
    extra_vars: Vec<String>,
    /// How every clocked process opens: on the clock's rising edge, and with
    /// a clock enable when the design runs inside the AXI4-Stream wrapper.
    edge: &'static str,
}

/// A clocked process's edge in the native design.
const EDGE: &str = "if rising_edge(clk) then";
/// ... and with the clock enable (`ce`) the AXI4-Stream wrapper drives.
const EDGE_CE: &str = "if rising_edge(clk) and ce = '1' then";

fn width_of(net: &Network, s: &Src) -> u32 {
    match s {
        Src::Bus(b) => net.nodes[*b].width,
        Src::Const(c) => Interval::point(*c).signed_bits().max(2),
    }
}

fn range_of(net: &Network, s: &Src) -> Interval {
    match s {
        Src::Bus(b) => net.nodes[*b].range,
        Src::Const(c) => Interval::point(*c),
    }
}

/// `s` as a `signed` of width `w`.
fn at(net: &Network, s: &Src, w: u32) -> String {
    match s {
        Src::Bus(b) if net.nodes[*b].width == w => format!("{b}"),
        Src::Bus(b) => format!("resize({b}, {w})"),
        Src::Const(c) => lit(*c, w),
    }
}

/// `s` as a `signed` of its own width.
fn own(net: &Network, s: &Src) -> String {
    at(net, s, width_of(net, s))
}

/// The truth of a boolean operand.
fn truth(s: &Src) -> String {
    match s {
        Src::Bus(b) => format!("{b}(0) = '1'"),
        Src::Const(c) => {
            if *c != 0 {
                "true".into()
            } else {
                "false".into()
            }
        }
    }
}

/// Assigns variable `x` (width `xw`) to `dst` (width `dw`), wrapping to `d` if `wraps`.
fn assign(dst: &str, x: &str, d: DType, dw: u32, wraps: bool) -> String {
    if !wraps {
        return format!("{dst} <= resize({x}, {dw});");
    }
    let n = d.bits();
    if d.is_signed() {
        format!("{dst} <= resize({x}({} downto 0), {dw});", n - 1)
    } else {
        format!(
            "{dst} <= signed(resize(unsigned({x}({} downto 0)), {dw}));",
            n - 1
        )
    }
}

fn bool_to(dst: &str, cond: &str, dw: u32) -> String {
    format!("if {cond} then {dst} <= to_signed(1, {dw}); else {dst} <= to_signed(0, {dw}); end if;")
}

impl Emitter<'_> {
    fn comment(&self, b: Bus) -> String {
        let node = &self.net.nodes[b];
        let op = hissc_spn::print::op_text(&node.kind);
        if node.span.is_none() {
            format!("  -- {b} = {op}\n")
        } else {
            let line = self.src.line(node.span);
            format!(
                "  -- {b} = {op}\n  -- {}:{line}: {}\n",
                self.src.base_name(),
                self.src.line_text(line).trim()
            )
        }
    }
    fn signal(&mut self, name: &str, w: u32) {
        let _ = writeln!(
            self.decls,
            "  signal {name} : signed({} downto 0) := (others => '0');",
            w - 1
        );
    }

    fn valid(&mut self, name: &str) {
        let _ = writeln!(self.decls, "  signal {name} : std_logic := '0';");
    }

    fn clocked(&mut self, b: Bus, vars: &[String], stmts: &[String], resets: &[String]) {
        let mut s = self.comment(b);
        let _ = writeln!(s, "  p_{b} : process(clk)");
        for v in vars {
            let _ = writeln!(s, "    {v}");
        }
        let _ = writeln!(s, "  begin\n    {}", self.edge);
        for st in stmts {
            let _ = writeln!(s, "      {st}");
        }
        if !resets.is_empty() {
            let _ = writeln!(s, "      if rst = '1' then");
            for r in resets {
                let _ = writeln!(s, "        {r}");
            }
            let _ = writeln!(s, "      end if;");
        }
        let _ = writeln!(s, "    end if;\n  end process;\n");
        self.body.push_str(&s);
    }

    fn node(&mut self, b: Bus, iface: &Interface) {
        let net = self.net;
        let node = &net.nodes[b];
        let w = node.width;
        self.signal(&b.to_string(), w);
        let stream = !node.sched.is_static();
        if stream {
            self.valid(&format!("{b}_v"));
        }
        match &node.kind {
            ProcKind::Input(i, l) => {
                let p = &iface.inputs[*i as usize];
                let bits = if p.total() == 1 {
                    format!("'(0 => {})", p.data)
                } else if p.lanes == 1 {
                    format!("({})", p.data)
                } else if p.width == 1 {
                    format!("'(0 => {}({l}))", p.data)
                } else {
                    format!(
                        "({}({} downto {}))",
                        p.data,
                        (l + 1) * p.width - 1,
                        l * p.width
                    )
                };
                let conv = port_value(&bits, p.signed, w);
                let c = self.comment(b);
                let _ = write!(
                    self.body,
                    "{c}  {b} <= {conv};\n  {b}_v <= {};\n\n",
                    p.valid
                );
            }
            ProcKind::Param(i) => {
                let p = &iface.params[*i as usize];
                let conv = port_value(&port_bits(&p.name, p.width), p.signed, w);
                let c = self.comment(b);
                let _ = write!(self.body, "{c}  {b} <= {conv};\n\n");
            }
            hissc_spn::elementwise_kinds!() => self.elementwise_process(b),
            ProcKind::Reduce(p) => self.reduce(b, p),
            ProcKind::Slice(a, shape, sel) => self.slice(b, *a, shape, sel),
            ProcKind::Scan(d, a, count) => self.scan(b, *d, *a, *count),
            ProcKind::Segment(p) => self.segment(b, p),
            ProcKind::Bincount(p) => self.bincount(b, p),
            ProcKind::Pack { lanes, width, .. } => self.pack(b, lanes, *width),
            ProcKind::Broadcast(p) => self.broadcast(b, p),
            ProcKind::Delay(a, n) => self.delay(b, *a, *n),
            ProcKind::Load {
                state,
                lane,
                timing,
            } => self.load(b, *state, *lane, *timing, iface),
            ProcKind::Iota {
                timing,
                first,
                step,
                wrap,
            } => self.iota(b, *timing, (*first, *step, *wrap)),
            ProcKind::Merge { srcs, blocks, reps } => self.merge(b, srcs, blocks, *reps),
        }
    }

    /// Per-axis counters `{b}_r{i}` over a logical shape, and the statements that
    /// advance them (innermost axis first).
    fn counters(&mut self, b: Bus, shape: &[u32]) -> (Vec<String>, Vec<String>) {
        for (i, d) in shape.iter().enumerate() {
            let _ = writeln!(
                self.decls,
                "  signal {b}_r{i} : integer range 0 to {} := 0;",
                d - 1
            );
        }
        fn chain(b: Bus, axes: &[usize], shape: &[u32], out: &mut Vec<String>, indent: usize) {
            let Some((&i, rest)) = axes.split_last() else {
                return;
            };
            let pad = "  ".repeat(indent);
            out.push(format!("{pad}if {b}_r{i} = {} then", shape[i] - 1));
            out.push(format!("{pad}  {b}_r{i} <= 0;"));
            chain(b, rest, shape, out, indent + 1);
            out.push(format!("{pad}else"));
            out.push(format!("{pad}  {b}_r{i} <= {b}_r{i} + 1;"));
            out.push(format!("{pad}end if;"));
        }
        let axes: Vec<usize> = (0..shape.len()).collect();
        let mut advance = Vec::new();
        chain(b, &axes, shape, &mut advance, 1);
        let resets = axes.iter().map(|i| format!("{b}_r{i} <= 0;")).collect();
        (advance, resets)
    }

    fn output(&mut self, o: &StreamOut) {
        if let Some(v) = &o.vec {
            return self.vec_output(o, v);
        }
        let b = o.lanes[0];
        let lanes: Vec<String> = o
            .lanes
            .iter()
            .rev()
            .map(|b| match o.dtype {
                DType::Bool => format!("{b}(0)"),
                d if d.is_signed() => format!("std_logic_vector(resize({b}, {}))", o.width),
                _ => format!("std_logic_vector(resize(unsigned({b}), {}))", o.width),
            })
            .collect();
        let conv = lanes.join(" & ");
        let line = self.src.line(o.span);
        let _ = writeln!(
            self.body,
            "  -- output {}: {} ({}:{line})\n  {} <= {b}_v;\n  {} <= {conv};\n",
            o.data.trim_end_matches("_data"),
            o.dtype.numpy_name(),
            self.src.base_name(),
            o.valid,
            o.data
        );
    }
}

const DIV_FUNCTIONS: &str = "  -- numpy's floor division and floor modulo (x // 0 == x % 0 == 0)
  function hissc_floor_div(a, b : signed) return signed is
    variable q, r : signed(a'length - 1 downto 0);
  begin
    if b = 0 then
      return to_signed(0, a'length);
    end if;
    q := a / b;
    r := a rem b;
    if r /= 0 and ((r < 0) /= (b < 0)) then
      q := q - 1;
    end if;
    return q;
  end function;

  function hissc_floor_mod(a, b : signed) return signed is
    variable r : signed(a'length - 1 downto 0);
  begin
    if b = 0 then
      return to_signed(0, a'length);
    end if;
    r := a rem b;
    if r /= 0 and ((r < 0) /= (b < 0)) then
      r := r + b;
    end if;
    return r;
  end function;

";

const FLOAT_FUNCTION: &str = "  -- exact integers (|v| < 2**53) as IEEE 754 doubles, in two steps
  function hissc_msb(m : unsigned(52 downto 0)) return integer is
    variable e : integer range 0 to 52 := 0;
  begin
    for i in 0 to 52 loop
      if m(i) = '1' then
        e := i;
      end if;
    end loop;
    return e;
  end function;

  function hissc_pack(neg : std_logic; m : unsigned(52 downto 0); e : integer range 0 to 52) return signed is
    variable r : unsigned(63 downto 0) := (others => '0');
    variable s : unsigned(52 downto 0);
  begin
    if m = 0 then
      return to_signed(0, 65);
    end if;
    r(63) := neg;
    r(62 downto 52) := to_unsigned(1023 + e, 11);
    s := shift_left(m, 52 - e);
    r(51 downto 0) := s(51 downto 0);
    return signed('0' & std_logic_vector(r));
  end function;

";

/// The design, with a clock-enable port `ce` that every register obeys when
/// `enable` (the AXI4-Stream wrapper's network: time passes only on enabled
/// cycles; `rst` needs an enabled cycle too).
pub fn design_with(net: &Network, iface: &Interface, src: &SourceFile, enable: bool) -> String {
    let mut e = Emitter {
        edge: if enable { EDGE_CE } else { EDGE },
        net,
        src,
        decls: String::new(),
        body: String::new(),
        uses_div: false,
        uses_float: false,
        extra_vars: Vec::new(),
    };
    for (b, _) in net.nodes.iter() {
        e.node(b, iface);
    }
    for o in &iface.outputs {
        e.output(o);
    }
    e.timing(iface, &hissc_spn::axis::Plan::new(net));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "-- Generated by hissc {} from {}, kernel `{}`. Do not edit.",
        env!("CARGO_PKG_VERSION"),
        src.base_name(),
        net.name
    );
    let _ = writeln!(
        out,
        "-- Interface: docs/hardware-interface.md. One element per cycle per input stream;"
    );
    let _ = writeln!(
        out,
        "-- every array input streams from the same cycle at the start of each frame."
    );
    out.push_str("library ieee;\nuse ieee.std_logic_1164.all;\nuse ieee.numeric_std.all;\n\n");
    let _ = writeln!(out, "entity {} is\n  port (", iface.entity);
    let mut ports = vec![
        "    clk : in std_logic".to_string(),
        "    rst : in std_logic".to_string(),
    ];
    if enable {
        ports.push(
            "    ce : in std_logic -- clock enable: registers update only when it is high".into(),
        );
    }
    for p in &iface.inputs {
        let kind = if p.signed { "signed" } else { "unsigned" };
        ports.push(format!("    {} : in std_logic", p.valid));
        let lanes = if p.lanes > 1 {
            format!(", {} lanes of {} bits", p.lanes, p.width)
        } else {
            String::new()
        };
        ports.push(format!(
            "    {} : in {} -- input `{}`, {kind}{lanes}",
            p.data,
            crate::interface::port_type(p.total()),
            p.py
        ));
    }
    for p in &iface.params {
        let kind = if p.signed { "signed" } else { "unsigned" };
        ports.push(format!(
            "    {} : in {} -- parameter `{}`, {kind}",
            p.name,
            crate::interface::port_type(p.width),
            p.py
        ));
    }
    for p in &iface.loads {
        let kind = if p.signed { "signed" } else { "unsigned" };
        ports.push(format!("    {} : in std_logic", p.valid));
        ports.push(format!(
            "    {} : in {} -- sets state `{}` before the first frame, {kind}, C order",
            p.data,
            crate::interface::port_type(p.width),
            p.py
        ));
    }
    for o in &iface.outputs {
        ports.push(format!("    {} : out std_logic", o.valid));
        let lanes = if o.lanes.len() > 1 {
            format!(", {} lanes", o.lanes.len())
        } else {
            String::new()
        };
        ports.push(format!(
            "    {} : out {} -- {}{lanes}",
            o.data,
            crate::interface::port_type(o.total()),
            o.dtype.numpy_name()
        ));
        if let Some(v) = &o.vec {
            ports.push(format!(
                "    {} : out {} -- selected elements this cycle, packed from lane 0",
                v.count,
                crate::interface::port_type(v.count_width)
            ));
            ports.push(format!(
                "    {} : out std_logic -- the frame's last cycle",
                v.last
            ));
        }
    }
    ports.push(format!(
        "    {} : out std_logic := '0' -- the inputs broke the native timing (a gap inside a frame, inputs out of step, a frame too early); until reset",
        iface.error
    ));
    out.push_str(&crate::interface::port_lines(&ports));
    let _ = writeln!(out, "  );\nend entity;\n");
    let _ = writeln!(out, "architecture rtl of {} is", iface.entity);
    if e.uses_div {
        out.push_str(DIV_FUNCTIONS);
    }
    if e.uses_float {
        out.push_str(FLOAT_FUNCTION);
    }
    out.push_str(&e.decls);
    out.push_str("begin\n\n");
    out.push_str(&e.body);
    out.push_str("end architecture;\n");
    out
}

#[cfg(test)]
mod tests {
    use super::lit;

    #[test]
    fn literals_beyond_30_bits_are_bit_strings() {
        assert_eq!(lit(5, 4), "to_signed(5, 4)");
        assert_eq!(lit(-3, 4), "to_signed(-3, 4)");
        // GHDL rejects integer literals near 2**31, so those become bit strings
        assert_eq!(
            lit(-2147483626, 35),
            format!("signed'(\"{}\")", super::super::tb::bits(-2147483626, 35))
        );
        assert_eq!(
            lit(1 << 40, 42),
            format!("signed'(\"0{}\")", "1".to_string() + &"0".repeat(40))
        );
    }
}
