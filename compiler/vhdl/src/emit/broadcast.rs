//! Broadcasts: a short stream stored in a memory and replayed to a larger shape.

use super::*;

impl Emitter<'_> {
    pub(super) fn broadcast(&mut self, b: Bus, arg: Bus, timing: Bus, from: &[u32], to: &[u32]) {
        let net = self.net;
        let (w, wa) = (net.nodes[b].width, net.nodes[arg].width);
        let len: u32 = from.iter().product();
        let _ = writeln!(
            self.decls,
            "  type {b}_mem_t is array (0 to {}) of signed({} downto 0);",
            len - 1,
            wa - 1
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_mem : {b}_mem_t := (others => (others => '0'));"
        );
        let _ = writeln!(
            self.decls,
            "  signal {b}_w : integer range 0 to {} := 0;",
            len - 1
        );
        let strides = hissc_spn::proc::broadcast::strides(from, to);
        let counted: Vec<usize> = (0..to.len()).collect();
        for &i in &counted {
            let _ = writeln!(
                self.decls,
                "  signal {b}_r{i} : integer range 0 to {} := 0;",
                to[i] - 1
            );
        }
        let addr: Vec<String> = counted
            .iter()
            .filter(|&&i| strides[i] != 0)
            .map(|&i| {
                if strides[i] == 1 {
                    format!("{b}_r{i}")
                } else {
                    format!("{b}_r{i} * {}", strides[i])
                }
            })
            .collect();
        let addr = if addr.is_empty() {
            "0".to_string()
        } else {
            addr.join(" + ")
        };
        // advance the read counters, innermost axis first: an if/else chain
        let mut advance = Vec::new();
        fn chain(b: Bus, axes: &[usize], to: &[u32], out: &mut Vec<String>, indent: usize) {
            let Some((&i, rest)) = axes.split_last() else {
                return;
            };
            let pad = "  ".repeat(indent);
            out.push(format!("{pad}if {b}_r{i} = {} then", to[i] - 1));
            out.push(format!("{pad}  {b}_r{i} <= 0;"));
            chain(b, rest, to, out, indent + 1);
            out.push(format!("{pad}else"));
            out.push(format!("{pad}  {b}_r{i} <= {b}_r{i} + 1;"));
            out.push(format!("{pad}end if;"));
        }
        chain(b, &counted, to, &mut advance, 1);
        let mut stmts = vec![
            format!("{b}_v <= {timing}_v;"),
            format!("if {timing}_v = '1' then"),
            format!("  src := {addr};"),
            format!("  if {arg}_v = '1' and {b}_w = src then {b} <= resize({arg}, {w}); else {b} <= resize({b}_mem(src), {w}); end if;"),
        ];
        stmts.extend(advance);
        stmts.push("end if;".into());
        stmts.push(format!("if {arg}_v = '1' then"));
        stmts.push(format!("  {b}_mem({b}_w) <= {arg};"));
        stmts.push(format!(
            "  if {b}_w = {} then {b}_w <= 0; else {b}_w <= {b}_w + 1; end if;",
            len - 1
        ));
        stmts.push("end if;".into());
        let mut resets = vec![format!("{b}_v <= '0';"), format!("{b}_w <= 0;")];
        resets.extend(counted.iter().map(|i| format!("{b}_r{i} <= 0;")));
        self.clocked(
            b,
            &[format!("variable src : integer range 0 to {};", len - 1)],
            &stmts,
            &resets,
        );
    }
}
