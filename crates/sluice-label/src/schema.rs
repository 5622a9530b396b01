//! Label schemas and label values.
//!
//! | kind       | a value is                        | stored as (canonical text)      | agreement / aggregation        |
//! |------------|-----------------------------------|---------------------------------|--------------------------------|
//! | `single`   | one class                         | the class name                  | nominal; majority, Dawid-Skene |
//! | `multi`    | a set of classes (maybe empty)    | JSON array of names, scale order| per class, as yes/no           |
//! | `ordinal`  | one class of an ordered scale     | the class name                  | ordinal alpha, weighted kappa  |
//! | `interval` | a number in `[min, max]`          | the number                      | interval alpha; mean or median |
//!
//! Invariant: a stored value is always canonical for its project's schema, so two equal answers
//! are equal strings (imports compare text to skip unchanged re-imports).

use serde::{Deserialize, Serialize};

/// The kind of answer a project asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelKind {
    /// Exactly one class per item.
    Single,
    /// Any subset of the classes.
    Multi,
    /// One class of an ordered scale (first class lowest).
    Ordinal,
    /// A number on an interval scale.
    Interval,
}

impl LabelKind {
    /// The name stored in the database and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelKind::Single => "single",
            LabelKind::Multi => "multi",
            LabelKind::Ordinal => "ordinal",
            LabelKind::Interval => "interval",
        }
    }
}

impl std::str::FromStr for LabelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "single" | "single-label" => Ok(LabelKind::Single),
            "multi" | "multi-label" => Ok(LabelKind::Multi),
            "ordinal" => Ok(LabelKind::Ordinal),
            "interval" => Ok(LabelKind::Interval),
            other => Err(format!(
                "unknown label kind `{other}`: use single, multi, ordinal or interval"
            )),
        }
    }
}

/// What a project's labels look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelSchema {
    /// The kind of answer.
    pub kind: LabelKind,
    /// Class names, in scale order (empty for interval).
    pub classes: Vec<String>,
    /// Interval scales: smallest allowed value.
    pub min: Option<f64>,
    /// Interval scales: largest allowed value.
    pub max: Option<f64>,
}

/// One parsed label.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelValue {
    /// A class index (single and ordinal).
    Class(u32),
    /// Class indices, sorted, without repeats (multi).
    Classes(Vec<u32>),
    /// A number (interval).
    Number(f64),
}

impl LabelSchema {
    /// Checks the schema itself: classes for categorical kinds, none repeated, a sane range.
    pub fn validate(&self) -> Result<(), String> {
        match self.kind {
            LabelKind::Interval => {
                if !self.classes.is_empty() {
                    return Err("an interval scale has no classes; give --min and --max instead".into());
                }
                if let (Some(a), Some(b)) = (self.min, self.max)
                    && !(a.is_finite() && b.is_finite() && a < b)
                {
                    return Err(format!("the interval [{a}, {b}] is empty: --min must be below --max"));
                }
            }
            kind => {
                let need = if kind == LabelKind::Multi { 1 } else { 2 };
                if self.classes.len() < need {
                    return Err(format!(
                        "a {} project needs at least {need} classes (--classes a,b,...)",
                        kind.as_str()
                    ));
                }
                let mut seen = std::collections::HashSet::new();
                for c in &self.classes {
                    if c.trim().is_empty() {
                        return Err("a class name is empty".into());
                    }
                    if !seen.insert(c) {
                        return Err(format!("class `{c}` is listed twice"));
                    }
                }
                if self.min.is_some() || self.max.is_some() {
                    return Err("--min/--max apply to interval projects only".into());
                }
            }
        }
        Ok(())
    }

    /// Number of classes (0 for interval).
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// The index of class `name`.
    pub fn class_index(&self, name: &str) -> Result<u32, String> {
        self.classes
            .iter()
            .position(|c| c == name)
            .map(|i| i as u32)
            .ok_or_else(|| {
                format!(
                    "`{name}` is not a class of this project; classes: {}",
                    self.classes.join(", ")
                )
            })
    }

    /// Parses a label as typed in a CSV cell: a class name, classes separated by `|` or `;` (or a
    /// JSON array) for multi-label, a number for interval.
    pub fn parse_text(&self, text: &str) -> Result<LabelValue, String> {
        let t = text.trim();
        match self.kind {
            LabelKind::Single | LabelKind::Ordinal => {
                if t.is_empty() {
                    return Err("the label is empty".into());
                }
                self.class_index(t).map(LabelValue::Class)
            }
            LabelKind::Multi => {
                if t.starts_with('[') {
                    let v: serde_json::Value =
                        serde_json::from_str(t).map_err(|e| format!("`{t}` is not a JSON array: {e}"))?;
                    return self.parse_json(&v);
                }
                let mut out = Vec::new();
                for part in t.split(['|', ';']).map(str::trim).filter(|p| !p.is_empty()) {
                    out.push(self.class_index(part)?);
                }
                Ok(LabelValue::Classes(normalise(out)))
            }
            LabelKind::Interval => {
                let x: f64 = t
                    .parse()
                    .map_err(|_| format!("`{t}` is not a number; this project's labels are numbers"))?;
                self.check_number(x)
            }
        }
    }

    /// Parses a label given as JSON: a string or number, or an array of strings (multi-label).
    pub fn parse_json(&self, v: &serde_json::Value) -> Result<LabelValue, String> {
        use serde_json::Value as J;
        match (self.kind, v) {
            (LabelKind::Multi, J::Array(a)) => {
                let mut out = Vec::with_capacity(a.len());
                for x in a {
                    match x {
                        J::String(s) => out.push(self.class_index(s)?),
                        other => return Err(format!("multi-label entries must be class names, found {other}")),
                    }
                }
                Ok(LabelValue::Classes(normalise(out)))
            }
            (LabelKind::Interval, J::Number(n)) => self.check_number(n.as_f64().unwrap_or(f64::NAN)),
            (_, J::String(s)) => self.parse_text(s),
            (_, J::Number(n)) => self.parse_text(&n.to_string()),
            (_, J::Array(a)) if a.len() == 1 => self.parse_json(&a[0]),
            (_, other) => Err(format!("cannot read {other} as a {} label", self.kind.as_str())),
        }
    }

    fn check_number(&self, x: f64) -> Result<LabelValue, String> {
        if !x.is_finite() {
            return Err(format!("{x} is not a finite number"));
        }
        if let Some(lo) = self.min
            && x < lo
        {
            return Err(format!("{x} is below the scale's minimum {lo}"));
        }
        if let Some(hi) = self.max
            && x > hi
        {
            return Err(format!("{x} is above the scale's maximum {hi}"));
        }
        Ok(LabelValue::Number(x))
    }

    /// The canonical stored text of a value (see the module docs).
    pub fn canonical(&self, v: &LabelValue) -> String {
        match v {
            LabelValue::Class(c) => self.classes[*c as usize].clone(),
            LabelValue::Classes(cs) => {
                let names: Vec<&str> = cs.iter().map(|&c| self.classes[c as usize].as_str()).collect();
                serde_json::to_string(&names).expect("strings serialise")
            }
            LabelValue::Number(x) => format_number(*x),
        }
    }

    /// Parses a canonical stored value back (errors mean the database was edited by hand).
    pub fn parse_stored(&self, text: &str) -> Result<LabelValue, String> {
        match self.kind {
            LabelKind::Multi => {
                let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("stored `{text}`: {e}"))?;
                self.parse_json(&v)
            }
            _ => self.parse_text(text),
        }
    }

    /// The value as JSON (a string, an array of strings, or a number), for exports.
    pub fn to_json(&self, v: &LabelValue) -> serde_json::Value {
        match v {
            LabelValue::Class(c) => serde_json::Value::String(self.classes[*c as usize].clone()),
            LabelValue::Classes(cs) => cs
                .iter()
                .map(|&c| serde_json::Value::String(self.classes[c as usize].clone()))
                .collect(),
            LabelValue::Number(x) => serde_json::json!(x),
        }
    }
}

fn normalise(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Shortest text that parses back to the same `f64`.
pub fn format_number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(kind: LabelKind, classes: &[&str]) -> LabelSchema {
        LabelSchema {
            kind,
            classes: classes.iter().map(|c| c.to_string()).collect(),
            min: None,
            max: None,
        }
    }

    #[test]
    fn values_round_trip_through_canonical_text() {
        let s = schema(LabelKind::Multi, &["cat", "dog", "bird"]);
        let v = s.parse_text("bird|cat|cat").unwrap();
        assert_eq!(v, LabelValue::Classes(vec![0, 2]));
        let text = s.canonical(&v);
        assert_eq!(text, r#"["cat","bird"]"#);
        assert_eq!(s.parse_stored(&text).unwrap(), v);
        assert_eq!(s.parse_text("").unwrap(), LabelValue::Classes(vec![]));

        let o = schema(LabelKind::Ordinal, &["low", "mid", "high"]);
        assert_eq!(o.parse_text(" mid ").unwrap(), LabelValue::Class(1));
        assert!(o.parse_text("huge").unwrap_err().contains("classes: low, mid, high"));

        let mut i = schema(LabelKind::Interval, &[]);
        i.min = Some(0.0);
        i.max = Some(10.0);
        assert_eq!(i.canonical(&i.parse_text("2.50").unwrap()), "2.5");
        assert_eq!(i.canonical(&i.parse_json(&serde_json::json!(7)).unwrap()), "7");
        assert!(i.parse_text("11").unwrap_err().contains("maximum"));
        assert!(i.parse_text("x").is_err());
    }

    #[test]
    fn schema_validation() {
        assert!(schema(LabelKind::Single, &["a"]).validate().is_err());
        assert!(schema(LabelKind::Single, &["a", "a"]).validate().is_err());
        assert!(schema(LabelKind::Multi, &["a"]).validate().is_ok());
        assert!(schema(LabelKind::Interval, &["a"]).validate().is_err());
        let mut i = schema(LabelKind::Interval, &[]);
        i.min = Some(3.0);
        i.max = Some(1.0);
        assert!(i.validate().is_err());
    }
}
