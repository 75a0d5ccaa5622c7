//! Repository-wide checks on the Rust sources themselves.

use std::path::{Path, PathBuf};

/// Most non-blank lines a source file may hold outside its `#[cfg(test)]` modules.
const MAX_LINES: usize = 500;

/// The member directories whose sources are checked (benches included; `*/tests/` exempt).
const CHECKED: [&str; 4] = ["shared", "functions", "statemachine", "cli"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Non-blank lines of `source` outside `#[cfg(test)]` modules. A test module ends at the
/// closing brace at its own indentation (rustfmt's layout), so braces inside strings do not
/// matter; `#[cfg(test)] mod name;` counts nothing either.
fn counted_lines(source: &str) -> usize {
    let mut count = 0;
    let mut cfg_test = false;
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed == "#[cfg(test)]" {
            cfg_test = true;
            continue;
        }
        let is_mod = trimmed.starts_with("mod ") || trimmed.starts_with("pub mod ");
        if std::mem::take(&mut cfg_test) {
            if is_mod && trimmed.ends_with('{') {
                let indent = &line[..line.len() - line.trim_start().len()];
                let end = format!("{indent}}}");
                lines.by_ref().find(|l| *l == end);
                continue;
            }
            if is_mod && trimmed.ends_with(';') {
                continue;
            }
            // `#[cfg(test)]` on anything else counts, attribute included.
            count += 1;
        }
        count += 1;
    }
    count
}

/// Every `.rs` file under `dir`, skipping `tests` directories and build output.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "tests" && name != "target" {
                sources(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_500_lines_outside_its_tests() {
    let root = repo();
    let mut files = Vec::new();
    for dir in CHECKED {
        sources(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} sources", files.len());
    let mut over = Vec::new();
    for path in &files {
        let relative = path
            .strip_prefix(&root)
            .expect("under the repository")
            .to_string_lossy()
            .replace('\\', "/");
        let source = std::fs::read_to_string(path).expect("a UTF-8 source");
        let lines = counted_lines(&source);
        if lines > MAX_LINES {
            over.push(format!("{relative}: {lines} lines"));
        }
    }
    assert!(
        over.is_empty(),
        "over {MAX_LINES} non-blank lines outside #[cfg(test)] modules:\n{}",
        over.join("\n")
    );
}

#[test]
fn the_line_counter_skips_blank_lines_and_test_modules() {
    let sample = "\
//! A module.

fn one() {
    let braces = \"}\";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner() {
        let s = \"}\";
    }
}

#[cfg(test)]
mod more;

#[cfg(test)]
fn helper() {}
";
    // The doc line, `fn one`, its body and closing brace, and the attribute and `fn helper`.
    assert_eq!(counted_lines(sample), 6);
    assert_eq!(counted_lines("a\n\n   \nb\n"), 2);
    let long = "x\n".repeat(MAX_LINES + 1);
    assert_eq!(counted_lines(&long), MAX_LINES + 1);
    // A module nested in an impl keeps its own indentation.
    let nested = "impl A {\n    #[cfg(test)]\n    mod t {\n        }\n    }\n}\n";
    assert_eq!(counted_lines(nested), 2);
}
