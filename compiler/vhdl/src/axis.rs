//! The AXI4-Stream wrapper (`--interface axis`), its testbench and vector file.
//!
//! The wrapper `<kernel>_axis` turns every input stream into an AXI4-Stream
//! slave (`s_NAME_tvalid`, `s_NAME_tready`, `s_NAME_tdata`, `s_NAME_tlast`) and
//! every output into a master (`m_NAME_tvalid`, `m_NAME_tready`,
//! `m_NAME_tdata`, `m_NAME_tlast`, and for a variable-length output
//! `m_NAME_tuser`, the lanes that carry elements), around the design emitted
//! with a clock enable ([`crate::emit::design_with`]). What it decides each
//! cycle is [`hissc_spn::axis`]'s plan, which the simulator's model
//! (`hissc_sim::axis`) follows too. Parameters and state load ports pass
//! through. `error` rises (and stays high until reset) when an input's `TLAST`
//! does not mark its frame's last beat (or, which the wrapper rules out, the
//! network's own timing monitor fires).
//!
//! The testbench replays the model's rows: it drives every producer's beat
//! and every consumer's `TREADY`, and checks every `TREADY`, `TVALID`, and
//! each beat's data, `TLAST` and `TUSER`, cycle by cycle.

use crate::interface::{port_lines, port_type, Interface};
use crate::tb::{bits, lanes};
use hissc_spn::axis::{Plan, FIFO_DEPTH};
use hissc_spn::trace::AxisRow;
use std::fmt::Write;

// the queue below is written out for two slots
const _: () = assert!(FIFO_DEPTH == 2);

/// A stream's AXI name: its data port without `_data` (`frame_data` → `frame`).
fn base(data: &str) -> &str {
    data.strip_suffix("_data").unwrap_or(data)
}

/// `'0'`-filled initial value of a port type.
fn zero(w: u32) -> &'static str {
    if w == 1 {
        "'0'"
    } else {
        "(others => '0')"
    }
}

/// The wrapper's ports, each with the pins it takes.
fn ports(iface: &Interface) -> Vec<(String, u32)> {
    let mut ports = vec![
        ("clk : in std_logic".to_string(), 1),
        ("rst : in std_logic".to_string(), 1),
    ];
    for s in &iface.inputs {
        let b = base(&s.data);
        let w = s.total();
        ports.push((format!("s_{b}_tvalid : in std_logic"), 1));
        ports.push((format!("s_{b}_tready : out std_logic"), 1));
        ports.push((
            format!(
                "s_{b}_tdata : in {} -- input `{}`, {} lane(s) of {} bits",
                port_type(w),
                s.py,
                s.lanes,
                s.width
            ),
            w,
        ));
        ports.push((format!("s_{b}_tlast : in std_logic"), 1));
    }
    for q in &iface.params {
        ports.push((format!("{} : in {}", q.name, port_type(q.width)), q.width));
    }
    for l in &iface.loads {
        ports.push((format!("{} : in std_logic", l.valid), 1));
        ports.push((format!("{} : in {}", l.data, port_type(l.width)), l.width));
    }
    for o in &iface.outputs {
        let b = base(&o.data);
        let w = o.total();
        ports.push((format!("m_{b}_tvalid : out std_logic"), 1));
        ports.push((format!("m_{b}_tready : in std_logic"), 1));
        ports.push((
            format!(
                "m_{b}_tdata : out {} -- {}, {} lane(s)",
                port_type(w),
                o.dtype.numpy_name(),
                o.lanes.len()
            ),
            w,
        ));
        ports.push((format!("m_{b}_tlast : out std_logic"), 1));
        if let Some(v) = &o.vec {
            ports.push((
                format!(
                    "m_{b}_tuser : out {} -- lanes that carry elements (packed from lane 0)",
                    port_type(v.count_width)
                ),
                v.count_width,
            ));
        }
    }
    ports.push((
        "error : out std_logic -- an input's TLAST did not mark its frame's last beat (until reset)"
            .into(),
        1,
    ));
    ports
}

/// The pins the wrapper's ports take.
pub fn pins(iface: &Interface) -> u32 {
    ports(iface).iter().map(|(_, w)| w).sum()
}

/// The wrapper entity `<entity>_axis` for a design emitted with `ce`.
pub fn wrapper(iface: &Interface, plan: &Plan) -> String {
    let e = &iface.entity;
    let p = plan.period;
    let mut decls = String::new();
    let mut map = vec![
        "clk => clk".to_string(),
        "rst => rst".to_string(),
        "ce => k_ce".to_string(),
        format!("{} => k_timing", iface.error),
    ];
    let mut comb = String::new();
    let mut resets = String::new();
    let mut seq = String::new();
    let _ = writeln!(
        decls,
        "  signal phase : integer range 0 to {p} := {p};\n  signal ce, k_ce, starting, err, k_timing : std_logic := '0';"
    );
    let mut all_offered = Vec::new();
    let mut ok = Vec::new();
    for (i, (s, &beats)) in iface.inputs.iter().zip(&plan.in_beats).enumerate() {
        let b = base(&s.data);
        let _ = writeln!(decls, "  signal need{i}, take{i} : std_logic := '0';");
        map.push(format!("{} => take{i}", s.valid));
        map.push(format!("{} => s_{b}_tdata", s.data));
        all_offered.push(format!("s_{b}_tvalid = '1'"));
        ok.push(format!("(need{i} = '0' or s_{b}_tvalid = '1')"));
        let _ = writeln!(
            comb,
            "  need{i} <= '1' when starting = '1' or (phase < {p} and phase < {beats}) else '0';\n  take{i} <= need{i} and ce;\n  s_{b}_tready <= need{i} and ce;"
        );
        // TLAST must mark the frame's last beat
        let _ = writeln!(
            seq,
            "        if take{i} = '1' then\n          if starting = '1' then pos := 0; else pos := phase; end if;\n          if (s_{b}_tlast = '1') /= (pos = {}) then err <= '1'; end if;\n        end if;",
            beats - 1
        );
    }
    for q in &iface.params {
        map.push(format!("{0} => {0}", q.name));
    }
    for l in &iface.loads {
        map.push(format!("{0} => {0}", l.valid));
        map.push(format!("{0} => {0}", l.data));
    }
    for (k, (o, &beats)) in iface.outputs.iter().zip(&plan.out_beats).enumerate() {
        let b = base(&o.data);
        let t = port_type(o.total());
        let z = zero(o.total());
        let _ = writeln!(
            decls,
            "  signal kv{k}, last{k} : std_logic := '0';\n  signal kd{k} : {t} := {z};\n  signal n{k} : integer range 0 to {FIFO_DEPTH} := 0;"
        );
        if o.vec.is_none() {
            // a fixed-length output's beats in the current frame (TLAST on the last)
            let _ = writeln!(
                decls,
                "  signal beat{k} : integer range 0 to {} := 0;",
                beats.max(1) - 1
            );
        }
        for slot in 0..FIFO_DEPTH {
            let _ = writeln!(
                decls,
                "  signal q{k}_{slot} : {t} := {z};\n  signal ql{k}_{slot} : std_logic := '0';"
            );
        }
        map.push(format!("{} => kv{k}", o.valid));
        map.push(format!("{} => kd{k}", o.data));
        // what a queue slot holds: the beat's data, TLAST, and a Vec's lane count
        let mut fields = vec![("kd", "q"), ("last", "ql")];
        let mut extra_reset = match &o.vec {
            Some(v) => {
                let ct = port_type(v.count_width);
                let cz = zero(v.count_width);
                let _ = writeln!(decls, "  signal kc{k} : {ct} := {cz};");
                for slot in 0..FIFO_DEPTH {
                    let _ = writeln!(decls, "  signal qc{k}_{slot} : {ct} := {cz};");
                }
                map.push(format!("{} => kc{k}", v.count));
                map.push(format!("{} => last{k}", v.last));
                let _ = writeln!(comb, "  m_{b}_tuser <= qc{k}_0;");
                fields.push(("kc", "qc"));
                String::new()
            }
            None => {
                let _ = writeln!(
                    comb,
                    "  last{k} <= '1' when beat{k} = {} else '0';",
                    beats.max(1) - 1
                );
                format!("        beat{k} <= 0;\n")
            }
        };
        let _ = writeln!(
            comb,
            "  m_{b}_tvalid <= '1' when n{k} > 0 else '0';\n  m_{b}_tdata <= q{k}_0;\n  m_{b}_tlast <= ql{k}_0;"
        );
        ok.push(format!("n{k} < {FIFO_DEPTH}"));
        // the queue: the consumer takes the head; the network's beat goes behind
        let each = |f: &dyn Fn(&str, &str) -> String| {
            fields
                .iter()
                .map(|(src, dst)| f(src, dst))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let shift = each(&|_, dst| format!("{dst}{k}_0 <= {dst}{k}_1;"));
        let put0 = each(&|src, dst| format!("{dst}{k}_0 <= {src}{k};"));
        let put1 = each(&|src, dst| format!("{dst}{k}_1 <= {src}{k};"));
        let count_beat = if o.vec.is_none() {
            format!(
                "\n          if beat{k} = {} then beat{k} <= 0; else beat{k} <= beat{k} + 1; end if;",
                beats.max(1) - 1
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            seq,
            "        pop := n{k} > 0 and m_{b}_tready = '1';\n        push := ce = '1' and kv{k} = '1';\n        if pop and push then\n          if n{k} = 1 then {put0} else {shift} {put1} end if;\n        elsif pop then\n          {shift}\n          n{k} <= n{k} - 1;\n        elsif push then\n          if n{k} = 0 then {put0} else {put1} end if;\n          n{k} <= n{k} + 1;\n        end if;\n        if push then{count_beat}\n        end if;"
        );
        extra_reset.push_str(&format!("        n{k} <= 0;\n"));
        resets.push_str(&extra_reset);
    }
    let starting = if all_offered.is_empty() {
        "false".to_string()
    } else {
        all_offered.join(" and ")
    };
    let ok = if ok.is_empty() {
        "true".to_string()
    } else {
        ok.join(" and ")
    };
    let mut v = String::new();
    let _ = writeln!(
        v,
        "-- Generated by hissc {}: the AXI4-Stream interface of `{e}` (docs/hardware-interface.md).\n-- Do not edit.\nlibrary ieee;\nuse ieee.std_logic_1164.all;\nuse ieee.numeric_std.all;\n",
        env!("CARGO_PKG_VERSION")
    );
    let decl: Vec<String> = ports(iface)
        .into_iter()
        .map(|(d, _)| format!("    {d}"))
        .collect();
    let _ = writeln!(v, "entity {e}_axis is\n  port (");
    v.push_str(&port_lines(&decl));
    let _ = writeln!(v, "  );\nend entity;\n\narchitecture rtl of {e}_axis is");
    v.push_str(&decls);
    let _ = writeln!(
        v,
        "begin\n  dut : entity work.{e}\n    port map (\n      {}\n    );\n",
        map.join(",\n      ")
    );
    let _ = writeln!(
        v,
        "  -- a frame starts when every input offers its first beat, between frames\n  starting <= '1' when phase = {p} and {starting} else '0';"
    );
    v.push_str(&comb);
    let _ = writeln!(
        v,
        "  -- the network's clock enable: every beat it needs is offered, every queue has room\n  ce <= '1' when {ok} else '0';\n  k_ce <= ce or rst;\n  error <= err or k_timing;\n"
    );
    let _ = writeln!(
        v,
        "  control : process(clk)\n    variable pop, push : boolean;\n    variable pos : integer range 0 to {p};\n  begin\n    if rising_edge(clk) then\n      if rst = '1' then\n        phase <= {p};\n        err <= '0';\n{resets}      else\n{seq}        if ce = '1' then\n          if starting = '1' then phase <= 1;\n          elsif phase < {p} then phase <= phase + 1;\n          end if;\n        end if;\n      end if;\n    end if;\n  end process;\nend architecture;"
    );
    v
}

/// The testbench `<entity>_axis_tb`, reading the vector file named by its generic.
pub fn testbench(iface: &Interface) -> String {
    let e = &iface.entity;
    let mut sig = String::new();
    let mut vars = String::new();
    let mut read = String::new();
    let mut drive = String::new();
    let mut check = String::new();
    let mut map = vec!["clk => clk".to_string(), "rst => rst".to_string()];
    let bit = |w: u32| if w == 1 { "(0)" } else { "" };
    let slv = |w: u32| format!("std_logic_vector({} downto 0)", w - 1);
    // a signal the testbench drives from the vector line
    let mut driven = |name: &str, w: u32| {
        let _ = writeln!(sig, "  signal {name} : {} := {};", port_type(w), zero(w));
        let _ = writeln!(vars, "    variable i_{name} : {};", slv(w));
        let _ = writeln!(read, "      read(l, i_{name});");
        let _ = writeln!(drive, "      {name} <= i_{name}{};", bit(w));
        map.push(format!("{name} => {name}"));
    };
    for s in &iface.inputs {
        let b = base(&s.data);
        driven(&format!("s_{b}_tvalid"), 1);
        driven(&format!("s_{b}_tdata"), s.total());
        driven(&format!("s_{b}_tlast"), 1);
    }
    for q in &iface.params {
        driven(&q.name, q.width);
    }
    for l in &iface.loads {
        driven(&l.valid, 1);
        driven(&l.data, l.width);
    }
    for o in &iface.outputs {
        driven(&format!("m_{}_tready", base(&o.data)), 1);
    }
    // a signal it checks: always, or when `when` (an expected TVALID) is high
    let mut checked = |name: &str, w: u32, when: Option<&str>| {
        let _ = writeln!(sig, "  signal {name} : {};", port_type(w));
        let _ = writeln!(vars, "    variable e_{name} : {};", slv(w));
        let _ = writeln!(read, "      read(l, e_{name});");
        map.push(format!("{name} => {name}"));
        let cond = match when {
            Some(v) => format!("e_{v}(0) = '1' and "),
            None => String::new(),
        };
        let got = if w == 1 {
            format!("std_logic'image({name})")
        } else {
            format!("to_hstring({name})")
        };
        let _ = write!(
            check,
            "        if {cond}{name} /= e_{name}{} then\n          report \"HISSC-MISMATCH cycle=\" & integer'image(cycle) & \" signal={name} expected=\" & to_hstring(e_{name}) & \" got=\" & {got} severity failure;\n        end if;\n",
            bit(w)
        );
    };
    for s in &iface.inputs {
        checked(&format!("s_{}_tready", base(&s.data)), 1, None);
    }
    for o in &iface.outputs {
        let b = base(&o.data);
        let valid = format!("m_{b}_tvalid");
        checked(&valid, 1, None);
        checked(&format!("m_{b}_tdata"), o.total(), Some(&valid));
        checked(&format!("m_{b}_tlast"), 1, Some(&valid));
        if let Some(v) = &o.vec {
            checked(&format!("m_{b}_tuser"), v.count_width, Some(&valid));
        }
    }
    let _ = writeln!(sig, "  signal error : std_logic;");
    map.push("error => error".into());
    check.push_str("        if error /= '0' then\n          report \"HISSC-MISMATCH cycle=\" & integer'image(cycle) & \" signal=error expected=0 got=1\" severity failure;\n        end if;\n");
    crate::tb::Replay {
        dut: &format!("{e}_axis"),
        what: &format!("replays the AXI4-Stream model's cycles against\n-- `{e}_axis` and checks every handshake and beat"),
        sig: &sig,
        map: &map.join(",\n      "),
        vars: &vars,
        read: &read,
        drive: &drive,
        check: &check,
    }
    .text()
}

/// The vector file: one line per cycle, in the testbench's reading order.
pub fn vectors(iface: &Interface, rows: &[AxisRow], params: &[i128]) -> String {
    let mut s = String::with_capacity(rows.len() * 64);
    // no preamble: the state loads are rows of their own
    s.push_str("0\n");
    for r in rows {
        s.push(if r.rst { '1' } else { '0' });
        for (p, (v, d, last)) in iface.inputs.iter().zip(&r.inputs) {
            let _ = write!(s, " {} {} {}", *v as u8, lanes(d, p.width), *last as u8);
        }
        for (p, v) in iface.params.iter().zip(params) {
            let _ = write!(s, " {}", bits(*v, p.width));
        }
        for (p, (v, d)) in iface.loads.iter().zip(&r.loads) {
            let _ = write!(s, " {} {}", *v as u8, bits(*d, p.width));
        }
        for t in &r.taking {
            let _ = write!(s, " {}", *t as u8);
        }
        for r in &r.ready {
            let _ = write!(s, " {}", *r as u8);
        }
        for (o, beat) in iface.outputs.iter().zip(&r.outputs) {
            let lanes_n = o.lanes.len();
            match beat {
                Some(b) => {
                    let _ = write!(s, " 1 {} {}", lanes(&b.data, o.width), b.last as u8);
                    if let Some(v) = &o.vec {
                        let _ = write!(s, " {}", bits(b.count as i128, v.count_width));
                    }
                }
                None => {
                    let _ = write!(s, " 0 {} 0", lanes(&vec![0; lanes_n], o.width));
                    if let Some(v) = &o.vec {
                        let _ = write!(s, " {}", bits(0, v.count_width));
                    }
                }
            }
        }
        s.push('\n');
    }
    s
}
