//! `--verify-sample P`: a fraction of the objects that ran on a CPU slot run
//! again in an emulated slot (the cycle-accurate simulator, bit-exact with the
//! hardware) from the same body, inputs and states, and what both gave is
//! compared; a difference is an error in the log and a metric.

use crate::body::Received;
use crate::fail::internal;
use crate::formats::Object;
use crate::kernel::{self, Attached, RunOutput};
use crate::node::Node;
use crate::slots::Kind;
use hiss_runtime::{EmulatedSlot, Slot};
use s3s::S3Result;
use std::sync::Arc;

impl Node {
    /// Whether this object of `k` is one of the sampled fraction whose CPU
    /// run is checked in an emulated slot (`--verify-sample`): exactly
    /// `floor(n * P)` of the first `n` objects are.
    pub(crate) fn sampled(&self, k: &Attached) -> bool {
        if k.kind != Kind::Cpu || self.verify_sample <= 0.0 {
            return false;
        }
        let n = self
            .cpu_objects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed) as f64;
        ((n + 1.0) * self.verify_sample).floor() > (n * self.verify_sample).floor()
    }

    /// Runs the object in `got` again in an emulated slot and compares what it
    /// gives (frames, keep flags, every output and state file, by MD5) with
    /// the CPU slot's `out`; a difference is logged as an error and counted.
    pub(crate) async fn verify_sample(
        &self,
        bucket: &str,
        key: &str,
        k: &Arc<Attached>,
        (got, object): (&Received, &Object),
        states: Vec<Vec<i128>>,
        out: &RunOutput,
    ) -> S3Result<()> {
        let fixed = self.fixed_inputs(bucket, k)?;
        let dir = self.store.tmp_path();
        std::fs::create_dir_all(&dir).map_err(internal)?;
        let (k2, at, tmp) = (k.clone(), dir.clone(), got.tmp.clone());
        let object = Object {
            len: got.size,
            file: Some(tmp.clone()),
            ..object.clone()
        };
        let emulated = tokio::task::spawn_blocking(move || {
            let mut slot = EmulatedSlot::new(&k2.bundle.manifest.target);
            slot.load(&k2.bundle).map_err(|e| e.to_string())?;
            let body =
                std::io::BufReader::new(std::fs::File::open(&tmp).map_err(|e| e.to_string())?);
            kernel::run_on(&k2, &mut slot, body, &object, fixed, states, &at)
        })
        .await
        .map_err(internal)?;
        let _ = std::fs::remove_dir_all(&dir);
        let why = match emulated {
            Err(e) => Some(format!("the emulated slot refused it: {e}")),
            Ok(e) => out.differs_from(&e),
        };
        self.metrics.verified(why.is_some());
        if let Some(why) = why {
            tracing::error!(bucket, key, kernel = %k.bundle.manifest.kernel, "the CPU slot and the emulated slot differ: {why}");
        }
        Ok(())
    }
}
