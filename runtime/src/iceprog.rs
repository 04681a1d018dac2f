//! The iceprog slot: programs an iCE40 board over USB with icestorm's
//! `iceprog` (SRAM by default, so a reset or power cycle returns the board to
//! its flash design; flash when asked).
//!
//! As for the FPGA-manager slot, frames reach the board through a data path
//! this runtime does not drive: [`Slot::run`] says so.

use crate::bundle::{sha256_hex, Bundle};
use crate::slot::{Slot, SlotError, SlotState};
use crate::stream::{FrameRun, Interface};
use hissc_aop::Array;
use std::path::PathBuf;
use std::process::Command;

/// How to reach the board.
#[derive(Clone, Debug)]
pub struct IceprogConfig {
    /// The `iceprog` program.
    pub program: PathBuf,
    /// The FTDI device (`-d`), if not the first one found.
    pub device: Option<String>,
    /// Program the flash instead of the FPGA's SRAM.
    pub flash: bool,
    /// The device on the board (`ice40-hx8k`): bundles for others are refused.
    pub target: String,
}

impl IceprogConfig {
    /// `iceprog` from the PATH, SRAM, the first board found.
    pub fn new(target: &str) -> IceprogConfig {
        IceprogConfig {
            program: PathBuf::from("iceprog"),
            device: None,
            flash: false,
            target: target.to_string(),
        }
    }

    /// The arguments for programming `file`.
    pub fn args(&self, file: &str) -> Vec<String> {
        let mut a = Vec::new();
        if let Some(d) = &self.device {
            a.push("-d".to_string());
            a.push(d.clone());
        }
        if !self.flash {
            a.push("-S".to_string());
        }
        a.push(file.to_string());
        a
    }
}

/// A slot on an iCE40 board programmed with `iceprog`.
pub struct IceprogSlot {
    config: IceprogConfig,
    state: SlotState,
    loaded: Option<String>,
}

impl IceprogSlot {
    /// A slot on the board `config` names.
    pub fn new(config: IceprogConfig) -> IceprogSlot {
        IceprogSlot {
            config,
            state: SlotState::Unknown,
            loaded: None,
        }
    }

    /// The loaded kernel.
    pub fn kernel(&self) -> Option<&str> {
        self.loaded.as_deref()
    }
}

impl Slot for IceprogSlot {
    fn name(&self) -> String {
        format!(
            "iceprog {}",
            self.config.device.as_deref().unwrap_or("(first board)")
        )
    }

    fn state(&self) -> SlotState {
        self.state.clone()
    }

    fn load(&mut self, bundle: &Bundle) -> Result<(), SlotError> {
        if bundle.manifest.target != self.config.target {
            return Err(SlotError::Target {
                bundle: bundle.manifest.target.clone(),
                slot: self.config.target.clone(),
            });
        }
        let bits = bundle
            .part("bitstream.bin")
            .filter(|b| !b.is_empty())
            .ok_or_else(|| SlotError::Load("the bundle has no bitstream".into()))?;
        let dir = std::env::temp_dir().join(format!("hiss-iceprog-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| SlotError::Load(format!("cannot write the bitstream: {e}")))?;
        let file = dir.join(format!(
            "{}-{}.bin",
            bundle.manifest.kernel,
            &sha256_hex(bits)[..12]
        ));
        std::fs::write(&file, bits)
            .map_err(|e| SlotError::Load(format!("cannot write the bitstream: {e}")))?;
        self.state = SlotState::Write;
        let out = Command::new(&self.config.program)
            .args(self.config.args(&file.display().to_string()))
            .output();
        let _ = std::fs::remove_file(&file);
        // iceprog exits 0 even when it finds no board: its output says ABORT
        let why = match out {
            Err(e) => Some(format!(
                "cannot run `{}`: {e} (apt-get install fpga-icestorm)",
                self.config.program.display()
            )),
            Ok(o) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                if !o.status.success() || text.contains("ABORT") || text.contains("Can't find") {
                    let line = text
                        .lines()
                        .find(|l| l.contains("Can't") || l.contains("rror"))
                        .or_else(|| text.lines().next())
                        .unwrap_or("no output");
                    Some(format!("iceprog failed: {}", line.trim()))
                } else {
                    None
                }
            }
        };
        match why {
            None => {
                self.state = SlotState::Operating;
                self.loaded = Some(bundle.manifest.kernel.clone());
                Ok(())
            }
            Some(why) => {
                // SRAM programming that failed leaves the board as it was configured
                self.state = if self.loaded.is_some() {
                    SlotState::Operating
                } else {
                    SlotState::Error(why.clone())
                };
                Err(SlotError::Load(why))
            }
        }
    }

    fn unload(&mut self) {
        self.loaded = None;
        self.state = SlotState::Unknown;
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

impl IceprogSlot {
    fn no_data_path(&self) -> SlotError {
        if self.loaded.is_none() {
            return SlotError::NotLoaded;
        }
        SlotError::Run(
            "the iceprog slot programs the board; its frames come through the board's own data path, which this runtime does not drive (the emulated slot runs them with the same values)".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(target: &str) -> Bundle {
        let source = b"# k\n".to_vec();
        let m = crate::bundle::test_manifest("k", target, &source);
        Bundle::new(m, [b"bits".to_vec(), vec![], vec![], source, vec![]])
    }

    #[test]
    fn the_command_line() {
        let mut c = IceprogConfig::new("ice40-hx8k");
        assert_eq!(c.args("k.bin"), ["-S", "k.bin"]);
        c.device = Some("i:0x0403:0x6010".into());
        c.flash = true;
        assert_eq!(c.args("k.bin"), ["-d", "i:0x0403:0x6010", "k.bin"]);
    }

    /// Loads, again if the stand-in script was caught "busy": a script written
    /// by this multi-threaded test process can be briefly held open by a child
    /// another test forks (ETXTBSY), which is a property of the test, not the slot.
    fn load(slot: &mut IceprogSlot) -> Result<(), SlotError> {
        let mut last = Ok(());
        for _ in 0..20 {
            last = slot.load(&bundle("ice40-hx8k"));
            match &last {
                Err(SlotError::Load(why)) if why.contains("busy") => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                _ => break,
            }
        }
        last
    }

    /// A stand-in `iceprog` that records its arguments and the bitstream, and
    /// one that fails as iceprog does without a board.
    #[cfg(unix)]
    #[test]
    fn loads_and_failures() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let ok = dir.path().join("iceprog-ok");
        std::fs::write(
            &ok,
            format!(
                "#!/bin/sh\necho \"$@\" > {0}\ncat \"$2\" >> {0}\necho done\n",
                log.display()
            ),
        )
        .unwrap();
        let none = dir.path().join("iceprog-none");
        std::fs::write(
            &none,
            "#!/bin/sh\necho init..\necho \"Can't find iCE FTDI USB device (vendor_id 0x0403, device_id 0x6010 or 0x6014).\"\necho ABORT.\n",
        )
        .unwrap();
        for p in [&ok, &none] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut cfg = IceprogConfig::new("ice40-hx8k");
        cfg.program = ok.clone();
        let mut slot = IceprogSlot::new(cfg.clone());
        load(&mut slot).unwrap();
        assert_eq!(slot.state(), SlotState::Operating);
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(logged.starts_with("-S "), "{logged}");
        assert!(logged.ends_with("bits"), "{logged}");
        assert!(matches!(
            slot.load(&bundle("ice40-up5k")),
            Err(SlotError::Target { .. })
        ));
        // no board: the failure is named; the loaded design stays
        slot.config.program = none;
        let e = load(&mut slot).unwrap_err().to_string();
        assert!(e.contains("Can't find iCE FTDI USB device"), "{e}");
        assert_eq!(slot.state(), SlotState::Operating);
        // a fresh slot that fails is in error; a missing program says what to install
        let mut fresh = IceprogSlot::new(IceprogConfig {
            program: dir.path().join("no-such-iceprog"),
            ..cfg
        });
        let e = fresh.load(&bundle("ice40-hx8k")).unwrap_err().to_string();
        assert!(e.contains("apt-get install fpga-icestorm"), "{e}");
        assert!(matches!(fresh.state(), SlotState::Error(_)));
    }

    /// The real iceprog, when installed, with no board attached: a clean failure.
    #[test]
    fn the_real_iceprog_without_a_board() {
        if Command::new("iceprog").arg("-h").output().is_err() {
            eprintln!("\n!!!!!!!! SKIPPED the_real_iceprog_without_a_board: iceprog is not installed (apt-get install fpga-icestorm) !!!!!!!!\n");
            return;
        }
        let mut slot = IceprogSlot::new(IceprogConfig::new("ice40-hx8k"));
        match slot.load(&bundle("ice40-hx8k")) {
            Err(SlotError::Load(why)) => assert!(why.contains("iceprog failed"), "{why}"),
            other => eprintln!("a board is attached? {other:?}"),
        }
    }
}
