//! The hissc frontend: a Python kernel file to checked array-op IR.
//!
//! Stages, each reporting every problem it finds before the next runs:
//! 1. [`syntax`]: parse with rustpython-parser (its types stay inside this crate);
//! 2. [`module`]: the module level (imports, constants, helpers, kernels);
//! 3. [`subset`]: the kernel-language rules, like a linter, over every function;
//! 4. `lower`: symbolic evaluation of the chosen kernel into the array-op IR,
//!    with numpy 2's dtype promotion, broadcasting and shape checks, and the
//!    return annotation checked against what numpy computes.
//!
//! The lowered kernel, and again after [`hissc_aop::passes::optimize`], passes
//! [`hissc_aop::verify::verify`]; a failure there is a bug.

mod lower;
pub mod module;
mod names;
pub mod subset;
pub mod syntax;

use hissc_aop::Kernel;
use hissc_diagnostics::{Diagnostic, SourceFile};

/// Names of the `@kernel` functions in a file (empty if it does not parse).
pub fn kernel_names(src: &SourceFile) -> Vec<String> {
    let Ok(body) = syntax::parse(src) else {
        return Vec::new();
    };
    let mut diags = Vec::new();
    let m = module::collect(&body, &mut diags);
    m.kernels.iter().map(|k| k.name.to_string()).collect()
}

/// Compiles the kernel `name` (or the file's only kernel) to verified array-op IR.
pub fn compile(src: &SourceFile, name: Option<&str>) -> Result<Kernel, Vec<Diagnostic>> {
    compile_skipping(src, name, &[])
}

/// [`compile`] without the array-op passes named in `skip` (see
/// [`hissc_aop::passes::PASSES`]).
pub fn compile_skipping(
    src: &SourceFile,
    name: Option<&str>,
    skip: &[String],
) -> Result<Kernel, Vec<Diagnostic>> {
    let body = syntax::parse(src).map_err(|d| vec![d])?;
    let mut diags = Vec::new();
    let m = module::collect(&body, &mut diags);
    subset::check(&m, &mut diags);
    if !diags.is_empty() {
        diags.sort_by_key(|d| d.primary_span().map(|s| s.start));
        return Err(diags);
    }
    let def = lower::kernel_def(&m, name).map_err(|d| vec![d])?;
    let mut l = lower::Lowerer::new(src, &m);
    let kernel = l.kernel(def);
    if !l.diags.is_empty() {
        let mut diags = l.diags;
        diags.sort_by_key(|d| d.primary_span().map(|s| s.start));
        diags.dedup();
        return Err(diags);
    }
    let kernel =
        kernel.ok_or_else(|| vec![Diagnostic::bug("lowering failed without a diagnostic")])?;
    within_limits(&kernel)?;
    float_counts_only_returned(&kernel)?;
    verified(&kernel, src, "the lowering")?;
    let kernel = hissc_aop::passes::optimize_skipping(&kernel, skip);
    verified(&kernel, src, "the array-op passes")?;
    Ok(kernel)
}

/// Every array the kernel computes (a broadcast can be larger than any input)
/// within [`hissc_aop::limits::MAX_ELEMENTS`]: the first one that is not is an error.
fn within_limits(kernel: &Kernel) -> Result<(), Vec<Diagnostic>> {
    let max = hissc_aop::limits::MAX_ELEMENTS;
    for d in kernel.insts.values() {
        let n = d.ty.numel() as u64;
        if n > max {
            return Err(vec![Diagnostic::error(
                hissc_diagnostics::Code::LIMIT,
                format!("this array has {n} elements, more than a frame may have"),
            )
            .primary(d.span, format!("{}, at most {max} elements", d.ty))
            .help("combine smaller arrays, or split the frame into a batch")]);
        }
    }
    Ok(())
}

/// The float64 counts of a weighted `np.bincount` are returned (reshaped or
/// copied at most): hissc has no floating-point arithmetic, so the first
/// instruction that computes with them (`counts + 1`, `counts[0] = 0`, a
/// comparison) is an error at its line.
fn float_counts_only_returned(kernel: &Kernel) -> Result<(), Vec<Diagnostic>> {
    use hissc_aop::{DType, Inst};
    for d in kernel.insts.values() {
        let floats = d.ty.dtype == DType::F64
            || d.inst
                .args()
                .iter()
                .any(|&a| kernel.ty(a).dtype == DType::F64);
        let allowed = match &d.inst {
            Inst::Bincount(_, Some(_), _, _) => true,
            Inst::Reshape(a) => kernel.ty(*a).dtype == DType::F64,
            _ => false,
        };
        if floats && !allowed {
            return Err(vec![Diagnostic::error(
                hissc_diagnostics::Code::FLOAT,
                "the float64 counts of a weighted bincount can only be returned",
            )
            .primary(d.span, "computes with float64 values")
            .note("hissc has no floating-point arithmetic: a weighted bincount's counts leave the kernel as they are (reshaped or copied at most)")
            .help("return the counts and compute with them on the host")]);
        }
    }
    Ok(())
}

/// A bug diagnostic with the IR when `kernel` fails the AOP verifier after `stage`.
fn verified(kernel: &Kernel, src: &SourceFile, stage: &str) -> Result<(), Vec<Diagnostic>> {
    if let Err(errs) = hissc_aop::verify::verify(kernel) {
        let text = hissc_aop::print::print(kernel, Some(src));
        let list: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        return Err(vec![Diagnostic::bug(format!(
            "the array-op IR failed verification after {stage}: {}",
            list.join("; ")
        ))
        .note(format!("the IR was:\n{text}"))]);
    }
    Ok(())
}

/// The numpy functions (`np.NAME`) and array methods (`a.NAME()`) the kernel
/// language has, in the order of the compiler's table: what `hissc explain
/// HS0103` lists.
pub fn callable_names() -> (Vec<&'static str>, Vec<&'static str>) {
    (
        names::NP_FUNCTIONS.iter().map(|f| f.name).collect(),
        names::METHODS.iter().map(|f| f.name).collect(),
    )
}
