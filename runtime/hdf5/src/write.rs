//! Writing: a new file with one chunked dataset whose chunks are written as
//! given (already through the filters), as detector writers do.

#![allow(unsafe_code)]

use crate::{access, cstring, locked, path_cstring, Class, Element, Filter, Id};
use hdf5_metno_sys as sys;
use std::ffi::{c_int, c_void};
use std::path::Path;

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
