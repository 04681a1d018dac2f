//! Row segments: one lane's part of a reduction over rows that straddle cycles,
//! an accumulator and the column of the cycle's first element
//! ([`hissc_spn::proc::segment`]).

use super::reduce::{fold, wrap_width};
use super::*;

impl Emitter<'_> {
    pub(super) fn segment(&mut self, b: Bus, (op, d): (ReduceOp, DType), a: Bus, shape: [u32; 3]) {
        let [width, lane, lanes] = shape;
        let net = self.net;
        let w = net.nodes[b].width;
        let plan = hissc_spn::proc::segment::plan(net, b).expect("a segment");
        let wacc = plan.acc_width;
        let wrap = plan.wraps.then_some(net.nodes[a].width);
        let _ = writeln!(
            self.decls,
            "  signal {b}_acc : signed({} downto 0) := (others => '0');",
            wacc - 1
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_c0 : integer range 0 to {} := 0;",
            width - 1
        );
        let (first_v, step) = fold(op, d, &a.to_string(), &format!("{b}_acc"), wacc, wrap);
        let mut vars = vec![format!("variable v : signed({} downto 0);", wacc - 1)];
        if let Some(wa) = wrap {
            let wc = wrap_width(d, wacc, wa);
            vars.push(format!("variable s : signed({} downto 0);", wc - 1));
        }
        // the element is already in the next row (never on lane 0)
        let wrapped = (lane > 0).then(|| format!("{b}_c0 >= {}", width - lane));
        let first = match &wrapped {
            Some(wr) => format!("{wr} or {b}_c0 < {}", lanes - lane),
            None => format!("{b}_c0 < {lanes}"),
        };
        let ends = format!("{b}_c0 >= {}", width - lanes);
        let mut stmts = vec![
            format!("{b}_v <= '0';"),
            format!("if {a}_v = '1' then"),
            format!("  if {first} then {first_v} else {step} end if;"),
            format!("  if {ends} then"),
            format!("    {b}_v <= '1';"),
        ];
        match &wrapped {
            Some(wr) => stmts.push(format!(
                "    if {wr} then {b} <= resize({b}_acc, {w}); else {b} <= resize(v, {w}); end if;"
            )),
            None => stmts.push(format!("    {b} <= resize(v, {w});")),
        }
        stmts.extend([
            format!("    {b}_c0 <= {b}_c0 - {};", width - lanes),
            "  else".into(),
            format!("    {b}_c0 <= {b}_c0 + {lanes};"),
            "  end if;".into(),
            format!("  {b}_acc <= v;"),
            "end if;".into(),
        ]);
        let resets = vec![format!("{b}_v <= '0';"), format!("{b}_c0 <= 0;")];
        self.clocked(b, &vars, &stmts, &resets);
    }
}
