//! Row segments: one lane's part of a reduction over rows that straddle cycles,
//! an accumulator and the column of the cycle's first element, steered by the
//! comparisons its [`hissc_spn::proc::segment::Plan`] gives.

use super::reduce::{fold, wrap_width};
use super::*;

impl Emitter<'_> {
    pub(super) fn segment(&mut self, b: Bus, seg: &hissc_spn::ir::Segment) {
        let (op, d, a) = (seg.op, seg.d, seg.arg);
        let net = self.net;
        let w = net.nodes[b].width;
        let p = hissc_spn::proc::segment::plan(net, b, seg);
        let wacc = p.acc_width;
        let wrap = p.wraps.then_some(net.nodes[a].width);
        let _ = writeln!(
            self.decls,
            "  signal {b}_acc : signed({} downto 0) := (others => '0');",
            wacc - 1
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_c0 : integer range 0 to {} := 0;",
            p.width - 1
        );
        let (first_v, step) = fold(op, d, &a.to_string(), &format!("{b}_acc"), wacc, wrap);
        let mut vars = vec![format!("variable v : signed({} downto 0);", wacc - 1)];
        if let Some(wa) = wrap {
            let wc = wrap_width(d, wacc, wa);
            vars.push(format!("variable s : signed({} downto 0);", wc - 1));
        }
        // the element is already in the next row (never on lane 0)
        let next = p.next_from.map(|x| format!("{b}_c0 >= {x}"));
        let below = format!("{b}_c0 < {}", p.first_below);
        let first = match &next {
            Some(nx) => format!("{nx} or {below}"),
            None => below,
        };
        let mut stmts = vec![
            format!("{b}_v <= '0';"),
            format!("if {a}_v = '1' then"),
            format!("  if {first} then {first_v} else {step} end if;"),
            format!("  if {b}_c0 >= {} then", p.ends_from),
            format!("    {b}_v <= '1';"),
        ];
        stmts.push(match &next {
            Some(nx) => format!(
                "    if {nx} then {b} <= resize({b}_acc, {w}); else {b} <= resize(v, {w}); end if;"
            ),
            None => format!("    {b} <= resize(v, {w});"),
        });
        stmts.extend([
            format!("    {b}_c0 <= {b}_c0 - {};", p.width - p.lanes),
            "  else".into(),
            format!("    {b}_c0 <= {b}_c0 + {};", p.lanes),
            "  end if;".into(),
            format!("  {b}_acc <= v;"),
            "end if;".into(),
        ]);
        let resets = vec![format!("{b}_v <= '0';"), format!("{b}_c0 <= 0;")];
        self.clocked(b, &vars, &stmts, &resets);
    }
}
