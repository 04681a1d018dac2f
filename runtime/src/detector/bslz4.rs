//! Bitshuffle + LZ4 (`bslz4`), as the bitshuffle HDF5 filter (32008) frames it
//! and DECTRIS's Stream V2 carries it (CBOR tag 56500 `["bslz4", elem_size,
//! bytes]`).
//!
//! The framing: the uncompressed size in bytes (8 bytes, big-endian), the block
//! size in bytes (4 bytes, big-endian), then for each block its compressed
//! length (4 bytes, big-endian) and an LZ4 block of its bit-transposed
//! elements. A block holds `block` elements, the last one fewer (rounded down
//! to a multiple of 8); the trailing `n mod 8` elements are stored as they are.
//!
//! The bit transpose is the hot loop: eight elements' `b`-th bytes are one
//! 8 × 8 bit matrix, transposed in a `u64` by three masked swaps, so a block
//! is read and written once, eight bytes at a time. LZ4 blocks are written by
//! `lz4_flex` and read by [`lz4_block`], our own safe decoder: bit planes of
//! detector data are mostly long runs of one byte, matches that overlap
//! themselves, which it fills at memory speed where `lz4_flex` copies them a
//! byte at a time (half the decode time, measured); every length and offset is
//! checked, since a body comes from a client.

use std::fmt;

/// Why a `bslz4` body is refused, with the byte where it went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err<T>(what: impl Into<String>) -> Result<T, Error> {
    Err(Error(what.into()))
}

/// bitshuffle's default block: 8 KiB of elements, a multiple of 8 elements.
pub fn default_block(elem_size: usize) -> usize {
    ((8192 / elem_size.max(1)) / 8 * 8).max(8)
}

/// The transpose of an 8 × 8 bit matrix held row by row in a `u64`'s bytes
/// (byte `r`, bit `c` becomes byte `c`, bit `r`).
#[inline(always)]
fn transpose8(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^= t ^ (t << 28);
    x
}

/// The transpose of an 8 × 8 byte matrix held as eight `u64` rows (row `k`,
/// byte `j` becomes row `j`, byte `k`), by three block swaps.
#[inline(always)]
fn transpose_bytes(a: &mut [u64; 8]) {
    for k in 0..4 {
        let (lo, hi) = (a[k], a[k + 4]);
        a[k] = (lo & 0x0000_0000_FFFF_FFFF) | (hi << 32);
        a[k + 4] = (lo >> 32) | (hi & 0xFFFF_FFFF_0000_0000);
    }
    for k in [0, 1, 4, 5] {
        let (lo, hi) = (a[k], a[k + 2]);
        a[k] = (lo & 0x0000_FFFF_0000_FFFF) | ((hi & 0x0000_FFFF_0000_FFFF) << 16);
        a[k + 2] = ((lo >> 16) & 0x0000_FFFF_0000_FFFF) | (hi & 0xFFFF_0000_FFFF_0000);
    }
    for k in [0, 2, 4, 6] {
        let (lo, hi) = (a[k], a[k + 1]);
        a[k] = (lo & 0x00FF_00FF_00FF_00FF) | ((hi & 0x00FF_00FF_00FF_00FF) << 8);
        a[k + 1] = ((lo >> 8) & 0x00FF_00FF_00FF_00FF) | (hi & 0xFF00_FF00_FF00_FF00);
    }
}

#[inline(always)]
fn load(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The even bytes of a `u64`, gathered into its low four.
#[inline(always)]
fn compact(x: u64) -> u64 {
    let x = x & 0x00FF_00FF_00FF_00FF;
    let x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    (x | (x >> 16)) & 0xFFFF_FFFF
}

/// Bit-transposes `n` elements of `e` bytes (`n` a multiple of 8): output row
/// `8 * b + k` (byte `b` of each element, bit `k`) holds `n / 8` bytes, bit `i`
/// of its byte `g` being bit `k` of byte `b` of element `8 * g + i`. Eight
/// groups of eight elements at a time: each byte plane gathered (two-byte
/// elements by compacting, the others a byte at a time), bit-transposed, then
/// byte-transposed into eight bytes of each of its rows.
fn shuffle(src: &[u8], e: usize, out: &mut [u8]) {
    let n = src.len() / e;
    let row = n / 8;
    let whole = row / 8 * 8;
    let mut planes = [[0u64; 8]; 8];
    let mut g = 0;
    while g < whole {
        let block = &src[8 * g * e..8 * (g + 8) * e];
        match e {
            1 => {
                for (j, chunk) in block.chunks_exact(8).enumerate() {
                    planes[0][j] = load(chunk, 0);
                }
            }
            2 => {
                for (j, chunk) in block.chunks_exact(16).enumerate() {
                    let (w0, w1) = (load(chunk, 0), load(chunk, 8));
                    planes[0][j] = compact(w0) | (compact(w1) << 32);
                    planes[1][j] = compact(w0 >> 8) | (compact(w1 >> 8) << 32);
                }
            }
            _ => {
                for (j, chunk) in block.chunks_exact(8 * e).enumerate() {
                    for (b, plane) in planes.iter_mut().enumerate().take(e) {
                        let mut bytes = [0u8; 8];
                        for (i, y) in bytes.iter_mut().enumerate() {
                            *y = chunk[i * e + b];
                        }
                        plane[j] = u64::from_le_bytes(bytes);
                    }
                }
            }
        }
        for (b, plane) in planes.iter_mut().enumerate().take(e) {
            for x in plane.iter_mut() {
                *x = transpose8(*x);
            }
            transpose_bytes(plane);
            let base = 8 * b * row;
            for (k, x) in plane.iter().enumerate() {
                let at = base + k * row + g;
                out[at..at + 8].copy_from_slice(&x.to_le_bytes());
            }
        }
        g += 8;
    }
    for g in whole..row {
        for b in 0..e {
            let mut bytes = [0u8; 8];
            for (i, y) in bytes.iter_mut().enumerate() {
                *y = src[(8 * g + i) * e + b];
            }
            let base = 8 * b * row;
            for (k, &y) in transpose8(u64::from_le_bytes(bytes))
                .to_le_bytes()
                .iter()
                .enumerate()
            {
                out[base + k * row + g] = y;
            }
        }
    }
}

/// Four bytes spread to the even bytes of a `u64`.
#[inline(always)]
fn spread(x: u64) -> u64 {
    let x = x & 0xFFFF_FFFF;
    let x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    (x | (x << 8)) & 0x00FF_00FF_00FF_00FF
}

/// The inverse of [`shuffle`]: for each block of eight groups, every byte
/// plane's eight rows are byte-transposed and bit-transposed, and the planes
/// interleaved into whole elements (two-byte elements by spreading, the
/// others a byte at a time).
fn unshuffle(src: &[u8], e: usize, out: &mut [u8]) {
    let n = src.len() / e;
    let row = n / 8;
    let whole = row / 8 * 8;
    let mut planes = [[0u64; 8]; 8];
    let mut g = 0;
    while g < whole {
        for (b, plane) in planes.iter_mut().enumerate().take(e) {
            let base = 8 * b * row;
            for (k, x) in plane.iter_mut().enumerate() {
                *x = load(src, base + k * row + g);
            }
            transpose_bytes(plane);
            for x in plane.iter_mut() {
                *x = transpose8(*x);
            }
        }
        // elements 8g .. 8g + 64: plane b's word j holds byte b of elements
        // 8(g + j) .. 8(g + j) + 8
        let dst = &mut out[8 * g * e..8 * (g + 8) * e];
        match e {
            1 => {
                for (j, chunk) in dst.chunks_exact_mut(8).enumerate() {
                    chunk.copy_from_slice(&planes[0][j].to_le_bytes());
                }
            }
            2 => {
                for (j, chunk) in dst.chunks_exact_mut(16).enumerate() {
                    let (lo, hi) = (planes[0][j], planes[1][j]);
                    let first = spread(lo) | (spread(hi) << 8);
                    let second = spread(lo >> 32) | (spread(hi >> 32) << 8);
                    chunk[..8].copy_from_slice(&first.to_le_bytes());
                    chunk[8..].copy_from_slice(&second.to_le_bytes());
                }
            }
            _ => {
                for (j, chunk) in dst.chunks_exact_mut(8 * e).enumerate() {
                    for (b, plane) in planes.iter().enumerate().take(e) {
                        for (i, &y) in plane[j].to_le_bytes().iter().enumerate() {
                            chunk[i * e + b] = y;
                        }
                    }
                }
            }
        }
        g += 8;
    }
    for g in whole..row {
        for b in 0..e {
            let base = 8 * b * row;
            let mut bytes = [0u8; 8];
            for (k, y) in bytes.iter_mut().enumerate() {
                *y = src[base + k * row + g];
            }
            for (i, &y) in transpose8(u64::from_le_bytes(bytes))
                .to_le_bytes()
                .iter()
                .enumerate()
            {
                out[(8 * g + i) * e + b] = y;
            }
        }
    }
}

/// Decodes one LZ4 block (the block format: sequences of a token, literals,
/// a 2-byte offset and a match) that must fill `dst` exactly.
pub fn lz4_block(src: &[u8], dst: &mut [u8]) -> Result<(), String> {
    let (mut i, mut o) = (0usize, 0usize);
    let length = |src: &[u8], i: &mut usize, mut n: usize| -> Result<usize, String> {
        if n == 15 {
            loop {
                let Some(&b) = src.get(*i) else {
                    return Err("a length runs past the block".into());
                };
                *i += 1;
                n += b as usize;
                if b != 255 {
                    break;
                }
            }
        }
        Ok(n)
    };
    loop {
        let Some(&token) = src.get(i) else {
            return Err("the block ends without its last literals".into());
        };
        i += 1;
        let lit = length(src, &mut i, (token >> 4) as usize)?;
        if i + lit > src.len() || o + lit > dst.len() {
            return Err(format!(
                "{lit} literals run past the block or its {} bytes",
                dst.len()
            ));
        }
        dst[o..o + lit].copy_from_slice(&src[i..i + lit]);
        i += lit;
        o += lit;
        if i == src.len() {
            break;
        }
        if i + 2 > src.len() {
            return Err("a match offset runs past the block".into());
        }
        let offset = u16::from_le_bytes([src[i], src[i + 1]]) as usize;
        i += 2;
        let len = length(src, &mut i, (token & 15) as usize)? + 4;
        if offset == 0 || offset > o || o + len > dst.len() {
            return Err(format!(
                "a match of {len} bytes {offset} back at byte {o} of {}",
                dst.len()
            ));
        }
        let start = o - offset;
        if offset == 1 {
            let b = dst[start];
            dst[o..o + len].fill(b);
        } else if offset >= len {
            dst.copy_within(start..start + len, o);
        } else {
            // a repeating pattern: copy what is already there, doubling
            let mut done = 0;
            while done < len {
                let n = (o + done - start).min(len - done);
                dst.copy_within(start..start + n, o + done);
                done += n;
            }
        }
        o += len;
    }
    if o != dst.len() {
        return Err(format!("{o} bytes where the block holds {}", dst.len()));
    }
    Ok(())
}

/// Decodes a `bslz4` body of elements of `elem_size` bytes.
pub fn decode(src: &[u8], elem_size: usize) -> Result<Vec<u8>, Error> {
    let mut out = vec![0u8; decoded_len(src, elem_size)?];
    decode_into(src, elem_size, &mut out)?;
    Ok(out)
}

/// The bytes a `bslz4` body of `elem_size`-byte elements decodes to, as its
/// header says (checked against the body's size: LZ4 expands at most 255-fold).
fn decoded_len(src: &[u8], elem_size: usize) -> Result<usize, Error> {
    if !matches!(elem_size, 1 | 2 | 4 | 8) {
        return err(format!(
            "bslz4: an element size of {elem_size} bytes (1, 2, 4 or 8)"
        ));
    }
    if src.len() < 12 {
        return err(format!(
            "bslz4: {} bytes, shorter than its 12-byte header",
            src.len()
        ));
    }
    let total = u64::from_be_bytes(src[0..8].try_into().expect("8 bytes"));
    if total > (src.len() as u64).saturating_mul(256) + 64 {
        return err(format!(
            "bslz4: the header claims {total} bytes from a body of {}",
            src.len()
        ));
    }
    if total % elem_size as u64 != 0 {
        return err(format!(
            "bslz4: {total} bytes are not whole elements of {elem_size} bytes"
        ));
    }
    Ok(total as usize)
}

/// Decodes a `bslz4` body of elements of `elem_size` bytes into `out`, which
/// must be exactly what it decodes to.
pub fn decode_into(src: &[u8], elem_size: usize, out: &mut [u8]) -> Result<(), Error> {
    let total = decoded_len(src, elem_size)? as u64;
    let block_bytes = u32::from_be_bytes(src[8..12].try_into().expect("4 bytes")) as usize;
    let block = block_bytes / elem_size;
    if block == 0 || !block.is_multiple_of(8) || !block_bytes.is_multiple_of(elem_size) {
        return err(format!(
            "bslz4: a block of {block_bytes} bytes is not a multiple of 8 elements of {elem_size} bytes"
        ));
    }
    let n = total as usize / elem_size;
    if out.len() as u64 != total {
        return err(format!(
            "bslz4: the body decodes to {total} bytes, not the {} expected",
            out.len()
        ));
    }
    let mut scratch = vec![0u8; block * elem_size];
    let mut at = 12usize;
    let mut done = 0usize;
    let blocked = n / 8 * 8;
    while done < blocked {
        let count = block.min(blocked - done);
        let bytes = count * elem_size;
        let Some(len) = src.get(at..at + 4) else {
            return err(format!(
                "bslz4: the body ends at byte {at}, inside block {}",
                done / block
            ));
        };
        let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
        at += 4;
        let Some(body) = src.get(at..at + len) else {
            return err(format!(
                "bslz4: block {} claims {len} bytes at byte {at}, past the body's {}",
                done / block,
                src.len()
            ));
        };
        match lz4_block(body, &mut scratch[..bytes]) {
            Ok(()) => {}
            Err(e) => return err(format!("bslz4: block {} at byte {at}: {e}", done / block)),
        }
        unshuffle(
            &scratch[..bytes],
            elem_size,
            &mut out[done * elem_size..(done + count) * elem_size],
        );
        at += len;
        done += count;
    }
    // the trailing elements, as they are
    let rest = (n - blocked) * elem_size;
    match src.get(at..at + rest) {
        Some(tail) if at + rest == src.len() => out[blocked * elem_size..].copy_from_slice(tail),
        Some(_) => {
            return err(format!(
                "bslz4: {} bytes after the last block and its {rest} raw bytes",
                src.len() - at - rest
            ))
        }
        None => {
            return err(format!(
                "bslz4: the body ends before its {rest} trailing raw bytes"
            ))
        }
    }
    Ok(())
}

/// Encodes `data` (elements of `elem_size` bytes) as a `bslz4` body with
/// blocks of `block` elements (a multiple of 8; [`default_block`] is
/// bitshuffle's own choice).
pub fn encode(data: &[u8], elem_size: usize, block: usize) -> Vec<u8> {
    assert!(matches!(elem_size, 1 | 2 | 4 | 8) && data.len().is_multiple_of(elem_size));
    assert!(block > 0 && block.is_multiple_of(8));
    let n = data.len() / elem_size;
    let mut out = Vec::with_capacity(12 + data.len() / 2);
    out.extend_from_slice(&(data.len() as u64).to_be_bytes());
    out.extend_from_slice(&((block * elem_size) as u32).to_be_bytes());
    let mut shuffled = vec![0u8; block * elem_size];
    let mut packed = vec![0u8; lz4_flex::block::get_maximum_output_size(block * elem_size)];
    let blocked = n / 8 * 8;
    let mut done = 0usize;
    while done < blocked {
        let count = block.min(blocked - done);
        let bytes = count * elem_size;
        shuffle(
            &data[done * elem_size..(done + count) * elem_size],
            elem_size,
            &mut shuffled[..bytes],
        );
        let len = lz4_flex::block::compress_into(&shuffled[..bytes], &mut packed)
            .expect("the output holds LZ4's worst case");
        out.extend_from_slice(&(len as u32).to_be_bytes());
        out.extend_from_slice(&packed[..len]);
        done += count;
    }
    out.extend_from_slice(&data[blocked * elem_size..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, e: usize, seed: u64) -> Vec<u8> {
        // detector-like: small values, a few large ones
        let mut s = seed;
        (0..n * e)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                if i % e == 0 {
                    (s >> 60) as u8
                } else if s >> 62 == 0 {
                    (s >> 33) as u8
                } else {
                    0
                }
            })
            .collect()
    }

    #[test]
    fn shuffle_is_bitshuffles_transpose() {
        // element i's bit k of byte b lands in row 8b + k, bit i
        let e = 2;
        let mut src = vec![0u8; 16 * e];
        src[3 * e + 1] = 0b0000_0100; // element 3, byte 1, bit 2
        src[9 * e] = 0b1000_0000; // element 9, byte 0, bit 7
        let mut out = vec![0u8; src.len()];
        shuffle(&src, e, &mut out);
        let row = 2;
        let mut want = vec![0u8; src.len()];
        want[(8 + 2) * row] = 1 << 3;
        want[7 * row + 1] = 1 << 1;
        assert_eq!(out, want);
        let mut back = vec![0u8; src.len()];
        unshuffle(&out, e, &mut back);
        assert_eq!(back, src);
    }

    #[test]
    fn round_trips_every_size_and_tail() {
        for e in [1, 2, 4, 8] {
            for n in [0, 1, 7, 8, 9, 100, 1023, 4096, 4103, 20_001] {
                let data = sample(n, e, (n * e) as u64);
                for block in [8, 64, default_block(e)] {
                    let enc = encode(&data, e, block);
                    assert_eq!(decode(&enc, e).unwrap(), data, "e {e} n {n} block {block}");
                }
            }
        }
    }

    #[test]
    fn our_lz4_blocks_decode_as_lz4_flex_writes_them() {
        for n in [0, 1, 5, 64, 1000, 70_000] {
            for seed in 0..4 {
                let data = sample(n, 1, seed);
                let packed = lz4_flex::block::compress(&data);
                let mut out = vec![0u8; data.len()];
                lz4_block(&packed, &mut out).unwrap();
                assert_eq!(out, data);
                // a wrong size, and every truncation, is an error
                let mut short = vec![0u8; data.len().saturating_sub(1)];
                if n > 0 {
                    assert!(lz4_block(&packed, &mut short).is_err());
                }
                for cut in 0..packed.len().min(40) {
                    let _ = lz4_block(&packed[..cut], &mut out);
                }
            }
        }
    }

    #[test]
    fn garbage_is_refused_without_a_panic() {
        let mut s = 1u64;
        for len in 0..400 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (s >> 56) as u8
                })
                .collect();
            let mut out = vec![0u8; 64];
            let _ = lz4_block(&junk, &mut out);
            let mut framed = ((len as u64) * 2).to_be_bytes().to_vec();
            framed.extend_from_slice(&16u32.to_be_bytes());
            framed.extend_from_slice(&junk);
            let _ = decode(&framed, 2);
        }
    }

    #[test]
    fn a_damaged_body_is_refused_not_trusted() {
        let data = sample(5000, 2, 7);
        let enc = encode(&data, 2, default_block(2));
        assert!(decode(&enc[..10], 2)
            .unwrap_err()
            .0
            .contains("12-byte header"));
        assert!(decode(&enc[..enc.len() - 3], 2).is_err());
        let mut extra = enc.clone();
        extra.push(0);
        assert!(decode(&extra, 2)
            .unwrap_err()
            .0
            .contains("after the last block"));
        let mut big = enc.clone();
        big[0..8].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(decode(&big, 2).is_err());
        let mut odd = enc;
        odd[8..12].copy_from_slice(&6u32.to_be_bytes());
        assert!(decode(&odd, 2).unwrap_err().0.contains("multiple of 8"));
        assert!(decode(&[0; 12], 3).is_err());
    }
}
