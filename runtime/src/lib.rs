//! The HISS runtime: the unit that leaves the compiler (a [`bundle`]) and, in
//! later steps, the slots on a node that load it.

pub mod bundle;

pub use bundle::{Bundle, BundleError, Manifest};
