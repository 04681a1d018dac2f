//! State memories: one bank per `load` process, read along its timing stream,
//! written from the state's `next` output, and set by the host through the
//! state's load port before the first frame.

use super::*;

impl Emitter<'_> {
    pub(super) fn load(&mut self, b: Bus, state: u32, lane: u32, timing: Bus, iface: &Interface) {
        let net = self.net;
        let w = net.nodes[b].width;
        let st = &net.states[state as usize];
        let banks = st.lanes.max(1);
        let depth = hissc_spn::proc::load::bank_depth(net, state as usize).max(1);
        let n = depth * banks;
        let next = net.outputs[st.next as usize].lanes[lane as usize];
        let port = &iface.loads[state as usize];
        let _ = writeln!(
            self.decls,
            "  type {b}_mem_t is array (0 to {}) of signed({} downto 0);",
            depth - 1,
            w - 1
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_mem : {b}_mem_t := (others => (others => '0'));"
        );
        for (s, top) in [("r0", depth), ("w", depth), ("r1", n)] {
            let _ = writeln!(
                self.decls,
                "  signal {b}_{s} : integer range 0 to {} := 0;",
                top - 1
            );
        }
        let host = port_value(&port_bits(&port.data, port.width), port.signed, w);
        let wrap = |s: &str, top: u32| {
            format!(
                "if {b}_{s} = {} then {b}_{s} <= 0; else {b}_{s} <= {b}_{s} + 1; end if;",
                top - 1
            )
        };
        // `_r0` reads, `_w` writes the kernel's next value, `_r1` counts the host's
        // elements; one write port (address and data chosen first), one read
        // port, so the memory is a block RAM
        let mut stmts = vec![
            format!("{b}_v <= {timing}_v;"),
            format!("if {timing}_v = '1' then"),
            format!("  {b} <= {b}_mem({b}_r0);"),
            format!("  {}", wrap("r0", depth)),
            "end if;".into(),
            "we := false;".into(),
            "wa := 0;".into(),
            format!("wd := resize({next}, {w});"),
            format!("if {} = '1' then", port.valid),
        ];
        if banks == 1 {
            stmts.push(format!("  we := true; wa := {b}_r1; wd := {host};"));
        } else {
            stmts.push(format!("  if {b}_r1 mod {banks} = {lane} then"));
            stmts.push(format!(
                "    we := true; wa := {b}_r1 / {banks}; wd := {host};"
            ));
            stmts.push("  end if;".into());
        }
        stmts.push(format!("  {}", wrap("r1", n)));
        stmts.push(format!("elsif {next}_v = '1' then"));
        stmts.push(format!("  we := true; wa := {b}_w;"));
        stmts.push(format!("  {}", wrap("w", depth)));
        stmts.push("end if;".into());
        stmts.push(format!("if we then {b}_mem(wa) <= wd; end if;"));
        let resets = vec![
            format!("{b}_v <= '0';"),
            format!("{b}_r0 <= 0;"),
            format!("{b}_w <= 0;"),
            format!("{b}_r1 <= 0;"),
        ];
        let vars = [
            "variable we : boolean;".to_string(),
            format!("variable wa : integer range 0 to {};", depth - 1),
            format!("variable wd : signed({} downto 0);", w - 1),
        ];
        self.clocked(b, &vars, &stmts, &resets);
    }
}
