//! Reading and writing decision logs and outcome files, JSON Lines or Parquet, one record at a time.
//!
//! Readers stream: a record is handed to a callback as soon as it is decoded, so validating or
//! evaluating a 10M-decision log holds only what the caller keeps. A record that cannot be decoded
//! (bad JSON, a wrong type, an unknown field) is handed over as a [`RowError`] with its line and
//! column, so `validate` can report every bad row instead of stopping at the first; the other
//! commands stop there. The format follows the extension (`.parquet`, else JSON Lines), and a file
//! starting with Parquet's magic `PAR1` is read as Parquet whatever its name.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, ListArray, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Fields, Float64Type, Schema, SchemaRef, UInt32Type};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::schema::{Chosen, Decision, Loc, Outcome};

/// A record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based column in the line, for JSON syntax and type errors.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Storage format of a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet with the columns of [`decision_schema`].
    Parquet,
}

impl Format {
    /// The format of `path`: its extension, else its first bytes.
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ext == "parquet" || ext == "pq" {
            return Ok(Format::Parquet);
        }
        let mut magic = [0_u8; 4];
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        let n = f.read(&mut magic).map_err(|e| Error::io(path, e))?;
        Ok(if n == 4 && &magic == b"PAR1" {
            Format::Parquet
        } else {
            Format::Jsonl
        })
    }

    /// The format to write `path` in: Parquet for `.parquet`, else JSON Lines.
    pub fn for_output(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("parquet") => Format::Parquet,
            _ => Format::Jsonl,
        }
    }
}

/// Calls `f` with every non-blank line of a text file and its 1-based number.
pub fn for_each_line(path: &Path, mut f: impl FnMut(usize, &str) -> Result<()>) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = String::new();
    let mut line = 0;
    loop {
        buf.clear();
        let n = reader.read_line(&mut buf).map_err(|e| {
            let e = if e.kind() == std::io::ErrorKind::InvalidData {
                std::io::Error::new(e.kind(), format!("line {}: not valid UTF-8", line + 1))
            } else {
                e
            };
            Error::io(path, e)
        })?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        let text = buf.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        f(line, text)?;
    }
}

fn json_error(e: &serde_json::Error) -> RowError {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; the line is always 1 here, so keep the column only.
    let message = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    RowError {
        column: Some(e.column()),
        message,
    }
}

/// Streams the decisions of a log (JSON Lines or Parquet) into `f`.
pub fn read_decisions(path: &Path, mut f: impl FnMut(Loc, Result<Decision, RowError>) -> Result<()>) -> Result<()> {
    match Format::of(path)? {
        Format::Jsonl => for_each_line(path, |line, text| {
            let parsed = serde_json::from_str::<Decision>(text).map_err(|e| json_error(&e));
            f(Loc::line(path, line), parsed)
        }),
        Format::Parquet => read_parquet(path, &mut f),
    }
}

/// Streams the decisions of a log, stopping at the first record that cannot be decoded.
pub fn read_decisions_strict(path: &Path, mut f: impl FnMut(Loc, Decision) -> Result<()>) -> Result<()> {
    read_decisions(path, |loc, d| match d {
        Ok(d) => f(loc, d),
        Err(e) => Err(row_error(&loc, &e)),
    })
}

/// The error for an undecodable record, naming its file, line and column.
pub fn row_error(loc: &Loc, e: &RowError) -> Error {
    let at = match e.column {
        Some(c) => format!("{loc}:{c}"),
        None => loc.to_string(),
    };
    Error::Format {
        at,
        message: format!("{} (check it with `sluice decisions validate`)", e.message),
    }
}

/// Reads an outcomes file (JSON Lines of [`Outcome`]).
pub fn read_outcomes(path: &Path, mut f: impl FnMut(Loc, Outcome) -> Result<()>) -> Result<()> {
    for_each_line(path, |line, text| {
        let loc = Loc::line(path, line);
        match serde_json::from_str::<Outcome>(text) {
            Ok(o) => f(loc, o),
            Err(e) => Err(row_error(&loc, &json_error(&e))),
        }
    })
}

fn chosen_fields() -> Fields {
    Fields::from(vec![
        Field::new("action", DataType::Utf8, false),
        Field::new("position", DataType::UInt32, false),
        Field::new("propensity", DataType::Float64, true),
        Field::new("reward", DataType::Float64, true),
    ])
}

/// The Arrow schema of a decision log in Parquet.
pub fn decision_schema() -> SchemaRef {
    let utf8 = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    let list = |n: &str, t: DataType| Field::new(n, DataType::List(Arc::new(Field::new("item", t, true))), true);
    Arc::new(Schema::new(vec![
        utf8("decision_id", false),
        utf8("time", true),
        utf8("unit_id", true),
        utf8("context", true),
        list("candidates", DataType::Utf8),
        Field::new(
            "chosen",
            DataType::List(Arc::new(Field::new("item", DataType::Struct(chosen_fields()), true))),
            true,
        ),
        list("distribution", DataType::Float64),
        utf8("scores", true),
        utf8("policy", true),
        utf8("model_version", true),
        utf8("reason", true),
        Field::new("explored", DataType::Boolean, true),
    ]))
}

fn column(batch: &RecordBatch, name: &str, to: &DataType, path: &Path) -> Result<Option<ArrayRef>> {
    let Some(c) = batch.column_by_name(name) else {
        return Ok(None);
    };
    arrow::compute::cast(c, to).map(Some).map_err(|e| Error::Format {
        at: path.display().to_string(),
        message: format!("column `{name}` has type {} where {to} is expected: {e}", c.data_type()),
    })
}

fn text(a: &Option<ArrayRef>, i: usize) -> Option<String> {
    a.as_ref()
        .and_then(|a| (!a.is_null(i)).then(|| a.as_string::<i32>().value(i).to_owned()))
}

fn read_parquet(path: &Path, f: &mut dyn FnMut(Loc, Result<Decision, RowError>) -> Result<()>) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::Format {
            at: path.display().to_string(),
            message: format!("not a readable Parquet file: {e}"),
        })?
        .with_batch_size(16 * 1024)
        .build()?;
    let utf8 = DataType::Utf8;
    let str_list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let f64_list = DataType::List(Arc::new(Field::new("item", DataType::Float64, true)));
    let mut row = 0;
    for batch in reader {
        let batch = batch?;
        let Some(ids) = column(&batch, "decision_id", &utf8, path)? else {
            return Err(Error::Format {
                at: path.display().to_string(),
                message: "no `decision_id` column; a decision log needs the columns of `sluice decisions schema`"
                    .into(),
            });
        };
        let time = column(&batch, "time", &utf8, path)?;
        let unit = column(&batch, "unit_id", &utf8, path)?;
        let context = column(&batch, "context", &utf8, path)?;
        let candidates = column(&batch, "candidates", &str_list, path)?;
        let distribution = column(&batch, "distribution", &f64_list, path)?;
        let scores = column(&batch, "scores", &utf8, path)?;
        let policy = column(&batch, "policy", &utf8, path)?;
        let model = column(&batch, "model_version", &utf8, path)?;
        let reason = column(&batch, "reason", &utf8, path)?;
        let explored = column(&batch, "explored", &DataType::Boolean, path)?;
        let chosen = chosen_columns(&batch, path)?;
        for i in 0..batch.num_rows() {
            row += 1;
            let loc = Loc {
                file: path.to_path_buf(),
                line: row,
                parquet_row: true,
            };
            let decoded = decode_row(
                i,
                &ids,
                [&time, &unit, &policy, &model, &reason],
                &context,
                &scores,
                &candidates,
                &distribution,
                &explored,
                &chosen,
            );
            f(loc, decoded)?;
        }
    }
    Ok(())
}

struct ChosenColumns {
    list: ListArray,
    action: StringArray,
    position: Option<UInt32Array>,
    propensity: Option<Float64Array>,
    reward: Option<Float64Array>,
}

fn chosen_columns(batch: &RecordBatch, path: &Path) -> Result<Option<ChosenColumns>> {
    let Some(c) = batch.column_by_name("chosen") else {
        return Ok(None);
    };
    let bad = |m: String| Error::Format {
        at: path.display().to_string(),
        message: m,
    };
    let list = match c.data_type() {
        DataType::List(_) => c.as_list::<i32>().clone(),
        DataType::LargeList(_) => {
            let inner = c.as_list::<i64>().values().data_type().clone();
            arrow::compute::cast(c, &DataType::List(Arc::new(Field::new("item", inner, true))))?
                .as_list::<i32>()
                .clone()
        }
        t => {
            return Err(bad(format!(
                "column `chosen` has type {t}; it must be a list of structs"
            )));
        }
    };
    let Some(values) = list.values().as_struct_opt() else {
        return Err(bad(
            "column `chosen` must be a list of structs {action, position, propensity, reward}".into(),
        ));
    };
    let child = |name: &str, t: &DataType| -> Result<Option<ArrayRef>> {
        match values.column_by_name(name) {
            None => Ok(None),
            Some(a) => arrow::compute::cast(a, t)
                .map(Some)
                .map_err(|e| bad(format!("field `chosen.{name}` cannot be read as {t}: {e}"))),
        }
    };
    let action = child("action", &DataType::Utf8)?
        .ok_or_else(|| bad("the structs of column `chosen` have no `action` field".into()))?;
    Ok(Some(ChosenColumns {
        action: action.as_string::<i32>().clone(),
        position: child("position", &DataType::UInt32)?.map(|a| a.as_primitive::<UInt32Type>().clone()),
        propensity: child("propensity", &DataType::Float64)?.map(|a| a.as_primitive::<Float64Type>().clone()),
        reward: child("reward", &DataType::Float64)?.map(|a| a.as_primitive::<Float64Type>().clone()),
        list,
    }))
}

fn opt_f64(a: &Option<Float64Array>, j: usize) -> Option<f64> {
    a.as_ref().and_then(|a| (!a.is_null(j)).then(|| a.value(j)))
}

#[allow(clippy::too_many_arguments)]
fn decode_row(
    i: usize,
    ids: &ArrayRef,
    [time, unit, policy, model, reason]: [&Option<ArrayRef>; 5],
    context: &Option<ArrayRef>,
    scores: &Option<ArrayRef>,
    candidates: &Option<ArrayRef>,
    distribution: &Option<ArrayRef>,
    explored: &Option<ArrayRef>,
    chosen: &Option<ChosenColumns>,
) -> Result<Decision, RowError> {
    let err = |m: String| RowError {
        column: None,
        message: m,
    };
    let decision_id = text(&Some(ids.clone()), i).ok_or_else(|| err("`decision_id` is null".into()))?;
    let context = match text(context, i) {
        None => serde_json::Map::new(),
        Some(t) => serde_json::from_str(&t).map_err(|e| err(format!("`context` is not a JSON object: {e}")))?,
    };
    let scores = match text(scores, i) {
        None => Default::default(),
        Some(t) => {
            serde_json::from_str(&t).map_err(|e| err(format!("`scores` is not a JSON object of number arrays: {e}")))?
        }
    };
    let candidates = match candidates {
        Some(a) if !a.is_null(i) => {
            let l = a.as_list::<i32>().value(i);
            let s = l.as_string::<i32>();
            (0..s.len())
                .map(|j| {
                    (!s.is_null(j))
                        .then(|| s.value(j).to_owned())
                        .ok_or_else(|| err(format!("`candidates[{j}]` is null")))
                })
                .collect::<Result<_, _>>()?
        }
        _ => Vec::new(),
    };
    let distribution = match distribution {
        Some(a) if !a.is_null(i) => {
            let l = a.as_list::<i32>().value(i);
            let p = l.as_primitive::<Float64Type>();
            Some(
                (0..p.len())
                    .map(|j| if p.is_null(j) { f64::NAN } else { p.value(j) })
                    .collect(),
            )
        }
        _ => None,
    };
    let mut picks = Vec::new();
    if let Some(c) = chosen
        && !c.list.is_null(i)
    {
        let offsets = c.list.value_offsets();
        for j in offsets[i] as usize..offsets[i + 1] as usize {
            if c.action.is_null(j) {
                return Err(err(format!("`chosen[{}].action` is null", j - offsets[i] as usize)));
            }
            picks.push(Chosen {
                action: c.action.value(j).to_owned(),
                position: c
                    .position
                    .as_ref()
                    .map_or(0, |p| if p.is_null(j) { 0 } else { p.value(j) }),
                propensity: opt_f64(&c.propensity, j),
                reward: opt_f64(&c.reward, j),
            });
        }
    }
    let explored = explored.as_ref().is_some_and(|a| {
        let b: &BooleanArray = a.as_boolean();
        !b.is_null(i) && b.value(i)
    });
    Ok(Decision {
        decision_id,
        time: text(time, i),
        unit_id: text(unit, i),
        context,
        candidates,
        chosen: picks,
        distribution,
        scores,
        policy: text(policy, i),
        model_version: text(model, i),
        reason: text(reason, i),
        explored,
    })
}

/// Row shape of the Parquet writer: `context` and `scores` as JSON text.
#[derive(Serialize)]
struct ParquetRow<'a> {
    decision_id: &'a str,
    time: Option<&'a str>,
    unit_id: Option<&'a str>,
    context: Option<String>,
    candidates: Option<&'a [String]>,
    chosen: &'a [Chosen],
    distribution: Option<&'a [f64]>,
    scores: Option<String>,
    policy: Option<&'a str>,
    model_version: Option<&'a str>,
    reason: Option<&'a str>,
    explored: bool,
}

impl<'a> From<&'a Decision> for ParquetRow<'a> {
    fn from(d: &'a Decision) -> Self {
        Self {
            decision_id: &d.decision_id,
            time: d.time.as_deref(),
            unit_id: d.unit_id.as_deref(),
            context: (!d.context.is_empty()).then(|| serde_json::Value::Object(d.context.clone()).to_string()),
            candidates: (!d.candidates.is_empty()).then_some(d.candidates.as_slice()),
            chosen: &d.chosen,
            distribution: d.distribution.as_deref(),
            scores: (!d.scores.is_empty()).then(|| serde_json::to_string(&d.scores).expect("scores serialise")),
            policy: d.policy.as_deref(),
            model_version: d.model_version.as_deref(),
            reason: d.reason.as_deref(),
            explored: d.explored,
        }
    }
}

/// Writes decisions to JSON Lines or Parquet (by the output's extension).
pub struct DecisionWriter {
    path: PathBuf,
    inner: Inner,
    written: u64,
}

enum Inner {
    Jsonl(BufWriter<File>),
    Parquet {
        writer: Box<ArrowWriter<File>>,
        decoder: arrow::json::reader::Decoder,
        pending: Vec<Decision>,
    },
}

impl std::fmt::Debug for DecisionWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionWriter")
            .field("path", &self.path)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

const PARQUET_BATCH: usize = 8192;

impl DecisionWriter {
    /// Creates (truncating) `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let inner = match Format::for_output(path) {
            Format::Jsonl => Inner::Jsonl(BufWriter::with_capacity(1 << 20, file)),
            Format::Parquet => {
                let schema = decision_schema();
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                    .build();
                Inner::Parquet {
                    writer: Box::new(ArrowWriter::try_new(file, schema.clone(), Some(props))?),
                    decoder: arrow::json::ReaderBuilder::new(schema)
                        .with_batch_size(PARQUET_BATCH)
                        .build_decoder()?,
                    pending: Vec::with_capacity(PARQUET_BATCH),
                }
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            inner,
            written: 0,
        })
    }

    /// Appends one decision.
    pub fn write(&mut self, d: &Decision) -> Result<()> {
        self.written += 1;
        match &mut self.inner {
            Inner::Jsonl(w) => {
                serde_json::to_writer(&mut *w, d).map_err(|e| Error::io(&self.path, e.into()))?;
                w.write_all(b"\n").map_err(|e| Error::io(&self.path, e))
            }
            Inner::Parquet { pending, .. } => {
                pending.push(d.clone());
                if pending.len() >= PARQUET_BATCH {
                    self.flush_parquet()?;
                }
                Ok(())
            }
        }
    }

    fn flush_parquet(&mut self) -> Result<()> {
        if let Inner::Parquet {
            writer,
            decoder,
            pending,
        } = &mut self.inner
        {
            let rows: Vec<ParquetRow<'_>> = pending.iter().map(ParquetRow::from).collect();
            decoder.serialize(&rows)?;
            if let Some(batch) = decoder.flush()? {
                writer.write(&batch)?;
            }
            pending.clear();
        }
        Ok(())
    }

    /// Flushes and closes the file; returns the number of decisions written.
    pub fn finish(mut self) -> Result<u64> {
        self.flush_parquet()?;
        match self.inner {
            Inner::Jsonl(mut w) => w.flush().map_err(|e| Error::io(&self.path, e))?,
            Inner::Parquet { writer, .. } => {
                writer.close()?;
            }
        }
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(i: usize) -> Decision {
        let mut context = serde_json::Map::new();
        context.insert("age".into(), serde_json::json!(30 + i));
        context.insert("country".into(), serde_json::json!("fr"));
        Decision {
            decision_id: format!("d{i}"),
            time: Some("2026-03-01T12:00:00Z".into()),
            unit_id: i.is_multiple_of(2).then(|| format!("u{i}")),
            context,
            candidates: vec!["a".into(), "b".into()],
            chosen: vec![
                Chosen {
                    action: "b".into(),
                    position: 0,
                    propensity: Some(0.75),
                    reward: Some(1.0),
                },
                Chosen {
                    action: "a".into(),
                    position: 1,
                    propensity: None,
                    reward: None,
                },
            ],
            distribution: Some(vec![0.25, 0.75]),
            scores: [("m".to_owned(), vec![0.1, 0.9])].into(),
            policy: Some("eps".into()),
            model_version: None,
            reason: Some("explore".into()),
            explored: i.is_multiple_of(3),
        }
    }

    #[test]
    fn jsonl_and_parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let want: Vec<Decision> = (0..20_000).map(sample).collect();
        for name in ["log.jsonl", "log.parquet"] {
            let path = dir.path().join(name);
            let mut w = DecisionWriter::create(&path).unwrap();
            for d in &want {
                w.write(d).unwrap();
            }
            assert_eq!(w.finish().unwrap(), want.len() as u64);
            let mut got = Vec::new();
            read_decisions_strict(&path, |_, d| {
                got.push(d);
                Ok(())
            })
            .unwrap();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(
            &path,
            "{\"decision_id\": \"a\", \"chosen\": []}\n\n{\"decision_id\": \"b\", \"chosen\": [}\n",
        )
        .unwrap();
        let mut seen = Vec::new();
        read_decisions(&path, |loc, d| {
            seen.push((loc.line, d.map(|_| ()).map_err(|e| e.column)));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![(1, Ok(())), (3, Err(Some(33)))]);
        let err = read_decisions_strict(&path, |_, _| Ok(())).unwrap_err().to_string();
        assert!(err.contains("bad.jsonl:3:33"), "{err}");
    }
}
