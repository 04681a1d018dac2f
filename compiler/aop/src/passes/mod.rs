//! Analyses and transformations over the array-op IR, one per file.

pub mod ranges;
