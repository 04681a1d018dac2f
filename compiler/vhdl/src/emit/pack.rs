//! Gearboxes (`pack`): elements moving between lanes through a queue.

use super::*;

impl Emitter<'_> {
    /// A gearbox: a queue (registers `{b}_q`, length `{b}_n`) that takes the valid
    /// lanes of each cycle in lane order and lets one group of `width` out per cycle
    /// whenever it holds one. The gearbox's output lanes share the queue
    /// ([`hissc_spn::proc::pack::group`]): the process of the first drives every
    /// lane's output, the others emit nothing of their own.
    /// The queue is as deep as [`hissc_spn::proc::pack::depth`] says it ever gets (one spare slot).
    pub(super) fn pack(&mut self, b: Bus, lanes: &[Bus], width: u32) {
        let net = self.net;
        let leader = hissc_spn::proc::pack::leader(net, lanes, width).unwrap_or(b);
        if leader != b {
            let c = self.comment(b);
            let _ = writeln!(
                self.body,
                "{c}  -- (driven by p_{leader}, the gearbox's queue)\n"
            );
            return;
        }
        let group = hissc_spn::proc::pack::group(net, lanes, width);
        let w = group
            .iter()
            .map(|&(_, x)| net.nodes[x].width)
            .max()
            .unwrap_or(1);
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
        let n = lanes.len();
        let vars = [
            format!(
                "type {b}_pos_t is array (0 to {}) of integer range 0 to {depth};",
                n - 1
            ),
            format!("variable q : {b}_q_t;"),
            format!("variable k : integer range 0 to {depth};"),
            format!("variable pos : {b}_pos_t;"),
        ];
        let mut s = vec![format!("q := {b}_q;"), format!("k := {b}_n;")];
        // Each valid lane's slot is the queue's length plus the valid lanes
        // before it (a chain of small counters); then every slot takes the lane
        // whose slot it is, all slots at once (static indices only: `q(k)`
        // becomes a combinational loop in GHDL 2.0's synthesis, and writes that
        // each depend on the last made one selection chain through the whole
        // queue per lane).
        for (j, l) in lanes.iter().enumerate() {
            s.push(format!(
                "pos({j}) := k; if {l}_v = '1' then k := k + 1; end if;"
            ));
        }
        s.push(format!("for i in 0 to {depth} loop"));
        for (j, l) in lanes.iter().enumerate() {
            s.push(format!(
                "  if {l}_v = '1' and pos({j}) = i then q(i) := resize({l}, {w}); end if;"
            ));
        }
        s.push("end loop;".into());
        for &(_, x) in &group {
            s.push(format!("{x}_v <= '0';"));
        }
        s.push(format!("if k >= {width} then"));
        for &(lane, x) in &group {
            s.push(format!(
                "  {x} <= resize(q({lane}), {});",
                net.nodes[x].width
            ));
            s.push(format!("  {x}_v <= '1';"));
        }
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
        let mut resets = vec![format!("{b}_n <= 0;")];
        resets.extend(group.iter().map(|&(_, x)| format!("{x}_v <= '0';")));
        self.clocked(b, &vars, &s, &resets);
    }
}
