//! The emulated slot: runs a bundle's own process network (its `network.spn`
//! part) in hissc's cycle-accurate simulator, so it is bit-exact with the
//! hardware the bundle's bitstream was built from.

use crate::bundle::Bundle;
use crate::slot::{Slot, SlotError, SlotState};
use crate::stream::{exact_frames, Block, FrameRun, Interface, Out};
use hissc_aop::{Array, Param};
use hissc_sim::{SimResult, Streamer};
use hissc_spn::Network;

/// What is loaded.
struct Loaded {
    kernel: String,
    net: Network,
    /// The kernel's parameters as binding needs them: the input streams, then the
    /// scalar parameters (each group in signature order).
    ports: Vec<Param>,
    /// The scalar parameters' values, as set.
    values: Vec<(String, Option<i128>)>,
    /// The outputs' dtypes and shapes.
    outputs: Vec<crate::OutType>,
    /// The states the next run starts from (zeros until set).
    states: Vec<Vec<i128>>,
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
            let ports = m.kernel_params()?;
            Ok(Loaded {
                kernel: m.kernel.clone(),
                ports,
                values: m.params.iter().map(|p| (p.name.clone(), None)).collect(),
                outputs: m.output_types()?,
                states: net
                    .states
                    .iter()
                    .map(|s| vec![0; hissc_aop::types::numel(&s.shape)])
                    .collect(),
                net,
            })
        };
        // the emulated device takes a design at once: operating, or as it was
        let l = attempt().map_err(SlotError::Load)?;
        self.loaded = Some(l);
        self.state = SlotState::Operating;
        Ok(())
    }

    fn unload(&mut self) {
        self.loaded = None;
        self.state = SlotState::Unknown;
    }

    fn set_param(&mut self, name: &str, value: i128) -> Result<(), SlotError> {
        let l = self.loaded.as_mut().ok_or(SlotError::NotLoaded)?;
        let Some(p) = l.ports.iter().find(|p| !p.is_stream() && p.name == name) else {
            let names: Vec<&str> = l.values.iter().map(|(n, _)| n.as_str()).collect();
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
        let r = p.range;
        if !(r.lo..=r.hi).contains(&value) {
            return Err(SlotError::Param(format!(
                "parameter `{name}` = {value} is outside its range {}..={} ({})",
                r.lo,
                r.hi,
                p.ty.dtype.numpy_name()
            )));
        }
        if let Some((_, v)) = l.values.iter_mut().find(|(n, _)| n == name) {
            *v = Some(value);
        }
        Ok(())
    }

    fn run(&mut self, inputs: Vec<Array>) -> Result<Vec<Array>, SlotError> {
        let l = self.loaded.as_ref().ok_or(SlotError::NotLoaded)?;
        let params = l.values()?;
        let streams: Vec<&Param> = l.ports.iter().filter(|p| p.is_stream()).collect();
        if inputs.len() != streams.len() {
            return Err(SlotError::Input(format!(
                "`{}` takes {} input streams, not {}",
                l.kernel,
                streams.len(),
                inputs.len()
            )));
        }
        // dtypes, shapes, batches and range promises as `hissc run` checks them
        let arrays = streams.iter().map(|p| p.name.clone()).zip(inputs).collect();
        let bound = hissc_aop::bind_params(&l.kernel, &l.ports, arrays, &params)
            .map_err(SlotError::Input)?;
        let sim = hissc_sim::simulate_bound(&l.net, &l.ports, &bound, &l.states, false)
            .map_err(SlotError::Run)?;
        let states = sim.states.iter().map(|s| s.data.clone()).collect();
        if let Some(l) = self.loaded.as_mut() {
            l.states = states;
        }
        Ok(bound.collect(sim.frames))
    }

    fn interface(&self) -> Result<Interface, SlotError> {
        let l = self.loaded.as_ref().ok_or(SlotError::NotLoaded)?;
        Ok(Interface {
            kernel: l.kernel.clone(),
            params: l.ports.clone(),
            values: l.values()?,
            outputs: l.outputs.clone(),
        })
    }

    fn begin(
        &mut self,
        fixed: Vec<Option<Vec<i128>>>,
    ) -> Result<Box<dyn FrameRun + '_>, SlotError> {
        let l = self.loaded.as_ref().ok_or(SlotError::NotLoaded)?;
        let scalars: Vec<i128> = l.values()?.into_iter().map(|(_, v)| v).collect();
        let mut s = Streamer::new(&l.net, &scalars, fixed, false).map_err(SlotError::Input)?;
        s.set_states(&l.states).map_err(SlotError::Run)?;
        Ok(Box::new(SimRun::new(s)))
    }

    fn set_states(&mut self, states: Vec<Vec<i128>>) -> Result<(), SlotError> {
        let l = self.loaded.as_mut().ok_or(SlotError::NotLoaded)?;
        if states.len() != l.states.len()
            || states
                .iter()
                .zip(&l.states)
                .any(|(a, b)| a.len() != b.len())
        {
            return Err(SlotError::Input(format!(
                "`{}` keeps {} states of {:?} elements",
                l.kernel,
                l.states.len(),
                l.states.iter().map(|s| s.len()).collect::<Vec<_>>()
            )));
        }
        l.states = states;
        Ok(())
    }
}

impl Loaded {
    /// The scalar parameters' values; every one must be set.
    fn values(&self) -> Result<Vec<(String, i128)>, SlotError> {
        self.values
            .iter()
            .map(|(n, v)| {
                v.map(|v| (n.clone(), v))
                    .ok_or_else(|| SlotError::Param(format!("parameter `{n}` is not set")))
            })
            .collect()
    }
}

/// Frames through the cycle-accurate simulator, a block at a time; after the
/// last, what the simulation measured.
pub struct SimRun {
    streamer: Option<Streamer>,
    /// The simulation's figures (cycles, latency, elements per cycle, the trace
    /// when asked for) once it has finished; its `frames` are empty (they went
    /// to the sink).
    pub result: Option<SimResult>,
}

impl SimRun {
    /// A run through `streamer`.
    pub fn new(streamer: Streamer) -> SimRun {
        SimRun {
            streamer: Some(streamer),
            result: None,
        }
    }
}

impl FrameRun for SimRun {
    fn push(&mut self, block: &Block) -> Result<Vec<Vec<Out>>, SlotError> {
        let s = self
            .streamer
            .as_mut()
            .ok_or_else(|| SlotError::Run("the run has finished".into()))?;
        let data = block.exact();
        let data: Vec<&[i128]> = data.iter().map(|d| &d[..]).collect();
        s.push(block.frames, &data)
            .map(exact_frames)
            .map_err(SlotError::Run)
    }

    fn finish(&mut self) -> Result<Vec<Vec<Out>>, SlotError> {
        let s = self
            .streamer
            .take()
            .ok_or_else(|| SlotError::Run("the run has finished".into()))?;
        let mut r = s.finish().map_err(SlotError::Run)?;
        let frames = std::mem::take(&mut r.frames);
        self.result = Some(r);
        Ok(exact_frames(frames))
    }

    fn states(&self) -> Vec<Array> {
        match (&self.streamer, &self.result) {
            (Some(s), _) => s.states().to_vec(),
            (None, Some(r)) => r.states.clone(),
            (None, None) => Vec::new(),
        }
    }
}
