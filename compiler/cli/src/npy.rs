//! Reading and writing `.npy` files: the runtime's `.npy` arrays, from and to disk.

use hissc_aop::Array;
use std::path::Path;

/// Reads a `.npy` file of an integer or bool dtype.
pub fn read(path: &Path) -> Result<Array, String> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    hiss_runtime::npy::from_bytes(&bytes, &shown)
}

/// Writes an array with numpy's own dtype.
pub fn write(path: &Path, a: &Array) -> Result<(), String> {
    std::fs::write(path, hiss_runtime::npy::to_bytes(a))
        .map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}
