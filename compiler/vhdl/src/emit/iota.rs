//! Flat indices: a running value advanced by `step` (modulo `wrap`) for each
//! valid element of the timing stream, back to `first` after a frame's last.

use super::*;

impl Emitter<'_> {
    pub(super) fn iota(
        &mut self,
        b: Bus,
        timing: Bus,
        (first, step, wrap): (u32, u32, Option<u32>),
    ) {
        let net = self.net;
        let w = net.nodes[b].width;
        let count = net.nodes[timing].sched.elements().max(1);
        let _ = writeln!(
            self.decls,
            "  signal {b}_cnt : integer range 0 to {} := 0;",
            count - 1
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_x : signed({} downto 0) := {};",
            w - 1,
            lit(first as i128, w)
        );
        let stmts = vec![
            format!("{b}_v <= {timing}_v;"),
            format!("if {timing}_v = '1' then"),
            format!("  {b} <= {b}_x;"),
            format!("  if {b}_cnt = {} then", count - 1),
            format!("    {b}_cnt <= 0;"),
            format!("    {b}_x <= {};", lit(first as i128, w)),
            "  else".into(),
            format!("    {b}_cnt <= {b}_cnt + 1;"),
            match wrap {
                // one subtraction wraps it: the step is below the modulus
                Some(m) => format!(
                    "    if {b}_x >= {} then {b}_x <= {b}_x - {}; else {b}_x <= {b}_x + {}; end if;",
                    lit((m - step) as i128, w),
                    lit((m - step) as i128, w),
                    lit(step as i128, w)
                ),
                None => format!("    {b}_x <= {b}_x + {};", lit(step as i128, w)),
            },
            "  end if;".into(),
            "end if;".into(),
        ];
        let resets = vec![
            format!("{b}_v <= '0';"),
            format!("{b}_cnt <= 0;"),
            format!("{b}_x <= {};", lit(first as i128, w)),
        ];
        self.clocked(b, &[], &stmts, &resets);
    }
}
