//! The compiler as a library: the pipeline, written once.
//!
//! [`compile`] runs every stage a design needs — the frontend (parse, check the
//! language, lower, array-op passes), the lowering to a process network, the
//! widening to lanes — and verifies the IR after each: the array-op kernel
//! after the lowering and after its passes (in the frontend), the network after
//! lowering, and again after widening. A stage that fails stops the pipeline
//! with its diagnostics; a verifier that fails is a bug in hissc, reported as a
//! [`Severity::Bug`] diagnostic with the IR. The `hissc` command, the test
//! suite and the runtime all compile through here.
//!
//! After compilation, the session every front end shares: [`run`] streams a
//! batch through the interpreter or the simulator; [`verify`] checks a
//! design against the reference interpreter (the simulator, then the hardware
//! in GHDL), for `hissc verify` and the test suite alike; [`build`] builds a
//! bitstream for a goal (lanes, or a line rate it searches the lanes for),
//! reporting typed stages, and packs a bundle for a node.

pub mod build;
pub mod run;
pub mod verify;

use hissc_aop::Kernel;
use hissc_diagnostics::{Code, Diagnostic, Severity, SourceFile};
use hissc_spn::Network;

/// What to compile.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `@kernel` function (the file's only one when `None`).
    pub kernel: Option<String>,
    /// Elements per cycle to ask for (the kernel may take fewer; see
    /// [`Design::warnings`]).
    pub lanes: u32,
    /// Array-op passes to leave out (by name, [`hissc_aop::passes::PASSES`]).
    pub skip_passes: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kernel: None,
            lanes: 1,
            skip_passes: Vec::new(),
        }
    }
}

/// A kernel compiled to a verified process network.
#[derive(Clone, Debug)]
pub struct Design {
    /// The verified array-op kernel (what the interpreter runs).
    pub kernel: Kernel,
    /// The verified, widened process network (what the simulator and the VHDL
    /// back end take).
    pub network: Network,
    /// Warnings: fewer lanes than asked (HS0402), a design larger than the
    /// largest FPGA hissc builds for (HS0403).
    pub warnings: Vec<Diagnostic>,
}

/// Whether any of `diags` is a compiler bug (exit status 2 rather than 1).
pub fn has_bug(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Bug)
}

/// The frontend alone: the verified array-op kernel (all `hissc run` needs),
/// without the passes named in `skip`.
pub fn kernel(
    src: &SourceFile,
    name: Option<&str>,
    skip: &[String],
) -> Result<Kernel, Vec<Diagnostic>> {
    hissc_frontend::compile_skipping(src, name, skip)
}

/// Every stage: the kernel and its verified network with up to `opts.lanes` lanes.
pub fn compile(src: &SourceFile, opts: &Options) -> Result<Design, Vec<Diagnostic>> {
    let kernel = kernel(src, opts.kernel.as_deref(), &opts.skip_passes)?;
    let (network, warnings) = network(src, &kernel, opts.lanes)?;
    Ok(Design {
        kernel,
        network,
        warnings,
    })
}

/// The back half of [`compile`]: lowers a verified kernel, verifies the network,
/// widens it to up to `lanes` lanes and verifies it again; the warnings say why
/// it has fewer lanes than asked and whether it is too large for any FPGA.
pub fn network(
    src: &SourceFile,
    kernel: &Kernel,
    lanes: u32,
) -> Result<(Network, Vec<Diagnostic>), Vec<Diagnostic>> {
    let net = hissc_spn::lower::lower(kernel)?;
    verified(&net, src, "lowering")?;
    let (net, mut warnings) = hissc_spn::lanes::widen_up_to(&net, lanes)?;
    verified(&net, src, "widening")?;
    warnings.extend(too_large(&net, src));
    Ok((net, warnings))
}

/// A bug diagnostic with the network when it fails its verifier after `stage`.
fn verified(net: &Network, src: &SourceFile, stage: &str) -> Result<(), Vec<Diagnostic>> {
    hissc_spn::verify::verify(net).map_err(|errs| {
        let list: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        vec![Diagnostic::bug(format!(
            "the process network failed verification after {stage}: {}",
            list.join("; ")
        ))
        .note(format!(
            "the network was:\n{}",
            hissc_spn::print::print(net, Some(src))
        ))]
    })
}

/// HS0403 when the design cannot fit the largest FPGA `hissc build` targets.
fn too_large(net: &Network, src: &SourceFile) -> Option<Diagnostic> {
    let target = hissc_flow::build::Target::largest();
    let fit = hissc_flow::estimate::fit(net, src, target);
    let why = fit.too_large(target)?;
    let (b, what) = fit.heaviest_process.clone()?;
    Some(
        Diagnostic::error(
            Code::TOO_LARGE,
            format!(
                "the design is larger than the largest FPGA hissc builds for ({})",
                target.name()
            ),
        )
        .primary(net.nodes[b].span, format!("keeps the most: {what}"))
        .note(why)
        .note(format!(
            "estimated: at least {} logic cells and {} memory bits in all",
            fit.logic_cells, fit.memory_bits
        ))
        .into_warning(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "import numpy as np\nfrom hiss import kernel, Array\n\n@kernel\ndef k(frame: Array[np.uint16, 4, 8]) -> np.uint64:\n    return frame.sum()\n";

    #[test]
    fn every_stage_in_order() {
        let src = SourceFile::new("k.py", K);
        let d = compile(
            &src,
            &Options {
                lanes: 4,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(d.network.lanes(), 4);
        assert!(d.warnings.is_empty());
        assert_eq!(d.kernel.name, "k");
    }

    #[test]
    fn a_user_error_is_not_a_bug() {
        let src = SourceFile::new("k.py", K.replace("frame.sum()", "frame.mean()"));
        let e = compile(&src, &Options::default()).unwrap_err();
        assert!(!has_bug(&e));
        assert_eq!(e[0].code, Some(Code::FLOAT));
    }
}
