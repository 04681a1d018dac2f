//! What a slot knows of the kernel it has loaded, whatever runs it: the ports
//! from the bundle's manifest, the scalar parameters' values as set, the
//! outputs' types and the states the next run starts from. The emulated slot
//! and the CPU slot hold one each, so a parameter, an input batch or a state is
//! checked and refused in the same words on both.

use crate::bundle::Manifest;
use crate::error::SlotError;
use crate::stream::Interface;
use crate::OutType;
use hissc_aop::{Array, Bound, Param};

/// A loaded kernel's interface and settings.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The `@kernel` function's name.
    pub kernel: String,
    /// The kernel's parameters as binding needs them: the input streams, then the
    /// scalar parameters (each group in signature order).
    pub ports: Vec<Param>,
    /// The scalar parameters' values, as set.
    values: Vec<(String, Option<i128>)>,
    /// The outputs' dtypes and shapes.
    pub outputs: Vec<OutType>,
    /// The states the next run starts from (zeros until set).
    pub states: Vec<Vec<i128>>,
}

impl Binding {
    /// The interface `m` describes, no parameter set, every state zeros.
    pub fn new(m: &Manifest) -> Result<Binding, String> {
        let states = m
            .state_types()?
            .iter()
            .map(|s| vec![0; s.ty.numel()])
            .collect();
        Ok(Binding {
            kernel: m.kernel.clone(),
            ports: m.kernel_params()?,
            values: m.params.iter().map(|p| (p.name.clone(), None)).collect(),
            outputs: m.output_types()?,
            states,
        })
    }

    /// Sets scalar parameter `name` to `value`, within its dtype and promise.
    pub fn set_param(&mut self, name: &str, value: i128) -> Result<(), SlotError> {
        let Some(p) = self.ports.iter().find(|p| !p.is_stream() && p.name == name) else {
            let names: Vec<&str> = self.values.iter().map(|(n, _)| n.as_str()).collect();
            return Err(SlotError::Param(format!(
                "`{}` has no parameter `{name}` (its parameters: {})",
                self.kernel,
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
        if let Some((_, v)) = self.values.iter_mut().find(|(n, _)| n == name) {
            *v = Some(value);
        }
        Ok(())
    }

    /// The scalar parameters' values; every one must be set.
    pub fn values(&self) -> Result<Vec<(String, i128)>, SlotError> {
        self.values
            .iter()
            .map(|(n, v)| {
                v.map(|v| (n.clone(), v))
                    .ok_or_else(|| SlotError::Param(format!("parameter `{n}` is not set")))
            })
            .collect()
    }

    /// The scalar parameters' values in signature order; every one must be set.
    pub fn scalars(&self) -> Result<Vec<i128>, SlotError> {
        Ok(self.values()?.into_iter().map(|(_, v)| v).collect())
    }

    /// The interface with the parameters' values (every one must be set).
    pub fn interface(&self) -> Result<Interface, SlotError> {
        Ok(Interface {
            kernel: self.kernel.clone(),
            params: self.ports.clone(),
            values: self.values()?,
            outputs: self.outputs.clone(),
        })
    }

    /// Binds a batch (one array per input stream, in signature order, each one
    /// frame or `[F, frame...]`) with the parameters as set: dtypes, shapes,
    /// batches and range promises as `hissc run` checks them.
    pub fn bind(&self, inputs: Vec<Array>) -> Result<Bound, SlotError> {
        let params = self.values()?;
        let streams: Vec<&Param> = self.ports.iter().filter(|p| p.is_stream()).collect();
        if inputs.len() != streams.len() {
            return Err(SlotError::Input(format!(
                "`{}` takes {} input streams, not {}",
                self.kernel,
                streams.len(),
                inputs.len()
            )));
        }
        let arrays = streams.iter().map(|p| p.name.clone()).zip(inputs).collect();
        hissc_aop::bind_params(&self.kernel, &self.ports, arrays, &params).map_err(SlotError::Input)
    }

    /// Sets the states the next run starts from: one per state, of its size.
    pub fn set_states(&mut self, states: Vec<Vec<i128>>) -> Result<(), SlotError> {
        if states.len() != self.states.len()
            || states
                .iter()
                .zip(&self.states)
                .any(|(a, b)| a.len() != b.len())
        {
            return Err(SlotError::Input(format!(
                "`{}` keeps {} states of {:?} elements",
                self.kernel,
                self.states.len(),
                self.states.iter().map(|s| s.len()).collect::<Vec<_>>()
            )));
        }
        self.states = states;
        Ok(())
    }
}
