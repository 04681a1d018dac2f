//! Bin counts: two banks of counting memories, one counting while the other
//! streams out, and float64 results for weighted counts.

use super::*;

/// A memory's registered read whose value is never used when it reads the
/// address written in the same cycle (the design forwards the written value
/// instead): the read says so with `'X'`, so synthesis maps the memory to a
/// plain block RAM with no read-during-write logic. In simulation (the lines
/// synthesis skips) such a read gives the inverted word, so a design that did
/// use it would differ from the simulator in `hissc verify`.
pub(super) fn dont_care_collision(q: &str, mem: &str, we: &str, wa: &str, ra: &str) -> String {
    format!(
        "      if {we} = '1' and {wa} = {ra} then\n        {q} <= (others => 'X');\n        -- pragma translate_off\n        {q} <= not {mem}({ra});\n        -- pragma translate_on\n      else\n        {q} <= {mem}({ra});\n      end if;"
    )
}

impl Emitter<'_> {
    /// Bin counting in two block-RAM banks: while one bank counts a frame (read,
    /// add, write back one cycle later, forwarding the previous cycle's write when
    /// the same bin comes twice in a row), the other streams out the previous
    /// frame's counts and clears them. Each bank has one read and one write port,
    /// as an iCE40 `SB_RAM40_4K`.
    pub(super) fn bincount(&mut self, b: Bus, p: &hissc_spn::ir::Bincount) {
        let net = self.net;
        let (x, weights, mask) = (p.x, p.weights, p.mask);
        let (bins, count, float) = (p.bins, p.count, p.float);
        let w = net.nodes[b].width;
        let plan = hissc_spn::proc::bincount::plan(net, p);
        let wacc = plan.acc_width;
        let top = plan.depth - 1;
        let decl = |s: &mut String, line: String| {
            let _ = writeln!(s, "  {line}");
        };
        let mut d = String::new();
        decl(
            &mut d,
            format!(
                "type {b}_mem_t is array (0 to {top}) of signed({} downto 0);",
                wacc - 1
            ),
        );
        for k in 0..2 {
            decl(
                &mut d,
                format!("signal {b}_m{k} : {b}_mem_t := (others => (others => '0'));"),
            );
            decl(
                &mut d,
                format!(
                    "signal {b}_q{k} : signed({} downto 0) := (others => '0');",
                    wacc - 1
                ),
            );
            decl(
                &mut d,
                format!("signal {b}_ra{k}, {b}_wa{k} : integer range 0 to {top} := 0;"),
            );
            decl(&mut d, format!("signal {b}_we{k} : std_logic := '0';"));
            decl(
                &mut d,
                format!(
                    "signal {b}_wd{k} : signed({} downto 0) := (others => '0');",
                    wacc - 1
                ),
            );
        }
        decl(
            &mut d,
            format!(
                "signal {b}_cnt : integer range 0 to {} := 0;",
                count.max(2) - 1
            ),
        );
        decl(
            &mut d,
            format!(
                "signal {b}_bank, {b}_rbank, {b}_bbank, {b}_fbank : integer range 0 to 1 := 0;"
            ),
        );
        decl(
            &mut d,
            format!("signal {b}_rd : integer range 0 to {top} := 0;"),
        );
        decl(
            &mut d,
            format!("signal {b}_xa, {b}_ba, {b}_fa, {b}_rdd : integer range 0 to {top} := 0;"),
        );
        decl(
            &mut d,
            format!("signal {b}_bv, {b}_fv, {b}_rv, {b}_start, {b}_drain : std_logic := '0';"),
        );
        decl(&mut d, format!("signal {b}_fd, {b}_new, {b}_old, {b}_base : signed({} downto 0) := (others => '0');", wacc - 1));
        if weights.is_some() {
            // a weight travels beside its bin; a plain count adds a constant 1
            decl(
                &mut d,
                format!(
                    "signal {b}_binc : signed({} downto 0) := (others => '0');",
                    wacc - 1
                ),
            );
        }
        self.decls.push_str(&d);
        // what stage B adds: the weight registered beside the bin, or 1
        let (take_inc, inc) = match weights {
            Some(wb) => (
                format!(" {b}_binc <= resize({wb}, {wacc});"),
                format!("{b}_binc"),
            ),
            None => (String::new(), format!("to_signed(1, {wacc})")),
        };
        let counted = match mask {
            Some(m) => format!("{x}_v = '1' and {m}(0) = '1'"),
            None => format!("{x}_v = '1'"),
        };
        let out = if float {
            // float64 in two more stages: magnitude, leading one, then shift and pack
            self.uses_float = true;
            let mut d = String::new();
            let _ = writeln!(
                d,
                "  signal {b}_s1v, {b}_s2v, {b}_neg1, {b}_neg2 : std_logic := '0';"
            );
            let _ = writeln!(
                d,
                "  signal {b}_mag1, {b}_mag2 : unsigned(52 downto 0) := (others => '0');"
            );
            let _ = writeln!(d, "  signal {b}_e2 : integer range 0 to 52 := 0;");
            self.decls.push_str(&d);
            let edge = self.edge;
            let _ = writeln!(
                self.body,
                "  p_{b}_f : process(clk)\n  begin\n    {edge}\n      {b}_s2v <= {b}_s1v; {b}_neg2 <= {b}_neg1; {b}_mag2 <= {b}_mag1; {b}_e2 <= hissc_msb({b}_mag1);\n      {b} <= hissc_pack({b}_neg2, {b}_mag2, {b}_e2);\n      if rst = '1' then\n        {b}_s2v <= '0';\n      end if;\n    end if;\n  end process;\n"
            );
            format!("if q < 0 then {b}_neg1 <= '1'; {b}_mag1 <= unsigned(resize(-q, 53)); else {b}_neg1 <= '0'; {b}_mag1 <= unsigned(resize(q, 53)); end if;")
        } else {
            format!("{b} <= resize(q, {w});")
        };
        let mut s = self.comment(b);
        let _ = writeln!(
            s,
            "  {b}_xa <= to_integer({x}) when {x}_v = '1' else 0; -- in [0, {bins}) whenever valid (proven)"
        );
        let _ = writeln!(s, "  {b}_old <= {b}_q0 when {b}_bbank = 0 else {b}_q1;");
        let _ = writeln!(s, "  {b}_base <= {b}_fd when {b}_fv = '1' and {b}_fa = {b}_ba and {b}_fbank = {b}_bbank else {b}_old;");
        let _ = writeln!(s, "  {b}_new <= {b}_base + {inc};");
        for k in 0..2 {
            let _ = writeln!(s, "  {b}_ra{k} <= {b}_xa when {b}_bank = {k} else {b}_rd;");
            let _ = writeln!(s, "  {b}_we{k} <= '1' when ({b}_bv = '1' and {b}_bbank = {k}) or ({b}_rv = '1' and {b}_rbank = {k}) else '0';");
            let _ = writeln!(
                s,
                "  {b}_wa{k} <= {b}_ba when {b}_bv = '1' and {b}_bbank = {k} else {b}_rdd;"
            );
            let _ = writeln!(s, "  {b}_wd{k} <= {b}_new when {b}_bv = '1' and {b}_bbank = {k} else (others => '0');");
            let edge = self.edge;
            let _ = writeln!(
                s,
                "  p_{b}_m{k} : process(clk)\n  begin\n    {edge}\n      if {b}_we{k} = '1' then\n        {b}_m{k}({b}_wa{k}) <= {b}_wd{k};\n      end if;\n{}\n    end if;\n  end process;",
                dont_care_collision(&format!("{b}_q{k}"), &format!("{b}_m{k}"), &format!("{b}_we{k}"), &format!("{b}_wa{k}"), &format!("{b}_ra{k}"))
            );
        }
        s.push('\n');
        self.body.push_str(&s);
        let stmts = vec![
            format!("{b}_start <= '0';"),
            "-- counting: stage B writes back what stage A read".to_string(),
            format!("if {counted} then {b}_bv <= '1'; else {b}_bv <= '0'; end if;"),
            format!("{b}_ba <= {b}_xa;{take_inc} {b}_bbank <= {b}_bank;"),
            format!("{b}_fv <= {b}_bv; {b}_fa <= {b}_ba; {b}_fd <= {b}_new; {b}_fbank <= {b}_bbank;"),
            format!("if {x}_v = '1' then"),
            format!(
                "  if {b}_cnt = {} then {b}_cnt <= 0; {b}_rbank <= {b}_bank; {b}_bank <= 1 - {b}_bank; {b}_start <= '1'; else {b}_cnt <= {b}_cnt + 1; end if;",
                count - 1
            ),
            "end if;".into(),
            "-- streaming out: read, then register and clear".to_string(),
            if float { format!("{b}_v <= {b}_s2v; {b}_s1v <= {b}_rv;") } else { format!("{b}_v <= {b}_rv;") },
            format!("if {b}_rv = '1' then"),
            format!("  if {b}_rbank = 0 then q := {b}_q0; else q := {b}_q1; end if;"),
            format!("  {out}"),
            "end if;".into(),
            format!("{b}_rv <= '0';"),
            // a cycle after the frame's last element, the bins leave one per
            // cycle: a plain counter and a flag (no signed compare on the
            // address path)
            format!("if {b}_start = '1' then {b}_drain <= '1'; {b}_rd <= 0; end if;"),
            format!("if {b}_drain = '1' then"),
            format!("  {b}_rv <= '1'; {b}_rdd <= {b}_rd;"),
            format!(
                "  if {b}_rd = {} then {b}_drain <= '0'; else {b}_rd <= {b}_rd + 1; end if;",
                bins - 1
            ),
            "end if;".into(),
        ];
        let resets = vec![
            format!("{b}_v <= '0';"),
            format!("{b}_bv <= '0';"),
            format!("{b}_fv <= '0';"),
            format!("{b}_rv <= '0';"),
            format!("{b}_cnt <= 0;"),
            format!("{b}_bank <= 0;"),
            format!("{b}_rbank <= 0;"),
            format!("{b}_start <= '0';"),
            format!("{b}_drain <= '0';"),
        ];
        self.clocked(
            b,
            &[format!("variable q : signed({} downto 0);", wacc - 1)],
            &stmts,
            &resets,
        );
    }
}
