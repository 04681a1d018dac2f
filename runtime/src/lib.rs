//! The HISS runtime: the unit that leaves the compiler (a [`bundle`]), and the
//! [`slot`]s on a node that load it: the [`cpu`] slot (the kernel as native
//! code), the [`emulated`] slot (the bundle's own
//! process network in the cycle-accurate simulator), the [`fpga_manager`] slot
//! (Linux's FPGA manager) and the [`iceprog`] slot (an iCE40 board over USB);
//! [`api::run_npy`] runs a batch of `.npy` frames through a slot; [`state`]
//! binds a kernel's states to `.npy` arrays for the command line and the node.

pub mod api;
pub mod binding;
pub mod bundle;
pub mod cpu;
pub mod detector;
pub mod emulated;
pub mod error;
pub mod fpga_manager;
pub mod iceprog;
pub mod npy;
pub mod slot;
pub mod state;
pub mod stream;

pub use api::run_npy;
pub use bundle::{Bundle, BundleError, Manifest};
pub use cpu::CpuSlot;
pub use emulated::EmulatedSlot;
pub use fpga_manager::{FpgaManagerConfig, FpgaManagerSlot};
pub use iceprog::{IceprogConfig, IceprogSlot};
pub use slot::{Slot, SlotError, SlotState};
pub use stream::{
    Batch, Block, Body, FrameRun, FrameSink, Input, Interface, NpySink, Out, OutSpec, OutType,
};
