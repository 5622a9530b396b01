//! Moving labels in and out: long-format CSV and JSON Lines (`item, annotator, label [, seconds,
//! created_at]`), Label Studio's JSON export (read) and Label Studio-importable task JSON (write),
//! and model prediction files (`item` plus one probability column per class).
//!
//! Invariant: every value handed to the store is canonical for the project's schema (see
//! [`crate::schema`]), and every rejected line is reported with its file, line and column (CSV
//! field position) and how to fix it. A file is read whole before anything is stored, so a bad
//! line leaves the store untouched.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::schema::{LabelKind, LabelSchema, LabelValue};
use crate::store::{Annotation, NewAnnotation};

/// An input file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Label Studio's JSON export (a list of tasks).
    LabelStudio,
}

impl Format {
    /// From a `--format` value, or from the extension when `None`.
    pub fn resolve(flag: Option<&str>, path: &Path) -> Result<Format> {
        let name = match flag {
            Some(f) => f.to_ascii_lowercase(),
            None => path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase(),
        };
        match name.as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "json" | "label-studio" | "labelstudio" | "ls" => Ok(Format::LabelStudio),
            other => Err(Error::Usage(format!(
                "{}: cannot tell the format from `{other}`; pass --format csv, jsonl or label-studio",
                path.display()
            ))),
        }
    }
}

/// Column (field) names of long-format files.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Item key column (default `item`).
    pub item: String,
    /// Annotator column (default `annotator`).
    pub annotator: String,
    /// Label column (default `label`).
    pub label: String,
    /// Seconds-spent column (optional, default `seconds`).
    pub seconds: String,
    /// Timestamp column (optional, default `created_at`).
    pub created_at: String,
}

impl Default for Columns {
    fn default() -> Self {
        Self {
            item: "item".into(),
            annotator: "annotator".into(),
            label: "label".into(),
            seconds: "seconds".into(),
            created_at: "created_at".into(),
        }
    }
}

/// What a file held.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Answers, canonical.
    pub annotations: Vec<NewAnnotation>,
    /// Gold answers found in the file (Label Studio `ground_truth`), canonical.
    pub gold: Vec<(String, String)>,
    /// Task data per item key (Label Studio), in file order, to keep as the items' payloads.
    pub payloads: Vec<(String, Value)>,
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Reads annotations in `format`; `key_field` names the Label Studio task data field holding the
/// item key (default: `item`, else the task id).
pub fn read_annotations(
    path: &Path,
    format: Format,
    schema: &LabelSchema,
    cols: &Columns,
    key_field: Option<&str>,
) -> Result<Parsed> {
    let parsed = match format {
        Format::Csv => read_csv(path, schema, cols)?,
        Format::Jsonl => read_jsonl(path, schema, cols)?,
        Format::LabelStudio => read_label_studio(path, schema, key_field)?,
    };
    Ok(parsed)
}

/// Reads a gold file: `item, label` rows (CSV or JSON Lines), with the same column options.
pub fn read_gold(path: &Path, format: Format, schema: &LabelSchema, cols: &Columns) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut push = |item: String, value: String, line: u64| -> Result<()> {
        if let Some(first) = seen.insert(item.clone(), line) {
            return Err(Error::input(
                path,
                line,
                None,
                format!("item `{item}` already has a gold label on line {first}"),
            ));
        }
        out.push((item, value));
        Ok(())
    };
    match format {
        Format::Csv => {
            let (headers, records) = csv_records(path)?;
            let ci = find_col(path, &headers, &cols.item, true)?.expect("required");
            let cl = find_col(path, &headers, &cols.label, true)?.expect("required");
            for (line, rec) in records {
                let item = field(path, line, &rec, ci, &cols.item)?;
                let text = rec.get(cl).unwrap_or_default();
                let v = schema
                    .parse_text(text)
                    .map_err(|m| Error::input(path, line, Some(cl as u64 + 1), m))?;
                push(item, schema.canonical(&v), line)?;
            }
        }
        Format::Jsonl => {
            for (line, obj) in jsonl_objects(path)? {
                let item = json_key(path, line, &obj, &cols.item)?;
                let v = obj
                    .get(&cols.label)
                    .ok_or_else(|| Error::input(path, line, None, format!("no `{}` field", cols.label)))?;
                let v = schema.parse_json(v).map_err(|m| Error::input(path, line, None, m))?;
                push(item, schema.canonical(&v), line)?;
            }
        }
        Format::LabelStudio => {
            return Err(Error::Usage(
                "gold answers from Label Studio come with the annotations (mark them `ground_truth`); \
                 import the export with `sluice label import`"
                    .into(),
            ));
        }
    }
    Ok(out)
}

type Records = Vec<(u64, csv::StringRecord)>;

fn csv_records(path: &Path) -> Result<(Vec<String>, Records)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(file);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        out.push((line, rec));
    }
    Ok((headers, out))
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line()).unwrap_or(1);
    let msg = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("this row has {len} fields but the header has {expected_len}; quote fields that contain commas")
        }
        csv::ErrorKind::Utf8 { .. } => "the file is not valid UTF-8; save it as UTF-8".to_string(),
        _ => e.to_string(),
    };
    Error::input(path, line, None, msg)
}

fn find_col(path: &Path, headers: &[String], name: &str, required: bool) -> Result<Option<usize>> {
    match headers.iter().position(|h| h == name) {
        Some(i) => Ok(Some(i)),
        None if required => Err(Error::input(
            path,
            1,
            None,
            format!(
                "no `{name}` column; the header has {}. Name the column with the matching --*-col option",
                headers.join(", ")
            ),
        )),
        None => Ok(None),
    }
}

fn field(path: &Path, line: u64, rec: &csv::StringRecord, i: usize, name: &str) -> Result<String> {
    let v = rec.get(i).unwrap_or_default().trim();
    if v.is_empty() {
        return Err(Error::input(
            path,
            line,
            Some(i as u64 + 1),
            format!("`{name}` is empty"),
        ));
    }
    Ok(v.to_string())
}

fn parse_seconds(path: &Path, line: u64, col: Option<u64>, text: &str) -> Result<Option<f64>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(Some(x)),
        _ => Err(Error::input(
            path,
            line,
            col,
            format!("seconds `{t}` is not a non-negative number"),
        )),
    }
}

fn parse_when(path: &Path, line: u64, col: Option<u64>, text: &str) -> Result<Option<DateTime<Utc>>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| Some(d.with_timezone(&Utc)))
        .map_err(|_| {
            Error::input(
                path,
                line,
                col,
                format!("`{t}` is not an RFC 3339 time (2024-03-01T12:00:00Z)"),
            )
        })
}

/// Rejects a second answer by the same annotator for the same item in one file.
struct Dedup(HashMap<(String, String), u64>);

impl Dedup {
    fn check(&mut self, path: &Path, line: u64, item: &str, annotator: &str) -> Result<()> {
        if let Some(first) = self.0.insert((item.to_string(), annotator.to_string()), line) {
            return Err(Error::input(
                path,
                line,
                None,
                format!(
                    "annotator `{annotator}` already labelled item `{item}` on line {first}; keep one answer per \
                     annotator and item per file (import a correction as a later file)"
                ),
            ));
        }
        Ok(())
    }
}

fn read_csv(path: &Path, schema: &LabelSchema, cols: &Columns) -> Result<Parsed> {
    let (headers, records) = csv_records(path)?;
    let ci = find_col(path, &headers, &cols.item, true)?.expect("required");
    let ca = find_col(path, &headers, &cols.annotator, true)?.expect("required");
    let cl = find_col(path, &headers, &cols.label, true)?.expect("required");
    let cs = find_col(path, &headers, &cols.seconds, false)?;
    let ct = find_col(path, &headers, &cols.created_at, false)?;
    let mut out = Parsed::default();
    let mut dedup = Dedup(HashMap::new());
    for (line, rec) in records {
        let item = field(path, line, &rec, ci, &cols.item)?;
        let annotator = field(path, line, &rec, ca, &cols.annotator)?;
        let text = rec.get(cl).unwrap_or_default();
        let v = schema
            .parse_text(text)
            .map_err(|m| Error::input(path, line, Some(cl as u64 + 1), m))?;
        let seconds = match cs {
            Some(c) => parse_seconds(path, line, Some(c as u64 + 1), rec.get(c).unwrap_or_default())?,
            None => None,
        };
        let created_at = match ct {
            Some(c) => parse_when(path, line, Some(c as u64 + 1), rec.get(c).unwrap_or_default())?,
            None => None,
        };
        dedup.check(path, line, &item, &annotator)?;
        out.annotations.push(NewAnnotation {
            item,
            annotator,
            value: schema.canonical(&v),
            seconds,
            created_at,
            confidence: None,
        });
    }
    Ok(out)
}

fn jsonl_objects(path: &Path) -> Result<Vec<(u64, serde_json::Map<String, Value>)>> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(m)) => out.push((n, m)),
            Ok(_) => return Err(Error::input(path, n, Some(1), "each line must be a JSON object")),
            Err(e) => {
                return Err(Error::input(
                    path,
                    n,
                    Some(e.column() as u64),
                    format!("invalid JSON: {e}"),
                ));
            }
        }
    }
    Ok(out)
}

fn json_key(path: &Path, line: u64, obj: &serde_json::Map<String, Value>, name: &str) -> Result<String> {
    match obj.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) => Err(Error::input(
            path,
            line,
            None,
            format!("`{name}` must be a string or number, not {other}"),
        )),
        None => Err(Error::input(path, line, None, format!("no `{name}` field"))),
    }
}

fn read_jsonl(path: &Path, schema: &LabelSchema, cols: &Columns) -> Result<Parsed> {
    let mut out = Parsed::default();
    let mut dedup = Dedup(HashMap::new());
    for (line, obj) in jsonl_objects(path)? {
        let item = json_key(path, line, &obj, &cols.item)?;
        let annotator = json_key(path, line, &obj, &cols.annotator)?;
        let v = obj
            .get(&cols.label)
            .ok_or_else(|| Error::input(path, line, None, format!("no `{}` field", cols.label)))?;
        let v = schema.parse_json(v).map_err(|m| Error::input(path, line, None, m))?;
        let seconds = match obj.get(&cols.seconds) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => parse_seconds(path, line, None, &n.to_string())?,
            Some(other) => {
                return Err(Error::input(
                    path,
                    line,
                    None,
                    format!("seconds must be a number, not {other}"),
                ));
            }
        };
        let created_at = match obj.get(&cols.created_at) {
            Some(Value::String(s)) => parse_when(path, line, None, s)?,
            _ => None,
        };
        dedup.check(path, line, &item, &annotator)?;
        out.annotations.push(NewAnnotation {
            item,
            annotator,
            value: schema.canonical(&v),
            seconds,
            created_at,
            confidence: None,
        });
    }
    Ok(out)
}

fn ls_error(path: &Path, task: usize, id: &Value, msg: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{}: task {} (id {id}): {msg}", path.display(), task + 1))
}

/// The value of one Label Studio result (`choices`, `rating`, `number`, `labels`, `taxonomy`).
fn ls_result_value(schema: &LabelSchema, result: &Value) -> Result<Option<LabelValue>, String> {
    let v = &result["value"];
    if let Some(c) = v.get("choices").or_else(|| v.get("labels")) {
        let arr = c.as_array().ok_or("`choices` is not a list")?;
        return match schema.kind {
            LabelKind::Multi => schema.parse_json(c).map(Some),
            _ if arr.len() == 1 => schema.parse_json(&arr[0]).map(Some),
            _ => Err(format!(
                "{} choices in one answer, but this is a {} project (one class per item)",
                arr.len(),
                schema.kind.as_str()
            )),
        };
    }
    if let Some(n) = v.get("rating").or_else(|| v.get("number")) {
        return match schema.kind {
            LabelKind::Interval => schema.parse_json(n).map(Some),
            // A star rating on an ordinal scale: rating r is the r-th class.
            LabelKind::Ordinal => {
                let r = n.as_u64().ok_or("a rating must be a whole number")?;
                if r == 0 || r as usize > schema.classes.len() {
                    return Err(format!("rating {r} is outside 1..{}", schema.classes.len()));
                }
                Ok(Some(LabelValue::Class(r as u32 - 1)))
            }
            _ => schema.parse_json(n).map(Some),
        };
    }
    Ok(None)
}

fn ls_annotator(completed_by: &Value) -> Option<String> {
    match completed_by {
        Value::Number(n) => Some(format!("label-studio-user-{n}")),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o
            .get("email")
            .and_then(|e| e.as_str())
            .filter(|e| !e.is_empty())
            .map(String::from)
            .or_else(|| o.get("id").map(|id| format!("label-studio-user-{id}"))),
        _ => None,
    }
}

fn read_label_studio(path: &Path, schema: &LabelSchema, key_field: Option<&str>) -> Result<Parsed> {
    let text = read_text(path)?;
    let tasks: Value = serde_json::from_str(&text).map_err(|e| {
        Error::input(
            path,
            e.line() as u64,
            Some(e.column() as u64),
            format!("invalid JSON: {e}; export from Label Studio as JSON (not JSON-MIN or CSV)"),
        )
    })?;
    let tasks = tasks.as_array().ok_or_else(|| {
        Error::input(
            path,
            1,
            Some(1),
            "a Label Studio export is a JSON list of tasks; this file is not a list",
        )
    })?;
    let mut out = Parsed::default();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (t, task) in tasks.iter().enumerate() {
        let id = task.get("id").cloned().unwrap_or(Value::Null);
        let data = task
            .get("data")
            .and_then(|d| d.as_object())
            .ok_or_else(|| ls_error(path, t, &id, "has no `data` object"))?;
        let key = key_field
            .and_then(|k| data.get(k))
            .or_else(|| data.get("item"))
            .or(if key_field.is_none() { task.get("id") } else { None });
        let item = match key {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(ls_error(
                    path,
                    t,
                    &id,
                    format!(
                        "no item key: the task data has no `{}` field{}",
                        key_field.unwrap_or("item"),
                        if key_field.is_some() { "" } else { " and the task no id" }
                    ),
                ));
            }
        };
        out.payloads.push((item.clone(), Value::Object(data.clone())));
        let annotations = task
            .get("annotations")
            .and_then(|a| a.as_array())
            .cloned()
            .unwrap_or_default();
        for a in annotations {
            if a.get("was_cancelled").and_then(|c| c.as_bool()) == Some(true) {
                continue;
            }
            let annotator = ls_annotator(a.get("completed_by").unwrap_or(&Value::Null))
                .ok_or_else(|| ls_error(path, t, &id, "an annotation has no `completed_by`"))?;
            let mut value = None;
            for r in a.get("result").and_then(|r| r.as_array()).into_iter().flatten() {
                if let Some(v) = ls_result_value(schema, r).map_err(|m| ls_error(path, t, &id, m))? {
                    if value.is_some() {
                        return Err(ls_error(
                            path,
                            t,
                            &id,
                            "an annotation has two label results; sluice reads one labeling question per project",
                        ));
                    }
                    value = Some(v);
                }
            }
            let Some(value) = value else { continue };
            if let Some(prev) = seen.insert((item.clone(), annotator.clone()), t) {
                return Err(ls_error(
                    path,
                    t,
                    &id,
                    format!("`{annotator}` already answered item `{item}` in task {}", prev + 1),
                ));
            }
            let canonical = schema.canonical(&value);
            if a.get("ground_truth").and_then(|g| g.as_bool()) == Some(true) {
                out.gold.push((item.clone(), canonical.clone()));
            }
            out.annotations.push(NewAnnotation {
                item: item.clone(),
                annotator,
                value: canonical,
                seconds: a.get("lead_time").and_then(|l| l.as_f64()).filter(|s| *s >= 0.0),
                created_at: a
                    .get("created_at")
                    .and_then(|c| c.as_str())
                    .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                    .map(|d| d.with_timezone(&Utc)),
                confidence: None,
            });
        }
    }
    Ok(out)
}

/// One row of a table export.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportRow<'a> {
    /// Item key.
    pub item: &'a str,
    /// Annotator name.
    pub annotator: &'a str,
    /// Label (canonical text).
    pub label: &'a str,
    /// `human` or `pseudo`.
    pub source: &'a str,
    /// Seconds spent.
    pub seconds: Option<f64>,
    /// When.
    pub created_at: String,
}

/// Writes annotations as long-format CSV or JSON Lines (the import format, so files round-trip).
pub fn write_table(path: &Path, format: Format, annotations: &[Annotation]) -> Result<()> {
    let rows = annotations.iter().map(|a| ExportRow {
        item: &a.item,
        annotator: &a.annotator,
        label: &a.value,
        source: a.source.as_str(),
        seconds: a.seconds,
        created_at: a.created_at.to_rfc3339(),
    });
    let mut buf = Vec::new();
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut buf);
            for r in rows {
                w.serialize(r).map_err(|e| Error::data("writing CSV", e))?;
            }
            w.flush().map_err(|e| Error::io(path, e))?;
        }
        Format::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut buf, &r).map_err(|e| Error::data("writing JSON", e))?;
                buf.push(b'\n');
            }
        }
        Format::LabelStudio => return Err(Error::Internal("write_table called for Label Studio".into())),
    }
    std::fs::write(path, buf).map_err(|e| Error::io(path, e))
}

/// Names used in Label Studio results: the control (`from_name`) and the object (`to_name`).
#[derive(Debug, Clone)]
pub struct LabelStudioNames {
    /// The labeling control's name in the Label Studio config (default `label`).
    pub from_name: String,
    /// The data object's name (default `text`).
    pub to_name: String,
}

impl Default for LabelStudioNames {
    fn default() -> Self {
        Self {
            from_name: "label".into(),
            to_name: "text".into(),
        }
    }
}

/// Label Studio tasks (importable JSON) for items with their payload and answers; gold answers
/// become `ground_truth` annotations by the `gold` annotator.
pub fn label_studio_tasks(
    schema: &LabelSchema,
    names: &LabelStudioNames,
    items: &[(String, Option<Value>)],
    annotations: &[Annotation],
    gold: &HashMap<String, String>,
) -> Result<Value> {
    let mut by_item: HashMap<&str, Vec<&Annotation>> = HashMap::new();
    for a in annotations {
        by_item.entry(a.item.as_str()).or_default().push(a);
    }
    let result = |value: &str| -> Result<Value> {
        let v = schema
            .parse_stored(value)
            .map_err(|m| Error::Internal(format!("stored value does not parse: {m}")))?;
        let (kind, inner) = match (&v, schema.kind) {
            (LabelValue::Number(x), _) => ("number", json!({ "number": x })),
            (_, _) => {
                let j = schema.to_json(&v);
                let list = if j.is_array() { j } else { json!([j]) };
                ("choices", json!({ "choices": list }))
            }
        };
        Ok(json!([{ "from_name": names.from_name, "to_name": names.to_name, "type": kind, "value": inner }]))
    };
    let mut tasks = Vec::with_capacity(items.len());
    for (key, payload) in items {
        let mut data = match payload {
            Some(Value::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        };
        data.insert("item".into(), Value::String(key.clone()));
        let mut anns = Vec::new();
        for a in by_item.get(key.as_str()).into_iter().flatten() {
            let mut o = json!({
                "completed_by": { "email": a.annotator },
                "result": result(&a.value)?,
                "created_at": a.created_at.to_rfc3339(),
                "ground_truth": false,
            });
            if let Some(s) = a.seconds {
                o["lead_time"] = json!(s);
            }
            anns.push(o);
        }
        if let Some(g) = gold.get(key) {
            anns.push(json!({ "completed_by": { "email": "gold" }, "result": result(g)?, "ground_truth": true }));
        }
        let mut task = json!({ "data": data });
        if !anns.is_empty() {
            task["annotations"] = Value::Array(anns);
        }
        tasks.push(task);
    }
    Ok(Value::Array(tasks))
}

/// Model predictions: one probability row per item.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Item keys, in file order.
    pub items: Vec<String>,
    /// Row-major `items x classes` probabilities, columns in the project's class order.
    pub probs: Vec<f64>,
    /// Number of classes.
    pub n_classes: usize,
}

/// Reads predictions: CSV with an item column and one column per class (named as the classes),
/// or JSON Lines with the item field and either a `probs` array (class order) or one field per
/// class. Rows must be probability vectors (non-negative, summing to 1 within 1e-3).
pub fn read_predictions(path: &Path, schema: &LabelSchema, item_col: &str) -> Result<Predictions> {
    if schema.kind == LabelKind::Interval {
        return Err(Error::Usage(
            "predictions of class probabilities need a categorical project".into(),
        ));
    }
    let k = schema.classes.len();
    let mut items = Vec::new();
    let mut probs = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut check = |items: &mut Vec<String>, item: String, row: &[f64], line: u64| -> Result<()> {
        if let Some(bad) = row.iter().find(|p| !(p.is_finite() && **p >= 0.0)) {
            return Err(Error::input(
                path,
                line,
                None,
                format!("probability {bad} is not a number in [0, 1]"),
            ));
        }
        let sum: f64 = row.iter().sum();
        if (sum - 1.0).abs() > 1e-3 {
            return Err(Error::input(
                path,
                line,
                None,
                format!("probabilities sum to {sum}, not 1; give one softmax output per class"),
            ));
        }
        if let Some(first) = seen.insert(item.clone(), line) {
            return Err(Error::input(
                path,
                line,
                None,
                format!("item `{item}` already has predictions on line {first}"),
            ));
        }
        items.push(item);
        Ok(())
    };
    match Format::resolve(None, path).unwrap_or(Format::Csv) {
        Format::Jsonl => {
            for (line, obj) in jsonl_objects(path)? {
                let item = json_key(path, line, &obj, item_col)?;
                let row: Vec<f64> = if let Some(Value::Array(a)) = obj.get("probs") {
                    if a.len() != k {
                        return Err(Error::input(
                            path,
                            line,
                            None,
                            format!("`probs` has {} values for {k} classes", a.len()),
                        ));
                    }
                    a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect()
                } else {
                    let mut row = Vec::with_capacity(k);
                    for c in &schema.classes {
                        let v = obj.get(c).and_then(|v| v.as_f64()).ok_or_else(|| {
                            Error::input(path, line, None, format!("no numeric `{c}` field (or a `probs` array)"))
                        })?;
                        row.push(v);
                    }
                    row
                };
                check(&mut items, item, &row, line)?;
                probs.extend(row);
            }
        }
        _ => {
            let (headers, records) = csv_records(path)?;
            let ci = find_col(path, &headers, item_col, true)?.expect("required");
            let mut class_cols = Vec::with_capacity(k);
            for c in &schema.classes {
                class_cols.push(find_col(path, &headers, c, true)?.expect("required"));
            }
            for (line, rec) in records {
                let item = field(path, line, &rec, ci, item_col)?;
                let mut row = Vec::with_capacity(k);
                for &c in &class_cols {
                    let t = rec.get(c).unwrap_or_default().trim();
                    let v: f64 = t.parse().map_err(|_| {
                        Error::input(path, line, Some(c as u64 + 1), format!("`{t}` is not a probability"))
                    })?;
                    row.push(v);
                }
                check(&mut items, item, &row, line)?;
                probs.extend(row);
            }
        }
    }
    if items.is_empty() {
        return Err(Error::Usage(format!("{}: no predictions in the file", path.display())));
    }
    Ok(Predictions {
        items,
        probs,
        n_classes: k,
    })
}

/// Reads embeddings: CSV or JSON Lines with the item column and the other numeric columns (CSV)
/// or an `embedding` array (JSON Lines). Returns item keys and a row-major matrix.
pub fn read_embeddings(path: &Path, item_col: &str) -> Result<(Vec<String>, Vec<f32>, usize)> {
    let mut items = Vec::new();
    let mut values = Vec::new();
    let mut dim = None;
    let mut push = |row: Vec<f32>, line: u64, values: &mut Vec<f32>| -> Result<()> {
        match dim {
            None => dim = Some(row.len()),
            Some(d) if d != row.len() => {
                return Err(Error::input(
                    path,
                    line,
                    None,
                    format!("{} dimensions, earlier rows had {d}", row.len()),
                ));
            }
            _ => {}
        }
        if row.iter().any(|v| !v.is_finite()) {
            return Err(Error::input(
                path,
                line,
                None,
                "an embedding value is not a finite number",
            ));
        }
        values.extend(row);
        Ok(())
    };
    match Format::resolve(None, path).unwrap_or(Format::Csv) {
        Format::Jsonl => {
            for (line, obj) in jsonl_objects(path)? {
                items.push(json_key(path, line, &obj, item_col)?);
                let row: Vec<f32> = obj
                    .get("embedding")
                    .and_then(|e| e.as_array())
                    .ok_or_else(|| Error::input(path, line, None, "no `embedding` array"))?
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect();
                push(row, line, &mut values)?;
            }
        }
        _ => {
            let (headers, records) = csv_records(path)?;
            let ci = find_col(path, &headers, item_col, true)?.expect("required");
            for (line, rec) in records {
                items.push(field(path, line, &rec, ci, item_col)?);
                let mut row = Vec::with_capacity(rec.len() - 1);
                for (c, t) in rec.iter().enumerate().filter(|(c, _)| *c != ci) {
                    row.push(
                        t.trim().parse::<f32>().map_err(|_| {
                            Error::input(path, line, Some(c as u64 + 1), format!("`{t}` is not a number"))
                        })?,
                    );
                }
                push(row, line, &mut values)?;
            }
        }
    }
    let dim = dim.unwrap_or(0);
    if dim == 0 {
        return Err(Error::Usage(format!("{}: no embeddings in the file", path.display())));
    }
    Ok((items, values, dim))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> LabelSchema {
        LabelSchema {
            kind: LabelKind::Single,
            classes: vec!["ham".into(), "spam".into()],
            min: None,
            max: None,
        }
    }

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let d = tempfile::tempdir().unwrap();
        let s = schema();
        let c = Columns::default();
        let p = file(&d, "a.csv", "item,annotator,label,seconds\n1,x,spam,2.5\n2,x,eggs,1\n");
        let e = read_annotations(&p, Format::Csv, &s, &c, None).unwrap_err().to_string();
        assert!(
            e.ends_with("a.csv:3:3: `eggs` is not a class of this project; classes: ham, spam"),
            "{e}"
        );
        let p = file(&d, "b.csv", "item,who,label\n1,x,spam\n");
        let e = read_annotations(&p, Format::Csv, &s, &c, None).unwrap_err().to_string();
        assert!(
            e.contains("b.csv:1: no `annotator` column; the header has item, who, label"),
            "{e}"
        );
        let p = file(&d, "c.csv", "item,annotator,label\n1,x,spam\n1,x,ham\n");
        let e = read_annotations(&p, Format::Csv, &s, &c, None).unwrap_err().to_string();
        assert!(
            e.contains("c.csv:3: annotator `x` already labelled item `1` on line 2"),
            "{e}"
        );
        let p = file(&d, "d.csv", "item,annotator,label\n1,x\n");
        let e = read_annotations(&p, Format::Csv, &s, &c, None).unwrap_err().to_string();
        assert!(e.contains("d.csv:2: this row has 2 fields but the header has 3"), "{e}");
        let p = file(&d, "e.csv", "item,annotator,label,seconds\n1,x,spam,-1\n");
        let e = read_annotations(&p, Format::Csv, &s, &c, None).unwrap_err().to_string();
        assert!(e.contains("e.csv:2:4: seconds `-1`"), "{e}");
    }

    #[test]
    fn jsonl_reads_labels_and_reports_bad_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = file(
            &d,
            "a.jsonl",
            "{\"item\": 7, \"annotator\": \"x\", \"label\": \"spam\", \"seconds\": 4}\n\n{\"item\": \"8\", \"annotator\": \"y\"\n",
        );
        let e = read_annotations(&p, Format::Jsonl, &schema(), &Columns::default(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.jsonl:3:"), "{e}");
        let p = file(
            &d,
            "b.jsonl",
            "{\"item\": 7, \"annotator\": \"x\", \"label\": \"spam\", \"seconds\": 4}\n",
        );
        let r = read_annotations(&p, Format::Jsonl, &schema(), &Columns::default(), None).unwrap();
        assert_eq!(r.annotations[0].item, "7");
        assert_eq!(r.annotations[0].seconds, Some(4.0));
    }

    #[test]
    fn label_studio_export_is_read() {
        let d = tempfile::tempdir().unwrap();
        let export = json!([
            {"id": 11, "data": {"text": "win money", "item": "a"}, "annotations": [
                {"completed_by": {"id": 1, "email": "ann@x.org"}, "lead_time": 3.5, "ground_truth": true,
                 "result": [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": ["spam"]}}]},
                {"completed_by": 2, "result": [{"type": "choices", "value": {"choices": ["ham"]}}]},
                {"completed_by": 3, "was_cancelled": true, "result": []}
            ]},
            {"id": 12, "data": {"text": "hi"}, "annotations": []}
        ]);
        let p = file(&d, "ls.json", &export.to_string());
        let r = read_annotations(&p, Format::LabelStudio, &schema(), &Columns::default(), None).unwrap();
        let got: Vec<(&str, &str, &str)> = r
            .annotations
            .iter()
            .map(|a| (a.item.as_str(), a.annotator.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("a", "ann@x.org", "spam"), ("a", "label-studio-user-2", "ham")]
        );
        assert_eq!(r.gold, vec![("a".to_string(), "spam".to_string())]);
        assert_eq!(r.annotations[0].seconds, Some(3.5));
        assert_eq!(r.payloads[1].0, "12", "task id is the key without an item field");
        let p = file(&d, "bad.json", "{\"id\": 1}");
        assert!(read_annotations(&p, Format::LabelStudio, &schema(), &Columns::default(), None).is_err());
    }

    #[test]
    fn predictions_are_checked() {
        let d = tempfile::tempdir().unwrap();
        let p = file(&d, "p.csv", "item,spam,ham\na,0.9,0.1\nb,0.2,0.8\n");
        let r = read_predictions(&p, &schema(), "item").unwrap();
        assert_eq!(
            r.probs,
            vec![0.1, 0.9, 0.8, 0.2],
            "columns follow the project's class order"
        );
        let p = file(&d, "q.csv", "item,spam,ham\na,0.9,0.3\n");
        let e = read_predictions(&p, &schema(), "item").unwrap_err().to_string();
        assert!(e.contains("q.csv:2: probabilities sum to 1.2"), "{e}");
        let p = file(&d, "r.jsonl", "{\"item\": \"a\", \"probs\": [0.5, 0.5]}\n");
        assert_eq!(read_predictions(&p, &schema(), "item").unwrap().items, vec!["a"]);
    }
}
