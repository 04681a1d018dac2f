//! Running external tools: logs kept, missing tools named with their Debian package.

use std::path::Path;
use std::process::{Command, Stdio};

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
            ToolError::Missing { tool, package } => write!(
                f,
                "`{tool}` is not installed: install the FPGA tools with `apt-get install ghdl yosys nextpnr-ice40 fpga-icestorm` (it is in Debian's `{package}`)"
            ),
            ToolError::Failed { tool, log, tail } => write!(f, "`{tool}` failed (its log: {log}); the end of the log:\n{tail}"),
        }
    }
}

/// The Debian package of each tool.
pub fn package_of(tool: &str) -> &'static str {
    match tool {
        "ghdl" => "ghdl",
        "yosys" => "yosys",
        "nextpnr-ice40" => "nextpnr-ice40",
        _ => "fpga-icestorm",
    }
}

/// Is `tool` on the PATH?
pub fn available(tool: &str) -> bool {
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
    let out = Command::new(tool)
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
    let from_tool = Command::new(tool)
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
