//! HDF5 files through the HDF5 C library (libhdf5), the reference
//! implementation of the format: every superblock version, layout and chunk
//! index a writer may choose (h5py's defaults, SWMR's extensible arrays,
//! DECTRIS's and MAX IV's writers) is read as the library reads it.
//!
//! This crate is the project's only unsafe code: the few calls hissc needs,
//! each behind a safe function, every identifier closed by a guard, every call
//! made holding the bindings' library lock (Debian's libhdf5 is not built
//! thread-safe). What it offers:
//!
//! - [`Dataset`]: a dataset's element type, shape, layout and filters;
//!   [`Dataset::read`] a block of it through libhdf5 (its filters applied,
//!   elements converted to little-endian); [`Dataset::chunk`] where one chunk's
//!   stored bytes are in the file, so a caller may read and decode them itself.
//! - [`Writer`]: a new file with one chunked dataset whose chunks are written
//!   as given (already compressed), as detector writers do with
//!   `H5Dwrite_chunk`.
//! - [`register`]: a filter libhdf5 does not have (bitshuffle, LZ4) implemented
//!   by a Rust function, so files using it are read and written without a
//!   plugin directory.
//!
//! Elements are little-endian: this crate only builds for little-endian
//! machines, where libhdf5's native types are.

#![allow(unsafe_code)]

mod filter;
mod read;
mod write;

pub use filter::{register, Codec};
pub use read::Dataset;
pub use write::Writer;

use hdf5_metno_sys as sys;
use std::ffi::CString;
use std::path::Path;
use sys::h5i::hid_t;

#[cfg(not(target_endian = "little"))]
compile_error!("hiss-hdf5 hands out libhdf5's native elements as little-endian ones");

/// An HDF5 filter's identifier (deflate is 1, shuffle 2, bitshuffle 32008, LZ4 32004).
pub type FilterId = i32;

/// bitshuffle's registered filter identifier.
pub const BITSHUFFLE: FilterId = 32008;
/// The LZ4 filter's registered identifier.
pub const LZ4: FilterId = 32004;
/// libhdf5's deflate (gzip) filter.
pub const DEFLATE: FilterId = 1;
/// libhdf5's byte shuffle filter.
pub const SHUFFLE: FilterId = 2;

/// A dataset's element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element {
    /// Integer, float or something else.
    pub class: Class,
    /// Bytes per element.
    pub size: usize,
    /// Is it stored little-endian?
    pub little_endian: bool,
}

/// The class of a dataset's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// An integer, signed or not.
    Integer {
        /// Two's complement?
        signed: bool,
    },
    /// An IEEE float.
    Float,
    /// Any other class (strings, compounds, enums, ...), by libhdf5's number.
    Other(i32),
}

/// One filter of a dataset's pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Its identifier.
    pub id: FilterId,
    /// Its parameters (client data).
    pub params: Vec<u32>,
    /// The name the file gives it.
    pub name: String,
}

/// Where a chunk's stored bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlace {
    /// Byte offset in the file.
    pub addr: u64,
    /// Stored (filtered) size in bytes.
    pub size: u64,
    /// Bit `i` set: the pipeline's filter `i` was skipped for this chunk.
    pub filter_mask: u32,
}

/// How a dataset's elements are laid out in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One block of elements.
    Contiguous,
    /// In the object header.
    Compact,
    /// Chunks of this shape.
    Chunked(Vec<u64>),
    /// Something else (a virtual dataset).
    Other,
}

/// An identifier libhdf5 handed out, closed when dropped.
struct Id {
    id: hid_t,
    close: unsafe extern "C" fn(hid_t) -> sys::h5::herr_t,
}

impl Drop for Id {
    fn drop(&mut self) {
        let _lock = sys::LOCK.lock();
        // SAFETY: `id` is a valid identifier of the kind `close` closes (made
        // by `Id::new` from a call that succeeded), closed once, here.
        unsafe { (self.close)(self.id) };
    }
}

impl Id {
    fn new(
        id: hid_t,
        close: unsafe extern "C" fn(hid_t) -> sys::h5::herr_t,
        what: impl FnOnce() -> String,
    ) -> Result<Id, String> {
        if id < 0 {
            Err(what())
        } else {
            Ok(Id { id, close })
        }
    }
}

/// Runs `f` holding the library lock, libhdf5 initialised, its own error
/// printing off for this thread (a thread-safe libhdf5, as Debian builds it,
/// keeps one error stack per thread): every failure reaches the caller as a
/// message of this crate's.
fn locked<T>(f: impl FnOnce() -> T) -> T {
    thread_local! {
        static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    static INIT: std::sync::Once = std::sync::Once::new();
    let _guard = sys::LOCK.lock();
    INIT.call_once(|| {
        // SAFETY: called before the library is first used. The process does
        // not close libhdf5 at exit: every identifier is closed by its guard,
        // and a thread-safe build closing per-thread error stacks of threads
        // already gone loops at exit ("infinite loop closing library").
        unsafe {
            sys::h5::H5dont_atexit();
        }
    });
    if !QUIET.with(|q| q.replace(true)) {
        // SAFETY: H5open only initialises the library; H5Eset_auto2 with no
        // function turns off the default error stack's printing.
        unsafe {
            sys::h5::H5open();
            sys::h5e::H5Eset_auto2(sys::h5e::H5E_DEFAULT, None, std::ptr::null_mut());
        }
    }
    f()
}

/// File access properties: no file locks. Files here are a run's own or read
/// at the desk; a lock (flock) would also pass to every process forked while
/// a file is open and outlive its close there.
fn access() -> Result<Id, String> {
    // SAFETY: the property list class is the library's own.
    let fapl = Id::new(
        unsafe { sys::h5p::H5Pcreate(*sys::h5p::H5P_CLS_FILE_ACCESS) },
        sys::h5p::H5Pclose,
        || "no file access property list".to_string(),
    )?;
    // SAFETY: a valid file access property list.
    if unsafe { sys::h5p::H5Pset_file_locking(fapl.id, 0, 1) } < 0 {
        return Err("libhdf5 keeps its file locks".into());
    }
    Ok(fapl)
}

fn cstring(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("`{s}` holds a NUL byte"))
}

fn path_cstring(p: &Path) -> Result<CString, String> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).map_err(|_| format!("{} holds a NUL byte", p.display()))
}

fn product(dims: &[u64]) -> u64 {
    dims.iter().product()
}
