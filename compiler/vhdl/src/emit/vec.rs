//! Variable-length outputs: the selected lanes of a cycle packed into the low
//! lanes of `out_data` (the rest 0), their number on `out_count`, and `out_last`
//! in each frame's last cycle, counted by a frame-cycle counter.

use super::*;
use crate::interface::VecPorts;

impl Emitter<'_> {
    pub(super) fn vec_output(&mut self, o: &StreamOut, v: &VecPorts) {
        let b = o.lanes[0];
        let (w, lanes) = (o.width, o.lanes.len());
        let bits = |x: Bus| match o.dtype {
            DType::Bool => format!("std_logic_vector({x}(0 downto 0))"),
            d if d.is_signed() => format!("std_logic_vector(resize({x}, {w}))"),
            _ => format!("std_logic_vector(resize(unsigned({x}), {w}))"),
        };
        let _ = writeln!(
            self.decls,
            "  signal {b}_oc : integer range 0 to {} := 0;",
            v.cycles.max(1) - 1
        );
        let line = self.src.line(o.span);
        let mut s = format!(
            "  -- output {}: a selection of {} ({}:{line})\n",
            o.data.trim_end_matches("_data"),
            o.dtype.numpy_name(),
            self.src.base_name()
        );
        let edge = self.edge;
        let _ = writeln!(
            s,
            "  p_{b}_oc : process(clk)\n  begin\n    {edge}\n      if {b}_v = '1' then\n        if {b}_oc = {} then {b}_oc <= 0; else {b}_oc <= {b}_oc + 1; end if;\n      end if;\n      if rst = '1' then\n        {b}_oc <= 0;\n      end if;\n    end if;\n  end process;",
            v.cycles.max(1) - 1
        );
        let _ = writeln!(
            s,
            "  {} <= '1' when {b}_v = '1' and {b}_oc = {} else '0';",
            v.last,
            v.cycles.max(1) - 1
        );
        let _ = writeln!(s, "  {} <= {b}_v;", o.valid);
        // `_pc{l}`: how many of the lanes before `l` are selected; lane `l` goes to
        // slot `_pc{l}` (concurrent assignments only: no process, no latch)
        let sel = |m: Bus| format!("{b}_v = '1' and {m}(0) = '1'");
        for l in 0..=lanes {
            let _ = writeln!(
                self.decls,
                "  signal {b}_pc{l} : integer range 0 to {lanes};"
            );
        }
        let _ = writeln!(s, "  {b}_pc0 <= 0;");
        for (l, &m) in v.mask.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {b}_pc{} <= {b}_pc{l} + 1 when {} else {b}_pc{l};",
                l + 1,
                sel(m)
            );
        }
        let mut slots = Vec::new();
        for j in 0..lanes {
            let mut e = String::new();
            for l in j..lanes {
                let _ = write!(
                    e,
                    "{} when {} and {b}_pc{l} = {j} else ",
                    bits(o.lanes[l]),
                    sel(v.mask[l])
                );
            }
            let zero = if o.dtype == DType::Bool {
                "\"0\"".to_string()
            } else {
                "(others => '0')".to_string()
            };
            let _ = writeln!(
                self.decls,
                "  signal {b}_slot{j} : std_logic_vector({} downto 0);",
                w - 1
            );
            let _ = writeln!(s, "  {b}_slot{j} <= {e}{zero};");
            slots.push(format!("{b}_slot{j}"));
        }
        slots.reverse();
        let data = if o.total() == 1 {
            format!("{}(0)", slots[0])
        } else {
            slots.join(" & ")
        };
        let _ = writeln!(s, "  {} <= {data};", o.data);
        if v.count_width == 1 {
            let _ = writeln!(s, "  {} <= '1' when {b}_pc{lanes} = 1 else '0';\n", v.count);
        } else {
            let _ = writeln!(
                s,
                "  {} <= std_logic_vector(to_unsigned({b}_pc{lanes}, {}));\n",
                v.count, v.count_width
            );
        }
        self.body.push_str(&s);
    }
}
