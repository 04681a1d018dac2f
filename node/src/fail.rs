//! The S3 errors the node's own failures become: the buffer's (a missing
//! bucket or key, a full disk), the persistent tier's, and everything else as
//! `InternalError`, logged where it happens.

use crate::store::StoreError;
use s3s::{s3_error, S3Error, S3ErrorCode};

/// Whether a failure is the buffer's file system being full (ENOSPC), by the
/// message an `std::io::Error` of it carries wherever it was turned to text.
pub fn is_full(message: &str) -> bool {
    message.contains("(os error 28)")
}

/// The buffer's file system is full: `507 Insufficient Storage`, which S3
/// clients do not retry (the instrument's control system sees it at once).
/// The request left nothing behind; reads go on, and writes are taken again
/// once space is freed.
pub fn full(what: impl std::fmt::Display) -> S3Error {
    tracing::warn!(error = %what, "the buffer is full");
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InsufficientStorage".into()),
        format!("the node's buffer is full ({what}); nothing of this request was kept"),
    );
    e.set_status_code(hyper::StatusCode::INSUFFICIENT_STORAGE);
    e
}

/// A buffer failure as the S3 error a client can act on.
pub fn store_error(e: StoreError) -> S3Error {
    match e {
        StoreError::NoBucket => s3_error!(NoSuchBucket, "The specified bucket does not exist."),
        StoreError::NoKey => s3_error!(NoSuchKey, "The specified key does not exist."),
        StoreError::BucketExists => s3_error!(
            BucketAlreadyOwnedByYou,
            "Your previous request to create the named bucket succeeded and you already own it."
        ),
        StoreError::BucketNotEmpty => {
            s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty."
            )
        }
        StoreError::BadName(why) => s3_error!(InvalidBucketName, "{why}"),
        StoreError::Io(e) if is_full(&e.to_string()) => full(e),
        StoreError::Io(e) => {
            tracing::error!(error = %e, "buffer i/o failed");
            s3_error!(InternalError, "the node's buffer failed: {e}")
        }
    }
}

/// A persistent tier that did not answer: the client may try again.
pub fn tier_error(e: impl std::fmt::Display) -> S3Error {
    tracing::warn!(error = %e, "the persistent tier failed");
    s3_error!(ServiceUnavailable, "the persistent tier: {e}")
}

/// Anything else: the node's fault, logged (a full buffer is [`full`]).
pub fn internal(e: impl std::fmt::Display) -> S3Error {
    if is_full(&e.to_string()) {
        return full(e);
    }
    tracing::error!(error = %e, "internal error");
    s3_error!(InternalError, "{e}")
}
