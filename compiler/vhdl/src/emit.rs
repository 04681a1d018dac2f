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

struct Emitter<'a> {
    net: &'a Network,
    src: &'a SourceFile,
    decls: String,
    body: String,
    uses_div: bool,
    uses_float: bool,
    extra_vars: Vec<String>,
}

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
                    // not VHDL's `abs`: GHDL 2.0's Verilog writer cannot print it
                    UnaryOp::Abs => format!("{0}; if x < 0 then x := -x; end if", at(net, a, wc)),
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
                    BinaryOp::FloorDiv | BinaryOp::Mod => match c {
                        Src::Const(cv)
                            if let Some(x) = self.const_div(a, *cv, *op == BinaryOp::Mod) =>
                        {
                            x
                        }
                        _ => {
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
                    },
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
                                at(net, a, w),
                                at(net, c, w),
                                at(net, a, w),
                                at(net, c, w)
                            )],
                        )
                    }
                    BinaryOp::Shl => match c {
                        Src::Const(s) if *s < 0 || *s >= bits as i128 => {
                            (2, vec!["x := to_signed(0, 2);".into()])
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
                                "if {sb} < 0 or resize({sb}, {sw}) >= to_signed({bits}, {sw}) then x := to_signed(0, {wc}); else x := shift_left({}, to_integer({sb})); end if;",
                                at(net, a, wc),
                                sw = width_of(net, c).max(8) + 1
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
                                "if {sb} < 0 or resize({sb}, {sw}) >= to_signed({bits}, {sw}) then x := shift_right({}, {}); else x := shift_right({}, to_integer({sb})); end if;",
                                at(net, a, w), w - 1, at(net, a, w),
                                sw = width_of(net, c).max(8) + 1
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
                        // operands at one width: GHDL 2.0 mis-synthesizes mixed-width
                        // signed comparisons beyond 32 bits
                        &{
                            let w = width_of(net, a).max(width_of(net, c));
                            format!("{} {sym} {}", at(net, a, w), at(net, c, w))
                        },
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
            ProcKind::Lookup(table, a) => {
                // a power-of-two ROM read with the index's low bits: the index is in
                // range whenever it is valid, and any value reads something otherwise
                let k = (usize::BITS - (table.len().max(2) - 1).leading_zeros()) as usize;
                let _ = writeln!(
                    self.decls,
                    "  type {b}_rom_t is array (0 to {}) of signed({} downto 0);",
                    (1usize << k) - 1,
                    dw - 1
                );
                let padded = table
                    .iter()
                    .copied()
                    .chain(std::iter::repeat(0))
                    .take(1 << k);
                let items: Vec<String> = padded.map(|v| lit(v, dw)).collect();
                let _ = writeln!(
                    self.decls,
                    "  constant {b}_rom : {b}_rom_t := (\n    {}\n  );",
                    items.join(",\n    ")
                );
                (
                    0,
                    vec![format!(
                        "{dst} <= {b}_rom(to_integer(unsigned({}({} downto 0))));",
                        at(net, a, width_of(net, a).max(k as u32 + 1)),
                        k - 1
                    )],
                )
            }
            ProcKind::Cast(DType::Bool, a) => {
                (0, vec![bool_to(&dst, &format!("{} /= 0", own(net, a)), dw)])
            }
            ProcKind::Float(a) => {
                // an exact integer (|v| < 2^53) as IEEE 754 double bits, in one stage
                self.uses_float = true;
                let wc = width_of(net, a).max(54);
                let pack = |m: &str| {
                    format!("hissc_pack({}, unsigned(resize({m}, 53)), hissc_msb(unsigned(resize({m}, 53))))",
                        if m.starts_with('-') { "'1'" } else { "'0'" })
                };
                (
                    wc,
                    vec![
                        format!("x := {};", at(net, a, wc)),
                        format!(
                            "if x < 0 then {dst} <= resize({}, {dw}); else {dst} <= resize({}, {dw}); end if;",
                            pack("-x"),
                            pack("x")
                        ),
                    ],
                )
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

    /// `a // c` or `a % c` by a constant without a divider: an offset makes the
    /// dividend non-negative, then a multiplication by a rounded reciprocal and a
    /// shift give the exact floor quotient for every value in `a`'s range
    /// (Granlund and Montgomery). `None` if no reciprocal fits 127 bits.
    fn const_div(&mut self, a: &Src, c: i128, is_mod: bool) -> Option<(u32, Vec<String>)> {
        let net = self.net;
        if c == 0 {
            return Some((2, vec!["x := to_signed(0, 2);".into()]));
        }
        let r = range_of(net, a);
        let (neg, d) = (c < 0, c.abs());
        let (ylo, yhi) = if neg { (-r.hi, -r.lo) } else { (r.lo, r.hi) };
        let k = ylo.div_euclid(d); // floor for d > 0
        let base = k * d;
        let big_x = yhi - base; // y - base is in [0, X]
        let (shift, mult) = if d & (d - 1) == 0 {
            (d.trailing_zeros(), 1i128)
        } else {
            (0..120u32).find_map(|s| {
                let p = 1i128.checked_shl(s)?;
                let m = (p + d - 1) / d;
                let e = m.checked_mul(d)? - p;
                (e.checked_mul(big_x)? < p).then_some((s, m))
            })?
        };
        let wy = Interval::new(ylo.min(base), yhi.max(base))
            .signed_bits()
            .max(width_of(net, a))
            + 2;
        let wm = Interval::point(mult).signed_bits().max(2);
        let wp = wy + wm;
        let q = Interval::new(k, k + big_x / d);
        let prod = Interval::new((q.lo * c).min(q.hi * c), (q.lo * c).max(q.hi * c));
        let wx = q.union(prod).union(r).signed_bits() + 2;
        self.extra_vars
            .push(format!("variable y : signed({} downto 0);", wy - 1));
        self.extra_vars
            .push(format!("variable t : signed({} downto 0);", wp - 1));
        let sign = if neg { "-" } else { "" };
        let mut st = vec![format!(
            "y := {sign}{} - {};",
            at(net, a, wy),
            lit(base, wy)
        )];
        if mult == 1 {
            st.push(format!("t := resize(shift_right(y, {shift}), {wp});"));
        } else {
            st.push(format!("t := shift_right(y * {}, {shift});", lit(mult, wm)));
        }
        st.push(format!("x := resize(t, {wx}) + {};", lit(k, wx)));
        if is_mod {
            st.push(format!(
                "x := {} - resize(x * {}, {wx});",
                at(net, a, wx),
                lit(c, Interval::point(c).signed_bits())
            ));
        }
        Some((wx, st))
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
                let conv = if p.signed {
                    format!("resize(signed{bits}, {w})")
                } else {
                    format!("signed(resize(unsigned{bits}, {w}))")
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
                let bits = if p.width == 1 {
                    format!("'(0 => {})", p.name)
                } else {
                    format!("({})", p.name)
                };
                let conv = if p.signed {
                    format!("resize(signed{bits}, {w})")
                } else {
                    format!("signed(resize(unsigned{bits}, {w}))")
                };
                let c = self.comment(b);
                let _ = write!(self.body, "{c}  {b} <= {conv};\n\n");
            }
            k if k.is_elementwise() => {
                let (xw, stmts) = self.elementwise(b);
                let mut vars: Vec<String> = if xw > 0 {
                    vec![format!("variable x : signed({} downto 0);", xw - 1)]
                } else {
                    vec![]
                };
                vars.append(&mut self.extra_vars);
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
            ProcKind::Reduce(op, d, a, shape, axes) => self.reduce(b, *op, *d, *a, shape, axes),
            ProcKind::Slice(a, shape, sel) => self.slice(b, *a, shape, sel),
            ProcKind::Scan(d, a, count) => self.scan(b, *d, *a, *count),
            ProcKind::Bincount { .. } => self.bincount(b),
            ProcKind::Pack { lanes, width, lane } => self.pack(b, lanes, *width, *lane),
            ProcKind::Broadcast {
                arg,
                timing,
                from,
                to,
            } => self.broadcast(b, *arg, *timing, from, to),
            ProcKind::Delay(a, n) => {
                if hissc_spn::sched::delay_in_ram(*n, w) {
                    self.delay_ram(b, *a, *n);
                } else if *n == 1 {
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

    /// A long delay line in block RAM: a ring of `n - 1` words (the element and
    /// its valid bit) written every cycle and read, before the write, into a
    /// register: the element written `n - 1` cycles ago leaves `n` cycles after
    /// it came. Until the ring has been filled once after reset, nothing leaves
    /// valid, exactly as a shift register reset to invalid.
    fn delay_ram(&mut self, b: Bus, a: Bus, n: u32) {
        let w = self.net.nodes[b].width;
        let last = n - 2;
        let d = &mut self.decls;
        let _ = writeln!(
            d,
            "  type {b}_ring_t is array (0 to {last}) of signed({w} downto 0);"
        );
        let _ = writeln!(
            d,
            "  signal {b}_ring : {b}_ring_t := (others => (others => '0'));"
        );
        let _ = writeln!(
            d,
            "  signal {b}_q : signed({w} downto 0) := (others => '0');"
        );
        let _ = writeln!(d, "  signal {b}_ptr : integer range 0 to {last} := 0;");
        let _ = writeln!(d, "  signal {b}_cnt : integer range 0 to {} := 0;", n - 1);
        let _ = writeln!(d, "  signal {b}_full : std_logic := '0';");
        self.clocked(
            b,
            &[],
            &[
                format!("{b}_q <= {b}_ring({b}_ptr);"),
                format!("{b}_ring({b}_ptr) <= {a}_v & {a};"),
                format!("if {b}_ptr = {last} then {b}_ptr <= 0; else {b}_ptr <= {b}_ptr + 1; end if;"),
                format!(
                    "if {b}_cnt = {} then {b}_full <= '1'; else {b}_full <= '0'; {b}_cnt <= {b}_cnt + 1; end if;",
                    n - 1
                ),
            ],
            &[
                format!("{b}_ptr <= 0;"),
                format!("{b}_cnt <= 0;"),
                format!("{b}_full <= '0';"),
            ],
        );
        let _ = write!(
            self.body,
            "  {b} <= {b}_q({} downto 0);\n  {b}_v <= {b}_q({w}) and {b}_full;\n\n",
            w - 1
        );
    }

    /// A gearbox: a queue (registers `{b}_q`, length `{b}_n`) that takes the valid
    /// lanes of each cycle in lane order and lets one group of `width` out per cycle
    /// whenever it holds one; this process drives element `lane` of each group.
    /// The queue is as deep as [`hissc_spn::sched::pack_depth`] says it ever gets (one spare slot).
    fn pack(&mut self, b: Bus, lanes: &[Bus], width: u32, lane: u32) {
        let net = self.net;
        let w = net.nodes[b].width;
        let depth = hissc_spn::sched::pack_depth(net, lanes, width);
        let _ = writeln!(
            self.decls,
            "  type {b}_q_t is array (0 to {depth}) of signed({} downto 0);",
            w - 1
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_q : {b}_q_t := (others => (others => '0'));"
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_n : integer range 0 to {depth} := 0;"
        );
        let vars = [
            format!("variable q : {b}_q_t;"),
            format!("variable k : integer range 0 to {depth};"),
        ];
        let mut s = vec![format!("q := {b}_q;"), format!("k := {b}_n;")];
        // (static indices only: a loop over the slots rather than `q(k)`, which
        // GHDL 2.0's synthesis turns into a combinational loop)
        for l in lanes {
            s.push(format!(
                "if {l}_v = '1' then for i in 0 to {depth} loop if i = k then q(i) := resize({l}, {w}); end if; end loop; k := k + 1; end if;"
            ));
        }
        s.push(format!("{b}_v <= '0';"));
        s.push(format!("if k >= {width} then"));
        s.push(format!("  {b} <= q({lane});"));
        s.push(format!("  {b}_v <= '1';"));
        if depth > width {
            s.push(format!(
                "  for i in 0 to {} loop q(i) := q(i + {width}); end loop;",
                depth - width
            ));
        }
        s.push(format!("  k := k - {width};"));
        s.push("end if;".into());
        s.push(format!("{b}_q <= q;"));
        s.push(format!("{b}_n <= k;"));
        self.clocked(
            b,
            &vars,
            &s,
            &[format!("{b}_n <= 0;"), format!("{b}_v <= '0';")],
        );
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

    fn reduce(&mut self, b: Bus, op: ReduceOp, d: DType, a: Bus, shape: &[u32], axes: &[u32]) {
        let net = self.net;
        let (w, ra) = (net.nodes[b].width, net.nodes[a].range);
        let total: u32 = shape.iter().product();
        let n = (total
            / shape
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(&(*i as u32)))
                .map(|(_, d)| d)
                .product::<u32>()) as i128;
        let sum_wraps =
            op == ReduceOp::Sum && sum_exact(ra, n).is_none_or(|x| !x.within(Interval::of(d)));
        let acc_range = hissc_spn::lower::accumulator_range(op, d, ra, net.nodes[b].range, n);
        let wacc = acc_range.signed_bits().max(2);
        // accumulators: one per output in flight
        let (lines, line) = hissc_spn::sched::reduce_lines(shape, axes);
        let arg_op = matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin);
        let flat = axes.len() == shape.len();
        let maxpos = if flat {
            total - 1
        } else {
            shape[axes[0] as usize] - 1
        };
        let _ = writeln!(
            self.decls,
            "  type {b}_acc_t is array (0 to {}) of signed({} downto 0);",
            lines - 1,
            wacc - 1
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_acc : {b}_acc_t := (others => (others => '0'));"
        );
        if arg_op {
            let _ = writeln!(
                self.decls,
                "  type {b}_ix_t is array (0 to {}) of integer range 0 to {maxpos};",
                lines - 1
            );
            let _ = writeln!(self.decls, "  signal {b}_ix : {b}_ix_t := (others => 0);");
        }
        let (advance, mut resets) = self.counters(b, shape);
        let eq_all = |f: &dyn Fn(usize) -> String| -> String {
            let parts: Vec<String> = axes.iter().map(|&i| f(i as usize)).collect();
            parts.join(" and ")
        };
        let first = eq_all(&|i| format!("{b}_r{i} = 0"));
        let last = eq_all(&|i| format!("{b}_r{i} = {}", shape[i] - 1));
        let addr: Vec<String> = (0..shape.len())
            .filter(|&i| line[i] != 0)
            .map(|i| {
                if line[i] == 1 {
                    format!("{b}_r{i}")
                } else {
                    format!("{b}_r{i} * {}", line[i])
                }
            })
            .collect();
        let addr = if addr.is_empty() {
            "0".to_string()
        } else {
            addr.join(" + ")
        };
        let pos = if flat {
            let mut stride = 1u32;
            let mut terms = Vec::new();
            for i in (0..shape.len()).rev() {
                terms.push(if stride == 1 {
                    format!("{b}_r{i}")
                } else {
                    format!("{b}_r{i} * {stride}")
                });
                stride *= shape[i];
            }
            terms.join(" + ")
        } else {
            format!("{b}_r{}", axes[0])
        };
        // more than one accumulator: block RAM, read in one cycle and written back
        // in the next (stage B), forwarding the previous write
        let bram = lines > 1;
        let x = if bram {
            format!("{b}_bx")
        } else {
            a.to_string()
        };
        let nz = format!("{x} /= 0");
        let as_bool = |c: &str| {
            format!(
                "if {c} then v := to_signed(1, {wacc}); else v := to_signed(0, {wacc}); end if;"
            )
        };
        let first_v = match op {
            ReduceOp::Any | ReduceOp::All | ReduceOp::CountNonzero => as_bool(&nz),
            _ => format!("v := resize({x}, {wacc});"),
        };
        let cur = if bram {
            "c".to_string()
        } else {
            format!("{b}_acc(addr)")
        };
        let step = match op {
            ReduceOp::Sum if sum_wraps => {
                let bits = d.bits();
                let tail = if d.is_signed() {
                    format!("v := resize(s({} downto 0), {wacc});", bits - 1)
                } else {
                    format!(
                        "v := signed(resize(unsigned(s({} downto 0)), {wacc}));",
                        bits - 1
                    )
                };
                let wc = wacc.max(net.nodes[a].width).max(bits) + 1;
                format!("s := resize({cur}, {wc}) + resize({x}, {wc}); {tail}")
            }
            ReduceOp::Sum => format!("v := {cur} + resize({x}, {wacc});"),
            ReduceOp::Min => {
                format!("if {x} < {cur} then v := resize({x}, {wacc}); else v := {cur}; end if;")
            }
            ReduceOp::Max => {
                format!("if {x} > {cur} then v := resize({x}, {wacc}); else v := {cur}; end if;")
            }
            ReduceOp::Any => as_bool(&format!("{cur} /= 0 or {nz}")),
            ReduceOp::All => as_bool(&format!("{cur} /= 0 and {nz}")),
            ReduceOp::CountNonzero => {
                format!("if {nz} then v := {cur} + 1; else v := {cur}; end if;")
            }
            ReduceOp::ArgMax | ReduceOp::ArgMin => String::new(),
        };
        if bram {
            let wa = net.nodes[a].width;
            let mut decl = String::new();
            let sig = |decl: &mut String, t: String| {
                let _ = writeln!(decl, "  signal {t};");
            };
            sig(
                &mut decl,
                format!(
                    "{b}_q, {b}_fd, {b}_new : signed({} downto 0) := (others => '0')",
                    wacc - 1
                ),
            );
            sig(
                &mut decl,
                format!("{b}_bx : signed({} downto 0) := (others => '0')", wa - 1),
            );
            sig(
                &mut decl,
                format!(
                    "{b}_ra, {b}_ba, {b}_fa : integer range 0 to {} := 0",
                    lines - 1
                ),
            );
            sig(
                &mut decl,
                format!("{b}_bv, {b}_fv, {b}_bfirst, {b}_blast : std_logic := '0'"),
            );
            if arg_op {
                sig(
                    &mut decl,
                    format!(
                        "{b}_qi, {b}_fi, {b}_newi, {b}_bpos : integer range 0 to {maxpos} := 0"
                    ),
                );
            }
            self.decls.push_str(&decl);
            let mut body = self.comment(b);
            let _ = writeln!(body, "  {b}_ra <= {addr};");
            let mut mem = vec![
                format!("if {b}_bv = '1' then {b}_acc({b}_ba) <= {b}_new; end if;"),
                format!("{b}_q <= {b}_acc({b}_ra);"),
            ];
            if arg_op {
                mem.push(format!(
                    "if {b}_bv = '1' then {b}_ix({b}_ba) <= {b}_newi; end if;"
                ));
                mem.push(format!("{b}_qi <= {b}_ix({b}_ra);"));
            }
            let _ = writeln!(
                body,
                "  p_{b}_m : process(clk)\n  begin\n    if rising_edge(clk) then"
            );
            for m in &mem {
                let _ = writeln!(body, "      {m}");
            }
            let _ = writeln!(body, "    end if;\n  end process;");
            // stage B, combinational: the accumulator (forwarded if written last cycle) and the new value
            let mut cvars = vec![format!("variable c, v : signed({} downto 0);", wacc - 1)];
            if sum_wraps {
                let wc = wacc.max(wa).max(d.bits()) + 1;
                cvars.push(format!("variable s : signed({} downto 0);", wc - 1));
            }
            let mut cst = Vec::new();
            if arg_op {
                cvars.push(format!("variable ci, p : integer range 0 to {maxpos};"));
                cst.push(format!("if {b}_fv = '1' and {b}_fa = {b}_ba then c := {b}_fd; ci := {b}_fi; else c := {b}_q; ci := {b}_qi; end if;"));
                let cmp = if op == ReduceOp::ArgMax { ">" } else { "<" };
                cst.push(format!("if {b}_bfirst = '1' or {x} {cmp} c then v := resize({x}, {wacc}); p := {b}_bpos; else v := c; p := ci; end if;"));
                cst.push(format!("{b}_new <= v;"));
                cst.push(format!("{b}_newi <= p;"));
            } else {
                cst.push(format!("if {b}_fv = '1' and {b}_fa = {b}_ba then c := {b}_fd; else c := {b}_q; end if;"));
                cst.push(format!(
                    "if {b}_bfirst = '1' then {first_v} else {step} end if;"
                ));
                cst.push(format!("{b}_new <= v;"));
            }
            let _ = writeln!(body, "  p_{b}_c : process(all)");
            for v in &cvars {
                let _ = writeln!(body, "    {v}");
            }
            let _ = writeln!(body, "  begin");
            for c in &cst {
                let _ = writeln!(body, "    {c}");
            }
            let _ = writeln!(body, "  end process;\n");
            self.body.push_str(&body);
            let result = if arg_op {
                format!("to_signed({b}_newi, {w})")
            } else {
                format!("resize({b}_new, {w})")
            };
            let mut stmts = vec![
                format!("{b}_v <= '0';"),
                format!("if {b}_bv = '1' and {b}_blast = '1' then {b} <= {result}; {b}_v <= '1'; end if;"),
                format!("{b}_fv <= {b}_bv; {b}_fa <= {b}_ba; {b}_fd <= {b}_new;"),
                format!("{b}_bv <= {a}_v; {b}_ba <= {addr}; {b}_bx <= {a};"),
                format!("if {first} then {b}_bfirst <= '1'; else {b}_bfirst <= '0'; end if;"),
                format!("if {last} then {b}_blast <= '1'; else {b}_blast <= '0'; end if;"),
            ];
            if arg_op {
                stmts.push(format!("{b}_fi <= {b}_newi; {b}_bpos <= {pos};"));
            }
            stmts.push(format!("if {a}_v = '1' then"));
            stmts.extend(advance);
            stmts.push("end if;".into());
            resets.insert(0, format!("{b}_v <= '0'; {b}_bv <= '0'; {b}_fv <= '0';"));
            self.clocked(b, &[], &stmts, &resets);
            return;
        }
        let mut vars = vec![
            format!("variable v : signed({} downto 0);", wacc - 1),
            format!("variable addr : integer range 0 to {};", lines - 1),
        ];
        if sum_wraps {
            let wc = wacc.max(net.nodes[a].width).max(d.bits()) + 1;
            vars.push(format!("variable s : signed({} downto 0);", wc - 1));
        }
        let mut stmts = vec![
            format!("{b}_v <= '0';"),
            format!("if {a}_v = '1' then"),
            format!("  addr := {addr};"),
        ];
        if arg_op {
            vars.push(format!("variable p : integer range 0 to {maxpos};"));
            let cmp = if op == ReduceOp::ArgMax { ">" } else { "<" };
            stmts.push(format!(
                "  if ({first}) or {x} {cmp} {cur} then v := resize({x}, {wacc}); p := {pos}; else v := {cur}; p := {b}_ix(addr); end if;"
            ));
            stmts.push(format!("  {b}_ix(addr) <= p;"));
            stmts.push(format!("  if {last} then {b}_v <= '1'; end if;"));
        } else {
            stmts.push(format!("  if {first} then {first_v} else {step} end if;"));
            stmts.push(format!("  if {last} then {b}_v <= '1'; end if;"));
        }
        stmts.push(format!("  {cur} <= v;"));
        stmts.extend(advance);
        stmts.push("end if;".into());
        resets.insert(0, format!("{b}_v <= '0';"));
        self.clocked(b, &vars, &stmts, &resets);
        // The single accumulator is the output: it holds the result in the cycle the
        // output is valid (the next frame's first element lands a cycle later).
        let out = if arg_op {
            format!("to_signed({b}_ix(0), {w})")
        } else {
            format!("resize({b}_acc(0), {w})")
        };
        let _ = writeln!(self.body, "  {b} <= {out};\n");
    }

    fn slice(&mut self, b: Bus, a: Bus, shape: &[u32], sel: &[(u32, u32, u32)]) {
        let (advance, mut resets) = self.counters(b, shape);
        // a phase counter per strided axis (r mod step) instead of a `mod` circuit
        let mut strided = Vec::new();
        for (i, &(_, st, _)) in sel.iter().enumerate() {
            if st > 1 {
                let _ = writeln!(
                    self.decls,
                    "  signal {b}_p{i} : integer range 0 to {} := 0;",
                    st - 1
                );
                resets.push(format!("{b}_p{i} <= 0;"));
                strided.push(i);
            }
        }
        let advance: Vec<String> = advance
            .into_iter()
            .flat_map(|line| {
                let mut out = vec![line.clone()];
                for &i in &strided {
                    let st = sel[i].1;
                    let pad: String = line.chars().take_while(|c| *c == ' ').collect();
                    if line.trim() == format!("{b}_r{i} <= {b}_r{i} + 1;") {
                        out.push(format!("{pad}if {b}_p{i} = {} then {b}_p{i} <= 0; else {b}_p{i} <= {b}_p{i} + 1; end if;", st - 1));
                    } else if line.trim() == format!("{b}_r{i} <= 0;") {
                        out.push(format!("{pad}{b}_p{i} <= 0;"));
                    }
                }
                out
            })
            .collect();
        let conds: Vec<String> = sel
            .iter()
            .enumerate()
            .filter(|(i, s)| **s != (0, 1, shape[*i]))
            .map(|(i, &(s, st, c))| {
                let hi = s + st * (c - 1);
                let range = format!("{b}_r{i} >= {s} and {b}_r{i} <= {hi}");
                if st == 1 {
                    range
                } else {
                    format!("{range} and {b}_p{i} = {}", s % st)
                }
            })
            .collect();
        let cond = if conds.is_empty() {
            "true".to_string()
        } else {
            conds.join(" and ")
        };
        let mut stmts = vec![
            format!("{b} <= {a};"),
            format!("{b}_v <= '0';"),
            format!("if {a}_v = '1' then"),
        ];
        stmts.push(format!("  if {cond} then {b}_v <= '1'; end if;"));
        stmts.extend(advance);
        stmts.push("end if;".into());
        resets.insert(0, format!("{b}_v <= '0';"));
        self.clocked(b, &[], &stmts, &resets);
    }

    fn scan(&mut self, b: Bus, d: DType, a: Bus, count: u32) {
        let net = self.net;
        let w = net.nodes[b].width;
        let wraps =
            !net.nodes[b].range.within(Interval::of(d)) || net.nodes[b].range == Interval::of(d);
        let _ = writeln!(
            self.decls,
            "  signal {b}_cnt : integer range 0 to {} := 0;",
            count.max(2) - 1
        );
        let wc = w.max(net.nodes[a].width).max(d.bits()) + 1;
        let tail =
            assign(&format!("{b}_s"), "s", d, w, wraps).replace(&format!("{b}_s <= "), "v := ");
        let stmts = vec![
            format!("{b}_v <= {a}_v;"),
            format!("if {a}_v = '1' then"),
            format!("  if {b}_cnt = 0 then s := resize({a}, {wc}); else s := resize({b}, {wc}) + resize({a}, {wc}); end if;"),
            format!("  {tail}"),
            format!("  {b} <= v;"),
            format!("  if {b}_cnt = {} then {b}_cnt <= 0; else {b}_cnt <= {b}_cnt + 1; end if;", count - 1),
            "end if;".into(),
        ];
        let vars = vec![
            format!("variable s : signed({} downto 0);", wc - 1),
            format!("variable v : signed({} downto 0);", w - 1),
        ];
        self.clocked(
            b,
            &vars,
            &stmts,
            &[format!("{b}_v <= '0';"), format!("{b}_cnt <= 0;")],
        );
    }

    /// Bin counting in two block-RAM banks: while one bank counts a frame (read,
    /// add, write back one cycle later, forwarding the previous cycle's write when
    /// the same bin comes twice in a row), the other streams out the previous
    /// frame's counts and clears them. Each bank has one read and one write port,
    /// as an iCE40 `SB_RAM40_4K`.
    fn bincount(&mut self, b: Bus) {
        let net = self.net;
        let ProcKind::Bincount {
            x,
            weights,
            mask,
            bins,
            count,
            float,
        } = net.nodes[b].kind
        else {
            unreachable!("a bincount process")
        };
        let w = net.nodes[b].width;
        let wacc = hissc_spn::sched::bincount_accumulator(net, b)
            .signed_bits()
            .max(2);
        // memories as deep as the next power of two: every address a netlist can
        // form is then in range
        let top = bins.next_power_of_two() - 1;
        let decl = |s: &mut String, line: String| {
            let _ = writeln!(s, "  {line}");
        };
        let mut d = String::new();
        decl(
            &mut d,
            format!(
                "type {b}_mem_t is array (0 to {top}) of signed({} downto 0);",
                wacc - 1
            ),
        );
        for k in 0..2 {
            decl(
                &mut d,
                format!("signal {b}_m{k} : {b}_mem_t := (others => (others => '0'));"),
            );
            decl(
                &mut d,
                format!(
                    "signal {b}_q{k} : signed({} downto 0) := (others => '0');",
                    wacc - 1
                ),
            );
            decl(
                &mut d,
                format!("signal {b}_ra{k}, {b}_wa{k} : integer range 0 to {top} := 0;"),
            );
            decl(&mut d, format!("signal {b}_we{k} : std_logic := '0';"));
            decl(
                &mut d,
                format!(
                    "signal {b}_wd{k} : signed({} downto 0) := (others => '0');",
                    wacc - 1
                ),
            );
        }
        decl(
            &mut d,
            format!(
                "signal {b}_cnt : integer range 0 to {} := 0;",
                count.max(2) - 1
            ),
        );
        decl(
            &mut d,
            format!(
                "signal {b}_bank, {b}_rbank, {b}_bbank, {b}_fbank : integer range 0 to 1 := 0;"
            ),
        );
        decl(
            &mut d,
            format!("signal {b}_rd : integer range -1 to {bins} := {bins};"),
        );
        decl(
            &mut d,
            format!(
                "signal {b}_xa, {b}_rda, {b}_ba, {b}_fa, {b}_rdd : integer range 0 to {top} := 0;"
            ),
        );
        decl(
            &mut d,
            format!("signal {b}_bv, {b}_fv, {b}_rv : std_logic := '0';"),
        );
        decl(&mut d, format!("signal {b}_binc, {b}_fd, {b}_new, {b}_old, {b}_base : signed({} downto 0) := (others => '0');", wacc - 1));
        self.decls.push_str(&d);
        let inc = match weights {
            Some(wb) => format!("resize({wb}, {wacc})"),
            None => format!("to_signed(1, {wacc})"),
        };
        let counted = match mask {
            Some(m) => format!("{x}_v = '1' and {m}(0) = '1'"),
            None => format!("{x}_v = '1'"),
        };
        let out = if float {
            // float64 in two more stages: magnitude, leading one, then shift and pack
            self.uses_float = true;
            let mut d = String::new();
            let _ = writeln!(
                d,
                "  signal {b}_s1v, {b}_s2v, {b}_neg1, {b}_neg2 : std_logic := '0';"
            );
            let _ = writeln!(
                d,
                "  signal {b}_mag1, {b}_mag2 : unsigned(52 downto 0) := (others => '0');"
            );
            let _ = writeln!(d, "  signal {b}_e2 : integer range 0 to 52 := 0;");
            self.decls.push_str(&d);
            let _ = writeln!(
                self.body,
                "  p_{b}_f : process(clk)\n  begin\n    if rising_edge(clk) then\n      {b}_s2v <= {b}_s1v; {b}_neg2 <= {b}_neg1; {b}_mag2 <= {b}_mag1; {b}_e2 <= hissc_msb({b}_mag1);\n      {b} <= hissc_pack({b}_neg2, {b}_mag2, {b}_e2);\n      if rst = '1' then\n        {b}_s2v <= '0';\n      end if;\n    end if;\n  end process;\n"
            );
            format!("if q < 0 then {b}_neg1 <= '1'; {b}_mag1 <= unsigned(resize(-q, 53)); else {b}_neg1 <= '0'; {b}_mag1 <= unsigned(resize(q, 53)); end if;")
        } else {
            format!("{b} <= resize(q, {w});")
        };
        let mut s = self.comment(b);
        let _ = writeln!(
            s,
            "  {b}_xa <= to_integer({x}) when {x}_v = '1' else 0; -- in [0, {bins}) whenever valid (proven)"
        );
        let _ = writeln!(
            s,
            "  {b}_rda <= {b}_rd when {b}_rd >= 0 and {b}_rd < {bins} else 0;"
        );
        let _ = writeln!(s, "  {b}_old <= {b}_q0 when {b}_bbank = 0 else {b}_q1;");
        let _ = writeln!(s, "  {b}_base <= {b}_fd when {b}_fv = '1' and {b}_fa = {b}_ba and {b}_fbank = {b}_bbank else {b}_old;");
        let _ = writeln!(s, "  {b}_new <= {b}_base + {b}_binc;");
        for k in 0..2 {
            let _ = writeln!(s, "  {b}_ra{k} <= {b}_xa when {b}_bank = {k} else {b}_rda;");
            let _ = writeln!(s, "  {b}_we{k} <= '1' when ({b}_bv = '1' and {b}_bbank = {k}) or ({b}_rv = '1' and {b}_rbank = {k}) else '0';");
            let _ = writeln!(
                s,
                "  {b}_wa{k} <= {b}_ba when {b}_bv = '1' and {b}_bbank = {k} else {b}_rdd;"
            );
            let _ = writeln!(s, "  {b}_wd{k} <= {b}_new when {b}_bv = '1' and {b}_bbank = {k} else (others => '0');");
            let _ = writeln!(
                s,
                "  p_{b}_m{k} : process(clk)\n  begin\n    if rising_edge(clk) then\n      if {b}_we{k} = '1' then\n        {b}_m{k}({b}_wa{k}) <= {b}_wd{k};\n      end if;\n      {b}_q{k} <= {b}_m{k}({b}_ra{k});\n    end if;\n  end process;"
            );
        }
        s.push('\n');
        self.body.push_str(&s);
        let stmts = vec![
            "-- counting: stage B writes back what stage A read".to_string(),
            format!("if {counted} then {b}_bv <= '1'; else {b}_bv <= '0'; end if;"),
            format!("{b}_ba <= {b}_xa; {b}_binc <= {inc}; {b}_bbank <= {b}_bank;"),
            format!("{b}_fv <= {b}_bv; {b}_fa <= {b}_ba; {b}_fd <= {b}_new; {b}_fbank <= {b}_bbank;"),
            format!("if {x}_v = '1' then"),
            format!(
                "  if {b}_cnt = {} then {b}_cnt <= 0; {b}_rbank <= {b}_bank; {b}_bank <= 1 - {b}_bank; {b}_rd <= -1; else {b}_cnt <= {b}_cnt + 1; end if;",
                count - 1
            ),
            "end if;".into(),
            "-- streaming out: read, then register and clear".to_string(),
            if float { format!("{b}_v <= {b}_s2v; {b}_s1v <= {b}_rv;") } else { format!("{b}_v <= {b}_rv;") },
            format!("if {b}_rv = '1' then"),
            format!("  if {b}_rbank = 0 then q := {b}_q0; else q := {b}_q1; end if;"),
            format!("  {out}"),
            "end if;".into(),
            format!("{b}_rv <= '0';"),
            format!("if {b}_rd = -1 then"),
            format!("  {b}_rd <= 0;"),
            format!("elsif {b}_rd < {bins} then"),
            format!("  {b}_rv <= '1'; {b}_rdd <= {b}_rd; {b}_rd <= {b}_rd + 1;"),
            "end if;".into(),
        ];
        let resets = vec![
            format!("{b}_v <= '0';"),
            format!("{b}_bv <= '0';"),
            format!("{b}_fv <= '0';"),
            format!("{b}_rv <= '0';"),
            format!("{b}_cnt <= 0;"),
            format!("{b}_bank <= 0;"),
            format!("{b}_rbank <= 0;"),
            format!("{b}_rd <= {bins};"),
        ];
        self.clocked(
            b,
            &[format!("variable q : signed({} downto 0);", wacc - 1)],
            &stmts,
            &resets,
        );
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
        let strides = hissc_spn::sched::broadcast_strides(from, to);
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

/// The VHDL design of a verified network.
pub fn design(net: &Network, iface: &Interface, src: &SourceFile) -> String {
    let mut e = Emitter {
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
