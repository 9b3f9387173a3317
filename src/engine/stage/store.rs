//! The S3 operations staging needs, as a trait of our own with plain
//! types; implemented over the AWS SDK in the `aws` module.

use std::future::Future;
use std::path::Path;

use crate::engine::CloudError;

/// Result of one S3 call.
pub type StoreResult<T> = Result<T, CloudError>;

/// An object as `ListObjectsV2` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    /// Full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag without quotes (MD5 hex for single-part uploads, `…-N` for
    /// multipart ones).
    pub etag: String,
}

/// A byte range of a local file, uploaded as one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSpan {
    /// 1-based part number.
    pub number: i32,
    /// Offset in the file.
    pub offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// An uploaded part, as `CompleteMultipartUpload` needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    /// 1-based part number.
    pub number: i32,
    /// Its ETag.
    pub etag: String,
    /// Its SHA-256 checksum (base64), verified by S3 on upload.
    pub sha256: Option<String>,
    /// Its size in bytes.
    pub size: u64,
}

/// S3 for staging. Uploads stream from the file (no whole-file buffering)
/// and carry SHA-256 checksums that S3 verifies; the file's SHA-256 is also
/// stored as metadata (`x-amz-meta-sha256`) so a later run can tell an
/// identical object from a different one of the same size.
pub trait ObjectStore: Send + Sync {
    /// `HeadBucket`.
    fn check_bucket(&self, bucket: &str) -> impl Future<Output = StoreResult<()>> + Send;
    /// `ListObjectsV2` under a prefix, every page, with sizes and ETags.
    fn list_sized(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = StoreResult<Vec<RemoteObject>>> + Send;
    /// The SHA-256 metadata of an object, when it has one.
    fn stored_sha256(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// `PutObject` of a whole file with its SHA-256.
    fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        sha256_hex: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `CreateMultipartUpload`; returns the upload id.
    fn start_multipart(
        &self,
        bucket: &str,
        key: &str,
        sha256_hex: &str,
    ) -> impl Future<Output = StoreResult<String>> + Send;
    /// `UploadPart` of one span of `path`.
    fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        path: &Path,
        span: PartSpan,
    ) -> impl Future<Output = StoreResult<UploadedPart>> + Send;
    /// `CompleteMultipartUpload`.
    fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `AbortMultipartUpload`.
    fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// `ListParts`: the parts an unfinished upload already holds.
    fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<UploadedPart>>> + Send;
    /// `ListMultipartUploads` under a prefix: `(key, upload id)`.
    fn list_multipart(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = StoreResult<Vec<(String, String)>>> + Send;
}
