//! Elementwise processes (unary, binary, comparison, select, cast, table
//! look-up, float64 conversion): one registered stage computing at a width that
//! holds the exact result, cut to the dtype where numpy wraps; `//` and `%` by a
//! constant as a multiplication and a shift.

use super::*;

impl Emitter<'_> {
    /// Statements computing an elementwise process into its bus; variable `x`
    /// (declared with the returned width, 0 if unused).
    pub(super) fn elementwise(&mut self, b: Bus) -> (u32, Vec<String>) {
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
                        // GHDL 2.0's synthesis extends a narrow negative constant
                        // factor to the product's width from 32 bits (x * -62 at 40
                        // bits gets 0x00FFFFFFC2): such a product is the negated
                        // product of the positive constant, one bit wider
                        let product = match (a, c) {
                            (Src::Const(v), x) | (x, Src::Const(v)) if *v < 0 => format!(
                                "-({} * {})",
                                own(net, x),
                                lit(-*v, width_of(net, &Src::Const(*v)) + 1)
                            ),
                            _ => format!("{} * {}", own(net, a), own(net, c)),
                        };
                        let wc = if product.starts_with('-') { wc + 1 } else { wc };
                        (wc, vec![format!("x := resize({product}, {wc});")])
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
                let size = hissc_spn::proc::elementwise::rom_size(table.len());
                let k = size.trailing_zeros() as usize;
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
            // not elementwise: `node` never asks
            hissc_spn::stream_kinds!() => (0, vec![]),
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
            // q * c: a shift by a power of two (synthesis would spend a DSP
            // block on the multiplication by the constant); within `wx` bits
            // either way, as `wx` holds the product
            let (op, prod) = if d & (d - 1) == 0 {
                let k = d.trailing_zeros();
                (if neg { "+" } else { "-" }, format!("shift_left(x, {k})"))
            } else {
                let c = lit(c, Interval::point(c).signed_bits());
                ("-", format!("resize(x * {c}, {wx})"))
            };
            st.push(format!("x := {} {op} {prod};", at(net, a, wx)));
        }
        Some((wx, st))
    }

    /// An elementwise process: registered when it streams (its valid follows its
    /// first streaming operand's), combinational when all its operands are static.
    pub(super) fn elementwise_process(&mut self, b: Bus) {
        let net = self.net;
        let stream = !net.nodes[b].sched.is_static();
        let k = &net.nodes[b].kind;
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
}
