//! The FPGA-manager slot: loads a bundle's bitstream through Linux's FPGA
//! manager (`/sys/class/fpga_manager/fpgaN`).
//!
//! Loading writes the bitstream into the firmware directory (`/lib/firmware`),
//! the flags into `flags`, the file's name into `firmware` (the interface of
//! the vendor kernels that expose one, such as Xilinx's and Intel's SoC
//! kernels), then polls `state` until the manager says `operating`, reports an
//! error state (with the `status` bits read back), or the timeout passes. A
//! failed load reprograms the bundle that was loaded before, so the slot is left
//! as it was.
//!
//! Frames reach a programmed FPGA through the node's DMA engine, which this
//! runtime does not drive: [`Slot::run`] says so instead of pretending. Use the
//! emulated slot to run frames with the same values.

use crate::bundle::{sha256_hex, Bundle};
use crate::slot::{Slot, SlotError, SlotState};
use crate::stream::{FrameRun, Interface};
use hissc_aop::Array;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the manager and its firmware live, and how long a load may take.
#[derive(Clone, Debug)]
pub struct FpgaManagerConfig {
    /// The manager's sysfs directory (`/sys/class/fpga_manager/fpga0`).
    pub manager: PathBuf,
    /// Where the kernel's firmware loader finds files (`/lib/firmware`).
    pub firmware_dir: PathBuf,
    /// The device the manager programs (`ice40-hx8k`): bundles for others are refused.
    pub target: String,
    /// How long a load may take.
    pub timeout: Duration,
    /// How often `state` is read while loading.
    pub poll: Duration,
    /// How long a state that has not moved since the write is taken as stale.
    pub settle: Duration,
}

impl FpgaManagerConfig {
    /// The usual paths for manager `fpgaN` and a device.
    pub fn linux(n: u32, target: &str) -> FpgaManagerConfig {
        FpgaManagerConfig {
            manager: PathBuf::from(format!("/sys/class/fpga_manager/fpga{n}")),
            firmware_dir: PathBuf::from("/lib/firmware"),
            target: target.to_string(),
            timeout: Duration::from_secs(10),
            poll: Duration::from_millis(20),
            settle: Duration::from_millis(200),
        }
    }
}

/// A slot on a Linux FPGA manager.
pub struct FpgaManagerSlot {
    config: FpgaManagerConfig,
    loaded: Option<Bundle>,
}

/// The manager's states, as its `state` attribute spells them.
fn state_of(text: &str) -> SlotState {
    match text.trim() {
        "operating" => SlotState::Operating,
        "write init" => SlotState::WriteInit,
        "write" => SlotState::Write,
        "write complete" => SlotState::WriteComplete,
        s if s.contains("error") => SlotState::Error(s.to_string()),
        _ => SlotState::Unknown,
    }
}

impl FpgaManagerSlot {
    /// A slot on the manager `config` names.
    pub fn new(config: FpgaManagerConfig) -> FpgaManagerSlot {
        FpgaManagerSlot {
            config,
            loaded: None,
        }
    }

    /// The loaded bundle's kernel.
    pub fn kernel(&self) -> Option<&str> {
        self.loaded.as_ref().map(|b| b.manifest.kernel.as_str())
    }

    fn attr(&self, name: &str) -> PathBuf {
        self.config.manager.join(name)
    }

    fn write_attr(&self, name: &str, value: &str) -> Result<(), String> {
        std::fs::write(self.attr(name), value)
            .map_err(|e| format!("cannot write `{}`: {e}", self.attr(name).display()))
    }

    /// Programs `bundle`'s bitstream and waits for the manager.
    fn program(&self, bundle: &Bundle) -> Result<(), String> {
        let bits = bundle
            .part("bitstream.bin")
            .filter(|b| !b.is_empty())
            .ok_or("the bundle has no bitstream")?;
        let file = format!(
            "hiss-{}-{}.bin",
            bundle.manifest.kernel,
            &sha256_hex(bits)[..12]
        );
        let path = self.config.firmware_dir.join(&file);
        std::fs::write(&path, bits)
            .map_err(|e| format!("cannot write the firmware `{}`: {e}", path.display()))?;
        let read_state = || {
            std::fs::read_to_string(self.attr("state"))
                .map_err(|e| format!("cannot read `{}`: {e}", self.attr("state").display()))
        };
        let before = read_state()?;
        self.write_attr("flags", "0")?;
        self.write_attr("firmware", &file)?;
        // Kernels whose `firmware` write returns when programming is over leave
        // the final state at once; others walk through `write init` and `write`.
        // A final state counts once the state has moved, or after `settle`.
        let start = Instant::now();
        let mut moved = false;
        loop {
            let state = read_state()?;
            moved |= state != before;
            let settled = moved || start.elapsed() >= self.config.settle;
            match state_of(&state) {
                SlotState::Operating if settled => return Ok(()),
                SlotState::Error(s) if settled => {
                    let status = std::fs::read_to_string(self.attr("status")).unwrap_or_default();
                    return Err(format!(
                        "the FPGA manager reports `{s}` (status: {})",
                        if status.trim().is_empty() {
                            "none"
                        } else {
                            status.trim()
                        }
                    ));
                }
                _ if start.elapsed() > self.config.timeout => {
                    return Err(format!(
                        "the FPGA manager did not reach `operating` within {:?} (it says `{}`)",
                        self.config.timeout,
                        state.trim()
                    ))
                }
                _ => std::thread::sleep(self.config.poll),
            }
        }
    }
}

impl Slot for FpgaManagerSlot {
    fn name(&self) -> String {
        format!("fpga-manager {}", self.config.manager.display())
    }

    fn state(&self) -> SlotState {
        match std::fs::read_to_string(self.attr("state")) {
            Ok(s) => state_of(&s),
            Err(_) => SlotState::Unknown,
        }
    }

    fn load(&mut self, bundle: &Bundle) -> Result<(), SlotError> {
        if bundle.manifest.target != self.config.target {
            return Err(SlotError::Target {
                bundle: bundle.manifest.target.clone(),
                slot: self.config.target.clone(),
            });
        }
        match self.program(bundle) {
            Ok(()) => {
                self.loaded = Some(bundle.clone());
                Ok(())
            }
            Err(why) => {
                // leave the slot as it was: the previous design goes back in
                if let Some(prev) = &self.loaded {
                    if let Err(again) = self.program(prev) {
                        self.loaded = None;
                        return Err(SlotError::Load(format!(
                            "{why}; and the previous kernel did not load again: {again}"
                        )));
                    }
                }
                Err(SlotError::Load(why))
            }
        }
    }

    fn unload(&mut self) {
        self.loaded = None;
    }

    fn set_param(&mut self, _name: &str, _value: i128) -> Result<(), SlotError> {
        Err(self.no_data_path())
    }

    fn run(&mut self, _inputs: Vec<Array>) -> Result<Vec<Array>, SlotError> {
        Err(self.no_data_path())
    }

    fn interface(&self) -> Result<Interface, SlotError> {
        Err(self.no_data_path())
    }

    fn begin(
        &mut self,
        _fixed: Vec<Option<Vec<i128>>>,
    ) -> Result<Box<dyn FrameRun + '_>, SlotError> {
        Err(self.no_data_path())
    }
}

impl FpgaManagerSlot {
    fn no_data_path(&self) -> SlotError {
        if self.loaded.is_none() {
            return SlotError::NotLoaded;
        }
        SlotError::Run(
            "the fpga-manager slot programs the FPGA; its frames come through the node's DMA engine, which this runtime does not drive (the emulated slot runs them with the same values)".into(),
        )
    }
}

/// Whether `dir` looks like an FPGA manager's sysfs directory.
pub fn is_manager(dir: &Path) -> bool {
    dir.join("state").is_file() && dir.join("name").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn bundle(kernel: &str, target: &str) -> Bundle {
        let source = format!("# {kernel}\n").into_bytes();
        let m = crate::bundle::test_manifest(kernel, target, &source);
        let bits = format!("bitstream of {kernel}").into_bytes();
        Bundle::new(m, [bits, vec![], vec![], source, vec![]])
    }

    /// A directory laid out as the kernel's sysfs for `fpga0`, and a thread that
    /// plays the manager: when a firmware name is written it walks `state`
    /// through `write init` and `write` to `operating`, or to `write error` for
    /// a file whose name holds `bad`, or stays in `write` for one that holds `hang`.
    struct FakeManager {
        dir: tempfile::TempDir,
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<Vec<String>>>,
    }

    impl FakeManager {
        fn start() -> FakeManager {
            let dir = tempfile::tempdir().unwrap();
            let m = dir.path().join("fpga0");
            std::fs::create_dir_all(&m).unwrap();
            std::fs::create_dir_all(dir.path().join("firmware")).unwrap();
            for (f, v) in [
                ("name", "iCE40 SPI manager\n"),
                ("state", "unknown\n"),
                ("status", ""),
                ("flags", "0"),
                ("firmware", ""),
            ] {
                std::fs::write(m.join(f), v).unwrap();
            }
            let stop = Arc::new(AtomicBool::new(false));
            let (s, fw) = (stop.clone(), dir.path().join("firmware"));
            let thread = std::thread::spawn(move || {
                let mut seen = String::new();
                let mut loaded = Vec::new();
                while !s.load(Ordering::SeqCst) {
                    let name = std::fs::read_to_string(m.join("firmware")).unwrap_or_default();
                    // a name caught half-written names no file yet: look again
                    if !name.is_empty() && name != seen && fw.join(&name).is_file() {
                        seen = name.clone();
                        // attributes change at once, as sysfs's do: write aside, rename
                        let set = |v: &str| {
                            let tmp = m.join(".state");
                            std::fs::write(&tmp, format!("{v}\n")).unwrap();
                            std::fs::rename(&tmp, m.join("state")).unwrap();
                        };
                        set("write init");
                        std::thread::sleep(Duration::from_millis(5));
                        set("write");
                        std::thread::sleep(Duration::from_millis(5));
                        if name.contains("bad") {
                            std::fs::write(m.join("status"), "reconfig error\n").unwrap();
                            set("write error");
                        } else if !name.contains("hang") {
                            std::fs::write(m.join("status"), "").unwrap();
                            set("operating");
                            loaded.push(name);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                loaded
            });
            FakeManager {
                dir,
                stop,
                thread: Some(thread),
            }
        }

        fn config(&self) -> FpgaManagerConfig {
            FpgaManagerConfig {
                manager: self.dir.path().join("fpga0"),
                firmware_dir: self.dir.path().join("firmware"),
                target: "ice40-hx8k".into(),
                timeout: Duration::from_millis(1500),
                poll: Duration::from_millis(2),
                settle: Duration::from_millis(100),
            }
        }

        /// The firmware names the manager programmed successfully, in order.
        fn finish(mut self) -> Vec<String> {
            self.stop.store(true, Ordering::SeqCst);
            self.thread.take().unwrap().join().unwrap()
        }
    }

    #[test]
    fn loads_walk_the_managers_states() {
        let fake = FakeManager::start();
        let mut slot = FpgaManagerSlot::new(fake.config());
        assert!(is_manager(&fake.config().manager));
        assert_eq!(slot.state(), SlotState::Unknown);
        slot.load(&bundle("good", "ice40-hx8k")).unwrap();
        assert_eq!(slot.state(), SlotState::Operating);
        assert_eq!(slot.kernel(), Some("good"));
        // another device: refused before anything is written
        let e = slot.load(&bundle("other", "ice40-up5k")).unwrap_err();
        assert!(matches!(e, SlotError::Target { .. }), "{e}");
        // a failed write: the error and status are read back, and the previous kernel is programmed again
        let e = slot
            .load(&bundle("bad", "ice40-hx8k"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("reports `write error` (status: reconfig error)"),
            "{e}"
        );
        assert_eq!(slot.kernel(), Some("good"));
        assert_eq!(slot.state(), SlotState::Operating);
        // a manager that never finishes: a timeout, and again the previous kernel
        let e = slot
            .load(&bundle("hang", "ice40-hx8k"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("did not reach `operating`"), "{e}");
        assert!(e.contains("it says `write`"), "{e}");
        assert_eq!(slot.kernel(), Some("good"));
        // no data path: said, not pretended
        let e = slot.run(vec![]).unwrap_err().to_string();
        assert!(e.contains("DMA engine"), "{e}");
        slot.unload();
        assert_eq!(slot.run(vec![]).unwrap_err(), SlotError::NotLoaded);
        let loaded = fake.finish();
        assert_eq!(loaded.len(), 3, "{loaded:?}");
        assert!(
            loaded.iter().all(|n| n.starts_with("hiss-good-")),
            "{loaded:?}"
        );
    }
}
