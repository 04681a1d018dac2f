//! Rendering diagnostics as text with codespan-reporting (rustc style, no colour).

use crate::{Diagnostic, Severity, SourceFile};
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Config};

/// Renders diagnostics for one file, each followed by a blank line.
pub fn render(file: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    let files = SimpleFile::new(file.name.as_str(), file.text.as_str());
    let config = Config::default();
    let mut out = String::new();
    for d in diagnostics {
        let mut cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Bug => CsDiagnostic::bug(),
            Severity::Warning => CsDiagnostic::warning(),
        }
        .with_message(&d.message);
        if let Some(code) = d.code {
            cs = cs.with_code(code.name());
        }
        let len = file.text.len();
        let labels = d
            .labels
            .iter()
            .map(|l| {
                let start = (l.span.start as usize).min(len);
                let end = (l.span.end as usize).clamp(start, len);
                let label = if l.primary {
                    CsLabel::primary((), start..end)
                } else {
                    CsLabel::secondary((), start..end)
                };
                label.with_message(&l.message)
            })
            .collect();
        cs = cs.with_labels(labels).with_notes(d.notes.clone());
        if term::emit_to_string(&mut out, &config, &files, &cs).is_err() {
            out.push_str(&format!("error: {}\n", d.message));
        }
    }
    out
}
