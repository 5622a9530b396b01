//! End-to-end tests of the `sluice` binary: every command through its real command line, with
//! its `--json` output parsed and its exit code checked.

mod bad_input;
mod browser;
mod checks;
mod detect;
mod drift;
mod feedback;
mod label;
mod lineage;
mod monitor;
mod performance;
mod pipeline;
mod profile;
mod quality;
mod safety;
mod versions;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// A temp folder with an initialised workspace.
#[derive(Debug)]
pub struct Ws {
    pub dir: tempfile::TempDir,
}

impl Default for Ws {
    fn default() -> Self {
        Self::new()
    }
}

impl Ws {
    pub fn new() -> Ws {
        let dir = tempfile::tempdir().unwrap();
        let ws = Ws { dir };
        ws.ok(&["init"]);
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("sluice").unwrap();
        c.current_dir(self.path());
        c
    }

    /// A `std::process::Command` for the binary, for tests that spawn and kill it.
    pub fn spawnable(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("sluice"));
        c.current_dir(self.path());
        c
    }

    /// Runs a command; returns its output whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs a command that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "sluice {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command with `--json` that must succeed; returns the parsed output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let text = self.ok(&a);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("sluice {args:?} printed invalid JSON ({e}):\n{text}"))
    }

    /// Runs a command that must fail with `code`; returns stderr.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "sluice {args:?}: expected exit {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Paths of every object in the store.
    pub fn objects(&self) -> Vec<PathBuf> {
        let root = self.path().join(".sluice/objects");
        let mut out = Vec::new();
        for d in std::fs::read_dir(root).unwrap() {
            let d = d.unwrap().path();
            if d.is_dir() {
                for f in std::fs::read_dir(d).unwrap() {
                    out.push(f.unwrap().path());
                }
            }
        }
        out.sort();
        out
    }
}

/// A small CSV with a key column.
pub fn csv(rows: &[(i64, &str, f64)]) -> String {
    let mut s = String::from("id,name,score\n");
    for (id, name, score) in rows {
        s.push_str(&format!("{id},{name},{score}\n"));
    }
    s
}
