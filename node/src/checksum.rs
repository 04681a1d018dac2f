//! S3's checksums: the ones a client asks for (in headers, or trailers after
//! the body) computed as the body arrives and checked once it is in, and a
//! stored set given back as S3's output fields.

use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, ChecksumAlgorithm};
use s3s::{s3_error, S3Result};
use std::collections::BTreeMap;

/// The checksums a client asked for, and the values it gave (in headers, or
/// in trailers that arrive after the body).
#[derive(Default)]
pub struct Checks {
    hasher: ChecksumHasher,
    want: Checksum,
    content_md5: Option<String>,
    trailers: Option<s3s::TrailingHeaders>,
}

/// The algorithms of a checksum set, with their S3 names.
fn checksum_fields(c: &Checksum) -> [(&'static str, &Option<String>); 5] {
    [
        ("crc32", &c.checksum_crc32),
        ("crc32c", &c.checksum_crc32c),
        ("sha1", &c.checksum_sha1),
        ("sha256", &c.checksum_sha256),
        ("crc64nvme", &c.checksum_crc64nvme),
    ]
}

impl Checks {
    /// The checks of one body: the `algorithm` the client asked for, the
    /// values it gave in headers (`want`), its `Content-MD5`, and the trailers
    /// that may carry values after the body.
    pub fn new(
        algorithm: Option<&ChecksumAlgorithm>,
        want: Checksum,
        content_md5: Option<String>,
        trailers: Option<s3s::TrailingHeaders>,
    ) -> S3Result<Checks> {
        let mut c = Checks {
            want,
            content_md5,
            trailers,
            ..Default::default()
        };
        let mut names: Vec<&str> = checksum_fields(&c.want)
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(n, _)| *n)
            .collect();
        if let Some(a) = algorithm {
            names.push(match a.as_str() {
                ChecksumAlgorithm::CRC32 => "crc32",
                ChecksumAlgorithm::CRC32C => "crc32c",
                ChecksumAlgorithm::SHA1 => "sha1",
                ChecksumAlgorithm::SHA256 => "sha256",
                ChecksumAlgorithm::CRC64NVME => "crc64nvme",
                other => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "checksum algorithm `{other}` is not one S3 has"
                    ))
                }
            });
        }
        for n in names {
            match n {
                "crc32" => c.hasher.crc32 = Some(Default::default()),
                "crc32c" => c.hasher.crc32c = Some(Default::default()),
                "sha1" => c.hasher.sha1 = Some(Default::default()),
                "sha256" => c.hasher.sha256 = Some(Default::default()),
                _ => c.hasher.crc64nvme = Some(Default::default()),
            }
        }
        Ok(c)
    }

    /// Hashes the next chunk of the body.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
    }

    /// After the body: the checksums computed, checked against what the client
    /// gave (BadDigest if one differs).
    pub fn finish(self, md5: &[u8]) -> S3Result<BTreeMap<String, String>> {
        if let Some(want) = &self.content_md5 {
            let got = base64_simd::STANDARD.encode_to_string(md5);
            if want.trim() != got {
                return Err(s3_error!(
                    BadDigest,
                    "Content-MD5 is {want}, the body's is {got}"
                ));
            }
        }
        let mut want = self.want;
        if let Some(h) = self.trailers.as_ref().and_then(|t| t.take()) {
            let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
            want.checksum_crc32 = want.checksum_crc32.or(get("x-amz-checksum-crc32"));
            want.checksum_crc32c = want.checksum_crc32c.or(get("x-amz-checksum-crc32c"));
            want.checksum_sha1 = want.checksum_sha1.or(get("x-amz-checksum-sha1"));
            want.checksum_sha256 = want.checksum_sha256.or(get("x-amz-checksum-sha256"));
            want.checksum_crc64nvme = want.checksum_crc64nvme.or(get("x-amz-checksum-crc64nvme"));
        }
        let got = self.hasher.finalize();
        let mut out = BTreeMap::new();
        for ((name, w), (_, g)) in checksum_fields(&want)
            .into_iter()
            .zip(checksum_fields(&got))
        {
            if let (Some(w), Some(g)) = (w, g) {
                if w != g {
                    return Err(s3_error!(
                        BadDigest,
                        "the {name} checksum given is {w}, the body's is {g}"
                    ));
                }
            }
            if let Some(g) = g {
                out.insert(name.to_string(), g.clone());
            }
        }
        Ok(out)
    }
}

/// A stored checksum set as S3's output fields.
pub fn checksum_of(m: &BTreeMap<String, String>) -> Checksum {
    Checksum {
        checksum_crc32: m.get("crc32").cloned(),
        checksum_crc32c: m.get("crc32c").cloned(),
        checksum_sha1: m.get("sha1").cloned(),
        checksum_sha256: m.get("sha256").cloned(),
        checksum_crc64nvme: m.get("crc64nvme").cloned(),
        ..Default::default()
    }
}

/// An S3 output (`PutObjectOutput`, `GetObjectOutput`, ...) with the checksum
/// fields of the set `c` and the other fields given; every other field default.
macro_rules! with_checksums {
    ($ty:ident, $c:expr, { $($field:ident: $value:expr),* $(,)? }) => {{
        let c: s3s::dto::Checksum = $c;
        $ty {
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_crc64nvme: c.checksum_crc64nvme,
            $($field: $value,)*
            ..Default::default()
        }
    }};
}
pub(crate) use with_checksums;

/// The checksum values a request gives in its headers (its `checksum_*` fields).
macro_rules! given_checksums {
    ($input:expr) => {
        s3s::dto::Checksum {
            checksum_crc32: $input.checksum_crc32,
            checksum_crc32c: $input.checksum_crc32c,
            checksum_sha1: $input.checksum_sha1,
            checksum_sha256: $input.checksum_sha256,
            checksum_crc64nvme: $input.checksum_crc64nvme,
            ..Default::default()
        }
    };
}
pub(crate) use given_checksums;
