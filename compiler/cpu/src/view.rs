//! Views: how a loop reads a value it does not compute. Inputs, states,
//! slices, broadcasts and reshapes are not copied: each is an offset and a
//! stride per axis over a base (an input's bytes, a state's lanes, or the
//! lanes of a value some loop or step wrote), as numpy's own views are.

use hissc_aop::types::numel;
use hissc_aop::Value;

/// The storage a view reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    /// The elements of array parameter number `.0` (signature order), as given.
    Input(usize),
    /// State number `.0` as the frame began.
    State(usize),
    /// The lanes of a value written by a loop or a step.
    Lanes(Value),
}

/// Elements of `shape` at `offset + sum(index[d] * strides[d])` of a base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct View {
    /// What is read.
    pub base: Base,
    /// The first element's index in the base.
    pub offset: isize,
    /// Per axis: how far one step along it moves in the base.
    pub strides: Vec<isize>,
    /// The shape read.
    pub shape: Vec<u32>,
}

/// C-order strides of `shape`.
pub(crate) fn c_strides(shape: &[u32]) -> Vec<isize> {
    let mut s = vec![0isize; shape.len()];
    let mut step = 1isize;
    for d in (0..shape.len()).rev() {
        s[d] = step;
        step *= shape[d] as isize;
    }
    s
}

impl View {
    /// Every element of `shape` of a base, in C order.
    pub fn whole(base: Base, shape: &[u32]) -> View {
        View {
            base,
            offset: 0,
            strides: c_strides(shape),
            shape: shape.to_vec(),
        }
    }

    /// Are the elements back to back in C order (a reshape needs no copy)?
    pub fn contiguous(&self) -> bool {
        self.shape
            .iter()
            .zip(self.strides.iter().zip(c_strides(&self.shape)))
            .all(|(&n, (&s, c))| n <= 1 || s == c)
    }

    /// A basic slice: per axis `(start, step, count)`.
    pub fn slice(&self, sel: &[(u32, u32, u32)]) -> View {
        let mut offset = self.offset;
        let mut strides = Vec::with_capacity(sel.len());
        let mut shape = Vec::with_capacity(sel.len());
        for (&(start, step, count), &s) in sel.iter().zip(&self.strides) {
            offset += start as isize * s;
            strides.push(step as isize * s);
            shape.push(count);
        }
        View {
            base: self.base,
            offset,
            strides,
            shape,
        }
    }

    /// numpy broadcasting to `to`: new leading axes and axes of length 1 repeat.
    pub fn broadcast(&self, to: &[u32]) -> View {
        let lead = to.len() - self.shape.len();
        let strides = (0..to.len())
            .map(|d| match d.checked_sub(lead) {
                Some(e) if self.shape[e] == to[d] => self.strides[e],
                _ => 0,
            })
            .collect();
        View {
            base: self.base,
            offset: self.offset,
            strides,
            shape: to.to_vec(),
        }
    }

    /// The same elements in C order with another shape; `None` when they are
    /// not back to back (the reshape then copies).
    pub fn reshape(&self, to: &[u32]) -> Option<View> {
        self.contiguous().then(|| View {
            base: self.base,
            offset: self.offset,
            strides: c_strides(to),
            shape: to.to_vec(),
        })
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Calls `row(offset, n)` for each innermost row in C order: the base
    /// index of its first element and its length (its stride is
    /// [`View::inner`]).
    pub fn rows(&self, mut row: impl FnMut(isize, usize)) {
        let r = self.shape.len();
        if r == 0 {
            row(self.offset, 1);
            return;
        }
        if self.shape.contains(&0) {
            return;
        }
        let n = self.shape[r - 1] as usize;
        let mut idx = vec![0u32; r - 1];
        let mut off = self.offset;
        loop {
            row(off, n);
            // the next row: an odometer over the outer axes
            let mut d = r - 1;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                idx[d] += 1;
                off += self.strides[d];
                if idx[d] < self.shape[d] {
                    break;
                }
                off -= self.strides[d] * self.shape[d] as isize;
                idx[d] = 0;
            }
        }
    }

    /// The stride of the innermost axis (1 for a 0-d view).
    pub fn inner(&self) -> isize {
        self.strides.last().copied().unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cranelift_entity::EntityRef;

    fn v(i: usize) -> Value {
        Value::new(i)
    }

    fn offsets(view: &View) -> Vec<isize> {
        let mut out = Vec::new();
        let s = view.inner();
        view.rows(|o, n| out.extend((0..n as isize).map(|j| o + j * s)));
        out
    }

    #[test]
    fn slices_and_broadcasts_read_numpys_elements() {
        let a = View::whole(Base::Lanes(v(0)), &[3, 4]);
        assert_eq!(offsets(&a), (0..12).collect::<Vec<_>>());
        // a[1:3, 0::2]
        let s = a.slice(&[(1, 1, 2), (0, 2, 2)]);
        assert_eq!(offsets(&s), vec![4, 6, 8, 10]);
        assert!(!s.contiguous());
        // a[2:3, :] broadcast to (2, 3, 4)
        let b = a.slice(&[(2, 1, 1), (0, 1, 4)]).broadcast(&[2, 3, 4]);
        assert_eq!(offsets(&b), [8, 9, 10, 11].repeat(6));
        assert_eq!(
            a.reshape(&[12]).map(|r| offsets(&r)),
            Some((0..12).collect())
        );
        assert_eq!(s.reshape(&[4]), None);
    }
}
