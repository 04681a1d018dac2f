//! Filters implemented in Rust: a codec registered with libhdf5 as a filter
//! (bitshuffle 32008, LZ4 32004), so files using them are read and written
//! without a plugin directory.

#![allow(unsafe_code)]

use crate::{locked, FilterId, BITSHUFFLE, LZ4};
use hdf5_metno_sys as sys;
use std::ffi::{c_int, c_uint, c_void};

/// A filter implemented in Rust: `decode` is true when reading. Gives the
/// filtered bytes, or why they cannot be.
pub type Codec = fn(decode: bool, params: &[u32], input: &[u8]) -> Result<Vec<u8>, String>;

static CODECS: [std::sync::OnceLock<Codec>; 2] =
    [std::sync::OnceLock::new(), std::sync::OnceLock::new()];

thread_local! {
    static FILTER_ERROR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

pub(crate) fn take_filter_error() -> Option<String> {
    FILTER_ERROR.with(|e| e.borrow_mut().take())
}

/// Makes `codec` libhdf5's filter `id` for this process ([`BITSHUFFLE`] or
/// [`LZ4`]; the first registration stays).
pub fn register(id: FilterId, codec: Codec) -> Result<(), String> {
    let (slot, name, func): (usize, &'static [u8], sys::h5z::H5Z_func_t) = match id {
        BITSHUFFLE => (0, b"bitshuffle (hiss)\0", Some(filter_bitshuffle)),
        LZ4 => (1, b"lz4 (hiss)\0", Some(filter_lz4)),
        _ => return Err(format!("no codec slot for filter {id}")),
    };
    if CODECS[slot].set(codec).is_err() {
        return Ok(());
    }
    let class = sys::h5z::H5Z_class2_t {
        version: sys::h5z::H5Z_CLASS_T_VERS as c_int,
        id,
        encoder_present: 1,
        decoder_present: 1,
        name: name.as_ptr().cast(),
        can_apply: None,
        set_local: None,
        filter: func,
    };
    locked(|| {
        // SAFETY: libhdf5 copies the class; its name is a static string.
        let r = unsafe { sys::h5z::H5Zregister((&class as *const sys::h5z::H5Z_class2_t).cast()) };
        if r < 0 {
            Err(format!("libhdf5 refuses filter {id}"))
        } else {
            Ok(())
        }
    })
}

/// A filter function libhdf5 calls, running codec slot `$slot`.
macro_rules! filter_fn {
    ($name:ident, $slot:expr) => {
        unsafe extern "C" fn $name(
            flags: c_uint,
            nparams: usize,
            params: *const c_uint,
            nbytes: usize,
            buf_size: *mut usize,
            buf: *mut *mut c_void,
        ) -> usize {
            // SAFETY: libhdf5's filter contract, passed on.
            unsafe { run_codec($slot, flags, nparams, params, nbytes, buf_size, buf) }
        }
    };
}

filter_fn!(filter_bitshuffle, 0);
filter_fn!(filter_lz4, 1);

/// A filter call: the input is `nbytes` at `*buf` (a `malloc`ed buffer of
/// `*buf_size`); the output replaces it; 0 is failure.
///
/// # Safety
/// The pointers are as libhdf5 passes them to a filter.
unsafe fn run_codec(
    slot: usize,
    flags: c_uint,
    nparams: usize,
    params: *const c_uint,
    nbytes: usize,
    buf_size: *mut usize,
    buf: *mut *mut c_void,
) -> usize {
    let Some(codec) = CODECS[slot].get() else {
        return 0;
    };
    // SAFETY: libhdf5 passes `nparams` parameters and `nbytes` valid bytes at `*buf`.
    let (params, input) = unsafe {
        (
            if nparams == 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(params, nparams)
            },
            std::slice::from_raw_parts((*buf).cast::<u8>(), nbytes),
        )
    };
    let decode = flags & sys::h5z::H5Z_FLAG_REVERSE != 0;
    let out = std::panic::catch_unwind(|| codec(decode, params, input));
    let out = match out {
        Ok(Ok(v)) => v,
        Ok(Err(why)) => {
            FILTER_ERROR.with(|e| *e.borrow_mut() = Some(why));
            return 0;
        }
        Err(_) => return 0,
    };
    // SAFETY: a fresh buffer of the output's size replaces libhdf5's, which
    // it allocated with malloc and hands to the filter to free.
    unsafe {
        let p = libc::malloc(out.len().max(1));
        if p.is_null() {
            return 0;
        }
        std::ptr::copy_nonoverlapping(out.as_ptr(), p.cast::<u8>(), out.len());
        libc::free(*buf);
        *buf = p;
        *buf_size = out.len().max(1);
    }
    out.len()
}
