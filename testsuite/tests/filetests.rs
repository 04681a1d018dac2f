//! File tests, in the style of Cranelift's: each file in `testsuite/filetests`
//! holds a command, an input in an IR's text form and the expected output, so a
//! pass is tested on exactly the IR it takes, without going through Python.
//!
//! ```text
//! ; test: widen 4
//! network k { ... }
//! ; expect:
//! network k { ... }
//! ```
//!
//! Commands: `passes` (array-op IR through `passes::optimize`), `pass NAME` (one
//! pass of the registry, `hissc_aop::passes::PASSES`), `lower` (array-op
//! IR to a process network), `widen N` (a network to N lanes, with any warnings),
//! `cost` (a network's per-process estimate), `verify` (the verifier's verdict
//! on a network, each broken rule a line), `sim N` (N frames of counting data
//! through the simulator: cycles and every output), `emit` (the VHDL design).
//! Every output is verified before it is compared; `HISSC_FILETEST=NAME` runs
//! the files whose names contain NAME. `HISSC_BLESS=1 cargo test --test filetests` rewrites the expected
//! parts from what the passes now produce (review the diff before committing).

use std::fmt::Write;
use std::path::Path;

const EXPECT: &str = "; expect:\n";

fn run(command: &str, input: &str) -> Result<String, String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["passes"] => {
            let k = hissc_aop::parse::parse(input).map_err(|e| e.to_string())?;
            let out = hissc_aop::passes::optimize(&k);
            hissc_aop::verify::verify(&out).map_err(|e| format!("{e:?}"))?;
            // the rounds stop where the kernel stops changing
            if hissc_aop::passes::optimize(&out) != out {
                return Err("the passes change their own result again".into());
            }
            Ok(hissc_aop::print::print(&out, None))
        }
        ["pass", name] => {
            let pass = hissc_aop::passes::by_name(name)
                .ok_or_else(|| format!("no pass `{name}` (see `hissc passes`)"))?;
            let k = hissc_aop::parse::parse(input).map_err(|e| e.to_string())?;
            let out = (pass.run)(&k);
            hissc_aop::verify::verify(&out).map_err(|e| format!("{e:?}"))?;
            Ok(hissc_aop::print::print(&out, None))
        }
        ["lower"] => {
            let k = hissc_aop::parse::parse(input).map_err(|e| e.to_string())?;
            let net = hissc_spn::lower::lower(&k).map_err(|d| format!("{d:?}"))?;
            hissc_spn::verify::verify(&net).map_err(|e| format!("{e:?}"))?;
            Ok(hissc_spn::print::print(&net, None))
        }
        ["widen", n] => {
            let lanes: u32 = n
                .parse()
                .map_err(|_| format!("`{n}` is not a lane count"))?;
            let net = hissc_spn::parse::parse(input).map_err(|e| e.to_string())?;
            hissc_spn::verify::verify(&net).map_err(|e| format!("input: {e:?}"))?;
            let (wide, why) =
                hissc_spn::lanes::widen_up_to(&net, lanes).map_err(|d| format!("{d:?}"))?;
            hissc_spn::verify::verify(&wide).map_err(|e| format!("{e:?}"))?;
            let mut out = hissc_spn::print::print(&wide, None);
            for d in why {
                let _ = writeln!(out, "; warning: {}", d.message);
            }
            Ok(out)
        }
        ["cost"] => {
            let net = hissc_spn::parse::parse(input).map_err(|e| e.to_string())?;
            hissc_spn::verify::verify(&net).map_err(|e| format!("input: {e:?}"))?;
            let est = hissc_spn::cost::estimate(&net);
            let mut out = String::new();
            for (b, c) in &est.processes {
                let mems: Vec<String> = c
                    .memories
                    .iter()
                    .map(|m| format!("{}x{}", m.words, m.bits))
                    .collect();
                let sel = if c.selects > 0 {
                    format!(" sel {}", c.selects)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{b}: ff {} mem [{}] mul {:?}{sel}",
                    c.flip_flops,
                    mems.join(", "),
                    c.multipliers
                );
            }
            let _ = writeln!(
                out,
                "total: ff {} memory bits {} logic cells >= {}",
                est.flip_flops(),
                est.memory_bits(),
                est.logic_cells()
            );
            Ok(out)
        }
        ["verify"] => {
            // the verifier's verdict on a network (a broken one names each rule)
            let net = hissc_spn::parse::parse(input).map_err(|e| e.to_string())?;
            Ok(match hissc_spn::verify::verify(&net) {
                Ok(()) => "ok\n".to_string(),
                Err(errs) => errs.iter().map(|e| format!("{e}\n")).collect(),
            })
        }
        ["sim", n] => {
            // n frames through the simulator: element i of frame f of each
            // input counts f * numel + i from 0 (or from the input's smallest
            // value, if it is above 0), folded into its range; the parameters
            // are their smallest value
            let frames: usize = n
                .parse()
                .map_err(|_| format!("`{n}` is not a frame count"))?;
            let net = hissc_spn::parse::parse(input).map_err(|e| e.to_string())?;
            hissc_spn::verify::verify(&net).map_err(|e| format!("input: {e:?}"))?;
            let data: Vec<Vec<hissc_aop::Array>> = (0..frames)
                .map(|f| {
                    net.inputs
                        .iter()
                        .map(|p| {
                            let numel: usize = p.shape.iter().map(|&d| d as usize).product();
                            let base = p.range.lo.max(0).min(p.range.hi);
                            let span = p.range.hi - base + 1;
                            let data = (0..numel)
                                .map(|i| base + ((f * numel + i) as i128).rem_euclid(span))
                                .collect();
                            hissc_aop::Array::new(p.dtype, p.shape.clone(), data)
                        })
                        .collect()
                })
                .collect();
            let params: Vec<i128> = net.params.iter().map(|p| p.range.lo).collect();
            let r = hissc_sim::simulate(&net, &data, &params, false)?;
            let mut out = format!("cycles {}\n", r.cycles);
            for (f, outs) in r.frames.iter().enumerate() {
                for (o, a) in net.outputs.iter().zip(outs) {
                    let _ = writeln!(out, "frame {f} {}: {:?}", o.name, a.data);
                }
            }
            Ok(out)
        }
        ["emit"] => {
            // the VHDL design of a network (no Python source: no line comments)
            let net = hissc_spn::parse::parse(input).map_err(|e| e.to_string())?;
            hissc_spn::verify::verify(&net).map_err(|e| format!("input: {e:?}"))?;
            let src = hissc_diagnostics::SourceFile::new("none.py", "");
            Ok(hissc_vhdl::emit(&net, &src).design)
        }
        _ => Err(format!("unknown command `{command}`")),
    }
}

fn check(path: &Path, bless: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (head, rest) = text.split_once('\n').ok_or("an empty file")?;
    let command = head
        .strip_prefix("; test: ")
        .ok_or("the first line must be `; test: COMMAND`")?;
    let (input, expected) = rest.split_once(EXPECT).ok_or("no `; expect:` line")?;
    let got = run(command, input)?;
    if got == expected {
        return Ok(());
    }
    if bless {
        std::fs::write(path, format!("{head}\n{input}{EXPECT}{got}")).map_err(|e| e.to_string())?;
        return Ok(());
    }
    Err(format!(
        "output differs (HISSC_BLESS=1 rewrites it)\n--- expected\n{expected}--- got\n{got}"
    ))
}

#[test]
fn filetests() {
    let dir = hissc_testsuite::root().join("testsuite/filetests");
    let bless = std::env::var("HISSC_BLESS").is_ok_and(|v| v == "1");
    // `HISSC_FILETEST=widen` runs the files whose names contain `widen`
    let only = std::env::var("HISSC_FILETEST").unwrap_or_default();
    let mut failures = Vec::new();
    let all = hissc_testsuite::entries(&dir);
    let files: Vec<_> = all
        .iter()
        .filter(|p| p.to_string_lossy().contains(only.as_str()))
        .collect();
    assert!(!files.is_empty(), "no file test matches `{only}`");
    if !only.is_empty() {
        eprintln!(
            "HISSC_FILETEST={only}: {} of {} file tests",
            files.len(),
            all.len()
        );
    }
    for path in &files {
        if let Err(e) = check(path, bless) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(all.len() >= 8, "only {} file tests", all.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
