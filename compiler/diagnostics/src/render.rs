//! Rendering diagnostics as text with codespan-reporting (rustc style, no colour).

use crate::{Diagnostic, Severity, SourceFile};
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel};
use codespan_reporting::files::{Error, Files, SimpleFile};
use codespan_reporting::term::{self, Config};
use std::ops::Range;

/// A file as codespan sees it, its line numbers counted after the lines a
/// tool put in front ([`SourceFile::with_line_offset`]).
struct Shown<'a> {
    file: SimpleFile<&'a str, &'a str>,
    hidden: usize,
}

impl<'a> Files<'a> for Shown<'a> {
    type FileId = ();
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: ()) -> Result<&'a str, Error> {
        Files::name(&self.file, id)
    }

    fn source(&'a self, id: ()) -> Result<&'a str, Error> {
        Files::source(&self.file, id)
    }

    fn line_index(&'a self, id: (), byte_index: usize) -> Result<usize, Error> {
        Files::line_index(&self.file, id, byte_index)
    }

    fn line_number(&'a self, _: (), line_index: usize) -> Result<usize, Error> {
        Ok((line_index + 1).saturating_sub(self.hidden))
    }

    fn line_range(&'a self, id: (), line_index: usize) -> Result<Range<usize>, Error> {
        Files::line_range(&self.file, id, line_index)
    }
}

/// Renders diagnostics for one file, each followed by a blank line.
pub fn render(file: &SourceFile, diagnostics: &[Diagnostic]) -> String {
    let files = Shown {
        file: SimpleFile::new(file.name.as_str(), file.text.as_str()),
        hidden: file.line_offset() as usize,
    };
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
