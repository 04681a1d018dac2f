//! The limits of the kernel language, named once.
//!
//! Every size a kernel controls (dimensions, loop trip counts, bins, exponents,
//! integer literals) is checked against these in the frontend, where going over
//! one is a user error with a code (`HS0308`, or the construct's own code) and
//! `hissc explain` text; the AOP verifier checks [`MAX_ELEMENTS`] again, so the
//! later stages can count elements and cycles in `u32` without truncating.

/// Elements of any one array in a frame (an input, a broadcast, a result):
/// 2^26 = 67,108,864, a 16-module JUNGFRAU (8 Mpixel) with room to spare. A
/// frame's cycles, element counters and schedules fit `u32` with margin.
pub const MAX_ELEMENTS: u64 = 1 << 26;

/// Iterations of one `for` loop (it is unrolled).
pub const MAX_UNROLL: i128 = 4096;

/// Bins of `np.bincount` (`minlength=`) and `np.histogram` (`bins=`).
pub const MAX_BINS: i128 = 1 << 20;

/// The largest constant exponent of `**`.
pub const MAX_POWER: i128 = 16;

/// Python integers the compiler folds: `|v| < 2^INT_BITS`.
pub const INT_BITS: u32 = 100;

/// float64 holds every integer of magnitude up to 2^53 exactly: the bound for
/// weighted bin counts (summed as integers, delivered as float64) and for
/// comparisons of integers with a float constant.
pub const FLOAT_EXACT: i128 = 1 << 53;

#[cfg(test)]
mod tests {
    use super::*;
    use hissc_diagnostics::Code;

    /// `hissc explain HS0308` lists every limit with its value.
    #[test]
    fn the_explanation_names_every_limit() {
        let text = Code::LIMIT.explanation().replace(['\n', ','], " ");
        for v in [
            "67 108 864".to_string(),
            MAX_UNROLL.to_string(),
            "1 048 576".to_string(),
            MAX_POWER.to_string(),
            format!("2**{INT_BITS}"),
            "2**53".to_string(),
        ] {
            assert!(text.contains(&v), "`{v}` missing from: {text}");
        }
        assert_eq!(MAX_ELEMENTS, 67_108_864);
        assert_eq!(MAX_BINS, 1_048_576);
        assert_eq!(FLOAT_EXACT, 1 << 53);
    }
}
