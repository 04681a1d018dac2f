//! Every IR's text form round-trips: print, parse, print is the identity, and what
//! is parsed back verifies. Kernels come from the random generator, so every
//! instruction and process kind is exercised.

use hissc_diagnostics::SourceFile;
use hissc_testsuite::gen;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn aop_and_spn_text_round_trip(seed in any::<u64>()) {
        let k = gen::kernel(seed);
        let src = SourceFile::new("random.py", k.source.clone());
        let (kernel, net) = hissc_testsuite::compile(&src, None).map_err(TestCaseError::fail)?;

        let text = hissc_aop::print::print(&kernel, None);
        let parsed = hissc_aop::parse::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&parsed, &kernel);
        prop_assert_eq!(hissc_aop::print::print(&parsed, None), text.clone());
        prop_assert!(hissc_aop::verify::verify(&parsed).is_ok());
        // the annotated form (with `; file:line` comments) parses to the same kernel
        let annotated = hissc_aop::print::print(&kernel, Some(&src));
        prop_assert_eq!(&hissc_aop::parse::parse(&annotated).map_err(TestCaseError::fail)?, &kernel);

        let text = hissc_spn::print::print(&net, None);
        let parsed = hissc_spn::parse::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&parsed, &net);
        prop_assert_eq!(hissc_spn::print::print(&parsed, None), text);
        prop_assert!(hissc_spn::verify::verify(&parsed).is_ok());

        // widened networks too (lane inputs, merge trees, `bincount.i`, `float`)
        if let Ok((_, wide)) = hissc_testsuite::compile_lanes(&src, None, 4) {
            let text = hissc_spn::print::print(&wide, None);
            let parsed = hissc_spn::parse::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(&parsed, &wide);
            prop_assert_eq!(hissc_spn::print::print(&parsed, None), text);
            prop_assert!(hissc_spn::verify::verify(&parsed).is_ok());
        }
    }
}

#[test]
fn parse_errors_are_messages_not_panics() {
    for bad in [
        "",
        "kernel",
        "kernel k() { return v0 }",
        "kernel k(a: u99) { v0: u8 = input a\n return v0 }",
        "kernel k(a: u8) { v1: u8 = input a\n return v1 }",
    ] {
        assert!(hissc_aop::parse::parse(bad).is_err(), "{bad:?} parsed");
    }
    for bad in [
        "",
        "network n { b0 = frob b1 : s1 [0, 0] static }",
        "network n { b1 = input 0 : s9 [0, 255] at 0 [0+4] }",
    ] {
        assert!(hissc_spn::parse::parse(bad).is_err(), "{bad:?} parsed");
    }
}

#[test]
fn verifiers_catch_broken_ir() {
    let k = hissc_aop::parse::parse(
        "kernel k(a: u8[4]) {\n  v0: u8[4] = input a\n  v1: u16[4] = add v0, v0\n  return v1\n}\n",
    )
    .unwrap();
    assert!(hissc_aop::verify::verify(&k).is_err());
    let n = hissc_spn::parse::parse(
        "network n {\n  input a: u8[4]\n  b0 = input 0 : s9 [0, 255] at 0 [0+4]\n  b1 = add.u8 b0, b0 : s3 [0, 255] at 1 [0+4]\n  output out: u8[4] = b1\n}\n",
    )
    .unwrap();
    let errs = hissc_spn::verify::verify(&n).unwrap_err();
    assert!(errs.iter().any(|e| e.message.contains("width")), "{errs:?}");
    let n = hissc_spn::parse::parse(
        "network n {\n  input a: u8[4]\n  b0 = input 0 : s9 [0, 255] at 0 [0+4]\n  b1 = add.u8 b0, b0 : s10 [0, 255] at 3 [0+4]\n  output out: u8[4] = b1\n}\n",
    )
    .unwrap();
    assert!(hissc_spn::verify::verify(&n).is_err());
}

/// The v2 constructs (states, updates, iota, compress, concat; load, iota,
/// merge, masks, periods) round-trip on every kernel that has them: the v2
/// conformance kernels and the beamline library, widened too.
#[test]
fn v2_kernels_round_trip() {
    let Some(conf) = hissc_testsuite::conformance() else {
        return;
    };
    let lib = hissc_testsuite::root().join("stdlib-kernels");
    let mut n = 0;
    for dir in hissc_testsuite::entries(&conf.join("cases_v2"))
        .into_iter()
        .chain(hissc_testsuite::entries(&lib))
        .chain(hissc_testsuite::entries(
            &hissc_testsuite::root().join("testsuite/cases"),
        ))
    {
        let path = dir.join("kernel.py");
        if !path.exists() {
            continue;
        }
        let src = hissc_testsuite::source(&path);
        let Ok((kernel, net)) = hissc_testsuite::compile(&src, None) else {
            continue; // files with several kernels: the tile is checked through its case
        };
        let text = hissc_aop::print::print(&kernel, None);
        let parsed = hissc_aop::parse::parse(&text)
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        assert_eq!(parsed, kernel, "{}", path.display());
        for lanes in [1, 4, 8] {
            let net = if lanes == 1 {
                net.clone()
            } else {
                match hissc_testsuite::compile_lanes(&src, None, lanes) {
                    Ok((_, w)) => w,
                    Err(_) => continue,
                }
            };
            let text = hissc_spn::print::print(&net, None);
            let parsed = hissc_spn::parse::parse(&text)
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
            assert_eq!(parsed, net, "{}", path.display());
            assert!(hissc_spn::verify::verify(&parsed).is_ok());
        }
        n += 1;
    }
    assert!(n >= 15, "only {n} kernels");
}
