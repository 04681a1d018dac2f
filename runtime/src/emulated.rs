//! The emulated slot: runs a bundle's own process network (its `network.spn`
//! part) in hissc's cycle-accurate simulator, so it is bit-exact with the
//! hardware the bundle's bitstream was built from.

use crate::bundle::{Bundle, PortSpec};
use crate::slot::{Slot, SlotError, SlotState};
use hissc_aop::{Array, DType, Interval};
use hissc_spn::Network;

/// What is loaded.
struct Loaded {
    kernel: String,
    net: Network,
    inputs: Vec<PortSpec>,
    params: Vec<(PortSpec, Interval)>,
    values: Vec<Option<i128>>,
}

/// A slot that emulates a device (`target`) in the simulator.
pub struct EmulatedSlot {
    target: String,
    state: SlotState,
    loaded: Option<Loaded>,
}

impl EmulatedSlot {
    /// An empty slot that takes bundles built for `target`.
    pub fn new(target: &str) -> EmulatedSlot {
        EmulatedSlot {
            target: target.to_string(),
            state: SlotState::Unknown,
            loaded: None,
        }
    }

    /// The loaded kernel's name.
    pub fn kernel(&self) -> Option<&str> {
        self.loaded.as_ref().map(|l| l.kernel.as_str())
    }
}

fn interval(p: &PortSpec) -> Result<Interval, String> {
    let dtype = DType::from_numpy_name(&p.dtype)
        .ok_or_else(|| format!("`{}` has an unknown dtype `{}`", p.name, p.dtype))?;
    match &p.range {
        None => Ok(Interval::of(dtype)),
        Some((lo, hi)) => match (lo.parse(), hi.parse()) {
            (Ok(lo), Ok(hi)) if lo <= hi => Ok(Interval::new(lo, hi)),
            _ => Err(format!("`{}` has a malformed range", p.name)),
        },
    }
}

impl Slot for EmulatedSlot {
    fn name(&self) -> String {
        format!("emulated {}", self.target)
    }

    fn state(&self) -> SlotState {
        self.state.clone()
    }

    fn load(&mut self, bundle: &Bundle) -> Result<(), SlotError> {
        let m = &bundle.manifest;
        if m.target != self.target {
            return Err(SlotError::Target {
                bundle: m.target.clone(),
                slot: self.target.clone(),
            });
        }
        let before = self.state.clone();
        self.state = SlotState::WriteInit;
        let attempt = || -> Result<Loaded, String> {
            let text = bundle
                .part("network.spn")
                .ok_or("the bundle has no network")?;
            let text = std::str::from_utf8(text).map_err(|_| "the network is not text")?;
            let net = hissc_spn::parse::parse(text).map_err(|e| format!("the network: {e}"))?;
            hissc_spn::verify::verify(&net)
                .map_err(|e| format!("the network does not verify: {e:?}"))?;
            if net.inputs.len() != m.inputs.len() || net.params.len() != m.params.len() {
                return Err("the network's ports are not the manifest's".into());
            }
            let params = m
                .params
                .iter()
                .map(|p| interval(p).map(|r| (p.clone(), r)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Loaded {
                kernel: m.kernel.clone(),
                net,
                inputs: m.inputs.clone(),
                values: vec![None; params.len()],
                params,
            })
        };
        self.state = SlotState::Write;
        match attempt() {
            Ok(l) => {
                self.state = SlotState::WriteComplete;
                self.loaded = Some(l);
                self.state = SlotState::Operating;
                Ok(())
            }
            Err(why) => {
                // the slot keeps what it had
                self.state = before;
                Err(SlotError::Load(why))
            }
        }
    }

    fn unload(&mut self) {
        self.loaded = None;
        self.state = SlotState::Unknown;
    }

    fn set_param(&mut self, name: &str, value: i128) -> Result<(), SlotError> {
        let l = self.loaded.as_mut().ok_or(SlotError::NotLoaded)?;
        let Some(i) = l.params.iter().position(|(p, _)| p.name == name) else {
            let names: Vec<&str> = l.params.iter().map(|(p, _)| p.name.as_str()).collect();
            return Err(SlotError::Param(format!(
                "`{}` has no parameter `{name}` (its parameters: {})",
                l.kernel,
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        };
        let (p, r) = &l.params[i];
        if !(r.lo..=r.hi).contains(&value) {
            return Err(SlotError::Param(format!(
                "parameter `{name}` = {value} is outside its range {}..={} ({})",
                r.lo, r.hi, p.dtype
            )));
        }
        l.values[i] = Some(value);
        Ok(())
    }

    fn run(&mut self, inputs: &[Array]) -> Result<Vec<Array>, SlotError> {
        let l = self.loaded.as_ref().ok_or(SlotError::NotLoaded)?;
        let mut params = Vec::with_capacity(l.values.len());
        for ((p, _), v) in l.params.iter().zip(&l.values) {
            params.push(
                v.ok_or_else(|| SlotError::Param(format!("parameter `{}` is not set", p.name)))?,
            );
        }
        if inputs.len() != l.inputs.len() {
            return Err(SlotError::Input(format!(
                "`{}` takes {} input streams, not {}",
                l.kernel,
                l.inputs.len(),
                inputs.len()
            )));
        }
        // each input: one frame, or a batch of them
        let mut frames: Option<usize> = None;
        let mut batched = false;
        for (a, p) in inputs.iter().zip(&l.inputs) {
            let frame: Vec<u32> = p.shape.iter().map(|&d| d as u32).collect();
            if a.dtype.numpy_name() != p.dtype {
                return Err(SlotError::Input(format!(
                    "input `{}` has dtype {}, the kernel expects {}",
                    p.name,
                    a.dtype.numpy_name(),
                    p.dtype
                )));
            }
            let f = if a.shape == frame {
                1
            } else if a.shape.len() == frame.len() + 1 && a.shape[1..] == frame[..] {
                batched = true;
                a.shape[0] as usize
            } else {
                return Err(SlotError::Input(format!(
                    "input `{}` has shape {:?}, the kernel expects {:?} or a batch of them",
                    p.name, a.shape, frame
                )));
            };
            let r = interval(p).map_err(SlotError::Input)?;
            if let Some(x) = a.data.iter().find(|x| !(r.lo..=r.hi).contains(*x)) {
                return Err(SlotError::Input(format!(
                    "input `{}` holds {x}, outside its range {}..={}",
                    p.name, r.lo, r.hi
                )));
            }
            match frames {
                Some(n) if n != f && f != 1 && n != 1 => {
                    return Err(SlotError::Input(format!(
                        "input `{}` has {f} frames and another input {n}",
                        p.name
                    )))
                }
                Some(n) => frames = Some(n.max(f)),
                None => frames = Some(f),
            }
        }
        let nf = frames.unwrap_or(1);
        // the simulator reads the batch in place: an input without a batch axis
        // is the same frame for every frame
        let streams: Vec<hissc_sim::Stream> = inputs
            .iter()
            .zip(&l.inputs)
            .map(|(a, p)| hissc_sim::Stream {
                data: &a.data,
                repeated: a.shape.len() == p.shape.len(),
            })
            .collect();
        let sim = hissc_sim::simulate_streams(&l.net, nf, &streams, &params, false)
            .map_err(SlotError::Run)?;
        let outputs = sim.frames.first().map_or(0, Vec::len);
        Ok((0..outputs)
            .map(|o| {
                let first = &sim.frames[0][o];
                if !batched {
                    return first.clone();
                }
                let mut shape = vec![nf as u32];
                shape.extend_from_slice(&first.shape);
                let data = sim
                    .frames
                    .iter()
                    .flat_map(|f| f[o].data.iter().copied())
                    .collect();
                Array::new(first.dtype, shape, data)
            })
            .collect())
    }
}
