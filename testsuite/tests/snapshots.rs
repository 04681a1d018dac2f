//! Golden files: the VHDL of every public conformance kernel that compiles (v1
//! and v2), and the rendered diagnostics of every kernel that must be rejected.
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always`).

use hissc_testsuite::{compile, entries, source};

#[test]
fn vhdl_of_conformance_kernels() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    let mut seen = 0;
    let (v1, v2) = (conf.join("cases"), conf.join("cases_v2"));
    for dir in entries(&v1).into_iter().chain(entries(&v2)) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let src = source(&dir.join("kernel.py"));
        let Ok((_, net)) = compile(&src, None) else {
            continue;
        };
        let vhdl = hissc_vhdl::emit(&net, &src);
        insta::assert_snapshot!(format!("vhdl_{name}"), vhdl.design);
        insta::assert_snapshot!(
            format!("spn_{name}"),
            hissc_spn::print::print(&net, Some(&src))
        );
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} conformance kernels compiled");
}

/// The widening's own constructs, as VHDL and as process-network text: argmax
/// keys, merged weighted counts (`bincount.i`, `float`) and gearboxes (`pack`).
#[test]
fn vhdl_of_widened_kernels() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    for name in ["argmax", "decimate", "weighted_bins"] {
        let src = source(&conf.join("cases").join(name).join("kernel.py"));
        let (_, net) = hissc_testsuite::compile_lanes(&src, None, 4).unwrap();
        let vhdl = hissc_vhdl::emit(&net, &src);
        insta::assert_snapshot!(format!("vhdl_{name}_4_lanes"), vhdl.design);
        insta::assert_snapshot!(
            format!("spn_{name}_4_lanes"),
            hissc_spn::print::print(&net, Some(&src))
        );
    }
}

/// Rows that straddle cycles (6 pixels on 4 lanes): a row maximum through
/// `segment`s, and a row broadcast whose lanes read their own elements of the
/// row (`broadcast` with a lane view).
#[test]
fn vhdl_of_rows_that_straddle_cycles() {
    let src = hissc_diagnostics::SourceFile::new(
        "rows6.py",
        "import numpy as np\nfrom hiss import kernel, Array\n\n\n@kernel\ndef rows6(frame: Array[np.int16, 4, 6], ped: Array[np.int16, 6]\n          ) -> tuple[Array[np.int16, 4], Array[np.int16, 4, 6]]:\n    return frame.max(axis=1), frame - ped\n"
            .to_string(),
    );
    let (_, net, why) = hissc_testsuite::compile_lanes_why(&src, None, 4).unwrap();
    assert!(why.is_empty(), "{why}");
    let vhdl = hissc_vhdl::emit(&net, &src);
    insta::assert_snapshot!("vhdl_rows6_4_lanes", vhdl.design);
    insta::assert_snapshot!(
        "spn_rows6_4_lanes",
        hissc_spn::print::print(&net, Some(&src))
    );
}

/// The AXI4-Stream wrapper (`--interface axis`): a fixed-length output with
/// TLAST counted, and a variable-length one with its lane count in TUSER.
#[test]
fn axi4_stream_wrappers() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    for (dir, name) in [("cases", "threshold_sum"), ("cases_v2", "sparsify")] {
        let src = source(&conf.join(dir).join(name).join("kernel.py"));
        let (_, net) = compile(&src, None).unwrap();
        let wrapper = hissc_vhdl::emit_axis(&net, &src).wrapper;
        insta::assert_snapshot!(format!("axis_{name}"), wrapper);
    }
}

#[test]
fn diagnostics_of_bad_kernels() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    let mut seen = 0;
    let ours = hissc_testsuite::root().join("testsuite/bad");
    for path in entries(&conf.join("bad"))
        .into_iter()
        .chain(entries(&conf.join("bad_v2")))
        .chain(entries(&ours))
    {
        if path.extension().is_none_or(|e| e != "py") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let name = if path.starts_with(&ours) {
            format!("ours_{stem}")
        } else {
            stem
        };
        let src = source(&path);
        let err = match compile(&src, None) {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => e,
        };
        // `# expect-error-line: N` names the line (the runner's convention);
        // a bare marker comment sits on the line itself
        let marker = src.text.find("# expect-error-line:").map(|i| {
            let rest = &src.text[i + "# expect-error-line:".len()..];
            let digits: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            digits.parse().unwrap_or_else(|_| src.line_col(i as u32).0)
        });
        if let Some(line) = marker {
            assert!(
                err.contains(&format!("{}:{line}:", src.name)),
                "{name}: the diagnostic does not point at line {line}:\n{err}"
            );
        }
        insta::assert_snapshot!(format!("diag_{name}"), err);
        seen += 1;
    }
    assert!(seen >= 5);
}
