//! Lineage graphs: where a model or dataset version came from, and what was made from it.
//!
//! Upstream of a model: the dataset versions it was trained on, each version's parent and the
//! versions it was derived from, recursively, down to the sources the data was collected from.
//! Downstream of a version: versions whose parent it is or that were derived from it, and models
//! trained on any of them, recursively. The graph renders as a tree, as JSON, or as OpenLineage
//! 2-0-2 RunEvents (one per run that produced a node: an `add` of a version, a model training).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use sluice_store::Workspace;
use sluice_store::meta::{ModelVersionRecord, Provenance, VersionRecord};

use crate::error::Result;

/// A node of a lineage graph.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    /// A model version.
    Model(Box<ModelVersionRecord>),
    /// A dataset version.
    Dataset(Box<VersionRecord>),
    /// Where a version's data was collected from.
    Source(Provenance),
}

/// How two nodes are related (`from` is the node nearer the graph's root).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// Node id.
    pub from: String,
    /// Node id.
    pub to: String,
    /// `trained_on`, `parent`, `derived_from`, `collected_from` (upstream); `child`,
    /// `derived_into`, `used_by` (downstream).
    pub relation: String,
}

/// A lineage graph rooted at one node.
#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    /// The root node id.
    pub root: String,
    /// `upstream` or `downstream`.
    pub direction: String,
    /// Nodes by id.
    pub nodes: BTreeMap<String, Node>,
    /// Edges, in discovery order.
    pub edges: Vec<Edge>,
}

fn model_id(m: &ModelVersionRecord) -> String {
    format!("model:{}", m.label())
}

fn version_id(v: &VersionRecord) -> String {
    format!("dataset:{}", v.label())
}

fn source_id(v: &VersionRecord) -> Option<String> {
    v.provenance.source_uri.as_ref().map(|u| format!("source:{u}"))
}

impl Graph {
    fn new(root: String, direction: &str) -> Graph {
        Graph {
            root,
            direction: direction.into(),
            nodes: BTreeMap::new(),
            edges: Vec::new(),
        }
    }

    fn edge(&mut self, from: &str, to: &str, relation: &str) {
        let e = Edge {
            from: from.into(),
            to: to.into(),
            relation: relation.into(),
        };
        if !self.edges.contains(&e) {
            self.edges.push(e);
        }
    }
}

/// The upstream graph of a model version.
pub async fn upstream_of_model(ws: &Workspace, m: &ModelVersionRecord) -> Result<Graph> {
    let root = model_id(m);
    let mut g = Graph::new(root.clone(), "upstream");
    g.nodes.insert(root.clone(), Node::Model(Box::new(m.clone())));
    for input in &m.inputs {
        g.edge(&root, &version_id(&input.version), "trained_on");
        add_upstream(ws, &mut g, input.version.clone()).await?;
    }
    Ok(g)
}

/// The upstream graph of a dataset version.
pub async fn upstream_of_version(ws: &Workspace, v: &VersionRecord) -> Result<Graph> {
    let mut g = Graph::new(version_id(v), "upstream");
    add_upstream(ws, &mut g, v.clone()).await?;
    Ok(g)
}

async fn add_upstream(ws: &Workspace, g: &mut Graph, start: VersionRecord) -> Result<()> {
    let mut stack = vec![start];
    while let Some(v) = stack.pop() {
        let id = version_id(&v);
        if g.nodes.contains_key(&id) {
            continue;
        }
        if let Some(src) = source_id(&v) {
            g.edge(&id, &src, "collected_from");
            g.nodes.entry(src).or_insert_with(|| Node::Source(v.provenance.clone()));
        }
        let mut next = Vec::new();
        if let Some(p) = v.parent_id {
            let parent = ws.meta.version_by_id(p).await?;
            g.edge(&id, &version_id(&parent), "parent");
            next.push(parent);
        }
        for input in ws.meta.derived_from(v.id).await? {
            let parent = ws.meta.version_by_id(input).await?;
            g.edge(&id, &version_id(&parent), "derived_from");
            next.push(parent);
        }
        g.nodes.insert(id, Node::Dataset(Box::new(v)));
        stack.extend(next.into_iter().rev());
    }
    Ok(())
}

/// The downstream graph of a dataset version.
pub async fn downstream_of_version(ws: &Workspace, v: &VersionRecord) -> Result<Graph> {
    let mut g = Graph::new(version_id(v), "downstream");
    let mut stack = vec![v.clone()];
    while let Some(v) = stack.pop() {
        let id = version_id(&v);
        if g.nodes.contains_key(&id) {
            continue;
        }
        let mut next = Vec::new();
        for child in ws.meta.derived_versions(v.id).await? {
            let c = ws.meta.version_by_id(child).await?;
            let relation = if c.parent_id == Some(v.id) {
                "child"
            } else {
                "derived_into"
            };
            g.edge(&id, &version_id(&c), relation);
            next.push(c);
        }
        for m in ws.meta.models_using(v.id).await? {
            let mid = model_id(&m);
            g.edge(&id, &mid, "used_by");
            g.nodes.entry(mid).or_insert_with(|| Node::Model(Box::new(m)));
        }
        g.nodes.insert(id, Node::Dataset(Box::new(v)));
        stack.extend(next.into_iter().rev());
    }
    Ok(g)
}

/// One line describing a node.
fn describe(node: &Node) -> String {
    match node {
        Node::Model(m) => {
            let params = m
                .params
                .iter()
                .map(|(k, v)| format!("{k}={}", plain(v)))
                .collect::<Vec<_>>()
                .join(" ");
            let metrics = m
                .metrics
                .iter()
                .map(|(k, v)| format!("{k}={}", plain(v)))
                .collect::<Vec<_>>()
                .join(" ");
            let mut s = format!(
                "model {}  code {}  trained {}",
                m.label(),
                m.code_rev.as_deref().unwrap_or("(none)"),
                m.created_at.format("%Y-%m-%d %H:%M UTC")
            );
            if !params.is_empty() {
                s.push_str(&format!("  params {params}"));
            }
            if !metrics.is_empty() {
                s.push_str(&format!("  metrics {metrics}"));
            }
            s
        }
        Node::Dataset(v) => {
            let mut s = format!("dataset {}", v.label());
            if !v.tags.is_empty() {
                s.push_str(&format!(" (tag {})", v.tags.join(", ")));
            }
            s.push_str(&format!("  {} files", v.file_count));
            if let Some(r) = v.row_count {
                s.push_str(&format!("  {r} rows"));
            }
            s.push_str(&format!(
                "  manifest {}  added {}",
                v.manifest.short(),
                v.created_at.format("%Y-%m-%d %H:%M UTC")
            ));
            if let Some(m) = &v.message {
                s.push_str(&format!("  \"{m}\""));
            }
            // Versions written by a pipeline name the stages and parameters that made them.
            if let Some(c) = v.provenance.command.as_deref().filter(|c| c.starts_with("sluice run")) {
                s.push_str(&format!("  made by {c}"));
            }
            s
        }
        Node::Source(p) => format!(
            "source {}  collected {} by {}",
            p.source_uri.as_deref().unwrap_or("(unknown)"),
            p.collected_at.format("%Y-%m-%d %H:%M UTC"),
            p.collected_by
        ),
    }
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders the graph as an indented tree from its root; a node reached twice is shown once
/// and referred to afterwards.
pub fn render_tree(g: &Graph) -> String {
    let mut children: HashMap<&str, Vec<&Edge>> = HashMap::new();
    for e in &g.edges {
        children.entry(e.from.as_str()).or_default().push(e);
    }
    let mut out = String::new();
    let mut seen = BTreeSet::new();
    if let Some(n) = g.nodes.get(&g.root) {
        out.push_str(&describe(n));
        out.push('\n');
    }
    seen.insert(g.root.clone());
    render_children(g, &children, &g.root, "", &mut seen, &mut out);
    out
}

fn render_children(
    g: &Graph,
    children: &HashMap<&str, Vec<&Edge>>,
    id: &str,
    prefix: &str,
    seen: &mut BTreeSet<String>,
    out: &mut String,
) {
    let Some(edges) = children.get(id) else { return };
    for (i, e) in edges.iter().enumerate() {
        let last = i + 1 == edges.len();
        let (branch, next_prefix) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let text = g.nodes.get(&e.to).map(describe).unwrap_or_else(|| e.to.clone());
        let relation = e.relation.replace('_', " ");
        if seen.contains(&e.to) {
            out.push_str(&format!(
                "{prefix}{branch}{relation}: {} (shown above)\n",
                e.to.split_once(':').map(|x| x.1).unwrap_or(&e.to)
            ));
            continue;
        }
        seen.insert(e.to.clone());
        out.push_str(&format!("{prefix}{branch}{relation}: {text}\n"));
        render_children(g, children, &e.to, &format!("{prefix}{next_prefix}"), seen, out);
    }
}

/// The OpenLineage producer URI of these events.
pub const PRODUCER: &str = concat!("urn:sluice:", env!("CARGO_PKG_VERSION"));
const RUN_EVENT_SCHEMA: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const VERSION_FACET_SCHEMA: &str =
    "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet";
const SCHEMA_FACET_SCHEMA: &str =
    "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";

/// OpenLineage 2-0-2 `COMPLETE` RunEvents for every run that produced a node of the graph:
/// each dataset version's `add` (job `add.<dataset>`, inputs: its source, parent and derived-from
/// versions) and each model's training (job `train.<model>`, inputs: its dataset versions).
/// `namespace` identifies the workspace (for example `sluice://host/path`).
pub async fn openlineage_events(ws: &Workspace, g: &Graph, namespace: &str) -> Result<Vec<serde_json::Value>> {
    let mut events = Vec::new();
    for node in g.nodes.values() {
        match node {
            Node::Dataset(v) => {
                let mut inputs = Vec::new();
                if let Some(uri) = &v.provenance.source_uri {
                    let (ns, name) = split_uri(uri);
                    inputs.push(serde_json::json!({"namespace": ns, "name": name}));
                }
                if let Some(p) = v.parent_id {
                    inputs.push(dataset_json(ws, &ws.meta.version_by_id(p).await?, namespace).await?);
                }
                for d in ws.meta.derived_from(v.id).await? {
                    inputs.push(dataset_json(ws, &ws.meta.version_by_id(d).await?, namespace).await?);
                }
                let run_id = run_uuid(&format!("{}:{}", v.label(), v.manifest));
                events.push(run_event(
                    &v.created_at.to_rfc3339(),
                    &run_id,
                    &format!("add.{}", v.dataset),
                    inputs,
                    vec![dataset_json(ws, v, namespace).await?],
                ));
            }
            Node::Model(m) => {
                let mut inputs = Vec::new();
                for i in &m.inputs {
                    inputs.push(dataset_json(ws, &i.version, namespace).await?);
                }
                let output = serde_json::json!({
                    "namespace": namespace,
                    "name": format!("models/{}", m.model),
                    "facets": {"version": version_facet(&m.number.to_string())},
                });
                events.push(run_event(
                    &m.created_at.to_rfc3339(),
                    &m.run_id,
                    &format!("train.{}", m.model),
                    inputs,
                    vec![output],
                ));
            }
            Node::Source(_) => {}
        }
    }
    Ok(events)
}

fn run_event(
    time: &str,
    run_id: &str,
    job: &str,
    inputs: Vec<serde_json::Value>,
    outputs: Vec<serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({
        "eventType": "COMPLETE",
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": run_id},
        "job": {"namespace": "sluice", "name": job},
        "inputs": inputs,
        "outputs": outputs,
    })
}

fn version_facet(version: &str) -> serde_json::Value {
    serde_json::json!({"_producer": PRODUCER, "_schemaURL": VERSION_FACET_SCHEMA, "datasetVersion": version})
}

async fn dataset_json(ws: &Workspace, v: &VersionRecord, namespace: &str) -> Result<serde_json::Value> {
    let mut facets = serde_json::Map::new();
    facets.insert("version".into(), version_facet(&v.number.to_string()));
    let tables = ws.meta.tables(v.id).await?;
    if let Some(t) = tables.first() {
        let fields: Vec<serde_json::Value> = t.schema["fields"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .map(|f| serde_json::json!({"name": f["name"], "type": f["type"]}))
                    .collect()
            })
            .unwrap_or_default();
        facets.insert(
            "schema".into(),
            serde_json::json!({"_producer": PRODUCER, "_schemaURL": SCHEMA_FACET_SCHEMA, "fields": fields}),
        );
    }
    Ok(serde_json::json!({"namespace": namespace, "name": v.dataset, "facets": facets}))
}

/// Splits a source URI into an OpenLineage namespace (scheme and authority) and name (path).
fn split_uri(uri: &str) -> (String, String) {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            (format!("{scheme}://{authority}"), format!("/{path}"))
        }
        None => ("file".into(), uri.into()),
    }
}

/// A stable UUID (version 8, RFC 9562) derived from `key`, so re-exporting gives the same run ids.
fn run_uuid(key: &str) -> String {
    let hash = blake3::hash(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_bytes()[..16]);
    uuid::Uuid::new_v8(bytes).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_split_and_run_ids() {
        assert_eq!(
            split_uri("s3://raw/2024/jan.csv"),
            ("s3://raw".into(), "/2024/jan.csv".into())
        );
        assert_eq!(
            split_uri("file:///data/x.csv"),
            ("file://".into(), "/data/x.csv".into())
        );
        let a = run_uuid("d@v1:abc");
        assert_eq!(a, run_uuid("d@v1:abc"));
        assert_ne!(a, run_uuid("d@v2:abc"));
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 8);
    }
}
