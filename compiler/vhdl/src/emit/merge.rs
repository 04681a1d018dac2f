//! Merges (`np.concatenate`, `np.stack`): a register queue per stream; the
//! stream whose turn it is gives its oldest element when it has one.

use super::*;

impl Emitter<'_> {
    pub(super) fn merge(&mut self, b: Bus, srcs: &[Bus], blocks: &[u32], reps: u32) {
        let net = self.net;
        let w = net.nodes[b].width;
        let depths = hissc_spn::proc::merge::depths(net, srcs, blocks, reps);
        let n = srcs.len();
        let mut vars = Vec::new();
        let mut s = Vec::new();
        for (i, (&src, &d)) in srcs.iter().zip(&depths).enumerate() {
            let d = d.max(1);
            let _ = writeln!(
                self.decls,
                "  type {b}_q{i}_t is array (0 to {}) of signed({} downto 0);\n  signal {b}_q{i} : {b}_q{i}_t := (others => (others => '0'));\n  signal {b}_n{i} : integer range 0 to {d} := 0;",
                d - 1,
                w - 1
            );
            vars.push(format!("variable q{i} : {b}_q{i}_t;"));
            vars.push(format!("variable k{i} : integer range 0 to {d};"));
            s.push(format!("q{i} := {b}_q{i}; k{i} := {b}_n{i};"));
            // (static indices only, as in the gearboxes)
            s.push(format!(
                "if {src}_v = '1' then for j in 0 to {} loop if j = k{i} then q{i}(j) := resize({src}, {w}); end if; end loop; k{i} := k{i} + 1; end if;",
                d - 1
            ));
        }
        let _ = writeln!(
            self.decls,
            "  signal {b}_cur : integer range 0 to {} := 0;\n  signal {b}_tk : integer range 0 to {} := 0;",
            n - 1,
            blocks.iter().max().copied().unwrap_or(1).max(1) - 1
        );
        s.push(format!("{b}_v <= '0';"));
        s.push(format!("case {b}_cur is"));
        for (i, &d) in depths.iter().enumerate() {
            let d = d.max(1);
            s.push(format!("  when {i} =>"));
            s.push(format!("    if k{i} > 0 then"));
            s.push(format!("      {b} <= q{i}(0); {b}_v <= '1';"));
            if d > 1 {
                s.push(format!(
                    "      for j in 0 to {} loop q{i}(j) := q{i}(j + 1); end loop;",
                    d - 2
                ));
            }
            s.push(format!("      k{i} := k{i} - 1;"));
            s.push(format!(
                "      if {b}_tk = {} then {b}_tk <= 0; {b}_cur <= {}; else {b}_tk <= {b}_tk + 1; end if;",
                blocks[i].max(1) - 1,
                (i + 1) % n
            ));
            s.push("    end if;".into());
        }
        s.push("  when others => null;".into());
        s.push("end case;".into());
        for i in 0..n {
            s.push(format!("{b}_q{i} <= q{i}; {b}_n{i} <= k{i};"));
        }
        let mut resets = vec![
            format!("{b}_v <= '0';"),
            format!("{b}_cur <= 0;"),
            format!("{b}_tk <= 0;"),
        ];
        resets.extend((0..n).map(|i| format!("{b}_n{i} <= 0;")));
        self.clocked(b, &vars, &s, &resets);
    }
}
