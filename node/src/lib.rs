//! The HISS node: an S3-compatible buffer in front of a persistent tier that
//! runs a bucket's kernel on every data object as its body arrives.
//!
//! - [`store`]: the buffer on disk (durable commits, keys that never become paths);
//! - [`kernel`]: attaching a bundle to a bucket, and one object's frames through
//!   a slot; [`formats`]: what a body is (`.npy`, raw, HDF5, Stream V2 with
//!   [`detector`]), how its frames are read and its kept frames stored;
//! - [`slots`]: the pool of slots objects run on (`--slots cpu:N,emulated:M`),
//!   and [`sample`], `--verify-sample`'s check of CPU runs in the emulator;
//! - [`node`]: what every operation shares (the buffer, attached kernels,
//!   events, counters, the tier);
//! - [`s3`]: the S3 operations (on the `s3s` crate), one file per group;
//! - [`ingest`]: a data object received, run through its bucket's kernel and
//!   committed, with [`body`] (bodies into and out of the buffer) and
//!   [`checksum`] (S3's checksums);
//! - [`keys`]: the `.hiss/` layout of a bucket; [`fail`]: the S3 errors the
//!   node's own failures become;
//! - [`events`]: one JSON line per processed object, for the instrument;
//! - [`routes`]: `/_hiss/v1/events` and `/_hiss/v1/metrics`;
//! - [`metrics`]: the counters;
//! - [`tier`]: the persistent tier (a directory, or an S3 service) and
//!   [`flush`], the thread that copies committed objects into it;
//! - [`fresh`]: signatures expire (15 minutes of clock skew, presigned URLs' lifetimes);
//!   [`usage`]: `--buffer-bytes`, the buffer's cap.
//!
//! - [`serve`]: the HTTP server with AWS Signature V4 on every request
//!   (docs/node.md), run by the `hiss-node` binary and by `hissc node`.

pub mod body;
pub mod checksum;
pub mod detector;
pub mod events;
pub mod fail;
pub mod flush;
pub mod formats;
pub mod fresh;
pub mod ingest;
pub mod kernel;
pub mod keys;
pub mod metrics;
pub mod node;
pub mod routes;
pub mod s3;
pub mod sample;
pub mod serve;
pub mod slots;
pub mod store;
pub mod tier;
pub mod usage;
