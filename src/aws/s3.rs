//! Staging's `ObjectStore` over the S3 client. Bodies stream from the file;
//! the SDK computes each request's SHA-256 as it sends it and S3 verifies
//! it.

use std::path::Path;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};

use super::error::fail;
use super::AwsCloud;
use crate::engine::stage::store::{ObjectStore, PartSpan, RemoteObject, StoreResult, UploadedPart};
use crate::engine::{CloudError, CloudErrorKind};

/// Metadata key holding the whole file's SHA-256 (hex).
const SHA256_META: &str = "sha256";

fn body_error(op: &str, path: &Path, e: impl std::fmt::Display) -> CloudError {
    CloudError::new(
        op,
        CloudErrorKind::Other,
        format!("{}: {e}", path.display()),
    )
}

impl ObjectStore for AwsCloud {
    async fn check_bucket(&self, bucket: &str) -> StoreResult<()> {
        self.s3
            .head_bucket()
            .bucket(bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("HeadBucket", e))
    }

    async fn list_sized(&self, bucket: &str, prefix: &str) -> StoreResult<Vec<RemoteObject>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| fail("ListObjectsV2", e))?;
            out.extend(page.contents().iter().filter_map(|o| {
                Some(RemoteObject {
                    key: o.key()?.to_owned(),
                    size: u64::try_from(o.size().unwrap_or(0)).unwrap_or(0),
                    etag: o.e_tag().unwrap_or_default().trim_matches('"').to_owned(),
                })
            }));
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    async fn stored_sha256(&self, bucket: &str, key: &str) -> StoreResult<Option<String>> {
        let head = self
            .s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| fail("HeadObject", e))?;
        Ok(head.metadata().and_then(|m| m.get(SHA256_META)).cloned())
    }

    async fn put_file(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        sha256_hex: &str,
    ) -> StoreResult<()> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| body_error("PutObject", path, e))?;
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .metadata(SHA256_META, sha256_hex)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("PutObject", e))
    }

    async fn start_multipart(
        &self,
        bucket: &str,
        key: &str,
        sha256_hex: &str,
    ) -> StoreResult<String> {
        let out = self
            .s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .metadata(SHA256_META, sha256_hex)
            .send()
            .await
            .map_err(|e| fail("CreateMultipartUpload", e))?;
        out.upload_id().map(str::to_owned).ok_or_else(|| {
            CloudError::new(
                "CreateMultipartUpload",
                CloudErrorKind::Other,
                "no UploadId in the reply",
            )
        })
    }

    async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        path: &Path,
        span: PartSpan,
    ) -> StoreResult<UploadedPart> {
        let body = ByteStream::read_from()
            .path(path)
            .offset(span.offset)
            .length(Length::Exact(span.len))
            .build()
            .await
            .map_err(|e| body_error("UploadPart", path, e))?;
        let out = self
            .s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(span.number)
            .body(body)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| fail("UploadPart", e))?;
        Ok(UploadedPart {
            number: span.number,
            etag: out.e_tag().unwrap_or_default().to_owned(),
            sha256: out.checksum_sha256().map(str::to_owned),
            size: span.len,
        })
    }

    async fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> StoreResult<()> {
        let parts = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.number)
                    .e_tag(&p.etag)
                    .set_checksum_sha256(p.sha256.clone())
                    .build()
            })
            .collect();
        self.s3
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("CompleteMultipartUpload", e))
    }

    async fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<()> {
        self.s3
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| fail("AbortMultipartUpload", e))
    }

    async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> StoreResult<Vec<UploadedPart>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .s3
                .list_parts()
                .bucket(bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await
                .map_err(|e| fail("ListParts", e))?;
            out.extend(page.parts().iter().filter_map(|p| {
                Some(UploadedPart {
                    number: p.part_number()?,
                    etag: p.e_tag()?.to_owned(),
                    sha256: p.checksum_sha256().map(str::to_owned),
                    size: u64::try_from(p.size()?).ok()?,
                })
            }));
            match page.next_part_number_marker() {
                Some(m) if page.is_truncated() == Some(true) => marker = Some(m.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    async fn list_multipart(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> StoreResult<Vec<(String, String)>> {
        let mut out = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .s3
                .list_multipart_uploads()
                .bucket(bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| fail("ListMultipartUploads", e))?;
            out.extend(
                page.uploads()
                    .iter()
                    .filter_map(|u| Some((u.key()?.to_owned(), u.upload_id()?.to_owned()))),
            );
            if page.is_truncated() != Some(true) {
                return Ok(out);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            id_marker = page.next_upload_id_marker().map(str::to_owned);
            if key_marker.is_none() {
                return Ok(out);
            }
        }
    }
}
