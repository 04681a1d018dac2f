//! DECTRIS Stream V2 image messages: CBOR maps (RFC 8949) with `type:
//! "image"` whose `data` maps each channel name to a row-major
//! multi-dimensional array (tag 40: `[[height, width], typed array]`), the
//! typed array an RFC 8746 tag (64 `uint8`, 69 `uint16` and 70 `uint32`
//! little-endian) around a byte string, or around DECTRIS's compression tag
//! 56500 `["bslz4", elem_size, bytes]` (or `["lz4", 0, bytes]`).
//!
//! A body is a CBOR sequence (RFC 8742) of such messages: `start` and `end`
//! messages among them are passed over, each image gives one frame, in order.
//! Every image must have the first one's channel, dtype and shape.

use super::{bslz4, Frames};
use ciborium::value::Value;
use hissc_aop::DType;

const MULTI_DIM_ROW_MAJOR: u64 = 40;
const DECTRIS_COMPRESSION: u64 = 56500;

/// The value of key `k` of a CBOR map.
fn field<'a>(map: &'a [(Value, Value)], k: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(key, _)| matches!(key, Value::Text(t) if t == k))
        .map(|(_, v)| v)
}

/// The dtype an RFC 8746 typed-array tag names (little-endian unsigned only:
/// what detectors send).
fn typed(tag: u64) -> Result<DType, String> {
    match tag {
        64 => Ok(DType::U8),
        69 => Ok(DType::U16),
        70 => Ok(DType::U32),
        _ => Err(format!(
            "typed array tag {tag} (hiss takes 64 uint8, 69 uint16 and 70 uint32 little-endian)"
        )),
    }
}

/// A byte string, or DECTRIS's compressed one, decompressed.
fn bytes_of(v: &Value, elem_size: usize) -> Result<Vec<u8>, String> {
    match v {
        Value::Bytes(b) => Ok(b.clone()),
        Value::Tag(DECTRIS_COMPRESSION, inner) => {
            let Value::Array(parts) = &**inner else {
                return Err("tag 56500 does not hold [algorithm, modifier, bytes]".into());
            };
            let (Some(Value::Text(algo)), Some(Value::Bytes(data))) = (parts.first(), parts.get(2))
            else {
                return Err("tag 56500 does not hold [algorithm, modifier, bytes]".into());
            };
            match algo.as_str() {
                "bslz4" => {
                    let e = match parts.get(1) {
                        Some(Value::Integer(i)) => u64::try_from(*i).unwrap_or(0) as usize,
                        _ => 0,
                    };
                    if e != elem_size {
                        return Err(format!(
                            "bslz4 of {e}-byte elements inside a typed array of {elem_size}-byte elements"
                        ));
                    }
                    bslz4::decode(data, e).map_err(|e| e.to_string())
                }
                other => Err(format!("compression `{other}` (hiss decodes `bslz4`)")),
            }
        }
        _ => Err("the typed array holds neither a byte string nor tag 56500".into()),
    }
}

/// One channel's image: dtype, `[height, width]`, elements.
fn image(v: &Value) -> Result<(DType, Vec<u32>, Vec<u8>), String> {
    let Value::Tag(MULTI_DIM_ROW_MAJOR, inner) = v else {
        return Err("a channel's data is not a row-major multi-dimensional array (tag 40)".into());
    };
    let Value::Array(parts) = &**inner else {
        return Err("tag 40 does not hold [dimensions, typed array]".into());
    };
    let (Some(Value::Array(dims)), Some(Value::Tag(t, arr))) = (parts.first(), parts.get(1)) else {
        return Err("tag 40 does not hold [dimensions, typed array]".into());
    };
    let dtype = typed(*t)?;
    let shape: Vec<u32> = dims
        .iter()
        .map(|d| match d {
            Value::Integer(i) => {
                u32::try_from(*i).map_err(|_| "a dimension beyond 2^32".to_string())
            }
            _ => Err("a dimension that is not an integer".to_string()),
        })
        .collect::<Result<_, _>>()?;
    let data = bytes_of(arr, dtype.bytes())?;
    let want = shape.iter().map(|&d| d as usize).product::<usize>() * dtype.bytes();
    if data.len() != want {
        return Err(format!(
            "an image of shape {shape:?} holds {} bytes, not {want}",
            data.len()
        ));
    }
    Ok((dtype, shape, data))
}

/// A message of a body and where it is (`start..end`, in bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The message's bytes in the body.
    pub range: std::ops::Range<u64>,
    /// Its image (the chosen channel), or `None` for a `start` or `end` message.
    pub image: Option<Image>,
}

/// An image message's channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// numpy's dtype of a pixel.
    pub dtype: DType,
    /// `[height, width]`.
    pub shape: Vec<u32>,
    /// The pixels, little-endian, decompressed.
    pub data: Vec<u8>,
}

/// The messages of a body, read one at a time from `r` (memory: one message),
/// each image's channel `channel` (the only one when `None`).
pub struct Messages<R> {
    r: R,
    at: u64,
    peeked: Option<u8>,
    index: usize,
    channel: Option<String>,
}

impl<R: std::io::Read> std::io::Read for Messages<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = match self.peeked.take() {
            Some(b) => {
                buf[0] = b;
                1
            }
            None => self.r.read(buf)?,
        };
        self.at += n as u64;
        Ok(n)
    }
}

impl<R: std::io::Read> Messages<R> {
    /// Messages of the body `r`.
    pub fn new(r: R, channel: Option<&str>) -> Self {
        Messages {
            r,
            at: 0,
            peeked: None,
            index: 0,
            channel: channel.map(str::to_string),
        }
    }

    /// Is the body at its end?
    fn at_end(&mut self) -> Result<bool, String> {
        if self.peeked.is_some() {
            return Ok(false);
        }
        let mut b = [0u8; 1];
        loop {
            match self.r.read(&mut b) {
                Ok(0) => return Ok(true),
                Ok(_) => {
                    self.peeked = Some(b[0]);
                    return Ok(false);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("the body cannot be read: {e}")),
            }
        }
    }

    /// The next message, `None` at the body's end.
    pub fn next_message(&mut self) -> Result<Option<Message>, String> {
        if self.at_end()? {
            return Ok(None);
        }
        let (i, start) = (self.index, self.at);
        self.index += 1;
        let msg: Value = ciborium::de::from_reader(&mut *self)
            .map_err(|e| format!("message {i} (byte {start}): not CBOR: {e}"))?;
        let range = start..self.at;
        let Value::Map(map) = &msg else {
            return Err(format!("message {i} (byte {start}) is not a CBOR map"));
        };
        match field(map, "type") {
            Some(Value::Text(t)) if t == "image" => {}
            Some(Value::Text(_)) => return Ok(Some(Message { range, image: None })),
            _ => return Err(format!("message {i} (byte {start}) has no `type`")),
        }
        let Some(Value::Map(data)) = field(map, "data") else {
            return Err(format!("image message {i} has no `data` map"));
        };
        let chosen = match &self.channel {
            Some(c) => data
                .iter()
                .find(|(k, _)| matches!(k, Value::Text(t) if t == c)),
            None if data.len() == 1 => data.first(),
            None => {
                let names: Vec<String> = data
                    .iter()
                    .filter_map(|(k, _)| match k {
                        Value::Text(t) => Some(format!("`{t}`")),
                        _ => None,
                    })
                    .collect();
                return Err(format!(
                    "the images have {} channels ({}): name one (`FILE.cbor:CHANNEL`)",
                    data.len(),
                    names.join(", ")
                ));
            }
        };
        let Some((_, v)) = chosen else {
            return Err(format!(
                "image message {i} has no channel `{}`",
                self.channel.as_deref().unwrap_or_default()
            ));
        };
        let (dtype, shape, data) = image(v).map_err(|e| format!("image message {i}: {e}"))?;
        Ok(Some(Message {
            range,
            image: Some(Image { dtype, shape, data }),
        }))
    }
}

/// The frames of a body of Stream V2 messages: each `image` message's channel
/// `channel` (the only one when `None`).
pub fn frames(body: &[u8], channel: Option<&str>) -> Result<Frames, String> {
    let mut msgs = Messages::new(body, channel);
    let mut out: Option<Frames> = None;
    while let Some(m) = msgs.next_message()? {
        let Some(img) = m.image else { continue };
        match &mut out {
            None => {
                out = Some(Frames {
                    dtype: img.dtype,
                    frame: img.shape,
                    count: 1,
                    data: img.data,
                })
            }
            Some(f) if f.dtype == img.dtype && f.frame == img.shape => {
                f.count += 1;
                f.data.extend_from_slice(&img.data);
            }
            Some(f) => {
                return Err(format!(
                    "image message {} is `{}` {:?}, the first was `{}` {:?}",
                    msgs.index - 1,
                    img.dtype.numpy_name(),
                    img.shape,
                    f.dtype.numpy_name(),
                    f.frame
                ))
            }
        }
    }
    out.ok_or_else(|| "no image message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_msg(id: u64, pixels: &[u16], h: u64, w: u64, compress: bool) -> Vec<u8> {
        let raw: Vec<u8> = pixels.iter().flat_map(|p| p.to_le_bytes()).collect();
        let arr = if compress {
            Value::Tag(
                DECTRIS_COMPRESSION,
                Box::new(Value::Array(vec![
                    Value::Text("bslz4".into()),
                    Value::Integer(2.into()),
                    Value::Bytes(bslz4::encode(&raw, 2, bslz4::default_block(2))),
                ])),
            )
        } else {
            Value::Bytes(raw)
        };
        let data = Value::Tag(
            MULTI_DIM_ROW_MAJOR,
            Box::new(Value::Array(vec![
                Value::Array(vec![Value::Integer(h.into()), Value::Integer(w.into())]),
                Value::Tag(69, Box::new(arr)),
            ])),
        );
        let msg = Value::Map(vec![
            (Value::Text("type".into()), Value::Text("image".into())),
            (Value::Text("image_id".into()), Value::Integer(id.into())),
            (
                Value::Text("data".into()),
                Value::Map(vec![(Value::Text("threshold_1".into()), data)]),
            ),
        ]);
        let mut out = Vec::new();
        ciborium::ser::into_writer(&msg, &mut out).unwrap();
        out
    }

    #[test]
    fn images_become_frames_and_other_messages_are_passed_over() {
        let start = {
            let mut out = Vec::new();
            let m = Value::Map(vec![(
                Value::Text("type".into()),
                Value::Text("start".into()),
            )]);
            ciborium::ser::into_writer(&m, &mut out).unwrap();
            out
        };
        let a: Vec<u16> = (0..12).collect();
        let b: Vec<u16> = (100..112).collect();
        let mut body = start;
        body.extend(image_msg(0, &a, 3, 4, true));
        body.extend(image_msg(1, &b, 3, 4, false));
        let f = frames(&body, None).unwrap();
        assert_eq!(
            (f.dtype, f.frame.clone(), f.count),
            (DType::U16, vec![3, 4], 2)
        );
        let want: Vec<u8> = a.iter().chain(&b).flat_map(|p| p.to_le_bytes()).collect();
        assert_eq!(f.data, want);
        assert_eq!(frames(&body, Some("threshold_1")).unwrap(), f);
        assert!(frames(&body, Some("threshold_2"))
            .unwrap_err()
            .contains("no channel"));
        // a differently shaped image is refused, naming it
        body.extend(image_msg(2, &a, 4, 3, false));
        assert!(frames(&body, None).unwrap_err().contains("image message 3"));
        assert!(frames(b"\xff\x00", None).unwrap_err().contains("not CBOR"));
        // each message's bytes are where the reader says
        let mut m = Messages::new(&body[..], None);
        let mut ends = Vec::new();
        while let Some(msg) = m.next_message().unwrap_or(None) {
            ends.push(msg.range);
        }
        assert_eq!(ends[0].start, 0);
        assert!(ends.windows(2).all(|w| w[0].end == w[1].start));
    }
}
