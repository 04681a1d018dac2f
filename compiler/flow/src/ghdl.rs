//! Running a testbench in GHDL (analyse, elaborate, run) with VHDL-2008.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a GHDL run did not pass.
#[derive(Debug)]
pub enum GhdlError {
    /// `ghdl` is not on the PATH.
    Missing,
    /// Analysis or elaboration failed (a bug in the generated VHDL), with the log.
    Tool {
        /// Which step.
        step: &'static str,
        /// What GHDL said.
        log: String,
    },
    /// The testbench found a difference: cycle, signal, expected and actual values.
    Mismatch {
        /// Cycle of the trace (0 is the reset cycle).
        cycle: u64,
        /// The port that differs.
        signal: String,
        /// Expected value.
        expected: String,
        /// Value in the hardware.
        got: String,
    },
    /// The run ended without passing or reporting a mismatch.
    Incomplete(String),
}

/// What a passing run reports.
#[derive(Debug)]
pub struct Pass {
    /// Cycles replayed.
    pub cycles: u64,
}

/// Is `ghdl` available?
pub fn available() -> bool {
    Command::new("ghdl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The first line of `ghdl --version`.
pub fn version() -> Option<String> {
    let o = Command::new("ghdl").arg("--version").output().ok()?;
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .next()
        .map(|s| s.trim().to_string())
}

fn run(dir: &Path, step: &'static str, args: &[&str]) -> Result<String, GhdlError> {
    let out = Command::new("ghdl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|_| GhdlError::Missing)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join(format!("ghdl-{step}.log")), &text).ok();
    if out.status.success() || step == "run" {
        Ok(text)
    } else {
        Err(GhdlError::Tool { step, log: text })
    }
}

/// Analyses `files` (in order), elaborates `top` and runs it with the generic
/// `vectors` set to `vectors`; all in `dir`.
pub fn run_testbench(
    dir: &Path,
    files: &[PathBuf],
    top: &str,
    vectors: &Path,
) -> Result<Pass, GhdlError> {
    if !available() {
        return Err(GhdlError::Missing);
    }
    let mut analyse = vec!["-a", "--std=08"];
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    analyse.extend(names.iter().map(|s| s.as_str()));
    run(dir, "analyse", &analyse)?;
    run(dir, "elaborate", &["-e", "--std=08", top])?;
    let generic = format!("-gvectors={}", vectors.display());
    let log = run(
        dir,
        "run",
        &[
            "-r",
            "--std=08",
            top,
            &generic,
            "--ieee-asserts=disable-at-0",
        ],
    )?;
    parse_run(&log)
}

/// Synthesizes `design` (top `entity`) with `ghdl --synth --out=vhdl` in its own
/// work library and returns the path of the netlist; the log on failure.
pub fn synthesize(dir: &Path, design: &Path, entity: &str) -> Result<PathBuf, String> {
    let syn = dir.join("synth-work");
    std::fs::create_dir_all(&syn).map_err(|e| e.to_string())?;
    let work = format!("--workdir={}", syn.display());
    let d = design.display().to_string();
    let a = Command::new("ghdl")
        .args(["-a", "--std=08", &work, &d])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !a.status.success() {
        return Err(String::from_utf8_lossy(&a.stderr).into_owned());
    }
    let s = Command::new("ghdl")
        .args(["--synth", "--std=08", &work, "--out=vhdl", entity])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    std::fs::write(dir.join("ghdl-synth.log"), &s.stderr).ok();
    if !s.status.success() {
        return Err(String::from_utf8_lossy(&s.stderr).into_owned());
    }
    let out = dir.join(format!("{entity}_netlist.vhd"));
    std::fs::write(&out, &s.stdout).map_err(|e| e.to_string())?;
    Ok(out)
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(key)? + key.len();
    Some(line[start..].split_whitespace().next().unwrap_or(""))
}

fn parse_run(log: &str) -> Result<Pass, GhdlError> {
    if let Some(line) = log.lines().find(|l| l.contains("HISSC-MISMATCH")) {
        return Err(GhdlError::Mismatch {
            cycle: field(line, "cycle=")
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
            signal: field(line, "signal=").unwrap_or("?").to_string(),
            expected: field(line, "expected=").unwrap_or("?").to_string(),
            got: field(line, "got=").unwrap_or("?").to_string(),
        });
    }
    if let Some(line) = log.lines().find(|l| l.contains("HISSC-PASS")) {
        let cycles = field(line, "cycles=")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        return Ok(Pass { cycles });
    }
    Err(GhdlError::Incomplete(
        log.lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mismatch_lines() {
        let log = "tb.vhd:40:11:@1026ns:(report failure): HISSC-MISMATCH cycle=103 signal=out_data expected=0000000000001234 got=0000000000001233\n";
        match parse_run(log) {
            Err(GhdlError::Mismatch {
                cycle,
                signal,
                expected,
                got,
            }) => {
                assert_eq!((cycle, signal.as_str()), (103, "out_data"));
                assert_eq!(expected, "0000000000001234");
                assert_eq!(got, "0000000000001233");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_run("x HISSC-PASS cycles=12\n"),
            Ok(Pass { cycles: 12 })
        ));
        assert!(matches!(
            parse_run("nothing\n"),
            Err(GhdlError::Incomplete(_))
        ));
    }
}
