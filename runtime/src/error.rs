//! Why a slot, or a batch streamed through one, refused something: one error
//! type for the slots ([`crate::slot`]) and the frame streams
//! ([`crate::stream`]) alike.

use std::fmt;

/// Why a slot refused something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotError {
    /// The bundle is for another device.
    Target {
        /// The bundle's target.
        bundle: String,
        /// What the slot takes.
        slot: String,
    },
    /// The bundle's design cannot be loaded (and why).
    Load(String),
    /// Nothing is loaded.
    NotLoaded,
    /// A parameter the kernel does not have, or a value outside its range.
    Param(String),
    /// Inputs that do not fit the kernel (and which).
    Input(String),
    /// The device failed while running (and how).
    Run(String),
}

impl fmt::Display for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotError::Target { bundle, slot } => write!(
                f,
                "the bundle is built for `{bundle}`, and this slot takes `{slot}`"
            ),
            SlotError::Load(why) => write!(f, "the design does not load: {why}"),
            SlotError::NotLoaded => f.write_str("no kernel is loaded in this slot"),
            SlotError::Param(why) | SlotError::Input(why) | SlotError::Run(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SlotError {}
