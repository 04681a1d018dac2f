//! The timing monitor: the native interface's promise, checked in hardware.
//!
//! A network computes the right values only when its inputs keep the native
//! timing (docs/hardware-interface.md): a frame starts with every input stream
//! valid in the same cycle, each stream's elements follow on consecutive cycles,
//! and no stream carries an element again before the frame period has passed.
//! The monitor counts the cycles since the frame started (the period of
//! [`hissc_spn::axis::Plan`], which the AXI4-Stream wrapper keeps by
//! construction) and raises `frame_error` the cycle after an input breaks that
//! — a gap inside a frame, inputs out of step, a frame too early — until reset.

use super::*;
use crate::interface::Interface;
use hissc_spn::axis::Plan;

impl Emitter<'_> {
    /// The monitor's signal and process for `iface`'s inputs.
    pub(super) fn timing(&mut self, iface: &Interface, plan: &Plan) {
        let (p, phase, err) = (plan.period, &iface.phase, &iface.error);
        let _ = writeln!(
            self.decls,
            "  signal {phase} : integer range 0 to {p} := {p};"
        );
        let all: Vec<String> = iface
            .inputs
            .iter()
            .map(|s| format!("{} = '1'", s.valid))
            .collect();

        let mut inside = String::new();
        for (s, &beats) in iface.inputs.iter().zip(&plan.in_beats) {
            // valid exactly while the frame still owes the stream elements
            let _ = write!(
                inside,
                "\n        if ({v} = '1') /= ({phase} < {beats}) then {err} <= '1'; end if;",
                v = s.valid
            );
        }
        // with several inputs, one that starts without the others is out of step
        let out_of_step = if all.len() > 1 {
            format!(
                "\n        elsif {} then\n          {err} <= '1';",
                all.join(" or ")
            )
        } else {
            String::new()
        };
        let all = if all.is_empty() {
            "false".to_string()
        } else {
            all.join(" and ")
        };
        let edge = self.edge;
        let _ = writeln!(
            self.body,
            "  -- the native timing (docs/hardware-interface.md): frames of consecutive\n  -- cycles, every input from the same cycle, at most one frame per {p} cycles\n  p_timing : process(clk)\n  begin\n    {edge}\n      if {phase} = {p} then\n        if {all} then\n          {phase} <= 1;{out_of_step}\n        end if;\n      else\n        {phase} <= {phase} + 1;{inside}\n      end if;\n      if rst = '1' then\n        {phase} <= {p};\n        {err} <= '0';\n      end if;\n    end if;\n  end process;\n"
        );
    }
}
