//! Source spans, diagnostics and error codes shared by every stage of hissc.
//!
//! A [`Span`] is a byte range in the one kernel file being compiled; it travels
//! from the Python source through every IR so that diagnostics, generated VHDL
//! comments and simulator mismatch reports can name the kernel line.
//! User errors are [`Diagnostic`]s with a stable [`Code`] (see [`codes`]);
//! compiler bugs are reported with [`Diagnostic::bug`] and never carry a code.

pub mod codes;
mod render;
mod source;

pub use codes::Code;
pub use render::render;
pub use source::{SourceFile, Span};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The kernel is outside the language; compilation stops after this stage.
    Error,
    /// An internal compiler error: a verifier failed or an invariant broke.
    Bug,
    /// The kernel compiles, but not as asked (fewer lanes than `--lanes`).
    Warning,
}

/// One labelled span of source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub message: String,
    /// The primary label is the construct that is wrong.
    pub primary: bool,
}

/// A user-facing message about the kernel, rendered in the style of rustc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error, compiler bug or warning.
    pub severity: Severity,
    /// The stable code (`None` for bugs).
    pub code: Option<Code>,
    /// One line, lowercase, no trailing period.
    pub message: String,
    /// Spans to show; the first primary one is the `┌─ file:line:col` header.
    pub labels: Vec<Label>,
    /// Extra lines (`= note: ...`, `= help: ...`).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A user error with a code and a message.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: Some(code),
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// An internal compiler error.
    pub fn bug(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Bug,
            code: None,
            message: message.into(),
            labels: Vec::new(),
            notes: vec![
                "this is a bug in hissc; please report it with the kernel that triggers it".into(),
            ],
        }
    }

    /// This diagnostic as a warning (the kernel still compiles).
    pub fn into_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Adds the primary label (the construct that is wrong).
    pub fn primary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label (context).
    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Adds a `note:` line.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(format!("note: {}", text.into()));
        self
    }

    /// Adds a `help:` line (what to write instead).
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.notes.push(format!("help: {}", text.into()));
        self
    }

    /// The span of the primary label, if any.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).map(|l| l.span)
    }
}

/// The result of a stage that may produce several diagnostics at once.
pub type Result<T> = std::result::Result<T, Vec<Diagnostic>>;
