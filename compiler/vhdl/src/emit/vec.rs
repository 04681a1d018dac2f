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
        let _ = writeln!(
            s,
            "  p_{b}_oc : process(clk)\n  begin\n    if rising_edge(clk) then\n      if {b}_v = '1' then\n        if {b}_oc = {} then {b}_oc <= 0; else {b}_oc <= {b}_oc + 1; end if;\n      end if;\n      if rst = '1' then\n        {b}_oc <= 0;\n      end if;\n    end if;\n  end process;",
            v.cycles.max(1) - 1
        );
        let _ = writeln!(
            s,
            "  {} <= '1' when {b}_v = '1' and {b}_oc = {} else '0';",
            v.last,
            v.cycles.max(1) - 1
        );
        let _ = writeln!(s, "  {} <= {b}_v;", o.valid);
        // lane l's element goes to the slot counted by the selected lanes before it
        let _ = writeln!(
            s,
            "  p_{b}_pack : process(all)\n    variable pos : integer range 0 to {lanes};\n    variable d : std_logic_vector({} downto 0);\n  begin\n    pos := 0;\n    d := (others => '0');",
            w as usize * lanes - 1
        );
        for (l, (&x, &m)) in o.lanes.iter().zip(&v.mask).enumerate() {
            let _ = writeln!(s, "    if {b}_v = '1' and {m}(0) = '1' then");
            if l == 0 {
                let _ = writeln!(s, "      d({} downto 0) := {};", w - 1, bits(x));
            } else {
                let _ = writeln!(s, "      case pos is");
                for j in 0..=l {
                    let lo = j * w as usize;
                    let _ = writeln!(
                        s,
                        "        when {j} => d({} downto {lo}) := {};",
                        lo + w as usize - 1,
                        bits(x)
                    );
                }
                let _ = writeln!(s, "        when others => null;\n      end case;");
            }
            let _ = writeln!(s, "      pos := pos + 1;\n    end if;");
        }
        let data = if o.total() == 1 {
            "d(0)".to_string()
        } else {
            "d".to_string()
        };
        let count = if v.count_width == 1 {
            format!(
                "if pos = 1 then {0} <= '1'; else {0} <= '0'; end if;",
                v.count
            )
        } else {
            format!(
                "{} <= std_logic_vector(to_unsigned(pos, {}));",
                v.count, v.count_width
            )
        };
        let _ = writeln!(
            s,
            "    {} <= {data};\n    {count}\n  end process;\n",
            o.data
        );
        self.body.push_str(&s);
    }
}
