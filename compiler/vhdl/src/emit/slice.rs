//! Slices: the elements a basic slice selects pass, the others do not.

use super::*;

impl Emitter<'_> {
    pub(super) fn slice(&mut self, b: Bus, a: Bus, shape: &[u32], sel: &[(u32, u32, u32)]) {
        let (advance, mut resets) = self.counters(b, shape);
        // a phase counter per strided axis (r mod step) instead of a `mod` circuit
        let mut strided = Vec::new();
        for (i, &(_, st, _)) in sel.iter().enumerate() {
            if st > 1 {
                let _ = writeln!(
                    self.decls,
                    "  signal {b}_p{i} : integer range 0 to {} := 0;",
                    st - 1
                );
                resets.push(format!("{b}_p{i} <= 0;"));
                strided.push(i);
            }
        }
        let advance: Vec<String> = advance
            .into_iter()
            .flat_map(|line| {
                let mut out = vec![line.clone()];
                for &i in &strided {
                    let st = sel[i].1;
                    let pad: String = line.chars().take_while(|c| *c == ' ').collect();
                    if line.trim() == format!("{b}_r{i} <= {b}_r{i} + 1;") {
                        out.push(format!("{pad}if {b}_p{i} = {} then {b}_p{i} <= 0; else {b}_p{i} <= {b}_p{i} + 1; end if;", st - 1));
                    } else if line.trim() == format!("{b}_r{i} <= 0;") {
                        out.push(format!("{pad}{b}_p{i} <= 0;"));
                    }
                }
                out
            })
            .collect();
        let conds: Vec<String> = sel
            .iter()
            .enumerate()
            .filter(|(i, s)| **s != (0, 1, shape[*i]))
            .map(|(i, &(s, st, c))| {
                let hi = s + st * (c - 1);
                let range = format!("{b}_r{i} >= {s} and {b}_r{i} <= {hi}");
                if st == 1 {
                    range
                } else {
                    format!("{range} and {b}_p{i} = {}", s % st)
                }
            })
            .collect();
        let cond = if conds.is_empty() {
            "true".to_string()
        } else {
            conds.join(" and ")
        };
        let mut stmts = vec![
            format!("{b} <= {a};"),
            format!("{b}_v <= '0';"),
            format!("if {a}_v = '1' then"),
        ];
        stmts.push(format!("  if {cond} then {b}_v <= '1'; end if;"));
        stmts.extend(advance);
        stmts.push("end if;".into());
        resets.insert(0, format!("{b}_v <= '0';"));
        self.clocked(b, &[], &stmts, &resets);
    }
}
