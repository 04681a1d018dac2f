//! Shared steps of the commands: loading and compiling a kernel, binding inputs,
//! writing outputs, and the failures that end a command.

use hissc_aop::{Array, Bound, Kernel};
use hissc_diagnostics::SourceFile;
use std::path::Path;

/// Why a command failed.
pub enum Failure {
    /// A user error: a message (already one paragraph), exit 1.
    User(String),
    /// Rendered diagnostics, exit 1 (or 2 if any is a compiler bug).
    Diagnostics(String, bool),
    /// An internal error or a verification mismatch, exit 2.
    Internal(String),
}

impl Failure {
    pub fn message(&self) -> String {
        match self {
            Failure::User(m) | Failure::Internal(m) => format!("error: {m}\n"),
            Failure::Diagnostics(m, _) => m.clone(),
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::User(_) | Failure::Diagnostics(_, false) => 1,
            Failure::Diagnostics(_, true) | Failure::Internal(_) => 2,
        }
    }
}

/// A kernel compiled to the array-op IR, with its source.
pub struct Compiled {
    pub src: SourceFile,
    pub kernel: Kernel,
}

impl Compiled {
    /// Reads and compiles the kernel file at `path` as `reading` says (its
    /// line offset: see [`SourceFile::with_line_offset`]; passes to leave out).
    pub fn load(
        path: &Path,
        name: Option<&str>,
        reading: &crate::Reading,
    ) -> Result<Compiled, Failure> {
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::User(format!("cannot read kernel file `{}`: {e}", path.display()))
        })?;
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => return Err(not_utf8(path, e)),
        };
        let src =
            SourceFile::new(path.display().to_string(), text).with_line_offset(reading.line_offset);
        match hissc_driver::kernel(&src, name, &reading.skip_passes) {
            Ok(kernel) => Ok(Compiled { src, kernel }),
            Err(diags) => Err(diagnostics(&src, &diags)),
        }
    }
}

impl Compiled {
    /// Lowers the kernel to a verified process network of up to `lanes` elements per
    /// cycle; its warnings (fewer lanes than asked, too large for any FPGA) go to stderr.
    pub fn network(&self, lanes: u32) -> Result<hissc_spn::Network, Failure> {
        let (net, why) = hissc_driver::network(&self.src, &self.kernel, lanes)
            .map_err(|d| diagnostics(&self.src, &d))?;
        if !why.is_empty() {
            eprint!("{}", hissc_diagnostics::render(&self.src, &why));
        }
        Ok(net)
    }

    /// What the hardware says of a kernel the interpreter runs: `hissc run`
    /// needs only the frontend, but a user should learn at the first command
    /// what `sim`, `verify` and `build` will refuse (or warn of), so those
    /// diagnostics go to stderr as warnings. A compiler bug is not shown here:
    /// the commands that build the hardware report it.
    pub fn warn_hardware(&self) {
        let diags = match hissc_driver::network(&self.src, &self.kernel, 1) {
            Ok((_, warnings)) => warnings,
            Err(d) if hissc_driver::has_bug(&d) => return,
            Err(d) => d,
        };
        if diags.is_empty() {
            return;
        }
        let warnings: Vec<_> = diags.into_iter().map(|d| d.into_warning()).collect();
        eprint!("{}", hissc_diagnostics::render(&self.src, &warnings));
        eprintln!(
            "warning: `{}` runs in the interpreter, but `hissc sim`, `verify` and `build` will report the above",
            self.kernel.name
        );
    }
}

/// A kernel file that is not UTF-8 is not Python 3 source (CPython refuses it
/// too): the error points at the first byte that is not.
fn not_utf8(path: &Path, e: std::string::FromUtf8Error) -> Failure {
    let at = e.utf8_error().valid_up_to();
    let byte = e.as_bytes()[at];
    // The lossy text equals the file up to `at`, where U+FFFD (3 bytes) stands for the byte.
    let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
    let src = SourceFile::new(path.display().to_string(), text);
    let start = u32::try_from(at).unwrap_or(u32::MAX);
    let d = hissc_diagnostics::Diagnostic::error(
        hissc_diagnostics::Code::SYNTAX,
        format!("the file is not UTF-8: byte 0x{byte:02x} is not valid here"),
    )
    .primary(
        hissc_diagnostics::Span::new(start, start.saturating_add(3)),
        "not UTF-8",
    )
    .help("Python 3 reads source files as UTF-8: save the file as UTF-8");
    diagnostics(&src, &[d])
}

pub fn diagnostics(src: &SourceFile, diags: &[hissc_diagnostics::Diagnostic]) -> Failure {
    let bug = hissc_driver::has_bug(diags);
    let n = diags.len();
    let mut text = hissc_diagnostics::render(src, diags);
    text.push_str(&format!(
        "error: could not compile `{}` due to {n} previous error{}\n",
        src.base_name(),
        if n == 1 { "" } else { "s" }
    ));
    Failure::Diagnostics(text, bug)
}

/// Writes the SME-style CSV trace ([`hissc_spn::trace::csv`]).
pub fn write_trace_csv(
    path: &Path,
    net: &hissc_spn::Network,
    rows: &[hissc_spn::trace::TraceRow],
) -> Result<(), Failure> {
    std::fs::write(path, hissc_spn::trace::csv(net, rows))
        .map_err(|e| Failure::User(format!("cannot write `{}`: {e}", path.display())))
}

fn split_kv<'a>(s: &'a str, flag: &str, form: &str) -> Result<(&'a str, &'a str), Failure> {
    s.split_once('=')
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| Failure::User(format!("`{flag} {s}` is not of the form {form}")))
}

/// Reads the `--in` files and parses the `--param` values, then binds them to the kernel.
pub fn bind_inputs(k: &Kernel, inputs: &[String], params: &[String]) -> Result<Bound, Failure> {
    let mut arrays = Vec::new();
    for s in inputs {
        let (name, file) = split_kv(s, "--in", "NAME=FILE.npy")?;
        let bytes = read_input(name, file)?;
        let a = hiss_runtime::npy::from_bytes(&bytes, file)
            .map_err(|e| Failure::User(format!("input `{name}`: {e}")))?;
        arrays.push((name.to_string(), a));
    }
    let values = parse_params(params)?;
    hissc_aop::bind(k, arrays, &values).map_err(Failure::User)
}

/// The bytes of input `name` as a `.npy` file: `file` itself, or a
/// detector's file (`run.cbor`, `run.cbor:CHANNEL`) decoded.
fn read_input(name: &str, file: &str) -> Result<Vec<u8>, Failure> {
    match hiss_runtime::detector::npy_of(file) {
        Some(decoded) => decoded.map_err(|e| Failure::User(format!("input `{name}`: {e}"))),
        None => std::fs::read(file)
            .map_err(|e| Failure::User(format!("input `{name}`: cannot read `{file}`: {e}"))),
    }
}

/// Parses the `--param NAME=INT` values.
pub fn parse_params(params: &[String]) -> Result<Vec<(String, i128)>, Failure> {
    let mut values = Vec::new();
    for s in params {
        let (name, v) = split_kv(s, "--param", "NAME=INT")?;
        let v: i128 = v
            .parse()
            .map_err(|_| Failure::User(format!("`--param {s}`: `{v}` is not an integer")))?;
        values.push((name.to_string(), v));
    }
    Ok(values)
}

/// Opens the `--in NAME=FILE.npy` files to be read as frames are needed.
pub fn open_inputs(inputs: &[String]) -> Result<Vec<hiss_runtime::Input<'static>>, Failure> {
    let mut out = Vec::new();
    for s in inputs {
        let (name, file) = split_kv(s, "--in", "NAME=FILE.npy")?;
        let reader: Box<dyn std::io::Read + Send> = match hiss_runtime::detector::npy_of(file) {
            // a detector's file, decoded whole (at the desk, not in a node)
            Some(decoded) => Box::new(std::io::Cursor::new(
                decoded.map_err(|e| Failure::User(format!("input `{name}`: {e}")))?,
            )),
            None => {
                let f = std::fs::File::open(file).map_err(|e| {
                    Failure::User(format!("input `{name}`: cannot read `{file}`: {e}"))
                })?;
                Box::new(std::io::BufReader::with_capacity(1 << 16, f))
            }
        };
        out.push(hiss_runtime::Input {
            name: name.to_string(),
            reader,
            body: hiss_runtime::Body::Npy,
        });
    }
    Ok(out)
}

/// The initial states of the kernel's `State[...]` parameters: `--state
/// NAME=FILE.npy` (the state's dtype and shape exactly), zeros for the others.
pub fn read_states(k: &Kernel, given: &[String]) -> Result<Vec<Vec<i128>>, Failure> {
    read_states_of(&k.name, &k.states, given)
}

/// [`read_states`] for the states `ps` of kernel `kernel` (from a bundle's
/// manifest), bound by [`hiss_runtime::state`] as a node binds them.
pub fn read_states_of(
    kernel: &str,
    ps: &[hissc_aop::Param],
    given: &[String],
) -> Result<Vec<Vec<i128>>, Failure> {
    use hiss_runtime::state;
    let mut states = state::initial(ps);
    for s in given {
        let (name, file) = split_kv(s, "--state", "NAME=FILE.npy")?;
        let i = state::position(kernel, ps, name)
            .map_err(|e| Failure::User(format!("--state {name}: {e}")))?;
        let bytes = std::fs::read(file)
            .map_err(|e| Failure::User(format!("state `{name}`: cannot read `{file}`: {e}")))?;
        states[i] = state::bind(kernel, &ps[i], &bytes, file).map_err(Failure::User)?;
    }
    Ok(states)
}

/// What a run's failure means to the user: inputs that do not fit the kernel
/// are theirs (exit 1); anything else is hissc's (`what` says which part).
pub fn run_failure(e: hiss_runtime::SlotError, what: &str) -> Failure {
    match e {
        hiss_runtime::SlotError::Input(m) => Failure::User(m),
        e => Failure::Internal(format!("{what}: {e}")),
    }
}

/// Writes `state_NAME.npy` for each state into `dir`.
pub fn write_states(dir: &Path, k: &Kernel, states: &[Vec<i128>]) -> Result<(), Failure> {
    write_states_of(dir, &k.states, states)
}

/// [`write_states`] for the states `ps` (from a bundle's manifest).
pub fn write_states_of(
    dir: &Path,
    ps: &[hissc_aop::Param],
    states: &[Vec<i128>],
) -> Result<(), Failure> {
    for (p, s) in ps.iter().zip(states) {
        let path = dir.join(format!("state_{}.npy", p.name));
        std::fs::write(&path, hiss_runtime::state::to_npy(p, s))
            .map_err(|e| Failure::User(format!("cannot write `{}`: {e}", path.display())))?;
    }
    Ok(())
}

/// Output files written as frames come: each goes to `NAME.npy.partial` and is
/// renamed to `NAME.npy` once every frame is in, so a failed run leaves no
/// output that looks whole.
pub struct OutputFiles {
    dir: std::path::PathBuf,
    sink: hiss_runtime::NpySink<std::io::BufWriter<std::fs::File>>,
}

impl OutputFiles {
    /// Output files in `dir` (created if missing).
    pub fn create(dir: &Path) -> Result<OutputFiles, Failure> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::User(format!(
                "cannot create output directory `{}`: {e}",
                dir.display()
            ))
        })?;
        let at = dir.to_path_buf();
        Ok(OutputFiles {
            dir: dir.to_path_buf(),
            sink: hiss_runtime::NpySink::new(move |o| {
                let path = at.join(format!("{}.partial", o.file));
                std::fs::File::create(&path)
                    .map(|f| std::io::BufWriter::with_capacity(1 << 16, f))
                    .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
            }),
        })
    }

    /// Renames the finished outputs into place.
    pub fn commit(self) -> Result<(), Failure> {
        for o in self.sink.specs() {
            let from = self.dir.join(format!("{}.partial", o.file));
            std::fs::rename(&from, self.dir.join(&o.file))
                .map_err(|e| Failure::User(format!("cannot write `{}`: {e}", from.display())))?;
        }
        Ok(())
    }
}

impl hiss_runtime::FrameSink for OutputFiles {
    fn start(&mut self, outputs: &[hiss_runtime::OutSpec]) -> Result<(), String> {
        self.sink.start(outputs)
    }

    fn frames(&mut self, frames: Vec<Vec<hiss_runtime::Out>>) -> Result<(), String> {
        self.sink.frames(frames)
    }

    fn end(&mut self) -> Result<(), String> {
        self.sink.end()
    }
}

impl Drop for OutputFiles {
    fn drop(&mut self) {
        // a run that did not commit leaves none of its partial files behind
        // (after a commit they are renamed, and this finds nothing)
        for o in self.sink.specs() {
            let _ = std::fs::remove_file(self.dir.join(format!("{}.partial", o.file)));
        }
    }
}

/// Writes a run's per-frame outputs through the sink `hissc run` writes with:
/// stacked along the batch axis, a `Vec` output's elements with its offsets.
pub fn write_frames(
    dir: &Path,
    k: &Kernel,
    bound: &Bound,
    frames: Vec<Vec<Array>>,
) -> Result<(), Failure> {
    use hiss_runtime::FrameSink;
    let specs = hiss_runtime::stream::out_specs(
        &hissc_driver::run::output_types(k),
        bound.is_batch,
        bound.frames,
    );
    let mut sink = OutputFiles::create(dir)?;
    sink.start(&specs)
        .and_then(|_| sink.frames(hiss_runtime::stream::exact_frames(frames)))
        .and_then(|_| sink.end())
        .map_err(Failure::User)?;
    sink.commit()
}
