//! The resource estimate against a device: before synthesis, whether a design
//! can fit at all, and which process (and kernel line) needs the most.
//!
//! [`hissc_spn::cost`] counts what each process keeps; this module places the
//! memories in the device's block RAMs (largest first; what does not fit spills
//! into logic), and compares the flip-flops, a lower bound on logic cells, with
//! the device's. A design over that bound cannot fit, whatever synthesis does,
//! so `hissc build` says so in seconds instead of after place and route.

use crate::device::{Family, Target};
use hissc_diagnostics::SourceFile;
use hissc_spn::cost::{self, Memory};
use hissc_spn::{Bus, Network, ProcKind};
use serde::Serialize;

/// Block RAMs of `family` a memory needs (the best of its shapes).
pub fn block_rams(m: Memory, family: Family) -> u64 {
    family
        .block_ram_shapes()
        .iter()
        .map(|&(words, bits)| m.words.div_ceil(words) * (m.bits as u64).div_ceil(bits as u64))
        .min()
        .unwrap_or(u64::MAX)
}

/// The estimate as the build report shows it.
#[derive(Serialize, Debug, Clone)]
pub struct Fit {
    /// Logic cells at least: flip-flops, memories that spill out of block RAM, and
    /// multipliers built from logic.
    pub logic_cells: u64,
    /// Flip-flops (registers, counters, small memories).
    pub flip_flops: u64,
    /// Block RAMs for the memories that get one.
    pub block_rams: u64,
    /// Memory bits in all.
    pub memory_bits: u64,
    /// Memory bits that do not fit the block RAMs and spill into logic.
    pub spilled_bits: u64,
    /// Look-up tables of selection logic at least (gearbox queues).
    pub selects: u64,
    /// Multipliers.
    pub multipliers: usize,
    /// The process that keeps the most, as `FILE:LINE: code (what)`.
    pub heaviest: String,
    /// That process and what it is.
    #[serde(skip)]
    pub heaviest_process: Option<(Bus, String)>,
    /// Where the numbers come from.
    pub source: String,
}

impl Fit {
    /// Why the design cannot fit `target` (`None` if it may).
    pub fn too_large(&self, target: Target) -> Option<String> {
        let (lcs, rams) = (target.logic_cells(), target.block_rams());
        let hard = self.flip_flops + self.spilled_bits;
        if self.selects > lcs {
            return Some(format!(
                "its gearbox queues need at least {} look-up tables of selection logic and the {} has {lcs} logic cells",
                self.selects,
                target.name(),
            ));
        }
        (hard > lcs).then(|| {
            let spill = if self.spilled_bits > 0 {
                format!(
                    " ({} of them memory bits beyond its {rams} block RAMs)",
                    self.spilled_bits
                )
            } else {
                String::new()
            };
            format!(
                "it needs at least {hard} flip-flops{spill} and the {} has {lcs} logic cells",
                target.name(),
            )
        })
    }
}

/// What the process `b` (which keeps `c`) is, in a few words.
fn what(net: &Network, b: Bus, c: &cost::Cost) -> String {
    let n = &net.nodes[b];
    match &n.kind {
        ProcKind::Delay(_, d) => format!("a delay line of {d} cycles × {} bits", n.width),
        ProcKind::Reduce(..) => "a reduction's accumulators".into(),
        ProcKind::Bincount(p) => format!("{} bin counters", p.bins),
        ProcKind::Pack { lanes, width, .. } => format!(
            "a gearbox queue of {} slots × {} bits, each chosen among {} lanes",
            hissc_spn::proc::pack::depth(net, lanes, *width) + 1,
            n.width,
            lanes.len()
        ),
        ProcKind::Broadcast(hissc_spn::ir::Broadcast { .. }) => "a broadcast's memory".into(),
        ProcKind::Lookup(t, _) => format!("a table of {} entries", t.len()),
        ProcKind::Load { state, lane, .. } => {
            let st = &net.states[*state as usize];
            let bits = c.memory_bits();
            let lanes = net
                .nodes
                .values()
                .filter(|x| matches!(x.kind, ProcKind::Load { state: s, .. } if s == *state))
                .count();
            let whole = bits * lanes as u64;
            let bank = if lanes > 1 {
                format!(", bank {lane} of {lanes}")
            } else {
                String::new()
            };
            format!(
                "state `{}`'s memory: {} ({} words × {} bits{bank})",
                st.name,
                bits_text(whole),
                c.memories.first().map_or(0, |m| m.words),
                n.width,
            )
        }
        ProcKind::Merge { .. } => "a join's queues".into(),
        ProcKind::Binary(..) if !c.multipliers.is_empty() => "a multiplier".into(),
        _ => format!("{} bits of pipeline registers", n.width),
    }
}

/// `16.5 Mbit`, `96 kbit`, `40 bits`.
fn bits_text(bits: u64) -> String {
    if bits >= 1 << 20 {
        format!("{:.1} Mbit", bits as f64 / (1u64 << 20) as f64)
    } else if bits >= 1 << 10 {
        format!("{:.1} kbit", bits as f64 / 1024.0)
    } else {
        format!("{bits} bits")
    }
}

/// The estimate of `net` on `target`.
pub fn fit(net: &Network, src: &SourceFile, target: Target) -> Fit {
    let est = cost::estimate(net);
    let mut mems: Vec<Memory> = est.memories().collect();
    mems.sort_by_key(|m| std::cmp::Reverse(m.size()));
    let (mut used, mut spilled) = (0u64, 0u64);
    for m in mems {
        let need = block_rams(m, target.family());
        if used + need <= target.block_rams() {
            used += need;
        } else {
            spilled += m.size();
        }
    }
    let top = est
        .processes
        .iter()
        .max_by_key(|(b, c)| (c.logic_cells() + c.memory_bits(), std::cmp::Reverse(*b)))
        .map(|(b, c)| (*b, what(net, *b, c)));
    let heaviest = top
        .as_ref()
        .map(|(b, what)| {
            let span = net.nodes[*b].span;
            let place = if span.is_none() {
                b.to_string()
            } else {
                let line = src.line(span);
                format!("{}:{line}: {}", src.base_name(), src.line_text(line).trim())
            };
            format!("{place} ({what})")
        })
        .unwrap_or_default();
    Fit {
        logic_cells: est.logic_cells() + spilled,
        flip_flops: est.flip_flops(),
        block_rams: used,
        memory_bits: est.memory_bits(),
        spilled_bits: spilled,
        selects: est.selects(),
        multipliers: est.multipliers(),
        heaviest,
        heaviest_process: top,
        source: "hissc's estimate from the process network (before synthesis)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_rams_take_the_best_shape() {
        assert_eq!(
            block_rams(
                Memory {
                    words: 256,
                    bits: 16
                },
                Family::Ice40
            ),
            1
        );
        assert_eq!(
            block_rams(
                Memory {
                    words: 4095,
                    bits: 33
                },
                Family::Ice40
            ),
            34
        );
        assert_eq!(
            block_rams(
                Memory {
                    words: 2048,
                    bits: 17
                },
                Family::Ice40
            ),
            9
        );
        assert_eq!(
            block_rams(
                Memory {
                    words: 100,
                    bits: 1
                },
                Family::Ice40
            ),
            1
        );
        // ECP5's DP16KD: 1024 x 18 holds a row of 18-bit words
        assert_eq!(
            block_rams(
                Memory {
                    words: 1023,
                    bits: 18
                },
                Family::Ecp5
            ),
            1
        );
    }
}
