//! The library's shape, checked: each layer imports only the layers below it, and no source file grows past 600
//! lines (a sign that it holds more than one concept).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The library's top-level modules, bottom up, as `CONTRIBUTING.md` draws them; last, the fuzz targets' entry
/// points (feature `fuzzing`), which may reach into any layer.
const LAYERS: &[&str] = &[
    "error",
    "telemetry",
    "protocol",
    "config",
    "connection",
    "sql",
    "executor",
    "stream",
    "query",
    "batch",
    "parallel",
    "watch",
    "entity",
    "http",
    "snapshot",
    "client",
    "pool",
    "fuzzing",
];

/// The library crates whose files are checked for size.
const CRATES: &[&str] = &["fraiseql-wire/src", "fraiseql-wire-derive/src"];

const MAX_LINES: usize = 600;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules that `source` refers to as `crate::<module>` outside comments.
fn imports(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in source.lines().filter(|line| !line.trim_start().starts_with("//")) {
        for (at, _) in line.match_indices("crate::") {
            let name: String =
                line[at + "crate::".len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            // Items re-exported at the root (`crate::Error`) count as their module's.
            found.insert(if name == "Error" || name == "Result" { "error".to_owned() } else { name });
        }
    }
    found
}

#[test]
fn each_layer_imports_only_the_layers_below_it() {
    let src = workspace().join("fraiseql-wire/src");
    let mut violations = Vec::new();
    for (level, layer) in LAYERS.iter().enumerate() {
        let mut files = Vec::new();
        let dir = src.join(layer);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{layer}.rs")));
        }
        for file in files {
            let source = fs::read_to_string(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
            for imported in imports(&source) {
                match LAYERS.iter().position(|l| *l == imported) {
                    Some(other) if other <= level => {}
                    Some(_) => violations.push(format!("{} imports {imported}, a layer above {layer}", file.display())),
                    None => violations.push(format!("{} imports crate::{imported}, which is no layer", file.display())),
                }
            }
        }
    }
    assert!(violations.is_empty(), "the layering is broken:\n{}", violations.join("\n"));
}

#[test]
fn every_top_level_module_is_a_layer() {
    let lib = fs::read_to_string(workspace().join("fraiseql-wire/src/lib.rs")).expect("lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.trim_start_matches("pub ").strip_prefix("mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .collect();
    assert_eq!(declared, LAYERS, "lib.rs declares its modules bottom up, as LAYERS lists them");
}

#[test]
fn no_library_file_is_longer_than_600_lines() {
    let mut too_long = Vec::new();
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&workspace().join(krate), &mut files);
        for file in files {
            let lines = fs::read_to_string(&file).map(|s| s.lines().count()).unwrap_or_default();
            if lines > MAX_LINES {
                too_long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(too_long.is_empty(), "split these by concept:\n{}", too_long.join("\n"));
}

#[test]
fn the_troubleshooting_guide_lists_every_error() {
    let source = fs::read_to_string(workspace().join("fraiseql-wire/src/error/mod.rs")).expect("error/mod.rs");
    let guide = fs::read_to_string(workspace().join("TROUBLESHOOTING.md")).expect("TROUBLESHOOTING.md");
    let start = source.find("pub enum Error {").expect("the Error enum");
    let end = start + source[start..].find("\n}\n").expect("its end");
    let variants: Vec<&str> = source[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|line| line.split(|c: char| !c.is_alphanumeric()).next().unwrap_or_default())
        .collect();
    assert!(variants.len() > 20, "{variants:?}");
    let missing: Vec<&&str> =
        variants.iter().filter(|v| !guide.contains(&format!("Error::{v}`")) && **v != "Db").collect();
    assert!(missing.is_empty(), "TROUBLESHOOTING.md does not explain: {missing:?}");
}
