//! Parsing the kernel file with rustpython-parser, and syntax errors.
//!
//! For an unclosed bracket the parser complains at the end of the file; the
//! diagnostic points at the opening bracket instead, found with the lexer.

use hissc_diagnostics::{Code, Diagnostic, SourceFile, Span};
use rustpython_parser::ast::{self, Ranged};
use rustpython_parser::lexer::lex;
use rustpython_parser::{Mode, ParseErrorType, Tok};

/// The byte span of an AST node.
pub fn span_of(node: &impl Ranged) -> Span {
    let r = node.range();
    Span::new(r.start().into(), r.end().into())
}

/// Parses the file as a Python module.
pub fn parse(src: &SourceFile) -> Result<Vec<ast::Stmt>, Diagnostic> {
    match rustpython_parser::parse(&src.text, Mode::Module, &src.name) {
        Ok(ast::Mod::Module(m)) => Ok(m.body),
        Ok(_) => Err(Diagnostic::bug(
            "the parser returned something other than a module",
        )),
        Err(e) => Err(syntax_error(src, u32::from(e.offset), &e.error)),
    }
}

fn syntax_error(src: &SourceFile, offset: u32, error: &ParseErrorType) -> Diagnostic {
    if let Some(open) = unclosed_bracket(src) {
        let (line, _) = src.line_col(open.start);
        return Diagnostic::error(Code::SYNTAX, "this bracket is never closed")
            .primary(open, "unclosed bracket")
            .note(format!(
                "opened on line {line} and still open at the end of the file"
            ));
    }
    let end = (offset + 1).min(src.text.len() as u32).max(offset);
    let message = match error {
        ParseErrorType::Eof => "unexpected end of file".to_string(),
        ParseErrorType::Lexical(e) => format!("invalid token: {e}"),
        ParseErrorType::UnrecognizedToken(tok, _) => format!("unexpected {tok}"),
        ParseErrorType::ExtraToken(tok) => format!("unexpected {tok}"),
        ParseErrorType::InvalidToken => "invalid token".to_string(),
    };
    Diagnostic::error(Code::SYNTAX, format!("invalid syntax: {message}"))
        .primary(Span::new(offset, end), "here")
}

/// The first opening bracket that is never closed, or closed by the wrong kind.
fn unclosed_bracket(src: &SourceFile) -> Option<Span> {
    let mut stack: Vec<(Tok, Span)> = Vec::new();
    for item in lex(&src.text, Mode::Module) {
        let Ok((tok, range)) = item else {
            break;
        };
        let span = Span::new(range.start().into(), range.end().into());
        match tok {
            Tok::Lpar | Tok::Lsqb | Tok::Lbrace => stack.push((tok, span)),
            Tok::Rpar | Tok::Rsqb | Tok::Rbrace => {
                let want = match tok {
                    Tok::Rpar => Tok::Lpar,
                    Tok::Rsqb => Tok::Lsqb,
                    _ => Tok::Lbrace,
                };
                match stack.pop() {
                    Some((open, _)) if open == want => {}
                    Some((_, open_span)) => return Some(open_span),
                    None => return None,
                }
            }
            _ => {}
        }
    }
    stack.first().map(|(_, s)| *s)
}
