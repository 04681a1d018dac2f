//! The command line as a user meets it: every bad input gets a one-paragraph
//! error and exit status 1, never a panic; good input gives numpy's results.

use npyz::WriterBuilder;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KERNEL: &str = "import numpy as np
from hiss import kernel, Array


@kernel
def zs(frame: Array[np.uint16, 4, 6], t: np.uint16) -> Array[np.uint16, 4, 6]:
    return np.where(frame >= t, frame, 0)
";

fn hissc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hissc"))
        .args(args)
        .output()
        .expect("hissc runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn user_error(o: &Output, needle: &str) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(1), "expected exit 1:\n{t}");
    assert!(
        !t.contains("panicked") && !t.contains("RUST_BACKTRACE"),
        "panic:\n{t}"
    );
    assert!(t.contains(needle), "expected {needle:?} in:\n{t}");
}

fn write_npy<T: npyz::AutoSerialize + Clone>(path: &Path, shape: &[u64], data: &[T]) {
    let f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(f)
        .begin_nd()
        .unwrap();
    w.extend(data.iter().cloned()).unwrap();
    w.finish().unwrap();
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("zs.py");
    std::fs::write(&k, KERNEL).unwrap();
    (dir, k)
}

fn read_u16(path: &Path) -> (Vec<u64>, Vec<u16>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<u16>().unwrap())
}

#[test]
fn run_and_sim_compute_numpys_result() {
    let (dir, k) = setup();
    let input = dir.path().join("f.npy");
    let data: Vec<u16> = (0..24).map(|i| i * 1000).collect();
    write_npy(&input, &[4, 6], &data);
    for stage in ["run", "sim"] {
        let out = dir.path().join(stage);
        let o = hissc(&[
            stage,
            k.to_str().unwrap(),
            "--in",
            &format!("frame={}", input.display()),
            "--param",
            "t=5000",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let (shape, got) = read_u16(&out.join("out.npy"));
        assert_eq!(shape, vec![4, 6]);
        let want: Vec<u16> = data
            .iter()
            .map(|&x| if x >= 5000 { x } else { 0 })
            .collect();
        assert_eq!(got, want, "{stage}");
    }
    let o = hissc(&[
        "sim",
        k.to_str().unwrap(),
        "--in",
        &format!("frame={}", input.display()),
        "--param",
        "t=1",
        "--out",
        dir.path().join("s").to_str().unwrap(),
        "--trace",
        dir.path().join("t.csv").to_str().unwrap(),
    ]);
    assert!(
        text(&o).contains("elements per cycle: frame 1.00"),
        "{}",
        text(&o)
    );
    let trace = std::fs::read_to_string(dir.path().join("t.csv")).unwrap();
    assert!(
        trace.starts_with("cycle,rst,frame_valid,frame_data,t,out_valid,out_data\n"),
        "{trace}"
    );
}

#[test]
fn bad_inputs_are_user_errors() {
    let (dir, k) = setup();
    let k = k.to_str().unwrap();
    let out = dir.path().join("o");
    let out = out.to_str().unwrap();
    let good = dir.path().join("good.npy");
    write_npy(&good, &[4, 6], &[1u16; 24]);
    let wrong_shape = dir.path().join("shape.npy");
    write_npy(&wrong_shape, &[6, 4], &[1u16; 24]);
    let wrong_dtype = dir.path().join("dtype.npy");
    write_npy(&wrong_dtype, &[4, 6], &[1u8; 24]);
    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"not a numpy file").unwrap();
    let f = |p: &Path| format!("frame={}", p.display());
    user_error(
        &hissc(&[
            "run",
            k,
            "--in",
            "frame=/nonexistent.npy",
            "--param",
            "t=1",
            "--out",
            out,
        ]),
        "cannot read",
    );
    user_error(
        &hissc(&[
            "run",
            k,
            "--in",
            &f(&garbage),
            "--param",
            "t=1",
            "--out",
            out,
        ]),
        "not a valid .npy",
    );
    user_error(
        &hissc(&[
            "run",
            k,
            "--in",
            &f(&wrong_shape),
            "--param",
            "t=1",
            "--out",
            out,
        ]),
        "has shape [6, 4]",
    );
    user_error(
        &hissc(&[
            "sim",
            k,
            "--in",
            &f(&wrong_dtype),
            "--param",
            "t=1",
            "--out",
            out,
        ]),
        "has dtype uint8",
    );
    user_error(
        &hissc(&[
            "run",
            k,
            "--in",
            &f(&good),
            "--param",
            "t=1",
            "--param",
            "gain=3",
            "--out",
            out,
        ]),
        "no parameter `gain`",
    );
    user_error(
        &hissc(&[
            "run",
            k,
            "--in",
            &f(&good),
            "--param",
            "t=70000",
            "--out",
            out,
        ]),
        "outside the range",
    );
    user_error(
        &hissc(&["run", k, "--in", &f(&good), "--param", "t=x", "--out", out]),
        "not an integer",
    );
    user_error(
        &hissc(&["run", k, "--in", &f(&good), "--out", out]),
        "missing parameter `t`",
    );
    user_error(
        &hissc(&["run", "/nonexistent/kernel.py", "--out", out]),
        "cannot read kernel file",
    );
    user_error(
        &hissc(&["run", k, "--kernel", "nope", "--out", out]),
        "no `@kernel` function named `nope`",
    );
}

#[test]
fn range_promises_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("u12.py");
    std::fs::write(&k, "import numpy as np\nfrom hiss import kernel, Array, u12\n\n@kernel\ndef s(frame: Array[u12, 2, 2]) -> np.uint64:\n    return frame.sum()\n").unwrap();
    let input = dir.path().join("f.npy");
    write_npy(&input, &[2, 2], &[1u16, 2, 5000, 3]);
    let o = hissc(&[
        "run",
        k.to_str().unwrap(),
        "--in",
        &format!("frame={}", input.display()),
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    user_error(&o, "element [1, 0] is 5000, outside [0, 4095]");
}

#[test]
fn broken_kernels_get_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("bad.py");
    std::fs::write(&k, "import numpy as np\nimport os\nfrom hiss import kernel, Array\n\n@kernel\ndef b(frame: Array[np.uint16, 4, 4], k) -> np.uint16:\n    while True:\n        pass\n    return frame.mean() / 2\n").unwrap();
    let o = hissc(&[
        k.to_str().unwrap(),
        "-o",
        dir.path().join("x.vhd").to_str().unwrap(),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    for code in ["HS0105", "HS0201", "HS0101", "HS0301"] {
        assert!(t.contains(code), "{code} missing in:\n{t}");
    }
    assert!(t.contains("due to 5 previous errors"), "{t}");
}

#[test]
fn a_file_that_is_not_utf8_is_a_syntax_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("latin1.py");
    let mut bytes = KERNEL.as_bytes().to_vec();
    // `# caf\xe9` (Latin-1) as the third line
    let at = KERNEL.find("\n\n").unwrap() + 1;
    bytes.splice(at..at, b"# caf\xe9".iter().copied());
    std::fs::write(&k, bytes).unwrap();
    let o = hissc(&[k.to_str().unwrap(), "--emit", "aop"]);
    user_error(
        &o,
        "error[HS0001]: the file is not UTF-8: byte 0xe9 is not valid here",
    );
    assert!(text(&o).contains("latin1.py:3:6"), "{}", text(&o));
}

#[test]
fn explain_and_emit() {
    let o = hissc(&["explain", "HS0101"]);
    assert!(o.status.success());
    assert!(text(&o).contains("`while`"));
    user_error(&hissc(&["explain", "HS9999"]), "not a hissc error code");
    // the functions and methods a kernel may call, from the compiler's table
    let t = text(&hissc(&["explain", "HS0103"]));
    assert!(
        t.contains("np.where np.flatnonzero") && t.contains(".flatten() .copy()"),
        "{t}"
    );
    // the passes and targets the other flags name
    let t = text(&hissc(&["passes"]));
    assert!(
        t.starts_with("share-reductions") && t.contains("\ndce "),
        "{t}"
    );
    let o = hissc(&["targets", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["name"], "ice40-hx8k");
    assert_eq!(v[4]["stages"].as_array().map(Vec::len), Some(6));
    let (_dir, k) = setup();
    let o = hissc(&[
        k.to_str().unwrap(),
        "--emit",
        "aop",
        "--skip-pass",
        "nonsense",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("[possible values: share-reductions"),
        "{}",
        text(&o)
    );
    for form in ["aop", "spn", "dot", "vhdl", "testbench"] {
        let o = hissc(&[k.to_str().unwrap(), "--emit", form]);
        assert!(o.status.success(), "{form}: {}", text(&o));
        assert!(!o.stdout.is_empty());
    }
}

#[test]
fn verify_checks_the_hardware_or_says_ghdl_is_missing() {
    let (dir, k) = setup();
    let input = dir.path().join("f.npy");
    write_npy(
        &input,
        &[3, 4, 6],
        &(0..72u16).map(|i| i * 900).collect::<Vec<_>>(),
    );
    let out = dir.path().join("v");
    let o = hissc(&[
        "verify",
        k.to_str().unwrap(),
        "--in",
        &format!("frame={}", input.display()),
        "--param",
        "t=20000",
        "--out",
        out.to_str().unwrap(),
    ]);
    if Command::new("ghdl").arg("--version").output().is_err() {
        eprintln!("\n!!!!!!!! GHDL is not installed: checking only the error message !!!!!!!!\n");
        user_error(&o, "apt-get install ghdl");
        return;
    }
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 frames"));
    let (shape, got) = read_u16(&out.join("out.npy"));
    assert_eq!(shape, vec![3, 4, 6]);
    assert_eq!(got[71], 71 * 900);
    assert_eq!(got[5], 0);
}

#[test]
fn build_without_the_tools_names_the_packages() {
    let (dir, k) = setup();
    let o = Command::new(env!("CARGO_BIN_EXE_hissc"))
        .args([
            "build",
            k.to_str().unwrap(),
            "-o",
            dir.path().join("b").to_str().unwrap(),
        ])
        .env("PATH", dir.path())
        .output()
        .unwrap();
    user_error(&o, "apt-get install ghdl yosys nextpnr-ice40 fpga-icestorm");
    user_error(
        &hissc(&["build", k.to_str().unwrap(), "--target", "xc7a35t"]),
        "[possible values: ice40-hx8k, ice40-up5k, ecp5-25k, ecp5-45k, ecp5-85k]",
    );
}

#[test]
fn verify_with_a_relative_output_directory() {
    if Command::new("ghdl").arg("--version").output().is_err() {
        eprintln!("\n!!!!!!!! GHDL is not installed: verify_with_a_relative_output_directory skipped !!!!!!!!\n");
        return;
    }
    let (dir, _k) = setup();
    write_npy(&dir.path().join("f.npy"), &[4, 6], &[7u16; 24]);
    let o = Command::new(env!("CARGO_BIN_EXE_hissc"))
        .args([
            "verify",
            "zs.py",
            "--in",
            "frame=f.npy",
            "--param",
            "t=5",
            "--out",
            "rel/out",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir.path().join("rel/out/out.npy").exists());
}

/// Issue 23 item 11: `frame[0]` of a 514-wide frame keeps the frame's 8 lanes
/// (a slice of the flat frame), and a construct that does hold the lanes back is
/// named in one warning, not one per lane count tried.
#[test]
fn a_row_of_a_wide_frame_keeps_the_lanes_and_one_warning_says_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("rows.py");
    let head = "import numpy as np\nfrom hiss import kernel, Array\n\n@kernel\n";
    std::fs::write(
        &k,
        format!(
            "{head}def k(frame: Array[np.uint16, 4, 514]) -> np.uint64:\n    return frame[0].sum() + frame[1, 2:].sum()\n"
        ),
    )
    .unwrap();
    let o = hissc(&[k.to_str().unwrap(), "--emit", "spn", "--lanes", "8"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("input frame: u16[4, 514] x8"), "{t}");
    assert!(!t.contains("warning"), "{t}");
    // every third row element, returned in order over 64 lanes: held back by
    // its gearbox, named once (a sum of it would need no gearbox)
    std::fs::write(
        &k,
        format!(
            "{head}def k(frame: Array[np.uint16, 8, 64]) -> Array[np.uint16, 8, 21]:\n    return frame[:, 1::3]\n"
        ),
    )
    .unwrap();
    let o = hissc(&[k.to_str().unwrap(), "--emit", "spn", "--lanes", "64"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert_eq!(t.matches("warning[HS0402]").count(), 1, "{t}");
    assert!(t.contains("frame[:, 1::3]"), "{t}");
}

#[test]
fn lanes_show_in_the_network_and_bad_lane_counts_are_refused() {
    let (_dir, k) = setup();
    let o = hissc(&[k.to_str().unwrap(), "--emit", "spn", "--lanes", "8"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("input frame: u16[4, 6] x8"), "{t}");
    assert!(t.contains("input 0, 7"), "{t}");
    // usage errors are the user's: exit 1, like every other user error (issue 10)
    for lanes in ["3", "128", "x"] {
        let o = hissc(&[k.to_str().unwrap(), "--emit", "spn", "--lanes", lanes]);
        user_error(&o, "power of two");
    }
    user_error(&hissc(&[k.to_str().unwrap(), "--bogus"]), "--bogus");
    user_error(
        &hissc(&["sim", "--lanes", "5", k.to_str().unwrap()]),
        "power of two",
    );
    user_error(&hissc(&["frobnicate"]), "frobnicate");
    let o = hissc(&["--help"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = hissc(&["--version"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // a construct that cannot take several elements per cycle names its line in a
    // warning, and the kernel takes fewer (an argmax of int64 values: value and
    // index do not fit one 64-bit key, so one lane)
    let dir = tempfile::tempdir().unwrap();
    let am = dir.path().join("am.py");
    std::fs::write(
        &am,
        "import numpy as np\nfrom hiss import kernel, Array\n\n\n@kernel\ndef am(frame: Array[np.int64, 8, 8]) -> np.int64:\n    return np.argmax(frame)\n",
    )
    .unwrap();
    let o = hissc(&[am.to_str().unwrap(), "--emit", "spn", "--lanes", "4"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("warning[HS0402]"), "{t}");
    assert!(t.contains("am.py:7:"), "{t}");
    assert!(t.contains("takes 1 element per cycle, not 4"), "{t}");
    assert!(t.contains("input frame: i64[8, 8]\n"), "{t}");
    // a frame whose element count the lanes do not divide takes fewer, and says so
    let odd = dir.path().join("odd.py");
    std::fs::write(
        &odd,
        "import numpy as np\nfrom hiss import kernel, Array\n\n\n@kernel\ndef odd(frame: Array[np.uint16, 31, 63]) -> np.uint64:\n    return frame.sum()\n",
    )
    .unwrap();
    let o = hissc(&[odd.to_str().unwrap(), "--emit", "spn", "--lanes", "8"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("warning[HS0402]: input `frame` takes 1 element per cycle, not 8"),
        "{t}"
    );
    assert!(t.contains("odd.py:6:9"), "{t}");
    assert!(t.contains("1953 elements per frame"), "{t}");
}

#[test]
fn sim_with_lanes_gives_numpys_result() {
    let (dir, k) = setup();
    let input = dir.path().join("f.npy");
    write_npy(
        &input,
        &[2, 4, 6],
        &(0..48u16).map(|i| i * 1000).collect::<Vec<_>>(),
    );
    let out = dir.path().join("s");
    let o = hissc(&[
        "sim",
        k.to_str().unwrap(),
        "--in",
        &format!("frame={}", input.display()),
        "--param",
        "t=20000",
        "--out",
        out.to_str().unwrap(),
        "--lanes",
        "8",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("frame 8.00"), "{}", text(&o));
    let (shape, got) = read_u16(&out.join("out.npy"));
    assert_eq!(shape, vec![2, 4, 6]);
    let want: Vec<u16> = (0..48u16)
        .map(|i| if i * 1000 >= 20000 { i * 1000 } else { 0 })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn line_rates_are_parsed() {
    let (_dir, k) = setup();
    user_error(
        &hissc(&["build", k.to_str().unwrap(), "--line-rate", "fast"]),
        "not a rate",
    );
}

/// A first lane count that does not fit steps down (issue 23 item 22): the
/// library's histogram at 40 Gbit/s on the HX8K is refused by the estimate at
/// 32, 16 and 8 lanes (each lane's bins in flip-flops) and builds at 4; the
/// search reports that best rate, every build tried, and leaves the 4-lane
/// build in the directory.
#[test]
fn the_line_rate_search_steps_down_to_what_fits() {
    if !tools_present("the_line_rate_search_steps_down_to_what_fits") {
        return;
    }
    let kernel =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stdlib-kernels/adu_histogram/kernel.py");
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b");
    let o = hissc(&[
        "build",
        kernel.to_str().unwrap(),
        "--line-rate",
        "40Gbps",
        "-o",
        b.to_str().unwrap(),
    ]);
    user_error(
        &o,
        "(32 lanes: no build, 16 lanes: no build, 8 lanes: no build, 4 lanes: ",
    );
    user_error(&o, "4 lanes are the most that build");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["lanes"], 4);
    assert_eq!(report["line_rate"]["met"], false);
    assert_eq!(report["line_rate"]["tried"].as_array().unwrap().len(), 4);
    assert!(b.join("adu_histogram.bin").exists());
}

/// The line-rate contract: threshold_sum and zero_suppress reach 40 Gbit/s on the
/// HX8K through `hissc build --line-rate`, and their 32-lane designs pass `verify`
/// and `verify --netlist`.
#[test]
fn forty_gigabits_on_the_hx8k() {
    let tools = ["ghdl", "yosys", "nextpnr-ice40", "icepack", "icetime"];
    if tools.iter().any(|t| {
        Command::new("which")
            .arg(t)
            .output()
            .map_or(true, |o| !o.status.success())
    }) {
        eprintln!("\n!!!!!!!! SKIPPED forty_gigabits_on_the_hx8k: the FPGA tools are not installed (apt-get install ghdl yosys nextpnr-ice40 fpga-icestorm) !!!!!!!!\n");
        return;
    }
    let Some(conf) = conformance("forty_gigabits_on_the_hx8k") else {
        return;
    };
    let cases = conf.join("cases");
    for (name, rows, cols) in [("threshold_sum", 32u64, 32u64), ("zero_suppress", 24, 40)] {
        let kernel = cases.join(name).join("kernel.py");
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("b");
        let o = hissc(&[
            "build",
            kernel.to_str().unwrap(),
            "--line-rate",
            "40Gbps",
            "-o",
            b.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        assert!(
            text(&o).contains("line rate              met"),
            "{}",
            text(&o)
        );
        let report = std::fs::read_to_string(b.join("report.json")).unwrap();
        assert!(report.contains("\"met\": true"), "{report}");
        let input = dir.path().join("f.npy");
        let n = 3 * rows * cols;
        let data: Vec<u16> = (0..n).map(|i| ((i * 2654435761) >> 7) as u16).collect();
        write_npy(&input, &[3, rows, cols], &data);
        for netlist in [false, true] {
            let out = dir.path().join(format!("v{netlist}"));
            let mut args = vec![
                "verify".to_string(),
                kernel.to_str().unwrap().to_string(),
                "--in".into(),
                format!("frame={}", input.display()),
                "--param".into(),
                "t=30000".into(),
                "--lanes".into(),
                "32".into(),
                "--out".into(),
                out.to_str().unwrap().to_string(),
            ];
            if netlist {
                args.push("--netlist".into());
            }
            let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            let o = hissc(&args);
            assert!(o.status.success(), "{name} netlist={netlist}: {}", text(&o));
            assert!(
                text(&o).contains("matched the simulator on every cycle"),
                "{}",
                text(&o)
            );
        }
    }
}

#[test]
fn build_names_the_detector_stream() {
    let (dir, k) = setup();
    let out = dir.path().join("b");
    let o = hissc(&[
        "build",
        k.to_str().unwrap(),
        "--detector",
        "pedestal",
        "-o",
        out.to_str().unwrap(),
    ]);
    user_error(
        &o,
        "--detector `pedestal` is not an array parameter of `zs` (its streams: frame)",
    );
}

/// A design that cannot fit is found from the process network in a moment, not
/// after minutes of place and route (issue 10, item 13), and compiling one that
/// fits no FPGA hissc builds for (not even the ECP5-85F) warns.
#[test]
fn a_design_too_large_is_named_before_synthesis() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("planes.py");
    std::fs::write(
        &k,
        "import numpy as np\nfrom hiss import kernel, Array\n\n\n@kernel\ndef planes(cal: Array[np.int32, 3, 32, 64]) -> Array[np.int32, 32, 64]:\n    return cal[0] + cal[2]\n",
    )
    .unwrap();
    // two planes of 512x1024 apart: a delay line of 34 Mbit
    let huge = dir.path().join("huge.py");
    std::fs::write(
        &huge,
        "import numpy as np\nfrom hiss import kernel, Array\n\n\n@kernel\ndef huge(cal: Array[np.int32, 3, 512, 1024]) -> Array[np.int32, 512, 1024]:\n    return cal[0] + cal[2]\n",
    )
    .unwrap();
    let vhd = dir.path().join("huge.vhd");
    let o = hissc(&[huge.to_str().unwrap(), "--emit", "spn"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("warning[HS0403]"), "{t}");
    assert!(t.contains("(ecp5-85k)"), "{t}");
    assert!(t.contains("huge.py:7:12"), "{t}");
    assert!(t.contains("a delay line of 1048576 cycles"), "{t}");
    // one that fits the ECP5 compiles without a warning
    let o = hissc(&[k.to_str().unwrap(), "-o", vhd.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("HS0403"), "{}", text(&o));
    let start = std::time::Instant::now();
    let out = dir.path().join("build");
    let o = hissc(&["build", k.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    user_error(&o, "the design does not fit the ice40-hx8k");
    let t = text(&o);
    assert!(t.contains("found before synthesis"), "{t}");
    assert!(t.contains("planes.py:7: return cal[0] + cal[2]"), "{t}");
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

/// Issue 23 item 21: center_of_mass at 32 lanes wrote a gearbox queue per
/// output lane (GHDL's Verilog of it was 8 million lines). Its sums over a
/// region need no gearbox at all now (a full reduction folds a selection's
/// lanes where they arrived); a selection returned as an array keeps one
/// queue per gearbox, and its selection logic is part of the estimate, so a
/// build that cannot hold it is refused before synthesis.
#[test]
fn gearbox_selection_logic_is_estimated_and_kept_once() {
    let k =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stdlib-kernels/center_of_mass/kernel.py");
    let dir = tempfile::tempdir().unwrap();
    let vhd = dir.path().join("com.vhd");
    // the VHDL of kernel file `k` at 32 lanes
    let at_32_lanes = |k: &Path| {
        let o = hissc(&[
            k.to_str().unwrap(),
            "--lanes",
            "32",
            "-o",
            vhd.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        std::fs::read_to_string(&vhd).unwrap()
    };
    let v = at_32_lanes(&k);
    assert_eq!(
        v.matches(" = pack ").count(),
        0,
        "sums over a region need no gearbox"
    );
    let rois = dir.path().join("rois.py");
    std::fs::write(
        &rois,
        "import numpy as np\nfrom hiss import kernel, Array\n\n\n@kernel\ndef rois(frame: Array[np.uint16, 16, 32]) -> tuple[Array[np.uint16, 12, 24], Array[np.uint16, 12, 20], np.uint64]:\n    return frame[2:14, 4:28], frame[1:13, 3:23], frame[2:14, 4:28].sum()\n",
    )
    .unwrap();
    let v = at_32_lanes(&rois);
    // two gearboxes (to 32 and 16 lanes), one queue each
    assert_eq!(v.matches(" = pack ").count(), 48);
    assert_eq!(v.matches("_q_t is array").count(), 2);
    let start = std::time::Instant::now();
    let out = dir.path().join("build");
    let o = hissc(&[
        "build",
        rois.to_str().unwrap(),
        "--lanes",
        "32",
        "-o",
        out.to_str().unwrap(),
    ]);
    user_error(&o, "the design does not fit the ice40-hx8k");
    let t = text(&o);
    assert!(t.contains("look-up tables of selection logic"), "{t}");
    assert!(t.contains("a gearbox queue of 65 slots"), "{t}");
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

/// `../shared/conformance` beside the project, or a loud skip (a failure in CI).
fn conformance(test: &str) -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    if p.is_dir() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the conformance suite is missing in CI"
    );
    eprintln!(
        "\n!!!!!!!! SKIPPED {test}: the conformance suite is not at {} !!!!!!!!\n",
        p.display()
    );
    None
}

fn tools_present(test: &str) -> bool {
    let ok = ["ghdl", "yosys", "nextpnr-ice40", "icepack", "icetime"]
        .iter()
        .all(|t| Command::new(t).arg("--version").output().is_ok());
    if !ok {
        eprintln!("\n!!!!!!!! SKIPPED {test}: the FPGA tools are not installed (apt-get install ghdl yosys nextpnr-ice40 fpga-icestorm) !!!!!!!!\n");
    }
    ok
}

/// Every public conformance kernel bundles, and its bundle reads back with the
/// kernel's interface (issue 12); a corrupted or truncated bundle is refused
/// naming the part, and a design that does not fit fails as `hissc build` does.
#[test]
fn every_public_case_bundles_and_inspects() {
    if !tools_present("every_public_case_bundles_and_inspects") {
        return;
    }
    let Some(conf) = conformance("every_public_case_bundles_and_inspects") else {
        return;
    };
    let cases = conf.join("cases");
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for case in entries {
        let k = case.join("kernel.py");
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let hbx = dir.path().join(format!("{name}.hbx"));
        let o = hissc(&["bundle", k.to_str().unwrap(), "-o", hbx.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let o = hissc(&["inspect", hbx.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let m = &v["manifest"];
        assert_eq!(m["format_version"], 2, "{name}");
        assert_eq!(m["target"], "ice40-hx8k", "{name}");
        assert!(!m["inputs"].as_array().unwrap().is_empty(), "{name}");
        assert!(!m["outputs"].as_array().unwrap().is_empty(), "{name}");
        assert!(m["clock_mhz"].as_f64().unwrap() > 1.0, "{name}");
        let parts: Vec<&str> = v["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            parts,
            [
                "manifest.json",
                "bitstream.bin",
                "design.vhd",
                "network.spn",
                "kernel.py",
                "kernel.aop"
            ],
            "{name}"
        );
        n += 1;
    }
    assert!(n >= 18, "only {n} cases");
    // `hissc emulate` runs a bundle as a node would: hissc run's bytes
    let hbx = dir.path().join("threshold_sum.hbx");
    let frames = dir.path().join("frames.npy");
    let data: Vec<u16> = (0..3 * 32 * 32).map(|i| (i * 37 % 4096) as u16).collect();
    write_npy(&frames, &[3, 32, 32], &data);
    let k = cases.join("threshold_sum/kernel.py");
    let input = format!("frame={}", frames.display());
    let (emu, run) = (dir.path().join("emu"), dir.path().join("run"));
    let o = hissc(&[
        "emulate",
        hbx.to_str().unwrap(),
        "--in",
        &input,
        "--param",
        "t=1000",
        "--out",
        emu.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = hissc(&[
        "run",
        k.to_str().unwrap(),
        "--in",
        &input,
        "--param",
        "t=1000",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(emu.join("out.npy")).unwrap(),
        std::fs::read(run.join("out.npy")).unwrap()
    );
    user_error(
        &hissc(&[
            "emulate",
            hbx.to_str().unwrap(),
            "--in",
            &input,
            "--out",
            emu.to_str().unwrap(),
        ]),
        "parameter `t` is not set",
    );
    // a flipped byte in the bitstream, a truncated file, another format version
    let good = std::fs::read(&hbx).unwrap();
    let bad = dir.path().join("bad.hbx");
    let mut flipped = good.clone();
    // the middle of the file: inside the bitstream (an iCE40 image is 135 kB,
    // the other parts together a few kB)
    let at = good.len() / 2;
    flipped[at] ^= 0x10;
    std::fs::write(&bad, &flipped).unwrap();
    user_error(
        &hissc(&["inspect", bad.to_str().unwrap()]),
        "part `bitstream.bin` does not match its sha256",
    );
    std::fs::write(&bad, &good[..good.len() - 10]).unwrap();
    user_error(
        &hissc(&["inspect", bad.to_str().unwrap()]),
        "the bundle is truncated: part `kernel.aop`",
    );
    let mut v2 = good.clone();
    v2[8] = 7;
    std::fs::write(&bad, &v2).unwrap();
    user_error(
        &hissc(&["inspect", bad.to_str().unwrap()]),
        "bundle format version 7",
    );
    // a design that does not fit: refused like `hissc build`, and no bundle written
    let big = dir.path().join("planes.py");
    std::fs::write(
        &big,
        "import numpy as np\nfrom hiss import kernel, Array\n\n\n@kernel\ndef planes(cal: Array[np.int32, 3, 32, 64]) -> Array[np.int32, 32, 64]:\n    return cal[0] + cal[2]\n",
    )
    .unwrap();
    let out = dir.path().join("planes.hbx");
    user_error(
        &hissc(&["bundle", big.to_str().unwrap(), "-o", out.to_str().unwrap()]),
        "the design does not fit the ice40-hx8k",
    );
    assert!(!out.exists());
}

/// `hissc run` and `hissc sim` stream a batch from its file: 64 MB of uint16
/// frames (512 MB as exact integers) run under a 128 MB address-space limit,
/// and a batch cut short leaves no output behind.
#[test]
fn run_and_sim_stream_a_batch_larger_than_their_memory() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("big.py");
    std::fs::write(
        &k,
        "import numpy as np
from hiss import kernel, Array


@kernel
def big(frame: Array[np.uint16, 64, 64], t: np.uint16) -> np.uint64:
    return np.where(frame > t, frame, 0).sum()
",
    )
    .unwrap();
    let frames = 8192u64;
    let n = 64 * 64;
    let data: Vec<u16> = (0..frames * n)
        .map(|i| ((i * 7 + i / n) % 5000) as u16)
        .collect();
    let input = dir.path().join("frames.npy");
    write_npy(&input, &[frames, 64, 64], &data);
    let out = dir.path().join("out");
    let command = |cmd: &str, input: &Path| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 131072; exec {} {cmd} {} --in frame={} --param t=2000 --out {}",
                env!("CARGO_BIN_EXE_hissc"),
                k.display(),
                input.display(),
                out.display()
            ))
            .output()
            .expect("sh runs")
    };
    // the interpreter streams too: the same values, the same bound
    let o = command("run", &input);
    assert!(o.status.success(), "{}", text(&o));
    let by_run = std::fs::read(out.join("out.npy")).unwrap();
    let run = |input: &Path| command("sim", input);
    let o = run(&input);
    assert!(o.status.success(), "{}", text(&o));
    let bytes = std::fs::read(out.join("out.npy")).unwrap();
    let got = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(got.shape(), &[frames]);
    assert_eq!(bytes, by_run, "hissc sim and hissc run differ");
    let got = got.into_vec::<u64>().unwrap();
    for (f, g) in got.iter().enumerate() {
        let want: u64 = data[f * n as usize..(f + 1) * n as usize]
            .iter()
            .filter(|&&v| v > 2000)
            .map(|&v| v as u64)
            .sum();
        assert_eq!(*g, want, "frame {f}");
    }
    // cut short: an error naming the input, and no output (whole or partial)
    std::fs::remove_dir_all(&out).unwrap();
    let all = std::fs::read(&input).unwrap();
    let cut = dir.path().join("cut.npy");
    std::fs::write(&cut, &all[..all.len() - 3000]).unwrap();
    let o = run(&cut);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("`frame` ends before the elements its header promises"),
        "{}",
        text(&o)
    );
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A kernel with state: `hissc emulate` of its bundle starts from `--state`,
/// carries it through the batch and writes `state_NAME.npy`, byte for byte as
/// `hissc run` does.
#[test]
fn a_bundle_with_state_emulates_as_run_does() {
    if !tools_present("a_bundle_with_state_emulates_as_run_does") {
        return;
    }
    let Some(conf) = conformance("a_bundle_with_state_emulates_as_run_does") else {
        return;
    };
    let k = conf.join("cases_v2/pedestal_track/kernel.py");
    let dir = tempfile::tempdir().unwrap();
    let hbx = dir.path().join("pt.hbx");
    let o = hissc(&["bundle", k.to_str().unwrap(), "-o", hbx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = hissc(&["inspect", hbx.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["manifest"]["states"][0]["name"], "acc");
    let (frames, start) = (dir.path().join("f.npy"), dir.path().join("s.npy"));
    let data: Vec<u16> = (0..4 * 16 * 16)
        .map(|i| (i * 7919 % 16384) as u16)
        .collect();
    write_npy(&frames, &[4, 16, 16], &data);
    let acc: Vec<u32> = (0..256).map(|i| i * 104729 % (1 << 20)).collect();
    write_npy(&start, &[16, 16], &acc);
    let input = format!("frame={}", frames.display());
    let state = format!("acc={}", start.display());
    let (emu, run) = (dir.path().join("emu"), dir.path().join("run"));
    for (cmd, file, out) in [("emulate", &hbx, &emu), ("run", &k, &run)] {
        let (file, out) = (file.to_str().unwrap(), out.to_str().unwrap());
        let o = hissc(&[cmd, file, "--in", &input, "--state", &state, "--out", out]);
        assert!(o.status.success(), "{cmd}: {}", text(&o));
    }
    for f in ["out.npy", "state_acc.npy"] {
        assert_eq!(
            std::fs::read(emu.join(f)).unwrap(),
            std::fs::read(run.join(f)).unwrap(),
            "{f}"
        );
    }
    user_error(
        &hissc(&[
            "emulate",
            hbx.to_str().unwrap(),
            "--in",
            &input,
            "--state",
            &input,
            "--out",
            emu.to_str().unwrap(),
        ]),
        "no state `frame`",
    );
    // a state of another dtype is named with what the kernel keeps, in the
    // words a node uses for `.hiss/state/acc.npy` (one binding for both)
    let wrong = dir.path().join("wrong.npy");
    write_npy(&wrong, &[16, 16], &data[..256]);
    let state = format!("acc={}", wrong.display());
    user_error(
        &hissc(&[
            "run",
            k.to_str().unwrap(),
            "--in",
            &input,
            "--state",
            &state,
            "--out",
            run.to_str().unwrap(),
        ]),
        "is uint16 of shape [16, 16]; kernel `pedestal_track` keeps uint32 of shape [16, 16]",
    );
}

/// `hissc sim --vcd` writes GTKWave's format: every port and every bus, named
/// after the kernel's variables, a change list per cycle.
#[test]
fn sim_writes_waveforms() {
    let (dir, k) = setup();
    let frames = dir.path().join("frames.npy");
    let data: Vec<u16> = (0..2 * 4 * 6).map(|i| (i * 37 % 4096) as u16).collect();
    write_npy(&frames, &[2, 4, 6], &data);
    let vcd = dir.path().join("waves.vcd");
    let input = format!("frame={}", frames.display());
    let out = dir.path().join("out");
    let o = hissc(&[
        "sim",
        k.to_str().unwrap(),
        "--in",
        &input,
        "--param",
        "t=1000",
        "--out",
        out.to_str().unwrap(),
        "--vcd",
        vcd.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let waves = std::fs::read_to_string(&vcd).unwrap();
    assert!(waves.starts_with("$date"), "{waves}");
    for name in [
        " clk $end",
        " frame_valid $end",
        " out_data $end",
        "$enddefinitions",
    ] {
        assert!(waves.contains(name), "{name} missing");
    }
    // the kernel's one line is its return: its buses are named after it
    assert!(waves.contains(" ret_b"), "{waves}");
    // one time step for each cycle's values and one for the clock's rise
    let steps = waves.lines().filter(|l| l.starts_with('#')).count();
    assert!(steps >= 2 * 2 * 24, "{steps} time steps");
}

/// `hissc run` needs only the interpreter, but says at once what the hardware
/// commands will refuse: their diagnostics as warnings, exit 0 (issue 23).
#[test]
fn run_warns_what_the_hardware_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("big_state.py");
    std::fs::write(
        &k,
        "import numpy as np\nfrom hiss import kernel, Array, State\n\n\n@kernel\ndef k(frame: Array[np.uint16, 4, 4], acc: State[np.uint32, 8, 8]) -> np.uint64:\n    acc[...] = acc + 1\n    return frame.sum()\n",
    )
    .unwrap();
    let frame = dir.path().join("f.npy");
    write_npy(&frame, &[4, 4], &[1u16; 16]);
    let input = format!("frame={}", frame.display());
    let out = dir.path().join("out");
    let args = [
        k.to_str().unwrap(),
        "--in",
        &input,
        "--out",
        out.to_str().unwrap(),
    ];
    let o = hissc(&[&["run"][..], &args].concat());
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stderr);
    assert!(
        t.contains("warning[HS0401]: state `acc` has more elements (64) than a frame (16)"),
        "{t}"
    );
    assert!(t.contains("big_state.py:7:16"), "{t}");
    let o = hissc(&[&["sim"][..], &args].concat());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // a kernel the hardware takes: nothing more on stderr
    let (_d, ok) = setup();
    let o = hissc(&["run", ok.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("warning"),
        "{}",
        text(&o)
    );
}

/// A per-pixel state of a 512 × 1024 module is the memory the estimate names,
/// not the pipeline register where it is read (issue 23).
#[test]
fn the_estimate_names_a_state_memory() {
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("ped.py");
    std::fs::write(
        &k,
        "import numpy as np\nfrom hiss import kernel, Array, State, u14\n\n\n@kernel\ndef k(frame: Array[u14, 512, 1024], acc: State[np.uint32, 512, 1024]) -> Array[np.int32, 512, 1024]:\n    ped = acc >> 5\n    acc[...] = (acc - ped + frame).astype(np.uint32)\n    return frame.astype(np.int32) - ped.astype(np.int32)\n",
    )
    .unwrap();
    let vhd = dir.path().join("ped.vhd");
    let o = hissc(&[k.to_str().unwrap(), "-o", vhd.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stderr);
    assert!(
        t.contains("keeps the most: state `acc`'s memory: 16.5 Mbit (524288 words × 33 bits)"),
        "{t}"
    );
}
