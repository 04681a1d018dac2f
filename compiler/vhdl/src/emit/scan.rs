//! Scans (`np.cumsum`): a running sum that restarts every frame.

use super::*;

impl Emitter<'_> {
    pub(super) fn scan(&mut self, b: Bus, d: DType, a: Bus, count: u32) {
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
}
