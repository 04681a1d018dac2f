//! The kernel source file and byte spans into it.

use std::fmt;

/// A byte range `start..end` in the kernel source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span for something that has no place in the source (a synthesized value).
    pub const NONE: Span = Span { start: 0, end: 0 };

    /// A span from byte offsets.
    pub fn new(start: u32, end: u32) -> Self {
        Span { start, end }
    }

    /// True for [`Span::NONE`].
    pub fn is_none(self) -> bool {
        self == Span::NONE
    }

    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        if self.is_none() {
            return other;
        }
        if other.is_none() {
            return self;
        }
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// One kernel file: its name as given on the command line and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user wrote it.
    pub name: String,
    /// The whole text.
    pub text: String,
    line_starts: Vec<usize>,
    /// Lines a tool put in front of the user's source (see
    /// [`SourceFile::with_line_offset`]).
    hidden: u32,
}

impl SourceFile {
    /// Wraps a file's text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            name: name.into(),
            text,
            line_starts,
            hidden: 0,
        }
    }

    /// The same file whose first `n` lines were put in front of the user's
    /// source by a tool (`hiss.compile` adds imports above a notebook cell):
    /// every line number shown — diagnostics, `kernel.py:12` locations, VHDL
    /// comments — counts from the line after them, so it is the user's own.
    pub fn with_line_offset(mut self, n: u32) -> Self {
        self.hidden = n;
        self
    }

    /// The lines [`SourceFile::with_line_offset`] hides.
    pub fn line_offset(&self) -> u32 {
        self.hidden
    }

    /// The file name without its directories (`kernel.py`).
    pub fn base_name(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }

    /// 1-based line (as shown: after the hidden lines) and column of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let offset = (offset as usize).min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let col = self.text[self.line_starts[line]..offset].chars().count() + 1;
        ((line as u32 + 1).saturating_sub(self.hidden), col as u32)
    }

    /// The 1-based line a span starts on (0 for [`Span::NONE`]).
    pub fn line(&self, span: Span) -> u32 {
        if span.is_none() {
            0
        } else {
            self.line_col(span.start).0
        }
    }

    /// `kernel.py:12` for a span, used in VHDL comments and trace reports.
    pub fn loc(&self, span: Span) -> Loc<'_> {
        Loc { file: self, span }
    }

    /// The text of a 1-based line (as shown), without its newline.
    pub fn line_text(&self, line: u32) -> &str {
        let i = ((line + self.hidden) as usize)
            .saturating_sub(1)
            .min(self.line_starts.len() - 1);
        let start = self.line_starts[i];
        let end = self
            .line_starts
            .get(i + 1)
            .map_or(self.text.len(), |&e| e - 1);
        &self.text[start..end]
    }
}

/// Displays as `kernel.py:12`.
pub struct Loc<'a> {
    file: &'a SourceFile,
    span: Span,
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.base_name(), self.file.line(self.span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let f = SourceFile::new("k.py", "ab\ncd\n\nef");
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 2));
        assert_eq!(f.line_col(7), (4, 1));
        assert_eq!(f.line_text(2), "cd");
        assert_eq!(f.line_text(4), "ef");
    }

    #[test]
    fn lines_put_in_front_are_not_counted() {
        let f = SourceFile::new("cell.py", "import numpy as np\nab\ncd").with_line_offset(1);
        assert_eq!(f.line_col(19), (1, 1));
        assert_eq!(f.line_col(23), (2, 2));
        assert_eq!(f.line_text(2), "cd");
        assert_eq!(f.loc(Span::new(22, 24)).to_string(), "cell.py:2");
        let d = crate::Diagnostic::error(crate::Code::FLOAT, "no floats")
            .primary(Span::new(22, 24), "here");
        let text = crate::render(&f, &[d]);
        assert!(text.contains("cell.py:2:1"), "{text}");
        assert!(text.contains("2 │ cd"), "{text}");
    }
}
