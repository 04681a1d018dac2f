//! The trace-replay testbench and its vector file.
//!
//! The simulator's trace is written as a vector file: one line per cycle with, as
//! bit strings, `rst`, every input's valid and data, every parameter, and every
//! output's expected valid and data. The testbench reads a line, drives the
//! inputs, lets them settle, checks every output's valid flag (and its data when
//! valid) and then gives one rising clock edge. The first difference stops the
//! run with a line `HISSC-MISMATCH cycle=N signal=S expected=X got=Y`.
//!
//! A kernel with state first sets each state's memory through its load port: the
//! vector file's first line is the length of that preamble (a reset cycle, then
//! one cycle per state element, all states in parallel), whose cycles count from
//! minus that length so that the trace's cycles keep their numbers.

use crate::interface::Interface;
use hissc_spn::trace::TraceRow;
use std::fmt::Write;

/// Two's complement bits of `v`, `w` wide.
pub fn bits(v: i128, w: u32) -> String {
    (0..w)
        .rev()
        .map(|i| if (v >> i.min(127)) & 1 == 1 { '1' } else { '0' })
        .collect()
}

/// The bits of every lane, `w` each, the last lane first (lane 0 is the low end).
pub fn lanes(values: &[i128], w: u32) -> String {
    values.iter().rev().map(|&v| bits(v, w)).collect()
}

/// The vector file for a trace, after the preamble that loads `states` (each
/// state's elements in C order; the design's state order).
pub fn vectors(iface: &Interface, rows: &[TraceRow], states: &[Vec<i128>]) -> String {
    let mut s = String::with_capacity(rows.len() * 64);
    let longest = states.iter().map(|x| x.len()).max().unwrap_or(0);
    let preamble = if iface.loads.is_empty() {
        0
    } else {
        1 + longest
    };
    let _ = writeln!(s, "{preamble}");
    let idle = TraceRow {
        rst: false,
        inputs: iface
            .inputs
            .iter()
            .map(|p| (false, vec![0; p.lanes as usize]))
            .collect(),
        params: rows
            .first()
            .map_or_else(|| vec![0; iface.params.len()], |r| r.params.clone()),
        outputs: iface
            .outputs
            .iter()
            .map(|o| (false, vec![0; o.lanes.len()]))
            .collect(),
        marks: iface
            .outputs
            .iter()
            .filter(|o| o.vec.is_some())
            .map(|_| (0, false))
            .collect(),
    };
    for c in 0..preamble {
        // cycle 0 resets the counters; then element c - 1 of every state
        let row = TraceRow {
            rst: c == 0,
            ..idle.clone()
        };
        let loads: Vec<(bool, i128)> = states
            .iter()
            .map(|x| match c.checked_sub(1).and_then(|k| x.get(k)) {
                Some(&v) => (true, v),
                None => (false, 0),
            })
            .collect();
        line(&mut s, iface, &row, &loads);
    }
    let none = vec![(false, 0); iface.loads.len()];
    for r in rows {
        line(&mut s, iface, r, &none);
    }
    s
}

/// One cycle of the vector file.
fn line(s: &mut String, iface: &Interface, r: &TraceRow, loads: &[(bool, i128)]) {
    {
        s.push(if r.rst { '1' } else { '0' });
        for (p, (v, d)) in iface.inputs.iter().zip(&r.inputs) {
            let _ = write!(s, " {} {}", *v as u8, lanes(d, p.width));
        }
        for (p, v) in iface.params.iter().zip(&r.params) {
            let _ = write!(s, " {}", bits(*v, p.width));
        }
        for (i, p) in iface.loads.iter().enumerate() {
            let (v, d) = loads.get(i).copied().unwrap_or((false, 0));
            let _ = write!(s, " {} {}", v as u8, bits(d, p.width));
        }
        let mut marks = r.marks.iter();
        for (o, (v, d)) in iface.outputs.iter().zip(&r.outputs) {
            let d = if *v { d.clone() } else { vec![0; d.len()] };
            let _ = write!(s, " {} {}", *v as u8, lanes(&d, o.width));
            if let Some(vp) = &o.vec {
                let (count, last) = marks.next().copied().unwrap_or((0, false));
                let _ = write!(s, " {} {}", bits(count as i128, vp.count_width), last as u8);
            }
        }
        s.push('\n');
    }
}

/// The testbench entity `<entity>_tb`, reading vectors from the file named by the
/// generic `vectors`.
pub fn testbench(iface: &Interface) -> String {
    let e = &iface.entity;
    let mut sig = String::new();
    let mut vars = String::new();
    let mut map = vec!["clk => clk".to_string(), "rst => rst".to_string()];
    let mut read = String::new();
    let mut drive = String::new();
    let mut check = String::new();
    let slv = |w: u32| format!("std_logic_vector({} downto 0)", w - 1);
    let port = |w: u32| {
        let init = if w == 1 { "'0'" } else { "(others => '0')" };
        format!("{} := {init}", crate::interface::port_type(w))
    };
    let bit = |w: u32| if w == 1 { "(0)" } else { "" };
    // a port (with its valid flag, for streams): its signals, the variables a
    // vector line is read into (in the vector file's order), and the port map
    let mut port_of = |var: &str, valid: Option<&str>, data: &str, w: u32, driven: bool| {
        let dt = if driven {
            port(w)
        } else {
            crate::interface::port_type(w)
        };
        if let Some(v) = valid {
            let vt = if driven {
                "std_logic := '0'"
            } else {
                "std_logic"
            };
            let _ = writeln!(sig, "  signal {v} : {vt};\n  signal {data} : {dt};");
            let _ = writeln!(
                vars,
                "    variable {var}_{v} : std_logic_vector(0 downto 0);\n    variable {var}_{data} : {};",
                slv(w)
            );
            map.push(format!("{v} => {v}"));
            let _ = writeln!(read, "      read(l, {var}_{v}); read(l, {var}_{data});");
        } else {
            let _ = writeln!(sig, "  signal {data} : {dt};");
            let _ = writeln!(vars, "    variable {var}_{data} : {};", slv(w));
            let _ = writeln!(read, "      read(l, {var}_{data});");
        }
        map.push(format!("{data} => {data}"));
    };
    for p in &iface.inputs {
        port_of("i", Some(&p.valid), &p.data, p.total(), true);
    }
    for p in &iface.params {
        port_of("i", None, &p.name, p.width, true);
    }
    for p in &iface.loads {
        port_of("i", Some(&p.valid), &p.data, p.width, true);
    }
    for o in &iface.outputs {
        port_of("e", Some(&o.valid), &o.data, o.total(), false);
        if let Some(v) = &o.vec {
            port_of("e", None, &v.count, v.count_width, false);
            port_of("e", None, &v.last, 1, false);
        }
    }
    // the timing monitor: never raised by a trace of the native timing
    let _ = writeln!(sig, "  signal {} : std_logic;", iface.error);
    map.push(format!("{0} => {0}", iface.error));
    let _ = write!(
        check,
        "        if {0} /= '0' then\n          report \"HISSC-MISMATCH cycle=\" & integer'image(cycle) & \" signal={0} expected='0' got='1'\" severity failure;\n        end if;\n",
        iface.error
    );
    // input streams and state load ports: a valid flag and data
    let streams = iface.inputs.iter().map(|p| (p, p.total()));
    for (p, w) in streams.chain(iface.loads.iter().map(|p| (p, p.width))) {
        let _ = writeln!(
            drive,
            "      {0} <= i_{0}(0); {1} <= i_{1}{2};",
            p.valid,
            p.data,
            bit(w)
        );
    }
    for p in &iface.params {
        let _ = writeln!(drive, "      {0} <= i_{0}{1};", p.name, bit(p.width));
    }
    for o in &iface.outputs {
        let _ = write!(
            check,
            "        if {v} /= e_{v}(0) then\n          report \"HISSC-MISMATCH cycle=\" & integer'image(cycle) & \" signal={v} expected=\" & std_logic'image(e_{v}(0)) & \" got=\" & std_logic'image({v}) severity failure;\n        end if;\n        if e_{v}(0) = '1' and {d} /= e_{d}{bit} then\n          report \"HISSC-MISMATCH cycle=\" & integer'image(cycle) & \" signal={d} expected=\" & to_hstring(e_{d}) & \" got=\" & {got} severity failure;\n        end if;\n",
            v = o.valid,
            d = o.data,
            bit = bit(o.total()),
            got = if o.total() == 1 { format!("std_logic'image({})", o.data) } else { format!("to_hstring({})", o.data) }
        );
    }
    for o in &iface.outputs {
        if let Some(v) = &o.vec {
            for (p, w) in [(&v.count, v.count_width), (&v.last, 1)] {
                let _ = write!(
                    check,
                    "        if e_{v}(0) = '1' and {p} /= e_{p}{bit} then\n          report \"HISSC-MISMATCH cycle=\" & integer'image(cycle) & \" signal={p} expected=\" & to_hstring(e_{p}) & \" got=\" & {got} severity failure;\n        end if;\n",
                    v = o.valid,
                    bit = bit(w),
                    got = if w == 1 { format!("std_logic'image({p})") } else { format!("to_hstring({p})") }
                );
            }
        }
    }
    Replay {
        dut: e,
        what: &format!("replays a simulator trace against `{e}` and checks\n-- every output on every cycle (data whenever valid)"),
        sig: &sig,
        map: &map.join(",\n      "),
        vars: &vars,
        read: &read,
        drive: &drive,
        check: &check,
    }
    .text()
}

/// A testbench that replays a vector file against entity `dut` (its entity is
/// `<dut>_tb`, its vectors `<dut>.vec` unless the generic says otherwise): the
/// first line is the length of the preamble (its cycles count from minus that),
/// then per cycle `rst` and the fields `read` takes, `drive` driving the inputs,
/// `check` comparing the outputs before the clock edge.
pub(crate) struct Replay<'a> {
    /// The entity under test.
    pub dut: &'a str,
    /// What it checks, for the header comment.
    pub what: &'a str,
    /// Signal declarations.
    pub sig: &'a str,
    /// The port map's associations.
    pub map: &'a str,
    /// Variables a line is read into.
    pub vars: &'a str,
    /// Reads of one line's fields, in order.
    pub read: &'a str,
    /// Drives the inputs from the variables.
    pub drive: &'a str,
    /// Compares the outputs (after reset).
    pub check: &'a str,
}

impl Replay<'_> {
    /// The testbench's VHDL.
    pub(crate) fn text(&self) -> String {
        let Replay {
            dut: e,
            what,
            sig,
            map,
            vars,
            read,
            drive,
            check,
        } = self;
        format!(
            "-- Generated by hissc {ver}: {what}. Do not edit.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use std.textio.all;

entity {e}_tb is
  generic (vectors : string := \"{e}.vec\");
end entity;

architecture sim of {e}_tb is
  signal clk : std_logic := '0';
  signal rst : std_logic := '1';
{sig}begin
  dut : entity work.{e}
    port map (
      {map}
    );

  replay : process
    file f : text open read_mode is vectors;
    variable l : line;
    variable cycle : integer := 0;
    variable preamble : integer;
    variable i_rst : std_logic_vector(0 downto 0);
{vars}  begin
    readline(f, l);
    read(l, preamble);
    cycle := -preamble;
    while not endfile(f) loop
      readline(f, l);
      read(l, i_rst);
{read}      rst <= i_rst(0);
{drive}      wait for 1 ns;
      if i_rst(0) = '0' then
{check}      end if;
      clk <= '1';
      wait for 5 ns;
      clk <= '0';
      wait for 4 ns;
      cycle := cycle + 1;
    end loop;
    report \"HISSC-PASS cycles=\" & integer'image(cycle) severity note;
    std.env.finish;
  end process;
end architecture;
",
            ver = env!("CARGO_PKG_VERSION")
        )
    }
}
