//! Legal, unique VHDL identifiers for Python names.
//!
//! VHDL identifiers are case-insensitive, must start with a letter, cannot end
//! with or double an underscore, and cannot be reserved words. The namer maps
//! every requested name to one that is all of that and unused so far.

use std::collections::HashSet;

const RESERVED: &[&str] = &[
    "abs",
    "access",
    "after",
    "alias",
    "all",
    "and",
    "architecture",
    "array",
    "assert",
    "assume",
    "attribute",
    "begin",
    "block",
    "body",
    "buffer",
    "bus",
    "case",
    "component",
    "configuration",
    "constant",
    "context",
    "cover",
    "default",
    "disconnect",
    "downto",
    "else",
    "elsif",
    "end",
    "entity",
    "exit",
    "fairness",
    "file",
    "for",
    "force",
    "function",
    "generate",
    "generic",
    "group",
    "guarded",
    "if",
    "impure",
    "in",
    "inertial",
    "inout",
    "is",
    "label",
    "library",
    "linkage",
    "literal",
    "loop",
    "map",
    "mod",
    "nand",
    "new",
    "next",
    "nor",
    "not",
    "null",
    "of",
    "on",
    "open",
    "or",
    "others",
    "out",
    "package",
    "parameter",
    "port",
    "postponed",
    "procedure",
    "process",
    "property",
    "protected",
    "pure",
    "range",
    "record",
    "register",
    "reject",
    "release",
    "rem",
    "report",
    "restrict",
    "return",
    "rol",
    "ror",
    "select",
    "sequence",
    "severity",
    "shared",
    "signal",
    "sla",
    "sll",
    "sra",
    "srl",
    "strong",
    "subtype",
    "then",
    "to",
    "transport",
    "type",
    "unaffected",
    "units",
    "until",
    "use",
    "variable",
    "vmode",
    "vprop",
    "vunit",
    "wait",
    "when",
    "while",
    "with",
    "xnor",
    "xor",
    // names the generated code itself uses
    "clk",
    "rst",
    "ieee",
    "std",
    "work",
    "signed",
    "unsigned",
    "resize",
    "integer",
    "natural",
    "std_logic",
    "std_logic_vector",
    "rising_edge",
    "numeric_std",
    "std_logic_1164",
    "textio",
];

/// Hands out VHDL identifiers.
#[derive(Default)]
pub struct Namer {
    taken: HashSet<String>,
}

impl Namer {
    /// A namer that already knows the reserved words.
    pub fn new() -> Self {
        Namer {
            taken: RESERVED.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Marks `name` as used (generated internal names).
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_ascii_lowercase());
    }

    /// A legal identifier for `want`, unique so far.
    pub fn name(&mut self, want: &str) -> String {
        let mut s = String::new();
        for c in want.chars() {
            let c = if c.is_ascii_alphanumeric() { c } else { '_' };
            if c == '_' && (s.is_empty() || s.ends_with('_')) {
                continue;
            }
            s.push(c);
        }
        while s.ends_with('_') {
            s.pop();
        }
        if s.is_empty() || !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            s = format!("p_{s}");
            while s.ends_with('_') {
                s.pop();
            }
        }
        let mut candidate = s.clone();
        let mut n = 1;
        while self.taken.contains(&candidate.to_ascii_lowercase()) {
            candidate = format!("{s}_{n}");
            n += 1;
        }
        self.taken.insert(candidate.to_ascii_lowercase());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_and_unique() {
        let mut n = Namer::new();
        assert_eq!(n.name("frame"), "frame");
        assert_eq!(n.name("Frame"), "Frame_1");
        assert_eq!(n.name("signal"), "signal_1");
        assert_eq!(n.name("_x__y_"), "x_y");
        assert_eq!(n.name("_"), "p");
        assert_eq!(n.name("2x"), "p_2x");
    }
}
