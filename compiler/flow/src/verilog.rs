//! Repairs GHDL 2.0's Verilog (`ghdl --synth --out=verilog`) before yosys reads it.
//!
//! GHDL 2.0 writes a constant wider than 32 bits as a quoted string of its bits,
//! `"1110…1"`. In Verilog a quoted string is ASCII, eight bits per character, so
//! yosys reads `"11"` as `16'h3131`: a silent change of value. And it selects a
//! bit of a constant (to sign-extend it) as `"1110…1"[32]` or `30'b0100…1[29]`,
//! a syntax error. Found with a 32-bit `// 3`, whose multiplier constant is 33
//! bits wide. [`sized_literals`] rewrites each such string as the sized binary
//! literal it stands for (`35'b1110…1`), and each bit-select of a constant as
//! that bit (`1'b0`).

/// `v` with every quoted bit string written as a sized binary literal.
///
/// Strings of other characters, and anything in a comment, are left alone.
pub fn sized_literals(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = String::with_capacity(v.len());
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = v[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = v[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            b'"' => {
                let Some(len) = v[i + 1..].find('"') else {
                    break;
                };
                let bits = &v[i + 1..i + 1 + len];
                let end = i + 1 + len + 1;
                if bits.is_empty() || !bits.bytes().all(is_bit) {
                    i = end;
                    continue;
                }
                out.push_str(&v[last..i]);
                match bit_select(&v[end..]) {
                    Some((k, used)) if k < bits.len() => {
                        let c = bits.as_bytes()[bits.len() - 1 - k] as char;
                        out.push_str(&format!("1'b{c}"));
                        last = end + used;
                    }
                    _ => {
                        out.push_str(&format!("{}'b{bits}", bits.len()));
                        last = end;
                    }
                }
                i = last;
            }
            c if c.is_ascii_digit()
                && (i == 0
                    || !(b[i - 1].is_ascii_alphanumeric()
                        || matches!(b[i - 1], b'_' | b'$' | b'\''))) =>
            {
                // a sized binary literal `N'bBITS`, maybe with a bit-select
                let digits = v[i..].bytes().take_while(u8::is_ascii_digit).count();
                let rest = &v[i + digits..];
                let Some(bits_at) = rest.strip_prefix("'b") else {
                    i += digits;
                    continue;
                };
                let n_bits = bits_at.bytes().take_while(|&c| is_bit(c)).count();
                let bits = &bits_at[..n_bits];
                let end = i + digits + 2 + n_bits;
                match bit_select(&v[end..]) {
                    Some((k, used)) if k < bits.len() && n_bits > 0 => {
                        out.push_str(&v[last..i]);
                        let c = bits.as_bytes()[bits.len() - 1 - k] as char;
                        out.push_str(&format!("1'b{c}"));
                        last = end + used;
                        i = last;
                    }
                    _ => i = end,
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&v[last.min(v.len())..]);
    out
}

fn is_bit(c: u8) -> bool {
    matches!(c, b'0' | b'1' | b'x' | b'X' | b'z' | b'Z')
}

/// `[k]` at the start of `rest`: `k` and the bytes it takes.
fn bit_select(rest: &str) -> Option<(usize, usize)> {
    let inner = rest.strip_prefix('[')?;
    let close = inner.find(']')?;
    let k = inner[..close].trim().parse().ok()?;
    Some((k, close + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_constants_become_sized_literals() {
        let ghdl = r#"  assign n13_o = n11_o - "11101111111111111111111111111111111";
  /* div.vhd:40:26  */
  assign n16_o = {{35{"010101010101010101010101010101011"[32]}}, "010101010101010101010101010101011"}; // sext
  assign n17_o = n14_o * 36'b000000000000000000001010101010101011; // smul
"#;
        let fixed = sized_literals(ghdl);
        assert_eq!(
            fixed,
            r#"  assign n13_o = n11_o - 35'b11101111111111111111111111111111111;
  /* div.vhd:40:26  */
  assign n16_o = {{35{1'b0}}, 33'b010101010101010101010101010101011}; // sext
  assign n17_o = n14_o * 36'b000000000000000000001010101010101011; // smul
"#
        );
        // bit k counts from the right
        assert_eq!(sized_literals(r#"x = "100"[2];"#), "x = 1'b1;");
        assert_eq!(sized_literals(r#"x = "100"[0];"#), "x = 1'b0;");
        // a bit-select of a sized literal (narrower constants)
        assert_eq!(
            sized_literals("n83 = {{35{30'b010000011000100100110111010011[29]}}, 30'b010000011000100100110111010011};"),
            "n83 = {{35{1'b0}}, 30'b010000011000100100110111010011};"
        );
        assert_eq!(
            sized_literals("y = 3'b100[2] & a[1] & n2_o[0];"),
            "y = 1'b1 & a[1] & n2_o[0];"
        );
    }

    /// yosys reads the repaired constant as the bits GHDL meant (the string
    /// would have been ASCII).
    #[test]
    fn yosys_reads_the_bits() {
        if !crate::tools::available("yosys") {
            eprintln!("\n!!!!!!!! SKIPPED yosys_reads_the_bits: yosys is not installed (apt-get install yosys) !!!!!!!!\n");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ghdl = "module t(output [34:0] y, output [3:0] z);\n  assign y = \"11101111111111111111111111111111111\";\n  assign z = {{3{\"0101010101010101010101010101010101\"[33]}}, 1'b1};\nendmodule\n";
        std::fs::write(dir.path().join("t.v"), sized_literals(ghdl)).unwrap();
        let out = std::process::Command::new("yosys")
            .current_dir(dir.path())
            .args([
                "-p",
                "read_verilog t.v; hierarchy -top t; proc; eval -show y,z",
            ])
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stdout);
        // y, then z = {3 x bit 33 of 0101..., 1}
        assert!(
            log.contains(
                "= 39'11101111111111111111111111111111111_0001"
                    .replace('_', "")
                    .as_str()
            ),
            "{log}"
        );
    }

    #[test]
    fn other_strings_and_comments_stay() {
        let v = "/* \"10\" */ // \"01\"\n$display(\"hello\"); y = \"\";\n";
        assert_eq!(sized_literals(v), v);
    }
}
