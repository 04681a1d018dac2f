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

use hdf5_metno_sys as sys;
use std::ffi::{c_char, c_int, c_uint, c_void, CString};
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

/// A dataset of a file open for reading.
pub struct Dataset {
    // dropped in order: the dataset, its memory type, then the file
    ds: Id,
    native: Id,
    _file: Id,
    /// Its element type.
    pub element: Element,
    /// Its shape.
    pub shape: Vec<u64>,
    /// How its elements are stored.
    pub layout: Layout,
    /// Its filter pipeline, in the order writing applies them.
    pub filters: Vec<Filter>,
}

impl Dataset {
    /// Opens dataset `name` (a path from the root, `/entry/data/data`) of the
    /// HDF5 file at `path`.
    pub fn open(path: &Path, name: &str) -> Result<Dataset, String> {
        let cpath = path_cstring(path)?;
        locked(|| {
            // SAFETY: `cpath` is a NUL-terminated string that outlives the call.
            let fid = unsafe {
                sys::h5f::H5Fopen(
                    cpath.as_ptr(),
                    sys::h5f::H5F_ACC_RDONLY,
                    sys::h5p::H5P_DEFAULT,
                )
            };
            let file = Id::new(fid, sys::h5f::H5Fclose, || {
                "libhdf5 cannot open it as an HDF5 file".to_string()
            })?;
            // every link on the way must exist before H5Dopen2 is asked
            let mut at = String::new();
            for part in name.split('/').filter(|p| !p.is_empty()) {
                at.push('/');
                at.push_str(part);
                let c = cstring(&at)?;
                // SAFETY: a valid file identifier and a NUL-terminated name.
                let there =
                    unsafe { sys::h5l::H5Lexists(file.id, c.as_ptr(), sys::h5p::H5P_DEFAULT) };
                if there <= 0 {
                    return Err(format!("the file has no `{at}`"));
                }
            }
            let c = cstring(name)?;
            // SAFETY: a valid file identifier and a NUL-terminated name.
            let did = unsafe { sys::h5d::H5Dopen2(file.id, c.as_ptr(), sys::h5p::H5P_DEFAULT) };
            let ds = Id::new(did, sys::h5d::H5Dclose, || {
                format!("`{name}` is not a dataset")
            })?;
            let (element, native) = element_of(&ds, name)?;
            let shape = shape_of(&ds, name)?;
            let (layout, filters) = creation_of(&ds, shape.len(), name)?;
            Ok(Dataset {
                ds,
                native,
                _file: file,
                element,
                shape,
                layout,
                filters,
            })
        })
    }

    /// Reads the block of `count` elements per axis from `start` into `out`
    /// (C order, little-endian), through libhdf5's filters.
    pub fn read(&self, start: &[u64], count: &[u64], out: &mut [u8]) -> Result<(), String> {
        let rank = self.shape.len();
        assert!(start.len() == rank && count.len() == rank);
        let want = product(count) as usize * self.element.size;
        assert_eq!(out.len(), want, "the buffer holds the block");
        if start
            .iter()
            .zip(count)
            .zip(&self.shape)
            .any(|((s, c), d)| s + c > *d)
        {
            return Err(format!(
                "the block at {start:?} of {count:?} is outside the dataset's {:?}",
                self.shape
            ));
        }
        locked(|| {
            // SAFETY: a valid dataset identifier.
            let fspace = Id::new(
                unsafe { sys::h5d::H5Dget_space(self.ds.id) },
                sys::h5s::H5Sclose,
                || "libhdf5 gives no dataspace".to_string(),
            )?;
            // SAFETY: `start` and `count` hold `rank` values, as the dataspace has axes.
            let sel = unsafe {
                sys::h5s::H5Sselect_hyperslab(
                    fspace.id,
                    sys::h5s::H5S_seloper_t::H5S_SELECT_SET,
                    start.as_ptr(),
                    std::ptr::null(),
                    count.as_ptr(),
                    std::ptr::null(),
                )
            };
            if sel < 0 {
                return Err(format!("libhdf5 cannot select {count:?} at {start:?}"));
            }
            // SAFETY: `count` holds `rank` dimensions.
            let mspace = Id::new(
                unsafe {
                    sys::h5s::H5Screate_simple(rank as c_int, count.as_ptr(), std::ptr::null())
                },
                sys::h5s::H5Sclose,
                || "libhdf5 cannot make a memory dataspace".to_string(),
            )?;
            take_filter_error();
            // SAFETY: `out` holds exactly the selected elements of the native
            // type (checked above); every identifier is valid.
            let r = unsafe {
                sys::h5d::H5Dread(
                    self.ds.id,
                    self.native.id,
                    mspace.id,
                    fspace.id,
                    sys::h5p::H5P_DEFAULT,
                    out.as_mut_ptr().cast::<c_void>(),
                )
            };
            if r < 0 {
                return Err(match take_filter_error() {
                    Some(why) => format!("the elements at {start:?} cannot be read: {why}"),
                    None => format!(
                        "libhdf5 cannot read the elements at {start:?} (a filter it does not have, or a damaged chunk)"
                    ),
                });
            }
            Ok(())
        })
    }

    /// Where the chunk starting at element `offset` is stored; `None` when it
    /// was never written (its elements are the fill value).
    pub fn chunk(&self, offset: &[u64]) -> Result<Option<ChunkPlace>, String> {
        assert_eq!(offset.len(), self.shape.len());
        locked(|| {
            let (mut mask, mut addr, mut size) = (0 as c_uint, 0u64, 0u64);
            // SAFETY: `offset` holds one value per axis; the out-pointers are
            // to locals.
            let r = unsafe {
                sys::h5d::H5Dget_chunk_info_by_coord(
                    self.ds.id,
                    offset.as_ptr(),
                    &mut mask,
                    &mut addr,
                    &mut size,
                )
            };
            if r < 0 {
                return Err(format!("libhdf5 finds no chunk at {offset:?}"));
            }
            Ok((addr != sys::h5::HADDR_UNDEF).then_some(ChunkPlace {
                addr,
                size,
                filter_mask: mask,
            }))
        })
    }
}

fn element_of(ds: &Id, name: &str) -> Result<(Element, Id), String> {
    use sys::h5t::{H5T_class_t, H5T_order_t, H5T_sign_t};
    // SAFETY: a valid dataset identifier.
    let t = Id::new(
        unsafe { sys::h5d::H5Dget_type(ds.id) },
        sys::h5t::H5Tclose,
        || format!("`{name}` has no datatype"),
    )?;
    // SAFETY: a valid datatype identifier, for each call.
    let (class, size, order) = unsafe {
        (
            sys::h5t::H5Tget_class(t.id),
            sys::h5t::H5Tget_size(t.id),
            sys::h5t::H5Tget_order(t.id),
        )
    };
    let class = match class {
        H5T_class_t::H5T_INTEGER => Class::Integer {
            // SAFETY: a valid integer datatype identifier.
            signed: unsafe { sys::h5t::H5Tget_sign(t.id) } == H5T_sign_t::H5T_SGN_2,
        },
        H5T_class_t::H5T_FLOAT => Class::Float,
        other => Class::Other(other as i32),
    };
    let element = Element {
        class,
        size,
        little_endian: order == H5T_order_t::H5T_ORDER_LE,
    };
    // SAFETY: a valid datatype identifier.
    let native =
        unsafe { sys::h5t::H5Tget_native_type(t.id, sys::h5t::H5T_direction_t::H5T_DIR_ASCEND) };
    let native = Id::new(native, sys::h5t::H5Tclose, || {
        format!("`{name}`'s elements have no native type")
    })?;
    Ok((element, native))
}

fn shape_of(ds: &Id, name: &str) -> Result<Vec<u64>, String> {
    // SAFETY: a valid dataset identifier.
    let space = Id::new(
        unsafe { sys::h5d::H5Dget_space(ds.id) },
        sys::h5s::H5Sclose,
        || format!("`{name}` has no dataspace"),
    )?;
    // SAFETY: a valid dataspace identifier.
    let rank = unsafe { sys::h5s::H5Sget_simple_extent_ndims(space.id) };
    if rank < 0 {
        return Err(format!("`{name}` has no simple dataspace"));
    }
    let mut dims = vec![0u64; rank as usize];
    // SAFETY: `dims` holds `rank` values; no maximum dimensions are asked for.
    let r = unsafe {
        sys::h5s::H5Sget_simple_extent_dims(space.id, dims.as_mut_ptr(), std::ptr::null_mut())
    };
    if r < 0 {
        return Err(format!("`{name}`'s dimensions cannot be read"));
    }
    Ok(dims)
}

fn creation_of(ds: &Id, rank: usize, name: &str) -> Result<(Layout, Vec<Filter>), String> {
    use sys::h5d::H5D_layout_t;
    // SAFETY: a valid dataset identifier.
    let dcpl = Id::new(
        unsafe { sys::h5d::H5Dget_create_plist(ds.id) },
        sys::h5p::H5Pclose,
        || format!("`{name}` has no creation properties"),
    )?;
    // SAFETY: a valid dataset creation property list, for each call.
    let layout = match unsafe { sys::h5p::H5Pget_layout(dcpl.id) } {
        H5D_layout_t::H5D_CONTIGUOUS => Layout::Contiguous,
        H5D_layout_t::H5D_COMPACT => Layout::Compact,
        H5D_layout_t::H5D_CHUNKED => {
            let mut dims = vec![0u64; rank];
            // SAFETY: `dims` holds `rank` values, the dataset's rank.
            let n = unsafe { sys::h5p::H5Pget_chunk(dcpl.id, rank as c_int, dims.as_mut_ptr()) };
            if n as usize != rank {
                return Err(format!("`{name}`'s chunk shape cannot be read"));
            }
            Layout::Chunked(dims)
        }
        _ => Layout::Other,
    };
    // SAFETY: a valid dataset creation property list.
    let n = unsafe { sys::h5p::H5Pget_nfilters(dcpl.id) };
    let mut filters = Vec::new();
    for i in 0..n.max(0) as c_uint {
        let mut flags: c_uint = 0;
        let mut nparams: usize = 16;
        let mut params = [0 as c_uint; 16];
        let mut fname = [0 as c_char; 128];
        let mut config: c_uint = 0;
        // SAFETY: `params` holds `nparams` values and `fname` its length; the
        // library writes no more than it is told.
        let id = unsafe {
            sys::h5p::H5Pget_filter2(
                dcpl.id,
                i,
                &mut flags,
                &mut nparams,
                params.as_mut_ptr(),
                fname.len(),
                fname.as_mut_ptr(),
                &mut config,
            )
        };
        if id < 0 {
            return Err(format!("`{name}`'s filter {i} cannot be read"));
        }
        let len = fname.iter().position(|&c| c == 0).unwrap_or(fname.len());
        let name: Vec<u8> = fname[..len].iter().map(|&c| c as u8).collect();
        filters.push(Filter {
            id,
            params: params[..nparams.min(16)].to_vec(),
            name: String::from_utf8_lossy(&name).into_owned(),
        });
    }
    Ok((layout, filters))
}

/// A new HDF5 file holding one chunked dataset, its chunks written as given.
pub struct Writer {
    ds: Id,
    file: Id,
    chunk: Vec<u64>,
}

impl Writer {
    /// Creates (or truncates) the file at `path` with dataset `name` (groups
    /// on its way are made) of `element`s (little-endian integers or floats),
    /// `shape`, stored in chunks of `chunk` through `filters`.
    pub fn create(
        path: &Path,
        name: &str,
        element: Element,
        shape: &[u64],
        chunk: &[u64],
        filters: &[Filter],
    ) -> Result<Writer, String> {
        assert_eq!(shape.len(), chunk.len());
        let cpath = path_cstring(path)?;
        let cname = cstring(name)?;
        locked(|| {
            let base = match (element.class, element.size) {
                (Class::Integer { signed: false }, 1) => *sys::h5t::H5T_STD_U8LE,
                (Class::Integer { signed: false }, 2) => *sys::h5t::H5T_STD_U16LE,
                (Class::Integer { signed: false }, 4) => *sys::h5t::H5T_STD_U32LE,
                (Class::Integer { signed: false }, 8) => *sys::h5t::H5T_STD_U64LE,
                (Class::Integer { signed: true }, 1) => *sys::h5t::H5T_STD_I8LE,
                (Class::Integer { signed: true }, 2) => *sys::h5t::H5T_STD_I16LE,
                (Class::Integer { signed: true }, 4) => *sys::h5t::H5T_STD_I32LE,
                (Class::Integer { signed: true }, 8) => *sys::h5t::H5T_STD_I64LE,
                (Class::Float, 4) => *sys::h5t::H5T_IEEE_F32LE,
                (Class::Float, 8) => *sys::h5t::H5T_IEEE_F64LE,
                _ => return Err(format!("no HDF5 type is written for {element:?}")),
            };
            let fapl = access()?;
            // SAFETY: `cpath` is NUL-terminated; valid property lists.
            let fid = unsafe {
                sys::h5f::H5Fcreate(
                    cpath.as_ptr(),
                    sys::h5f::H5F_ACC_TRUNC,
                    sys::h5p::H5P_DEFAULT,
                    fapl.id,
                )
            };
            let file = Id::new(fid, sys::h5f::H5Fclose, || {
                format!("libhdf5 cannot create {}", path.display())
            })?;
            // SAFETY: the property list classes are the library's own.
            let lcpl = Id::new(
                unsafe { sys::h5p::H5Pcreate(*sys::h5p::H5P_CLS_LINK_CREATE) },
                sys::h5p::H5Pclose,
                || "no link creation property list".to_string(),
            )?;
            // SAFETY: as above.
            let dcpl = Id::new(
                unsafe { sys::h5p::H5Pcreate(*sys::h5p::H5P_CLS_DATASET_CREATE) },
                sys::h5p::H5Pclose,
                || "no dataset creation property list".to_string(),
            )?;
            // SAFETY: valid property lists; `chunk` holds one value per axis;
            // each filter's parameters are passed with their count.
            let ok = unsafe {
                sys::h5p::H5Pset_create_intermediate_group(lcpl.id, 1) >= 0
                    && sys::h5p::H5Pset_chunk(dcpl.id, chunk.len() as c_int, chunk.as_ptr()) >= 0
                    && filters.iter().all(|f| {
                        sys::h5p::H5Pset_filter(
                            dcpl.id,
                            f.id,
                            sys::h5z::H5Z_FLAG_OPTIONAL,
                            f.params.len(),
                            f.params.as_ptr(),
                        ) >= 0
                    })
            };
            if !ok {
                return Err(format!(
                    "libhdf5 refuses chunks of {chunk:?} through filters {:?}",
                    filters.iter().map(|f| f.id).collect::<Vec<_>>()
                ));
            }
            // SAFETY: `shape` holds one value per axis.
            let space = Id::new(
                unsafe {
                    sys::h5s::H5Screate_simple(
                        shape.len() as c_int,
                        shape.as_ptr(),
                        std::ptr::null(),
                    )
                },
                sys::h5s::H5Sclose,
                || format!("no dataspace of {shape:?}"),
            )?;
            // SAFETY: every identifier is valid; `cname` is NUL-terminated.
            let did = unsafe {
                sys::h5d::H5Dcreate2(
                    file.id,
                    cname.as_ptr(),
                    base,
                    space.id,
                    lcpl.id,
                    dcpl.id,
                    sys::h5p::H5P_DEFAULT,
                )
            };
            let ds = Id::new(did, sys::h5d::H5Dclose, || {
                format!("libhdf5 cannot create dataset `{name}`")
            })?;
            Ok(Writer {
                ds,
                file,
                chunk: chunk.to_vec(),
            })
        })
    }

    /// Writes the chunk starting at element `offset` as `bytes`, already
    /// through every filter of the pipeline.
    pub fn write_chunk(&self, offset: &[u64], bytes: &[u8]) -> Result<(), String> {
        assert_eq!(offset.len(), self.chunk.len());
        locked(|| {
            // SAFETY: `offset` holds one value per axis and `bytes` its length.
            let r = unsafe {
                sys::h5d::H5Dwrite_chunk(
                    self.ds.id,
                    sys::h5p::H5P_DEFAULT,
                    0,
                    offset.as_ptr(),
                    bytes.len(),
                    bytes.as_ptr().cast::<c_void>(),
                )
            };
            if r < 0 {
                return Err(format!("libhdf5 cannot write the chunk at {offset:?}"));
            }
            Ok(())
        })
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<(), String> {
        locked(|| {
            // SAFETY: a valid file identifier.
            let r =
                unsafe { sys::h5f::H5Fflush(self.file.id, sys::h5f::H5F_scope_t::H5F_SCOPE_LOCAL) };
            if r < 0 {
                return Err("libhdf5 cannot flush the file".to_string());
            }
            drop(self);
            Ok(())
        })
    }
}

/// A filter implemented in Rust: `decode` is true when reading. Gives the
/// filtered bytes, or why they cannot be.
pub type Codec = fn(decode: bool, params: &[u32], input: &[u8]) -> Result<Vec<u8>, String>;

static CODECS: [std::sync::OnceLock<Codec>; 2] =
    [std::sync::OnceLock::new(), std::sync::OnceLock::new()];

thread_local! {
    static FILTER_ERROR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn take_filter_error() -> Option<String> {
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
