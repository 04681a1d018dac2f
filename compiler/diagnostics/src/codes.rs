//! The stable error codes of hissc and their long explanations (`hissc explain HSxxxx`).
//!
//! Codes are never renumbered: a code that stops being used stays reserved.
//! `HS00xx` are about reading the file, `HS01xx` about the language subset,
//! `HS02xx` about the kernel signature, `HS03xx` about types and shapes and
//! `HS04xx` about what the hardware back end can build.

use std::fmt;

/// A stable diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Code(pub u16);

macro_rules! codes {
    ($($name:ident = $num:literal, $title:literal, $explain:literal;)*) => {
        impl Code {
            $(#[doc = $title] pub const $name: Code = Code($num);)*

            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];

            /// One line saying what the code is about.
            pub fn title(self) -> &'static str {
                match self.0 { $($num => $title,)* _ => "unknown code" }
            }

            /// The long explanation shown by `hissc explain`.
            pub fn explanation(self) -> &'static str {
                match self.0 { $($num => $explain,)* _ => "" }
            }
        }
    };
}

codes! {
    SYNTAX = 1, "the file is not valid Python",
"The kernel file could not be parsed as Python 3. hissc reads kernels with a
Python parser, so every file must first be valid Python: check brackets,
indentation and colons at the place shown. For an unclosed bracket the
diagnostic points at the opening bracket.";
    UNSUPPORTED_STATEMENT = 101, "a statement outside the kernel language",
"Kernels may use assignment (also tuple unpacking and augmented assignment),
`return`, `if`/`elif`/`else`, `for i in range(N)` with constant bounds, calls
of helper functions, `pass` and docstrings. Everything else (`while`, `try`,
`with`, `class`, `global`, `lambda`, comprehensions, `print`, imports inside
functions, attribute or subscript assignment) has no fixed-size hardware
meaning and is rejected. A `while` loop, for example, is written as a `for`
loop over a constant range, which hissc unrolls.";
    UNSUPPORTED_EXPRESSION = 102, "an expression outside the kernel language",
"This kind of expression (for example a lambda, a comprehension, a string, a
chained comparison of arrays or a starred argument) has no meaning in a kernel.
See docs/language.md for the expressions hissc compiles.";
    UNKNOWN_FUNCTION = 103, "a function or attribute the kernel language does not have",
"Only the numpy functions and array methods the language has (`hissc explain
HS0103` lists them, from the compiler's own table; docs/language.md says what
each does) and the helper functions defined in the same file can be called.
Anything else (for example `np.fft.fft2` or `np.sort`) cannot stream through
hardware at one element per cycle and is rejected.";
    RECURSION = 104, "a helper function calls itself",
"Helper functions are inlined at every call, so a function that calls itself,
directly or through another helper, would never finish inlining. Write the
repetition as a `for` loop over a constant range instead.";
    IMPORT = 105, "an import other than numpy and hiss",
"A kernel file may import `numpy` (as `np`) and names from `hiss` only, at
module level. Other modules do not exist in hardware.";
    UNDEFINED_NAME = 106, "a name that is not defined",
"The name is neither a parameter, a local variable, a module-level constant, a
helper function nor an imported name.";
    MODULE_LEVEL = 107, "a module-level statement outside the kernel language",
"At module level a kernel file holds imports, integer constants, tuples of
integer constants, `np.array([...], dtype=...)` integer tables, helper
functions and `@kernel` functions. Anything else would run code that the
hardware cannot see.";
    NO_KERNEL = 108, "no `@kernel` function, or not the one asked for",
"A kernel file needs at least one function decorated with `@kernel`. With
several, choose one with `--kernel NAME`.";
    MISSING_ANNOTATION = 201, "a kernel parameter or the return value has no type",
"Every parameter of a `@kernel` function needs an annotation: `Array[T, d0,
...]` for an input stream, or an integer dtype or range type for a scalar
run-time register. The return annotation is required too. hissc needs them to
fix the widths of the hardware ports.";
    BAD_ANNOTATION = 202, "a type annotation hissc does not understand",
"Annotations are `np.bool_`/`bool`, the numpy integer dtypes (`np.uint8`
... `np.int64`), the range types `u1..u63` and `i2..i63` from `hiss`,
`Array[T, d0]` up to three dimensions with constant sizes, and `tuple[...]`
of these for several outputs.";
    RETURN_TYPE = 203, "the returned value does not match the return annotation",
"The return annotation must say exactly what numpy computes: the same dtype
and the same shape. numpy's promotion rules decide the dtype; for example
`uint16_array.sum()` is `uint64`. Either change the annotation or cast the
value with `.astype(...)`.";
    FLOAT = 301, "floating point is not in the kernel language",
"Kernels compute with integers only, so that hardware results are exact:
`float`, `np.float32`, true division `/` and `np.mean` are rejected. Use
floor division `//` by a constant, a right shift `>>` for a power of two, or
keep a sum and divide on the host. The one float result allowed is the
`float64` of a weighted `np.bincount`.";
    SHAPE = 302, "shapes that numpy cannot broadcast together",
"numpy would raise here: the operands' shapes do not broadcast. hissc supports
an array with a scalar, two arrays of the same shape, and a row `(W,)` or a
column `(H, 1)` against `(H, W)`.";
    DTYPE = 303, "a type error numpy would raise",
"numpy would raise for this combination of types or values, for example a
Python integer literal that does not fit the array's dtype (`uint8_array +
300`), or an operation not defined for the dtype.";
    BINCOUNT_RANGE = 304, "a bin index that is not proven to be in range",
"`np.bincount(x, minlength=N)` builds N counters in hardware, so hissc must
prove `0 <= x < N` for every element. It knows the range of range-typed
inputs (`u12` is 0..4095), of `np.clip`, `np.minimum`, masks `x & (N-1)` and
shifts. Clip or mask the index, or use a range type for the input.";
    ARGUMENTS = 305, "wrong arguments to a function or method",
"The call has the wrong number or kind of arguments, or an argument that must
be a compile-time constant is not.";
    NOT_CONSTANT = 306, "a value that must be known at compile time is not",
"Loop bounds, shapes, `axis=`, `minlength=`, shift amounts of `**` and the
divisors of `//` and `%` must be compile-time constants.";
    INDEX_RANGE = 307, "a table index that is not proven to be in range",
"`LUT[x]` reads a constant table, a ROM in hardware, so hissc must prove
`0 <= x < len(LUT)` for every element (numpy would raise IndexError, or wrap
negative indices). Clip or mask the index, or use a range type for the input.";
    LIMIT = 308, "a size beyond the limits of the kernel language",
"hissc builds every array, loop and table at a fixed size, within these limits:
an array has at most 67,108,864 elements per frame (2**26: a 16-module
JUNGFRAU's 8 Mpixel fits eight times over), whether it is an input, a broadcast
or a result; a `for` loop runs at most 4096 times (it is unrolled);
`np.bincount` and `np.histogram` have at most 1,048,576 bins; the exponent of
`**` is a constant from 0 to 16; Python integers stay below 2**100 in
magnitude; integers compared with a float, and weighted bin sums, stay within
2**53, where float64 is exact. Split a larger frame into several (an input with
a leading axis is a batch of frames), or shrink the construct.";
    STATE = 309, "a state used outside its rules",
"A `State[T, d0, ...]` parameter keeps its value from one frame to the next.
The kernel reads it (the value the previous frame left, zeros or the
`--state NAME=FILE.npy` at the start) and sets the next frame's value with
exactly one whole-array assignment `NAME[...] = EXPR` at the top level of the
kernel body, not inside `if`, `for` or a helper. EXPR must already have the
state's dtype and shape: numpy would keep the state's dtype by casting, so the
cast is written out (`.astype(np.uint32)`). Reading the state after the
assignment is rejected, because CPython would see the new value there, which
the hardware only has for the next frame: keep the new value in a name and use
that. A state that is never assigned is a constant; make it an input.";
    NOT_STREAMABLE = 401, "the kernel cannot be built as a one-pass stream",
"The hardware processes every input frame as a stream, one element per cycle,
in one pass. A row's or frame's statistic applied back onto the same row or
frame is fine (`d - d.sum(axis=1, keepdims=True) // W`: hissc keeps the row or
frame in a buffer until the statistic is known). This construct has no such
schedule: an output that depends on no input, a broadcast of a sliced array,
streams that carry their elements at different times combined elementwise, a
state read at two different times. Split the kernel in two, or compute the
value on the host.";
    LANES = 402, "this construct cannot take as many elements per cycle as asked",
"A warning. With `--lanes N` every stream carries N consecutive elements per
cycle (lane `l` of a frame's cycle `q` holds element `q * N + l` in C order).
Elementwise operations, table look-ups, reductions (argmax and argmin
included), `cumsum`, bin counts, broadcasts and slices take N elements per
cycle; slices and column broadcasts that move elements between lanes go through
a gearbox; rows that straddle cycles (514 pixels on 8 lanes) keep every lane in
row reductions (segmented trees) and in broadcasts onto them. Some constructs
cannot take N: a column reduction over rows that straddle cycles (rows of 24
with 16 lanes), rows narrower
than N that N does not divide, a gearbox that cannot empty within a frame, a
broadcast read more than four frames after it is stored, more bins than a short
frame can stream out, an argmax of 64-bit values. Then the whole kernel takes the most lanes (N/2, N/4, ... 1) that
every construct can, and hissc says which construct and how many it took; the
results are numpy's either way. Use a lane count that divides the rows, or
reshape so that the lanes fall on whole rows.";
    TOO_LARGE = 403, "a design larger than the FPGAs hissc builds for",
"A warning from the commands that make a design (`hissc KERNEL.py -o`, `sim`,
`verify`): hissc estimates, from the process network, the flip-flops and
memory bits the design keeps, and this one needs more than the largest FPGA
`hissc build` targets (an ECP5 LFE5U-85F: 83,640 LUTs, 208 block RAMs of 18
kbit). The values are still numpy's in simulation; `hissc build` stops before
synthesis with the same numbers for its target (for a smaller FPGA, such as
the default iCE40 HX8K, already when the design does not fit that one). The diagnostic points at the expression that
keeps the most: usually a long delay line (two values of one frame combined
far apart in the stream, such as different planes or distant rows), many
accumulators, or many lanes. Combine values that arrive close together, use
fewer lanes, or split the kernel.";
}

impl Code {
    /// `HS0101`.
    pub fn name(self) -> String {
        format!("HS{:04}", self.0)
    }

    /// Parses `HS0101` (or `hs0101`, `0101`, `101`).
    pub fn parse(text: &str) -> Option<Code> {
        let digits = text
            .trim()
            .trim_start_matches(['H', 'h'])
            .trim_start_matches(['S', 's']);
        let n: u16 = digits.parse().ok()?;
        Code::ALL.iter().copied().find(|c| c.0 == n)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_explained_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.0), "{} twice", c);
            assert!(!c.explanation().is_empty());
            assert_eq!(Code::parse(&c.name()), Some(*c));
        }
    }
}
