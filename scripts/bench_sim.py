#!/usr/bin/env python3
"""Simulation and interpretation speed, side by side in one run:

- `hissc sim` (the cycle simulator) against GHDL running the emitted VHDL and
  against Verilator running GHDL's synthesized Verilog of the same design, over
  the same cycles with the same stimulus; every engine's outputs must be
  identical, or the script fails;
- `hissc run` (the reference interpreter) against numpy's own script for the same
  kernel, on one 2048x2048 frame, whole process on both sides.

    python3 scripts/bench_sim.py [--hissc target/release/hissc] [--frames 2000] [--repeat 3]
                                 [--update docs/performance.md]

A benchmark, not a test: about a minute. Needs ghdl, verilator (apt-get install
ghdl verilator), a C++ compiler and numpy. Times are medians of --repeat runs of
the engine alone (GHDL's analysis and Verilator's C++ build are not counted; the
hissc figures are whole processes: compile, .npy reading, simulation, output).
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mdsection import replace_section  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "..", "shared", "conformance", "cases")
KERNEL = os.path.join(CASES, "threshold_sum", "kernel.py")
T = 1000
H = W = 32

# the stimulus: the ZX81's LCG (cheap in VHDL integers), pixel = state mod 4096
def lcg_pixels(n):
    # the sequence repeats after 65536 steps: compute one period, then tile it
    period = np.empty(65536, dtype=np.uint16)
    x = 1
    for i in range(65536):
        x = (x * 75 + 74) % 65537
        period[i] = x % 4096
    assert x == 1, "the LCG's period is 65536"
    return np.resize(period, n)


VHDL_TB = """library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;
use std.textio.all;

entity bench_tb is
  generic (frames : natural := 1; outfile : string := "ghdl_out.txt");
end entity;

architecture sim of bench_tb is
  signal clk : std_logic := '0';
  signal rst : std_logic := '1';
  signal frame_valid : std_logic := '0';
  signal frame_data : std_logic_vector(15 downto 0) := (others => '0');
  signal t : std_logic_vector(15 downto 0) := std_logic_vector(to_unsigned(%(t)d, 16));
  signal out_valid : std_logic;
  signal out_data : std_logic_vector(63 downto 0);
begin
  dut : entity work.threshold_sum
    port map (clk => clk, rst => rst, frame_valid => frame_valid, frame_data => frame_data,
              t => t, out_valid => out_valid, out_data => out_data);

  drive : process
    file f : text open write_mode is outfile;
    variable l : line;
    variable x : integer := 1;
    variable seen : natural := 0;
    variable n : natural := 0;
  begin
    -- cycle 0: reset
    wait for 1 ns; clk <= '1'; wait for 5 ns; clk <= '0'; wait for 4 ns;
    rst <= '0';
    while seen < frames loop
      if n < frames * %(n)d then
        x := (x * 75 + 74) mod 65537;
        frame_valid <= '1';
        frame_data <= std_logic_vector(to_unsigned(x mod 4096, 16));
        n := n + 1;
      else
        frame_valid <= '0';
      end if;
      wait for 1 ns;
      if out_valid = '1' then
        write(l, to_integer(unsigned(out_data(30 downto 0))));
        writeline(f, l);
        seen := seen + 1;
      end if;
      clk <= '1'; wait for 5 ns; clk <= '0'; wait for 4 ns;
    end loop;
    std.env.finish;
  end process;
end architecture;
"""

CPP_MAIN = """#include "Vthreshold_sum.h"
#include <cstdio>
#include <cstdint>
#include <cstdlib>
int main(int argc, char** argv) {
  long frames = atol(argv[1]);
  FILE* f = fopen(argv[2], "w");
  Vthreshold_sum* m = new Vthreshold_sum;
  uint32_t x = 1;
  long n = 0, seen = 0;
  m->t = %(t)d;
  m->rst = 1; m->clk = 0; m->eval(); m->clk = 1; m->eval(); m->clk = 0;
  m->rst = 0;
  while (seen < frames) {
    if (n < frames * %(n)d) {
      x = (x * 75u + 74u) %% 65537u;
      m->frame_valid = 1; m->frame_data = x %% 4096u; n++;
    } else {
      m->frame_valid = 0;
    }
    m->eval();
    if (m->out_valid) { fprintf(f, "%%lu\\n", (unsigned long)m->out_data); seen++; }
    m->clk = 1; m->eval(); m->clk = 0;
  }
  fclose(f);
  delete m;
  return 0;
}
"""


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


# Runs a command from a fresh, small Python and prints its wall time and peak
# memory: a child forked from this (large) process would inherit its peak.
LAUNCH = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
t = time.perf_counter() - t0
if p.returncode != 0:
    sys.exit(p.stderr.decode()[-2000:])
print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak(cmd, **kw):
    """Runs `cmd`; gives (wall seconds, peak resident memory in MB)."""
    out = run([sys.executable, "-c", LAUNCH] + cmd, **kw).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def timed_peak(cmd, repeat, **kw):
    """Median wall time and largest peak memory (MB) of `repeat` runs."""
    runs = [peak(cmd, **kw) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs)


def timed(cmd, repeat, **kw):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(cmd, **kw)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hissc", default=os.path.join(ROOT, "target/release/hissc"))
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stream-frames", type=int, default=50000,
                    help="frames of the streaming comparison (hissc sim and Verilator only)")
    ap.add_argument("--update", help="replace the simulator sections of this markdown file")
    a = ap.parse_args()
    for tool in ("ghdl", "verilator"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed: apt-get install ghdl verilator")
    hissc = os.path.abspath(a.hissc)
    n = H * W
    work = tempfile.mkdtemp(prefix="hissc-bench-")
    pix = lcg_pixels(a.frames * n).reshape(a.frames, H, W)
    np.save(os.path.join(work, "frames.npy"), pix)
    want = np.where(pix > T, pix, 0).sum(axis=(1, 2)).astype(np.uint64)

    # hissc sim
    out = os.path.join(work, "sim")
    sim_cmd = [hissc, "sim", KERNEL, "--in", f"frame={work}/frames.npy", "--param", f"t={T}", "--out", out]
    msg = run(sim_cmd).stdout
    cycles = int(re.search(r"simulated (\d+) cycles", msg).group(1))
    t_sim = timed(sim_cmd, a.repeat)
    got_sim = np.load(os.path.join(out, "out.npy"))

    # GHDL on the emitted VHDL
    run([hissc, KERNEL, "-o", os.path.join(work, "ts.vhd")])
    with open(os.path.join(work, "tb.vhd"), "w") as f:
        f.write(VHDL_TB % {"t": T, "n": n})
    run(["ghdl", "-a", "--std=08", "ts.vhd", "tb.vhd"], cwd=work)
    run(["ghdl", "-e", "--std=08", "bench_tb"], cwd=work)
    ghdl_cmd = ["ghdl", "-r", "--std=08", "bench_tb", f"-gframes={a.frames}"]
    t_ghdl = timed(ghdl_cmd, a.repeat, cwd=work)
    got_ghdl = np.loadtxt(os.path.join(work, "ghdl_out.txt"), dtype=np.uint64, ndmin=1)

    # Verilator on GHDL's synthesized Verilog
    vdir = os.path.join(work, "vl")
    os.makedirs(vdir)
    v = run(["ghdl", "--synth", "--std=08", "--out=verilog", "threshold_sum"], cwd=work).stdout
    with open(os.path.join(vdir, "threshold_sum.v"), "w") as f:
        f.write(v)
    with open(os.path.join(vdir, "main.cpp"), "w") as f:
        f.write(CPP_MAIN % {"t": T, "n": n})
    run(["verilator", "--cc", "--exe", "--build", "-O3", "-Wno-fatal", "--top-module", "threshold_sum",
         "-CFLAGS", "-O2", "threshold_sum.v", "main.cpp", "-o", "bench"], cwd=vdir)
    vl_cmd = [os.path.join(vdir, "obj_dir", "bench"), str(a.frames), os.path.join(vdir, "out.txt")]
    t_vl = timed(vl_cmd, a.repeat)
    got_vl = np.loadtxt(os.path.join(vdir, "out.txt"), dtype=np.uint64, ndmin=1)

    for name, got in [("hissc sim", got_sim), ("GHDL", got_ghdl), ("Verilator", got_vl)]:
        if not np.array_equal(got, want):
            sys.exit(f"{name}'s outputs differ from numpy's")

    # interpreter against numpy, one 2048x2048 frame, whole process
    big = np.random.default_rng(1).integers(0, 4096, (2048, 2048), dtype=np.uint16)
    np.save(os.path.join(work, "big.npy"), big)
    script = os.path.join(work, "np_kernel.py")
    with open(script, "w") as f:
        f.write(
            "import sys, numpy as np\n"
            "frame = np.load(sys.argv[1])\n"
            f"out = np.where(frame > np.uint16({T}), frame, 0).sum()\n"
            "np.save(sys.argv[2], out)\n"
        )
    np_cmd = [sys.executable, script, os.path.join(work, "big.npy"), os.path.join(work, "np_out.npy")]
    big_kernel = os.path.join(work, "threshold_big.py")
    with open(KERNEL) as f:
        src = f.read().replace("Array[np.uint16, 32, 32]", "Array[np.uint16, 2048, 2048]")
    with open(big_kernel, "w") as f:
        f.write(src)
    run_cmd = [hissc, "run", big_kernel, "--in", f"frame={work}/big.npy", "--param", f"t={T}",
               "--out", os.path.join(work, "run")]
    t_np = timed(np_cmd, a.repeat)
    t_run = timed(run_cmd, a.repeat)
    if np.load(os.path.join(work, "np_out.npy")) != np.load(os.path.join(work, "run", "out.npy")):
        sys.exit("hissc run and numpy disagree on the 2048x2048 frame")

    # streaming: a long batch through hissc sim (time and peak memory) and Verilator
    big_in = os.path.join(work, "stream.npy")
    spix = lcg_pixels(a.stream_frames * n).reshape(a.stream_frames, H, W)
    np.save(big_in, spix)
    swant = np.where(spix > T, spix, 0).sum(axis=(1, 2)).astype(np.uint64)
    del spix
    sout = os.path.join(work, "stream_sim")
    s_sim, m_sim = timed_peak(
        [hissc, "sim", KERNEL, "--in", f"frame={big_in}", "--param", f"t={T}", "--out", sout], a.repeat)
    s_vl, m_vl = timed_peak(
        [os.path.join(vdir, "obj_dir", "bench"), str(a.stream_frames), os.path.join(vdir, "sout.txt")], a.repeat)
    for name, got in [("hissc sim", np.load(os.path.join(sout, "out.npy"))),
                      ("Verilator", np.loadtxt(os.path.join(vdir, "sout.txt"), dtype=np.uint64, ndmin=1))]:
        if not np.array_equal(got, swant):
            sys.exit(f"{name}'s outputs differ from numpy's on the streaming batch")
    in_mb = os.path.getsize(big_in) / 2**20
    s_cycles = 1 + a.stream_frames * H * W + 3
    stream_lines = [
        f"Command: `python3 scripts/bench_sim.py --stream-frames {a.stream_frames} --repeat {a.repeat}` "
        f"(threshold_sum, {a.stream_frames:,} frames of 32x32 uint16 from a {in_mb:.0f} MB .npy, "
        f"about {s_cycles / 1e6:.1f} M cycles; median time, largest peak of {a.repeat} runs; "
        "outputs checked against numpy).",
        "",
        "| engine | time (s) | M cycles/s | peak memory (MB) | hissc sim is |",
        "|---|---:|---:|---:|---:|",
        f"| `hissc sim` (whole process, frames streamed from the file) | {s_sim:.2f} | "
        f"{s_cycles / s_sim / 1e6:.1f} | {m_sim:.0f} | 1.0x |",
        f"| Verilator {verilator_version()} (stimulus computed in C++) | {s_vl:.2f} | "
        f"{s_cycles / s_vl / 1e6:.1f} | {m_vl:.0f} | {s_vl / s_sim:.2f}x faster |",
        "",
        f"Peak memory of `hissc sim`: {m_sim / in_mb:.2f}x its input.",
    ]

    rate = lambda t: cycles / t / 1e6
    lines = [
        f"Command: `python3 scripts/bench_sim.py --frames {a.frames} --repeat {a.repeat}` "
        f"(threshold_sum, {a.frames} frames of 32x32 = {cycles:,} cycles, median of {a.repeat} runs; "
        "identical outputs from every engine, checked against numpy).",
        "",
        "| engine | time (s) | M cycles/s | hissc sim is |",
        "|---|---:|---:|---:|",
        f"| `hissc sim` (whole process) | {t_sim:.3f} | {rate(t_sim):.1f} | 1.0x |",
        f"| GHDL {ghdl_version()} on the emitted VHDL | {t_ghdl:.3f} | {rate(t_ghdl):.2f} | {t_ghdl / t_sim:.0f}x faster |",
        f"| Verilator {verilator_version()} on GHDL's synthesized Verilog | {t_vl:.3f} | {rate(t_vl):.1f} | "
        f"{t_vl / t_sim:.2f}x {'faster' if t_vl >= t_sim else 'as fast'} |",
        "",
        f"Interpreter: `hissc run` on one 2048x2048 uint16 frame {t_run:.3f} s, numpy's own script "
        f"{t_np:.3f} s (whole processes): **{t_run / t_np:.2f}x numpy's time**.",
    ]
    text = "\n".join(lines)
    print(text)
    print()
    stream_text = "\n".join(stream_lines)
    print(stream_text)
    if a.update:
        replace_section(a.update, "bench_sim", "Simulator and interpreter speed", text)
        replace_section(a.update, "bench_stream", "Streaming a long batch", stream_text)
    shutil.rmtree(work, ignore_errors=True)


def ghdl_version():
    return run(["ghdl", "--version"]).stdout.split()[1]


def verilator_version():
    return run(["verilator", "--version"]).stdout.split()[1]


if __name__ == "__main__":
    main()
