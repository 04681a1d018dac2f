//! The synthesizable VHDL design: one entity, one process per network process.
//!
//! Every bus is a `signed` signal as wide as its range needs (unsigned values get
//! a sign bit); every stream bus has a `_v` (valid) flag. Registered processes
//! update on the rising edge of `clk`; `rst` (synchronous, active high) clears
//! valid flags and counters. Processes whose operands are all static are
//! combinational. Arithmetic is done at a width that holds the exact result; where
//! numpy would wrap (range analysis says it can), the result is cut to the dtype's
//! bits and sign- or zero-extended, exactly as numpy does.

use crate::interface::{Interface, StreamOut};
use hissc_aop::passes::ranges::{binary_exact, sum_exact, unary_exact};
use hissc_aop::{BinaryOp, DType, Interval, ReduceOp, UnaryOp};
use hissc_diagnostics::SourceFile;
use hissc_spn::{Bus, Network, ProcKind, Src};
use std::fmt::Write;

/// A constant as a `signed` literal of width `w`.
pub fn lit(v: i128, w: u32) -> String {
    if (-(1i128 << 31) < v) && (v < 1i128 << 31) && w <= 64 {
        format!("to_signed({v}, {w})")
    } else {
        let bits: String = (0..w)
            .rev()
            .map(|i| if (v >> i.min(127)) & 1 == 1 { '1' } else { '0' })
            .collect();
        format!("signed'(\"{bits}\")")
    }
}

struct Emitter<'a> {
    net: &'a Network,
    src: &'a SourceFile,
    decls: String,
    body: String,
    uses_div: bool,
}

fn width_of(net: &Network, s: &Src) -> u32 {
    match s {
        Src::Bus(b) => net.nodes[*b].width,
        Src::Const(c) => Interval::point(*c).signed_bits(),
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

    /// Statements computing an elementwise process into its bus; variable `x`
    /// (declared with the returned width, 0 if unused).
    fn elementwise(&mut self, b: Bus) -> (u32, Vec<String>) {
        let net = self.net;
        let node = &net.nodes[b];
        let (dw, dst) = (node.width, b.to_string());
        match &node.kind {
            ProcKind::Unary(UnaryOp::Not, DType::Bool, a) => {
                (0, vec![bool_to(&dst, &format!("not ({})", truth(a)), dw)])
            }
            ProcKind::Unary(op, d, a) => {
                let wc = width_of(net, a).max(d.bits()) + 1;
                let e = match op {
                    UnaryOp::Neg => format!("-{}", at(net, a, wc)),
                    UnaryOp::Not => format!("not {}", at(net, a, wc)),
                    UnaryOp::Abs => format!("abs({})", at(net, a, wc)),
                };
                let wraps = unary_exact(*op, *d, range_of(net, a))
                    .is_none_or(|x| !x.within(Interval::of(*d)));
                (
                    wc,
                    vec![format!("x := {e};"), assign(&dst, "x", *d, dw, wraps)],
                )
            }
            ProcKind::Binary(op, DType::Bool, a, c) => {
                let bit = |s: &Src| match s {
                    Src::Bus(x) => format!("{x}(0)"),
                    Src::Const(v) => {
                        if *v != 0 {
                            "'1'".into()
                        } else {
                            "'0'".into()
                        }
                    }
                };
                let f = match op {
                    BinaryOp::Add | BinaryOp::Or | BinaryOp::Max => "or",
                    BinaryOp::Xor => "xor",
                    _ => "and",
                };
                (
                    0,
                    vec![bool_to(
                        &dst,
                        &format!("({} {f} {}) = '1'", bit(a), bit(c)),
                        dw,
                    )],
                )
            }
            ProcKind::Binary(op, d, a, c) => {
                let (wa, wb) = (width_of(net, a), width_of(net, c));
                let bits = d.bits();
                let base = wa.max(wb).max(bits) + 1;
                let (wc, stmts): (u32, Vec<String>) = match op {
                    BinaryOp::Add => (
                        base,
                        vec![format!("x := {} + {};", at(net, a, base), at(net, c, base))],
                    ),
                    BinaryOp::Sub => (
                        base,
                        vec![format!("x := {} - {};", at(net, a, base), at(net, c, base))],
                    ),
                    BinaryOp::Mul => {
                        let wc = (wa + wb).max(bits);
                        (
                            wc,
                            vec![format!(
                                "x := resize({} * {}, {wc});",
                                own(net, a),
                                own(net, c)
                            )],
                        )
                    }
                    BinaryOp::FloorDiv | BinaryOp::Mod => {
                        self.uses_div = true;
                        let f = if *op == BinaryOp::FloorDiv {
                            "hissc_floor_div"
                        } else {
                            "hissc_floor_mod"
                        };
                        (
                            base,
                            vec![format!(
                                "x := {f}({}, {});",
                                at(net, a, base),
                                at(net, c, base)
                            )],
                        )
                    }
                    BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => {
                        let w = wa.max(wb).max(dw);
                        let f = match op {
                            BinaryOp::And => "and",
                            BinaryOp::Or => "or",
                            _ => "xor",
                        };
                        (
                            w,
                            vec![format!("x := {} {f} {};", at(net, a, w), at(net, c, w))],
                        )
                    }
                    BinaryOp::Min | BinaryOp::Max => {
                        let w = wa.max(wb);
                        let cmp = if *op == BinaryOp::Min { "<" } else { ">" };
                        (
                            w,
                            vec![format!(
                                "if {} {cmp} {} then x := {}; else x := {}; end if;",
                                own(net, a),
                                own(net, c),
                                at(net, a, w),
                                at(net, c, w)
                            )],
                        )
                    }
                    BinaryOp::Shl => match c {
                        Src::Const(s) if *s < 0 || *s >= bits as i128 => {
                            (1, vec!["x := to_signed(0, 1);".into()])
                        }
                        Src::Const(s) => {
                            let wc = (wa + *s as u32).max(bits) + 1;
                            (
                                wc,
                                vec![format!("x := shift_left({}, {s});", at(net, a, wc))],
                            )
                        }
                        Src::Bus(sb) => {
                            let wc = (wa + bits).max(bits) + 1;
                            (wc, vec![format!(
                                "if {sb} < 0 or {sb} >= {bits} then x := to_signed(0, {wc}); else x := shift_left({}, to_integer({sb})); end if;",
                                at(net, a, wc)
                            )])
                        }
                    },
                    BinaryOp::Shr => {
                        let w = wa.max(dw);
                        match c {
                            Src::Const(s) if *s < 0 || *s >= bits as i128 => (w, vec![format!(
                                "if {} < 0 then x := to_signed(-1, {w}); else x := to_signed(0, {w}); end if;",
                                own(net, a)
                            )]),
                            Src::Const(s) => (w, vec![format!("x := shift_right({}, {s});", at(net, a, w))]),
                            Src::Bus(sb) => (w, vec![format!(
                                "if {sb} < 0 or {sb} >= {bits} then x := shift_right({}, {}); else x := shift_right({}, to_integer({sb})); end if;",
                                at(net, a, w), w - 1, at(net, a, w)
                            )]),
                        }
                    }
                };
                let wraps = binary_exact(*op, *d, range_of(net, a), range_of(net, c))
                    .is_none_or(|x| !x.within(Interval::of(*d)));
                let wraps = wraps && wc >= bits;
                let mut stmts = stmts;
                stmts.push(assign(&dst, "x", *d, dw, wraps));
                (wc, stmts)
            }
            ProcKind::Compare(op, a, c) => {
                let sym = match op {
                    hissc_aop::CmpOp::Eq => "=",
                    hissc_aop::CmpOp::Ne => "/=",
                    hissc_aop::CmpOp::Lt => "<",
                    hissc_aop::CmpOp::Le => "<=",
                    hissc_aop::CmpOp::Gt => ">",
                    hissc_aop::CmpOp::Ge => ">=",
                };
                (
                    0,
                    vec![bool_to(
                        &dst,
                        &format!("{} {sym} {}", own(net, a), own(net, c)),
                        dw,
                    )],
                )
            }
            ProcKind::Select(c, a, e) => (
                0,
                vec![format!(
                    "if {} then {dst} <= {}; else {dst} <= {}; end if;",
                    truth(c),
                    at(net, a, dw),
                    at(net, e, dw)
                )],
            ),
            ProcKind::Cast(DType::Bool, a) => {
                (0, vec![bool_to(&dst, &format!("{} /= 0", own(net, a)), dw)])
            }
            ProcKind::Cast(d, a) => {
                let wraps = !range_of(net, a).within(Interval::of(*d));
                let wc = width_of(net, a).max(d.bits());
                (
                    wc,
                    vec![
                        format!("x := {};", at(net, a, wc)),
                        assign(&dst, "x", *d, dw, wraps),
                    ],
                )
            }
            _ => (0, vec![]),
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
        let _ = writeln!(s, "  begin\n    if rising_edge(clk) then");
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
            ProcKind::Input(i) => {
                let p = &iface.inputs[*i as usize];
                let conv = if p.signed {
                    format!("resize(signed({}), {w})", p.data)
                } else {
                    format!("signed(resize(unsigned({}), {w}))", p.data)
                };
                let c = self.comment(b);
                let _ = write!(
                    self.body,
                    "{c}  {b} <= {conv};\n  {b}_v <= {};\n\n",
                    p.valid
                );
            }
            ProcKind::Param(i) => {
                let p = &iface.params[*i as usize];
                let conv = if p.signed {
                    format!("resize(signed({}), {w})", p.name)
                } else {
                    format!("signed(resize(unsigned({}), {w}))", p.name)
                };
                let c = self.comment(b);
                let _ = write!(self.body, "{c}  {b} <= {conv};\n\n");
            }
            k if k.is_elementwise() => {
                let (xw, stmts) = self.elementwise(b);
                let vars: Vec<String> = if xw > 0 {
                    vec![format!("variable x : signed({} downto 0);", xw - 1)]
                } else {
                    vec![]
                };
                if stream {
                    let v = k
                        .inputs()
                        .into_iter()
                        .find(|i| !net.nodes[*i].sched.is_static())
                        .map(|i| format!("{i}_v"))
                        .unwrap_or_else(|| "'0'".into());
                    let mut all = stmts;
                    all.push(format!("{b}_v <= {v};"));
                    self.clocked(b, &vars, &all, &[format!("{b}_v <= '0';")]);
                } else {
                    let mut s = self.comment(b);
                    let _ = writeln!(s, "  p_{b} : process(all)");
                    for v in &vars {
                        let _ = writeln!(s, "    {v}");
                    }
                    let _ = writeln!(s, "  begin");
                    for st in &stmts {
                        let _ = writeln!(s, "    {st}");
                    }
                    let _ = writeln!(s, "  end process;\n");
                    self.body.push_str(&s);
                }
            }
            ProcKind::Reduce(op, d, a, count) => self.reduce(b, *op, *d, *a, *count),
            ProcKind::Broadcast {
                arg,
                timing,
                from,
                to,
            } => self.broadcast(b, *arg, *timing, from, to),
            ProcKind::Delay(a, n) => {
                if *n == 1 {
                    self.clocked(
                        b,
                        &[],
                        &[format!("{b} <= {a};"), format!("{b}_v <= {a}_v;")],
                        &[format!("{b}_v <= '0';")],
                    );
                } else {
                    let _ = writeln!(
                        self.decls,
                        "  type {b}_dly_t is array (1 to {n}) of signed({} downto 0);",
                        w - 1
                    );
                    let _ = writeln!(
                        self.decls,
                        "  signal {b}_d : {b}_dly_t := (others => (others => '0'));"
                    );
                    let _ = writeln!(
                        self.decls,
                        "  signal {b}_dv : std_logic_vector(1 to {n}) := (others => '0');"
                    );
                    self.clocked(
                        b,
                        &[],
                        &[
                            format!("{b}_d <= {a} & {b}_d(1 to {});", n - 1),
                            format!("{b}_dv <= {a}_v & {b}_dv(1 to {});", n - 1),
                        ],
                        &[format!("{b}_dv <= (others => '0');")],
                    );
                    let _ = write!(
                        self.body,
                        "  {b} <= {b}_d({n});\n  {b}_v <= {b}_dv({n});\n\n"
                    );
                }
            }
            _ => {}
        }
    }

    fn reduce(&mut self, b: Bus, op: ReduceOp, d: DType, a: Bus, count: u32) {
        let net = self.net;
        let (w, ra) = (net.nodes[b].width, net.nodes[a].range);
        let n = count as i128;
        let sum_wraps =
            op == ReduceOp::Sum && sum_exact(ra, n).is_none_or(|x| !x.within(Interval::of(d)));
        let acc_range = match op {
            ReduceOp::Sum if sum_wraps => Interval::of(d),
            ReduceOp::Sum => net.nodes[b].range.union(ra),
            ReduceOp::Min | ReduceOp::Max => ra,
            ReduceOp::Any | ReduceOp::All => Interval::new(0, 1),
            ReduceOp::CountNonzero => Interval::new(0, n),
        };
        let wacc = acc_range.signed_bits();
        self.signal(&format!("{b}_acc"), wacc);
        if count > 1 {
            let _ = writeln!(
                self.decls,
                "  signal {b}_cnt : integer range 0 to {} := 0;",
                count - 1
            );
        }
        let nz = format!("{a} /= 0");
        let first = match op {
            ReduceOp::Sum | ReduceOp::Min | ReduceOp::Max => format!("v := resize({a}, {wacc});"),
            _ => bool_to("v", &nz, wacc).replace("v <= ", "v := "),
        };
        let step = match op {
            ReduceOp::Sum if sum_wraps => {
                let bits = d.bits();
                let wc = wacc.max(net.nodes[a].width).max(bits) + 1;
                let tail = if d.is_signed() {
                    format!("v := resize(s({} downto 0), {wacc});", bits - 1)
                } else {
                    format!("v := signed(resize(unsigned(s({} downto 0)), {wacc}));", bits - 1)
                };
                format!("s := resize({b}_acc, {wc}) + resize({a}, {wc}); {tail}")
            }
            ReduceOp::Sum => format!("v := {b}_acc + resize({a}, {wacc});"),
            ReduceOp::Min => format!("if {a} < {b}_acc then v := resize({a}, {wacc}); else v := {b}_acc; end if;"),
            ReduceOp::Max => format!("if {a} > {b}_acc then v := resize({a}, {wacc}); else v := {b}_acc; end if;"),
            ReduceOp::Any => format!("if {b}_acc /= 0 or {nz} then v := to_signed(1, {wacc}); else v := to_signed(0, {wacc}); end if;"),
            ReduceOp::All => format!("if {b}_acc /= 0 and {nz} then v := to_signed(1, {wacc}); else v := to_signed(0, {wacc}); end if;"),
            ReduceOp::CountNonzero => format!("if {nz} then v := {b}_acc + 1; else v := {b}_acc; end if;"),
        };
        let mut vars = vec![format!("variable v : signed({} downto 0);", wacc - 1)];
        if sum_wraps {
            let wc = wacc.max(net.nodes[a].width).max(d.bits()) + 1;
            vars.push(format!("variable s : signed({} downto 0);", wc - 1));
        }
        let mut stmts = vec![format!("{b}_v <= '0';"), format!("if {a}_v = '1' then")];
        if count > 1 {
            stmts.push(format!("  if {b}_cnt = 0 then {first} else {step} end if;"));
            stmts.push(format!("  if {b}_cnt = {} then", count - 1));
            stmts.push(format!(
                "    {b} <= resize(v, {w}); {b}_v <= '1'; {b}_cnt <= 0;"
            ));
            stmts.push(format!(
                "  else\n        {b}_cnt <= {b}_cnt + 1;\n      end if;"
            ));
        } else {
            stmts.push(format!("  {first}"));
            stmts.push(format!("  {b} <= resize(v, {w}); {b}_v <= '1';"));
        }
        stmts.push(format!("  {b}_acc <= v;"));
        stmts.push("end if;".into());
        let mut resets = vec![format!("{b}_v <= '0';")];
        if count > 1 {
            resets.push(format!("{b}_cnt <= 0;"));
        }
        self.clocked(b, &vars, &stmts, &resets);
    }

    fn broadcast(&mut self, b: Bus, arg: Bus, timing: Bus, from: &[u32], to: &[u32]) {
        let net = self.net;
        let (w, wa) = (net.nodes[b].width, net.nodes[arg].width);
        let len: u32 = from.iter().product();
        let _ = writeln!(
            self.decls,
            "  type {b}_mem_t is array (0 to {}) of signed({} downto 0);",
            len - 1,
            wa - 1
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_mem : {b}_mem_t := (others => (others => '0'));"
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_w : integer range 0 to {} := 0;",
            len - 1
        );
        let off = to.len() - from.len();
        let mut strides = vec![0u32; to.len()];
        let mut s = 1u32;
        for d in (0..from.len()).rev() {
            if from[d] != 1 {
                strides[off + d] = s;
            }
            s *= from[d];
        }
        let counted: Vec<usize> = (0..to.len()).collect();
        for &i in &counted {
            let _ = writeln!(
                self.decls,
                "  signal {b}_r{i} : integer range 0 to {} := 0;",
                to[i] - 1
            );
        }
        let addr: Vec<String> = counted
            .iter()
            .filter(|&&i| strides[i] != 0)
            .map(|&i| {
                if strides[i] == 1 {
                    format!("{b}_r{i}")
                } else {
                    format!("{b}_r{i} * {}", strides[i])
                }
            })
            .collect();
        let addr = if addr.is_empty() {
            "0".to_string()
        } else {
            addr.join(" + ")
        };
        // advance the read counters, innermost axis first: an if/else chain
        let mut advance = Vec::new();
        fn chain(b: Bus, axes: &[usize], to: &[u32], out: &mut Vec<String>, indent: usize) {
            let Some((&i, rest)) = axes.split_last() else {
                return;
            };
            let pad = "  ".repeat(indent);
            out.push(format!("{pad}if {b}_r{i} = {} then", to[i] - 1));
            out.push(format!("{pad}  {b}_r{i} <= 0;"));
            chain(b, rest, to, out, indent + 1);
            out.push(format!("{pad}else"));
            out.push(format!("{pad}  {b}_r{i} <= {b}_r{i} + 1;"));
            out.push(format!("{pad}end if;"));
        }
        chain(b, &counted, to, &mut advance, 1);
        let mut stmts = vec![
            format!("{b}_v <= {timing}_v;"),
            format!("if {timing}_v = '1' then"),
            format!("  src := {addr};"),
            format!("  if {arg}_v = '1' and {b}_w = src then {b} <= resize({arg}, {w}); else {b} <= resize({b}_mem(src), {w}); end if;"),
        ];
        stmts.extend(advance);
        stmts.push("end if;".into());
        stmts.push(format!("if {arg}_v = '1' then"));
        stmts.push(format!("  {b}_mem({b}_w) <= {arg};"));
        stmts.push(format!(
            "  if {b}_w = {} then {b}_w <= 0; else {b}_w <= {b}_w + 1; end if;",
            len - 1
        ));
        stmts.push("end if;".into());
        let mut resets = vec![format!("{b}_v <= '0';"), format!("{b}_w <= 0;")];
        resets.extend(counted.iter().map(|i| format!("{b}_r{i} <= 0;")));
        self.clocked(
            b,
            &[format!("variable src : integer range 0 to {};", len - 1)],
            &stmts,
            &resets,
        );
    }

    fn output(&mut self, o: &StreamOut) {
        let b = o.bus;
        let conv = match o.dtype {
            DType::Bool => format!("(0 => {b}(0))"),
            d if d.is_signed() => format!("std_logic_vector(resize({b}, {}))", o.width),
            _ => format!("std_logic_vector(resize(unsigned({b}), {}))", o.width),
        };
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

/// The VHDL design of a verified network.
pub fn design(net: &Network, iface: &Interface, src: &SourceFile) -> String {
    let mut e = Emitter {
        net,
        src,
        decls: String::new(),
        body: String::new(),
        uses_div: false,
    };
    for (b, _) in net.nodes.iter() {
        e.node(b, iface);
    }
    for o in &iface.outputs {
        e.output(o);
    }
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
    for p in &iface.inputs {
        let kind = if p.signed { "signed" } else { "unsigned" };
        ports.push(format!("    {} : in std_logic", p.valid));
        ports.push(format!(
            "    {} : in std_logic_vector({} downto 0) -- input `{}`, {kind}",
            p.data,
            p.width - 1,
            p.py
        ));
    }
    for p in &iface.params {
        let kind = if p.signed { "signed" } else { "unsigned" };
        ports.push(format!(
            "    {} : in std_logic_vector({} downto 0) -- parameter `{}`, {kind}",
            p.name,
            p.width - 1,
            p.py
        ));
    }
    for o in &iface.outputs {
        ports.push(format!("    {} : out std_logic", o.valid));
        ports.push(format!(
            "    {} : out std_logic_vector({} downto 0) -- {}",
            o.data,
            o.width - 1,
            o.dtype.numpy_name()
        ));
    }
    // semicolons go before comments
    let n = ports.len();
    for (i, p) in ports.iter().enumerate() {
        let (code, comment) = match p.split_once(" -- ") {
            Some((c, m)) => (c.to_string(), format!(" -- {m}")),
            None => (p.clone(), String::new()),
        };
        let sep = if i + 1 == n { "" } else { ";" };
        let _ = writeln!(out, "{code}{sep}{comment}");
    }
    let _ = writeln!(out, "  );\nend entity;\n");
    let _ = writeln!(out, "architecture rtl of {} is", iface.entity);
    if e.uses_div {
        out.push_str(DIV_FUNCTIONS);
    }
    out.push_str(&e.decls);
    out.push_str("begin\n\n");
    out.push_str(&e.body);
    out.push_str("end architecture;\n");
    out
}
