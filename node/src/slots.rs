//! The node's slots: where objects' frames run (`hiss-node --slots
//! cpu:N,emulated:M`; by default one CPU slot per core).
//!
//! An object runs on the fastest kind of slot that can carry its kernel: a CPU
//! slot (the kernel compiled for the CPU, bit-exact with the interpreter) when
//! the node has one and the bundle holds its array ops (format version 2),
//! otherwise an emulated slot (the bundle's network in the cycle-accurate
//! simulator). It waits for a slot of that kind, never falls back to a slower
//! one while a faster one is busy. A slot keeps the kernel it ran last, so the
//! next object of the same kernel starts without loading it again; a free slot
//! that holds the object's kernel is taken before one that must load.
//! Slots that cannot carry frames (fpga-manager, iceprog) only program devices
//! and are not in the pool.

use hiss_runtime::{Bundle, CpuSlot, EmulatedSlot, Slot};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A kind of slot in the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The kernel as native code on one core.
    Cpu,
    /// The bundle's network in the cycle-accurate simulator.
    Emulated,
}

impl Kind {
    /// Its name in `--slots` and the metrics.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cpu => "cpu",
            Kind::Emulated => "emulated",
        }
    }
}

/// What `--slots` asks for: how many slots of each kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotsSpec(pub Vec<(Kind, usize)>);

impl SlotsSpec {
    /// One CPU slot per core the node may use.
    pub fn per_core() -> SlotsSpec {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        SlotsSpec(vec![(Kind::Cpu, cores)])
    }
}

impl std::str::FromStr for SlotsSpec {
    type Err = String;

    /// `cpu:4,emulated` (a kind without a count is one slot).
    fn from_str(s: &str) -> Result<SlotsSpec, String> {
        let mut out: Vec<(Kind, usize)> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, count) = match part.split_once(':') {
                Some((n, c)) => (
                    n,
                    c.parse::<usize>()
                        .ok()
                        .filter(|&c| c > 0)
                        .ok_or_else(|| format!("`{part}`: the count must be a positive integer"))?,
                ),
                None => (part, 1),
            };
            let kind = match name {
                "cpu" => Kind::Cpu,
                "emulated" => Kind::Emulated,
                other => {
                    return Err(format!(
                        "`{other}` is not a kind of slot that carries frames (cpu, emulated)"
                    ))
                }
            };
            match out.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, c)) => *c += count,
                None => out.push((kind, count)),
            }
        }
        if out.is_empty() {
            return Err("no slots: give at least one, as `cpu:4` or `emulated`".into());
        }
        Ok(SlotsSpec(out))
    }
}

impl fmt::Display for SlotsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, n)| format!("{}:{n}", k.name()))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// One slot of the pool and what it has done.
pub struct Member {
    /// The slot (an emulated slot is made again for another target).
    pub slot: Box<dyn Slot + Send>,
    /// The bundle it holds loaded (its sha256), if any.
    pub loaded: Option<String>,
    /// Its index in the pool's list of its kind (for the metrics).
    pub index: usize,
}

/// Counters of one slot.
#[derive(Debug, Default)]
struct Counters {
    busy_micros: AtomicU64,
    objects: AtomicU64,
    frames: AtomicU64,
    loads: AtomicU64,
}

/// The slots of one kind: the free ones, and a permit per free slot.
struct Group {
    kind: Kind,
    free: Mutex<Vec<Member>>,
    permits: Arc<tokio::sync::Semaphore>,
    counters: Vec<Counters>,
    /// Objects waiting for a slot of this kind.
    waiting: AtomicU64,
}

/// The node's slots.
pub struct Pool {
    groups: Vec<Group>,
    /// Do runs of kernels without states take the free slots of their kind too?
    split: bool,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("slots", &self.spec()).finish()
    }
}

/// A slot taken from the pool; it goes back when dropped.
pub struct Taken {
    member: Option<Member>,
    pool: Arc<Pool>,
    group: usize,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Taken {
    /// The slot with `bundle` (whose sha256 is `id`) loaded: loaded now when
    /// the slot holds another kernel (an emulated slot is made for the
    /// bundle's target).
    pub fn slot_with(&mut self, id: &str, bundle: &Bundle) -> Result<&mut dyn Slot, String> {
        let kind = self.kind();
        let m = self.member.as_mut().expect("a taken slot");
        if m.loaded.as_deref() != Some(id) {
            m.loaded = None;
            if kind == Kind::Emulated {
                m.slot = Box::new(EmulatedSlot::new(&bundle.manifest.target));
            }
            m.slot.load(bundle).map_err(|e| e.to_string())?;
            m.loaded = Some(id.to_string());
            self.pool.groups[self.group].counters[m.index]
                .loads
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(&mut *m.slot)
    }

    /// The kind of slot it is.
    pub fn kind(&self) -> Kind {
        self.pool.groups[self.group].kind
    }

    /// Every slot of this one's kind that is free now, taken (lent to this
    /// slot's run: they go back when dropped); none unless the pool splits
    /// objects ([`Pool::splitting`]).
    pub fn idle_of_kind(&self) -> Vec<Taken> {
        if !self.pool.split {
            return Vec::new();
        }
        let kind = self.kind();
        std::iter::from_fn(|| self.pool.try_take(kind, "")).collect()
    }

    /// Counts the time the slot was lent to another's run (its core busy).
    pub fn lent(&self, busy: Duration) {
        let m = self.member.as_ref().expect("a taken slot");
        self.pool.groups[self.group].counters[m.index]
            .busy_micros
            .fetch_add(busy.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts an object of `frames` frames that kept the slot `busy`.
    pub fn done(&self, frames: u64, busy: Duration) {
        let m = self.member.as_ref().expect("a taken slot");
        let c = &self.pool.groups[self.group].counters[m.index];
        c.objects.fetch_add(1, Ordering::Relaxed);
        c.frames.fetch_add(frames, Ordering::Relaxed);
        c.busy_micros
            .fetch_add(busy.as_micros() as u64, Ordering::Relaxed);
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        if let Some(m) = self.member.take() {
            self.pool.groups[self.group]
                .free
                .lock()
                .expect("slot pool")
                .push(m);
        }
    }
}

impl Pool {
    /// The slots `spec` asks for, nothing loaded.
    pub fn new(spec: &SlotsSpec) -> Pool {
        let groups = spec
            .0
            .iter()
            .map(|&(kind, n)| Group {
                kind,
                free: Mutex::new(
                    (0..n)
                        .map(|index| Member {
                            slot: match kind {
                                Kind::Cpu => Box::new(CpuSlot::new()),
                                Kind::Emulated => Box::new(EmulatedSlot::new("")),
                            },
                            loaded: None,
                            index,
                        })
                        .collect(),
                ),
                permits: Arc::new(tokio::sync::Semaphore::new(n)),
                counters: (0..n).map(|_| Counters::default()).collect(),
                waiting: AtomicU64::new(0),
            })
            .collect();
        Pool {
            groups,
            split: false,
        }
    }

    /// With `split`, a run of a kernel without states also takes the slots of
    /// its kind that are free when it starts ([`Taken::idle_of_kind`]).
    pub fn splitting(self, split: bool) -> Pool {
        Pool { split, ..self }
    }

    /// What the pool holds, as `--slots` writes it.
    pub fn spec(&self) -> SlotsSpec {
        SlotsSpec(
            self.groups
                .iter()
                .map(|g| (g.kind, g.counters.len()))
                .collect(),
        )
    }

    /// The kind an object of a kernel runs on: a CPU slot when the pool has one
    /// and the kernel can run there (`cpu_ok`), else an emulated slot; `None`
    /// when the pool has neither that can take it.
    pub fn kind_for(&self, cpu_ok: bool) -> Option<Kind> {
        let has = |k: Kind| self.groups.iter().any(|g| g.kind == k);
        if cpu_ok && has(Kind::Cpu) {
            Some(Kind::Cpu)
        } else if has(Kind::Emulated) {
            Some(Kind::Emulated)
        } else {
            None
        }
    }

    /// A free slot of `kind` at once, preferring one that holds bundle `id`.
    pub fn try_take(self: &Arc<Self>, kind: Kind, id: &str) -> Option<Taken> {
        let g = self.group(kind)?;
        let permit = self.groups[g].permits.clone().try_acquire_owned().ok()?;
        Some(self.member(g, id, permit))
    }

    /// A slot of `kind`, waiting for one to be free; `None` when the pool has
    /// no slot of that kind.
    pub async fn take(self: &Arc<Self>, kind: Kind, id: &str) -> Option<Taken> {
        let g = self.group(kind)?;
        let group = &self.groups[g];
        group.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = group.permits.clone().acquire_owned().await;
        group.waiting.fetch_sub(1, Ordering::Relaxed);
        Some(self.member(g, id, permit.ok()?))
    }

    fn group(&self, kind: Kind) -> Option<usize> {
        self.groups.iter().position(|g| g.kind == kind)
    }

    fn member(
        self: &Arc<Self>,
        g: usize,
        id: &str,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Taken {
        let mut free = self.groups[g].free.lock().expect("slot pool");
        // a permit is held for every slot out of the list: one is free
        let at = free
            .iter()
            .position(|m| m.loaded.as_deref() == Some(id))
            .unwrap_or(free.len() - 1);
        let member = free.swap_remove(at);
        Taken {
            member: Some(member),
            pool: self.clone(),
            group: g,
            _permit: permit,
        }
    }

    /// The slots' metrics in Prometheus's text format.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        // each counter family: its name, help and the value of one slot
        type Value = fn(&Counters) -> String;
        let families: [(&str, &str, Value); 4] = [
            (
                "hiss_slot_busy_seconds_total",
                "Time a slot spent running objects.",
                |c| format!("{:.6}", c.busy_micros.load(Ordering::Relaxed) as f64 / 1e6),
            ),
            ("hiss_slot_objects_total", "Objects a slot ran.", |c| {
                c.objects.load(Ordering::Relaxed).to_string()
            }),
            ("hiss_slot_frames_total", "Frames a slot ran.", |c| {
                c.frames.load(Ordering::Relaxed).to_string()
            }),
            (
                "hiss_slot_loads_total",
                "Kernels a slot loaded (a slot keeps the last one).",
                |c| c.loads.load(Ordering::Relaxed).to_string(),
            ),
        ];
        for (name, help, value) in families {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
            for g in &self.groups {
                for (n, c) in g.counters.iter().enumerate() {
                    let kind = g.kind.name();
                    let _ = writeln!(s, "{name}{{kind=\"{kind}\",slot=\"{n}\"}} {}", value(c));
                }
            }
        }
        let name = "hiss_slot_queue";
        let _ = writeln!(
            s,
            "# HELP {name} Objects waiting for a free slot of a kind.\n# TYPE {name} gauge"
        );
        for g in &self.groups {
            let _ = writeln!(
                s,
                "{name}{{kind=\"{}\"}} {}",
                g.kind.name(),
                g.waiting.load(Ordering::Relaxed)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_parsed_and_named() {
        let s: SlotsSpec = "cpu:4, emulated".parse().unwrap();
        assert_eq!(s.0, vec![(Kind::Cpu, 4), (Kind::Emulated, 1)]);
        assert_eq!(s.to_string(), "cpu:4,emulated:1");
        let s: SlotsSpec = "cpu:2,cpu:1".parse().unwrap();
        assert_eq!(s.0, vec![(Kind::Cpu, 3)]);
        for (bad, why) in [
            ("gpu:1", "`gpu` is not a kind of slot"),
            ("cpu:0", "the count must be a positive integer"),
            ("cpu:x", "the count must be a positive integer"),
            ("", "no slots"),
        ] {
            let e = bad.parse::<SlotsSpec>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn kinds_are_chosen_and_slots_come_back() {
        let pool = Arc::new(Pool::new(&"cpu:2".parse().unwrap()));
        assert_eq!(pool.kind_for(true), Some(Kind::Cpu));
        assert_eq!(pool.kind_for(false), None);
        let a = pool.try_take(Kind::Cpu, "k1").unwrap();
        let b = pool.try_take(Kind::Cpu, "k1").unwrap();
        assert!(
            pool.try_take(Kind::Cpu, "k1").is_none(),
            "two slots, both taken"
        );
        assert!(
            pool.try_take(Kind::Emulated, "k1").is_none(),
            "no emulated slot"
        );
        drop(b);
        drop(a);
        assert!(pool.try_take(Kind::Cpu, "k1").is_some());
        assert!(pool.render().contains("hiss_slot_queue{kind=\"cpu\"} 0"));
        let mixed = Pool::new(&"cpu:1,emulated".parse().unwrap());
        assert_eq!(mixed.kind_for(false), Some(Kind::Emulated));
    }
}
