//! Broadcasts: a short stream stored in a memory and replayed to a larger shape.

use super::*;

impl Emitter<'_> {
    pub(super) fn broadcast(&mut self, b: Bus, p: &hissc_spn::ir::Broadcast) {
        let (arg, timing, view) = (p.arg, p.timing, p.view);
        let (from, to) = (&p.from[..], &p.to[..]);
        let net = self.net;
        let (w, wa) = (net.nodes[b].width, net.nodes[arg].width);
        let full: u32 = from.iter().product();
        let plan = hissc_spn::proc::broadcast::plan(net, p);
        let (len, banks) = (plan.words, plan.banks);
        let (start, step) = hissc_spn::proc::broadcast::counts(to, view);
        let _ = writeln!(
            self.decls,
            "  type {b}_mem_t is array (0 to {}) of signed({} downto 0);",
            banks * len - 1,
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
        let strides = hissc_spn::proc::broadcast::strides(from, to);
        let counted: Vec<usize> = (0..to.len()).collect();
        for &i in &counted {
            let _ = writeln!(
                self.decls,
                "  signal {b}_r{i} : integer range 0 to {} := {};",
                to[i] - 1,
                start[i]
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
        let mut addr = if addr.is_empty() {
            "0".to_string()
        } else {
            addr.join(" + ")
        };
        if view.arg_lanes > 1 {
            // the lane's part of `from`: every arg_lanes-th element (a power of two)
            let bits = 32 - (full - 1).max(1).leading_zeros();
            let shift = view.arg_lanes.trailing_zeros();
            addr = if shift >= bits {
                // every address shifts out: GHDL 2.0's netlist writer cannot
                // print the shift of a one-bit vector it would make of it
                "0".to_string()
            } else {
                format!("to_integer(shift_right(to_unsigned({addr}, {bits}), {shift}))")
            };
        }
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
        let mut vars = vec![format!(
            "variable src : integer range 0 to {};",
            banks * len - 1
        )];
        // banks: the write and read sides each keep the offset of theirs (a
        // multiple of the words), and the write and read addresses are in it
        let two = banks > 1;
        let last = (banks - 1) * len;
        let wad = if two {
            let _ = writeln!(
                self.decls,
                "  signal {b}_wo, {b}_ro : integer range 0 to {last} := 0;\n  signal {b}_rk : integer range 0 to {} := 0;",
                plan.reads - 1
            );
            vars.push(format!(
                "variable wa : integer range 0 to {};",
                banks * len - 1
            ));
            "wa".to_string()
        } else {
            format!("{b}_w")
        };
        if view.lanes == 1 {
            chain(b, &counted, to, &mut advance, 1);
        } else {
            // a lane's counters advance by the lanes: digit by digit, with a carry
            let top = to.iter().map(|&d| 2 * d).max().unwrap_or(2);
            vars.push(format!("variable s : integer range 0 to {top};"));
            vars.push("variable cy : integer range 0 to 1;".into());
            advance.push("  cy := 0;".into());
            for &i in counted.iter().rev() {
                advance.push(format!("  s := {b}_r{i} + {} + cy;", step[i]));
                advance.push(format!(
                    "  if s >= {} then {b}_r{i} <= s - {}; cy := 1; else {b}_r{i} <= s; cy := 0; end if;",
                    to[i], to[i]
                ));
            }
        }
        let mut stmts = vec![format!("{b}_v <= {timing}_v;")];
        if two {
            stmts.push(format!("wa := {b}_w + {b}_wo;"));
        }
        stmts.extend([
            format!("if {timing}_v = '1' then"),
            format!("  src := {addr};"),
        ]);
        if two {
            stmts.push(format!("  src := src + {b}_ro;"));
        }
        stmts.push(format!("  if {arg}_v = '1' and {wad} = src then {b} <= resize({arg}, {w}); else {b} <= resize({b}_mem(src), {w}); end if;"));
        stmts.extend(advance);
        if two {
            stmts.push(format!(
                "  if {b}_rk = {} then {b}_rk <= 0; {}; else {b}_rk <= {b}_rk + 1; end if;",
                plan.reads - 1,
                next_bank(&format!("{b}_ro"), last, len)
            ));
        }
        stmts.push("end if;".into());
        stmts.push(format!("if {arg}_v = '1' then"));
        stmts.push(format!("  {b}_mem({wad}) <= {arg};"));
        let wrap = if two {
            format!("{b}_w <= 0; {};", next_bank(&format!("{b}_wo"), last, len))
        } else {
            format!("{b}_w <= 0;")
        };
        stmts.push(format!(
            "  if {b}_w = {} then {wrap} else {b}_w <= {b}_w + 1; end if;",
            len - 1
        ));
        stmts.push("end if;".into());
        let mut resets = vec![format!("{b}_v <= '0';"), format!("{b}_w <= 0;")];
        if two {
            resets.push(format!("{b}_wo <= 0; {b}_ro <= 0; {b}_rk <= 0;"));
        }
        resets.extend(
            counted
                .iter()
                .map(|&i| format!("{b}_r{i} <= {};", start[i])),
        );
        self.clocked(b, &vars, &stmts, &resets);
    }
}

/// The statement that moves a bank offset `o` on to the next bank (`len` words
/// each, the last at `last`).
fn next_bank(o: &str, last: u32, len: u32) -> String {
    format!("if {o} = {last} then {o} <= 0; else {o} <= {o} + {len}; end if")
}
