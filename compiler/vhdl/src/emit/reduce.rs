//! Reductions: accumulators in registers or block RAM, as their
//! [`hissc_spn::proc::reduce::Plan`] says; argmax/argmin with their index.

use super::*;

impl Emitter<'_> {
    pub(super) fn reduce(&mut self, b: Bus, p: &hissc_spn::ir::Reduce) {
        let (op, d, a) = (p.op, p.dtype, p.arg);
        let (shape, axes) = (&p.shape[..], &p.axes[..]);
        let net = self.net;
        let w = net.nodes[b].width;
        let total: u32 = shape.iter().product();
        let plan = hissc_spn::proc::reduce::plan(net, b, p);
        let (sum_wraps, wacc) = (plan.wraps, plan.acc_width);
        // accumulators: one per output in flight
        let (lines, line) = (plan.lines, plan.line.clone());
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
        let bram = plan.in_ram;
        let x = if bram {
            format!("{b}_bx")
        } else {
            a.to_string()
        };
        let cur = if bram {
            "c".to_string()
        } else {
            format!("{b}_acc(addr)")
        };
        let (first_v, step) = fold(
            op,
            d,
            &x,
            &cur,
            wacc,
            sum_wraps.then_some(net.nodes[a].width),
        );
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
            let edge = self.edge;
            let _ = writeln!(body, "  p_{b}_m : process(clk)\n  begin\n    {edge}");
            for m in &mem {
                let _ = writeln!(body, "      {m}");
            }
            let _ = writeln!(body, "    end if;\n  end process;");
            // stage B, combinational: the accumulator (forwarded if written last cycle) and the new value
            let mut cvars = vec![format!("variable c, v : signed({} downto 0);", wacc - 1)];
            if sum_wraps {
                let wc = wrap_width(d, wacc, wa);
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
            let wc = wrap_width(d, wacc, net.nodes[a].width);
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
}

/// The statements of one step of a reduction `op` in dtype `d` of element `x`
/// into the accumulator value `cur` (a `wacc`-bit signed): `v :=` the fold
/// started from `x`, and `v :=` `cur` combined with `x`. A sum that wraps
/// (`wrap`: the element's width) goes through `s`, a variable one bit wider than
/// the widest of them, and keeps the dtype's low bits.
pub(super) fn fold(
    op: ReduceOp,
    d: DType,
    x: &str,
    cur: &str,
    wacc: u32,
    wrap: Option<u32>,
) -> (String, String) {
    let nz = format!("{x} /= 0");
    let as_bool = |c: &str| {
        format!("if {c} then v := to_signed(1, {wacc}); else v := to_signed(0, {wacc}); end if;")
    };
    let first_v = match op {
        ReduceOp::Any | ReduceOp::All | ReduceOp::CountNonzero => as_bool(&nz),
        _ => format!("v := resize({x}, {wacc});"),
    };
    let step = match (op, wrap) {
        (ReduceOp::Sum, Some(wa)) => {
            let bits = d.bits();
            let tail = if d.is_signed() {
                format!("v := resize(s({} downto 0), {wacc});", bits - 1)
            } else {
                format!(
                    "v := signed(resize(unsigned(s({} downto 0)), {wacc}));",
                    bits - 1
                )
            };
            let wc = wrap_width(d, wacc, wa);
            format!("s := resize({cur}, {wc}) + resize({x}, {wc}); {tail}")
        }
        (ReduceOp::Sum, None) => format!("v := {cur} + resize({x}, {wacc});"),
        (ReduceOp::Min, _) => {
            format!("if {x} < {cur} then v := resize({x}, {wacc}); else v := {cur}; end if;")
        }
        (ReduceOp::Max, _) => {
            format!("if {x} > {cur} then v := resize({x}, {wacc}); else v := {cur}; end if;")
        }
        (ReduceOp::Any, _) => as_bool(&format!("{cur} /= 0 or {nz}")),
        (ReduceOp::All, _) => as_bool(&format!("{cur} /= 0 and {nz}")),
        (ReduceOp::CountNonzero, _) => {
            format!("if {nz} then v := {cur} + 1; else v := {cur}; end if;")
        }
        (ReduceOp::ArgMax | ReduceOp::ArgMin, _) => String::new(),
    };
    (first_v, step)
}

/// The width of the wrapping sum's variable `s` (see [`fold`]).
pub(super) fn wrap_width(d: DType, wacc: u32, x_width: u32) -> u32 {
    wacc.max(x_width).max(d.bits()) + 1
}
