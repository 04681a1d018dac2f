//! The HISS runtime: the unit that leaves the compiler (a [`bundle`]), and the
//! [`slot`]s on a node that load it — so far the [`emulated`] slot, which runs
//! a bundle's own process network in the cycle-accurate simulator.

pub mod api;
pub mod bundle;
pub mod emulated;
pub mod fpga_manager;
pub mod npy;
pub mod slot;

pub use api::run_npy;
pub use bundle::{Bundle, BundleError, Manifest};
pub use emulated::EmulatedSlot;
pub use fpga_manager::{FpgaManagerConfig, FpgaManagerSlot};
pub use slot::{Slot, SlotError, SlotState};
