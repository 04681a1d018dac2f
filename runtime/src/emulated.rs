//! The emulated slot: runs a bundle's own process network (its `network.spn`
//! part) in hissc's cycle-accurate simulator, so it is bit-exact with the
//! hardware the bundle's bitstream was built from.

use crate::binding::Binding;
use crate::bundle::Bundle;
use crate::slot::{Slot, SlotError, SlotState};
use crate::stream::{exact_frames, Block, FrameRun, Interface, Out};
use hissc_aop::Array;
use hissc_sim::{SimResult, Streamer};
use hissc_spn::Network;

/// What is loaded.
struct Loaded {
    binding: Binding,
    net: Network,
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
        self.loaded.as_ref().map(|l| l.binding.kernel.as_str())
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
            Ok(Loaded {
                binding: Binding::new(m)?,
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
        l.binding.set_param(name, value)
    }

    fn run(&mut self, inputs: Vec<Array>) -> Result<Vec<Array>, SlotError> {
        let l = self.loaded.as_mut().ok_or(SlotError::NotLoaded)?;
        let bound = l.binding.bind(inputs)?;
        let b = &l.binding;
        let sim = hissc_sim::simulate_bound(&l.net, &b.ports, &bound, &b.states, false)
            .map_err(SlotError::Run)?;
        l.binding.states = sim.states.iter().map(|s| s.data.clone()).collect();
        Ok(bound.collect(sim.frames))
    }

    fn interface(&self) -> Result<Interface, SlotError> {
        let l = self.loaded.as_ref().ok_or(SlotError::NotLoaded)?;
        l.binding.interface()
    }

    fn begin(
        &mut self,
        fixed: Vec<Option<Vec<i128>>>,
    ) -> Result<Box<dyn FrameRun + '_>, SlotError> {
        let l = self.loaded.as_ref().ok_or(SlotError::NotLoaded)?;
        let scalars = l.binding.scalars()?;
        let mut s = Streamer::new(&l.net, &scalars, fixed, false).map_err(SlotError::Input)?;
        s.set_states(&l.binding.states).map_err(SlotError::Run)?;
        Ok(Box::new(SimRun::new(s)))
    }

    fn set_states(&mut self, states: Vec<Vec<i128>>) -> Result<(), SlotError> {
        let l = self.loaded.as_mut().ok_or(SlotError::NotLoaded)?;
        l.binding.set_states(states)
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
