//! A kernel's states bound to `.npy` arrays, once for every caller: `hissc
//! run --state NAME=FILE.npy` and a node's `.hiss/state/NAME.npy` both start a
//! run from [`initial`], replace a state by [`bind`] (the state's dtype and
//! shape exactly, or a message naming the state, where it came from and what
//! the kernel keeps), and write what a run left with [`to_npy`].

use hissc_aop::{Array, Param};

/// Every state of `states` as zeros: what a run starts from when no array is
/// given for it.
pub fn initial(states: &[Param]) -> Vec<Vec<i128>> {
    states.iter().map(|p| vec![0; p.ty.numel()]).collect()
}

/// The position of state `name` among `states` of kernel `kernel`, or a
/// message listing the states it has.
pub fn position(kernel: &str, states: &[Param], name: &str) -> Result<usize, String> {
    states.iter().position(|p| p.name == name).ok_or_else(|| {
        let names: Vec<String> = states.iter().map(|p| format!("`{}`", p.name)).collect();
        format!(
            "kernel `{kernel}` has no state `{name}` ({})",
            if names.is_empty() {
                "it keeps no state".to_string()
            } else {
                format!("its states: {}", names.join(", "))
            }
        )
    })
}

/// The values of state `p` of kernel `kernel` from the `.npy` bytes `bytes`
/// (`shown` says where they came from): its dtype and shape must be the
/// state's.
pub fn bind(kernel: &str, p: &Param, bytes: &[u8], shown: &str) -> Result<Vec<i128>, String> {
    let a = crate::npy::from_bytes(bytes, shown).map_err(|e| format!("state `{}`: {e}", p.name))?;
    if a.dtype != p.ty.dtype || a.shape != p.ty.shape {
        return Err(format!(
            "state `{}` (`{shown}`) is {} of shape {:?}; kernel `{kernel}` keeps {} of shape {:?}",
            p.name,
            a.dtype.numpy_name(),
            a.shape,
            p.ty.dtype.numpy_name(),
            p.ty.shape
        ));
    }
    Ok(a.data)
}

/// The `.npy` bytes of state `p` holding `values`.
pub fn to_npy(p: &Param, values: &[i128]) -> Vec<u8> {
    crate::npy::to_bytes(&Array::new(p.ty.dtype, p.ty.shape.clone(), values.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hissc_aop::types::{Interval, Type};
    use hissc_aop::DType;

    fn acc() -> Param {
        Param {
            name: "acc".into(),
            ty: Type::array(DType::I64, vec![2]),
            range: Interval::of(DType::I64),
            span: Default::default(),
        }
    }

    #[test]
    fn a_state_round_trips_and_a_wrong_one_is_named() {
        let p = acc();
        assert_eq!(initial(std::slice::from_ref(&p)), vec![vec![0, 0]]);
        let bytes = to_npy(&p, &[5, -7]);
        assert_eq!(bind("k", &p, &bytes, "a.npy").unwrap(), vec![5, -7]);
        let other = Array::new(DType::I32, vec![2], vec![1, 2]);
        let e = bind("k", &p, &crate::npy::to_bytes(&other), "b.npy").unwrap_err();
        assert_eq!(
            e,
            "state `acc` (`b.npy`) is int32 of shape [2]; kernel `k` keeps int64 of shape [2]"
        );
        assert!(bind("k", &p, b"not npy", "c.npy")
            .unwrap_err()
            .starts_with("state `acc`: "));
        assert_eq!(position("k", &[p], "acc"), Ok(0));
        assert_eq!(
            position("k", &[], "acc").unwrap_err(),
            "kernel `k` has no state `acc` (it keeps no state)"
        );
    }
}
