//! Delay processes: a stream later by a fixed number of cycles.

use super::*;

impl Emitter<'_> {
    /// The same stream `n` cycles later: a register, a shift register, or (when
    /// [`hissc_spn::proc::delay::in_ram`] says so) a ring in block RAM.
    pub(super) fn delay(&mut self, b: Bus, a: Bus, n: u32) {
        let w = self.net.nodes[b].width;
        let (a, n) = (&a, &n);
        if hissc_spn::proc::delay::in_ram(*n, w) {
            self.delay_ram(b, *a, *n);
        } else if *n == 1 {
            self.clocked(
                b,
                &[],
                &[format!("{b} <= {a};"), format!("{b}_v <= {a}_v;")],
                &[format!("{b}_v <= '0';")],
            );
        } else {
            let _ = writeln!(
                self.decls,
                "  type {b}_dly_t is array (1 to {n}) of signed({} downto 0);",
                w - 1
            );
            let _ = writeln!(
                self.decls,
                "  signal {b}_d : {b}_dly_t := (others => (others => '0'));"
            );
            let _ = writeln!(
                self.decls,
                "  signal {b}_dv : std_logic_vector(1 to {n}) := (others => '0');"
            );
            self.clocked(
                b,
                &[],
                &[
                    format!("{b}_d <= {a} & {b}_d(1 to {});", n - 1),
                    format!("{b}_dv <= {a}_v & {b}_dv(1 to {});", n - 1),
                ],
                &[format!("{b}_dv <= (others => '0');")],
            );
            let _ = write!(
                self.body,
                "  {b} <= {b}_d({n});\n  {b}_v <= {b}_dv({n});\n\n"
            );
        }
    }

    /// A long delay line in block RAM: a ring of `n - 1` words (the element and
    /// its valid bit) written every cycle and read, before the write, into a
    /// register: the element written `n - 1` cycles ago leaves `n` cycles after
    /// it came. Until the ring has been filled once after reset, nothing leaves
    /// valid, exactly as a shift register reset to invalid.
    fn delay_ram(&mut self, b: Bus, a: Bus, n: u32) {
        let w = self.net.nodes[b].width;
        let last = n - 2;
        let d = &mut self.decls;
        let _ = writeln!(
            d,
            "  type {b}_ring_t is array (0 to {last}) of signed({w} downto 0);"
        );
        let _ = writeln!(
            d,
            "  signal {b}_ring : {b}_ring_t := (others => (others => '0'));"
        );
        let _ = writeln!(
            d,
            "  signal {b}_q : signed({w} downto 0) := (others => '0');"
        );
        let _ = writeln!(d, "  signal {b}_ptr : integer range 0 to {last} := 0;");
        let _ = writeln!(d, "  signal {b}_cnt : integer range 0 to {} := 0;", n - 1);
        let _ = writeln!(d, "  signal {b}_full : std_logic := '0';");
        self.clocked(
            b,
            &[],
            &[
                format!("{b}_q <= {b}_ring({b}_ptr);"),
                format!("{b}_ring({b}_ptr) <= {a}_v & {a};"),
                format!("if {b}_ptr = {last} then {b}_ptr <= 0; else {b}_ptr <= {b}_ptr + 1; end if;"),
                format!(
                    "if {b}_cnt = {} then {b}_full <= '1'; else {b}_full <= '0'; {b}_cnt <= {b}_cnt + 1; end if;",
                    n - 1
                ),
            ],
            &[
                format!("{b}_ptr <= 0;"),
                format!("{b}_cnt <= 0;"),
                format!("{b}_full <= '0';"),
            ],
        );
        let _ = write!(
            self.body,
            "  {b} <= {b}_q({} downto 0);\n  {b}_v <= {b}_q({w}) and {b}_full;\n\n",
            w - 1
        );
    }
}
