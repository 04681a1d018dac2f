//! Gearboxes (`pack`): elements moving between lanes through a queue.

use super::*;

impl Emitter<'_> {
    /// A gearbox: a queue (registers `{b}_q`, length `{b}_n`) that takes the valid
    /// lanes of each cycle in lane order and lets one group of `width` out per cycle
    /// whenever it holds one; this process drives element `lane` of each group.
    /// The queue is as deep as [`hissc_spn::proc::pack::depth`] says it ever gets (one spare slot).
    pub(super) fn pack(&mut self, b: Bus, lanes: &[Bus], width: u32, lane: u32) {
        let net = self.net;
        let w = net.nodes[b].width;
        let depth = hissc_spn::proc::pack::depth(net, lanes, width);
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
}
