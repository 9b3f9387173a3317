//! History rows ↔ Parquet (Snappy), with the Arrow schema derived from the
//! one column list in `domain::history`. Partition columns are not stored
//! in the files; they are the directory names.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int32Builder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int32Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::{write_atomic, StorageError};
use crate::domain::{Cell, ColumnType, HistoryRow, Partition, HISTORY_COLUMNS};

/// Largest history file read into memory whole (ours are a few KiB).
const READ_WHOLE_BYTES: u64 = 16 << 20;

/// Directory of the history under a home (or bucket root): `results/`.
pub const HISTORY_DIR: &str = "results";

/// The Arrow type of a column type.
fn arrow_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Text => DataType::Utf8,
        ColumnType::Int => DataType::Int32,
        ColumnType::Double => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
    }
}

/// The schema of a history file (every column nullable).
fn history_schema() -> SchemaRef {
    let fields: Vec<Field> = HISTORY_COLUMNS
        .iter()
        .map(|(name, t)| Field::new(*name, arrow_type(*t), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// `<root>/results/<partition>/<file_name>`.
pub fn history_file_path(root: &Path, partition: &Partition, file_name: &str) -> PathBuf {
    root.join(HISTORY_DIR)
        .join(partition.path())
        .join(file_name)
}

/// Rows → one Snappy-compressed Parquet file's bytes, with row-group
/// statistics only (no page-level column index, as pyarrow writes by
/// default) and no embedded Arrow schema (the Parquet types alone give the
/// columns' types): small footers, as a query over the history decodes one
/// per run.
pub fn history_parquet(rows: &[HistoryRow]) -> Result<Vec<u8>, StorageError> {
    let schema = history_schema();
    let columns: Vec<ArrayRef> = HISTORY_COLUMNS
        .iter()
        .map(|(name, t)| column(rows, name, *t))
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(parquet_err)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .build();
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(true);
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new_with_options(&mut out, schema, options).map_err(parquet_err)?;
    writer.write(&batch).map_err(parquet_err)?;
    writer.close().map_err(parquet_err)?;
    Ok(out)
}

/// Writes rows as a Parquet file at `path` (atomically; parents created).
pub fn write_history_file(path: &Path, rows: &[HistoryRow]) -> Result<(), StorageError> {
    write_atomic(path, &history_parquet(rows)?)
}

/// Reads a history file back into rows (columns it lacks are null).
pub fn read_history_file(path: &Path) -> Result<Vec<HistoryRow>, StorageError> {
    let bad = |reason: String| StorageError::Read {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let size = file.metadata().map_err(|e| bad(e.to_string()))?.len();
    // A small file is read whole, in one call: the reader's many small
    // reads of a file (footer, each page header) cost more in system calls
    // than decoding, over a history of a thousand files.
    let reader = if size <= READ_WHOLE_BYTES {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut { file }, &mut bytes).map_err(|e| bad(e.to_string()))?;
        ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).and_then(|b| b.build())
    } else {
        ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build())
    }
    .map_err(|e| bad(e.to_string()))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        rows.extend(batch_rows(&batch));
    }
    Ok(rows)
}

fn batch_rows(batch: &RecordBatch) -> Vec<HistoryRow> {
    let mut rows = vec![HistoryRow::new(); batch.num_rows()];
    for (name, _) in HISTORY_COLUMNS {
        let Some(col) = batch.column_by_name(name) else {
            continue;
        };
        for (i, row) in rows.iter_mut().enumerate() {
            if let Some(cell) = cell_at(col.as_ref(), i) {
                row.insert((*name).to_owned(), cell);
            }
        }
    }
    rows
}

fn cell_at(col: &dyn Array, i: usize) -> Option<Cell> {
    if col.is_null(i) {
        return None;
    }
    let any = col.as_any();
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return Some(Cell::Text(a.value(i).to_owned()));
    }
    if let Some(a) = any.downcast_ref::<Int32Array>() {
        return Some(Cell::Int(a.value(i)));
    }
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return Some(Cell::Double(a.value(i)));
    }
    any.downcast_ref::<BooleanArray>()
        .map(|a| Cell::Bool(a.value(i)))
}

/// One column of every row; a value of another type than the column's is
/// stored as null (rows are built by our own code, so that is a bug, and
/// a null is the honest answer).
fn column(rows: &[HistoryRow], name: &str, t: ColumnType) -> ArrayRef {
    let cells = rows.iter().map(|r| r.get(name));
    match t {
        ColumnType::Text => {
            let mut b = StringBuilder::new();
            cells.for_each(|c| b.append_option(text(c)));
            Arc::new(b.finish())
        }
        ColumnType::Int => {
            let mut b = Int32Builder::new();
            cells.for_each(|c| b.append_option(int(c)));
            Arc::new(b.finish())
        }
        ColumnType::Double => {
            let mut b = Float64Builder::new();
            cells.for_each(|c| b.append_option(double(c)));
            Arc::new(b.finish())
        }
        ColumnType::Bool => {
            let mut b = BooleanBuilder::new();
            cells.for_each(|c| b.append_option(boolean(c)));
            Arc::new(b.finish())
        }
    }
}

fn text(c: Option<&Cell>) -> Option<&str> {
    match c {
        Some(Cell::Text(s)) => Some(s),
        _ => None,
    }
}

fn int(c: Option<&Cell>) -> Option<i32> {
    match c {
        Some(Cell::Int(v)) => Some(*v),
        _ => None,
    }
}

fn double(c: Option<&Cell>) -> Option<f64> {
    match c {
        Some(Cell::Double(v)) if v.is_finite() => Some(*v),
        Some(Cell::Int(v)) => Some(f64::from(*v)),
        _ => None,
    }
}

fn boolean(c: Option<&Cell>) -> Option<bool> {
    match c {
        Some(Cell::Bool(v)) => Some(*v),
        _ => None,
    }
}

fn parquet_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Parquet(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(project: &str, concurrency: i32, tps: f64) -> HistoryRow {
        let mut r = HistoryRow::new();
        r.insert("project_name".into(), Cell::Text(project.into()));
        r.insert("concurrency".into(), Cell::Int(concurrency));
        r.insert("output_token_throughput_tps".into(), Cell::Double(tps));
        r.insert("streaming".into(), Cell::Bool(true));
        r
    }

    #[test]
    fn rows_round_trip_through_parquet() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/run.parquet");
        let rows = vec![row("p", 1, 10.5), row("p", 8, 71.25)];
        write_history_file(&path, &rows).expect("write");
        assert_eq!(read_history_file(&path).expect("read"), rows);
    }

    #[test]
    fn schema_has_every_column_with_its_type() {
        let schema = history_schema();
        assert_eq!(schema.fields().len(), HISTORY_COLUMNS.len());
        let f = schema.field_with_name("concurrency").expect("concurrency");
        assert_eq!(f.data_type(), &DataType::Int32);
        let f = schema.field_with_name("error_rate").expect("error_rate");
        assert_eq!(f.data_type(), &DataType::Float64);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_null_not_a_panic() {
        let mut r = HistoryRow::new();
        r.insert("concurrency".into(), Cell::Text("eight".into()));
        r.insert("error_rate".into(), Cell::Double(f64::NAN));
        let bytes = history_parquet(&[r]).expect("write");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, bytes).expect("write file");
        let back = read_history_file(&path).expect("read");
        assert!(back[0].is_empty(), "{back:?}");
    }

    #[test]
    fn a_file_that_is_not_parquet_is_a_read_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, b"not parquet").expect("write file");
        let e = read_history_file(&path).expect_err("must fail");
        assert!(e.to_string().contains("x.parquet"), "{e}");
    }
}
