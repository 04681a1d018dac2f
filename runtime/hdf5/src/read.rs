//! Reading: a dataset's element type, shape, layout and filters, a block of
//! its elements through libhdf5, and where a chunk's stored bytes are.

#![allow(unsafe_code)]

use crate::filter::take_filter_error;
use crate::{
    access, cstring, locked, path_cstring, product, ChunkPlace, Class, Element, Filter, Id, Layout,
};
use hdf5_metno_sys as sys;
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::path::Path;

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
            let fapl = access()?;
            // SAFETY: `cpath` is a NUL-terminated string that outlives the
            // call; a valid file access property list.
            let fid =
                unsafe { sys::h5f::H5Fopen(cpath.as_ptr(), sys::h5f::H5F_ACC_RDONLY, fapl.id) };
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
