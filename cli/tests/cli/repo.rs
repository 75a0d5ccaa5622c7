//! Repository-wide checks on the Rust sources themselves.

use std::path::{Path, PathBuf};

/// Most non-blank lines a source file may hold outside its `#[cfg(test)]` modules.
const MAX_LINES: usize = 500;

/// The member directories whose sources are checked (benches included; `*/tests/` exempt).
const CHECKED: [&str; 4] = ["shared", "functions", "statemachine", "cli"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Non-blank lines of `source` outside `#[cfg(test)]` modules ([`code_lines`]).
fn counted_lines(source: &str) -> usize {
    code_lines(source).len()
}

/// The non-blank lines of `source` outside `#[cfg(test)]` modules, with their line numbers
/// (from 1). A test module ends at the closing brace at its own indentation (rustfmt's layout),
/// so braces inside strings do not matter; `#[cfg(test)] mod name;` is skipped too, and
/// `#[cfg(test)]` on anything else is kept, attribute included.
fn code_lines(source: &str) -> Vec<(usize, &str)> {
    let mut code = Vec::new();
    let mut cfg_test = None;
    let mut lines = source.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed == "#[cfg(test)]" {
            cfg_test = Some((n, line));
            continue;
        }
        let is_mod = trimmed.starts_with("mod ") || trimmed.starts_with("pub mod ");
        if let Some(attribute) = cfg_test.take() {
            if is_mod && trimmed.ends_with('{') {
                let indent = &line[..line.len() - line.trim_start().len()];
                let end = format!("{indent}}}");
                lines.by_ref().find(|(_, l)| *l == end);
                continue;
            }
            if is_mod && trimmed.ends_with(';') {
                continue;
            }
            code.push((attribute.0 + 1, attribute.1));
        }
        code.push((n + 1, line));
    }
    code
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

/// The packaged functions compile out every log call site below INFO (their `lean-logs`
/// feature, `tracing/release_max_level_info`). A DEBUG or TRACE line in the code they run would
/// vanish from the zips while the debug build still printed it, so none is written there.
#[test]
fn the_code_the_functions_run_logs_at_info_and_above() {
    let root = repo();
    let mut files = Vec::new();
    for dir in ["shared/src", "functions"] {
        sources(&root.join(dir), &mut files);
    }
    assert!(files.len() > 30, "found only {} sources", files.len());
    let below_info = [
        "debug!",
        "trace!",
        "debug_span!",
        "trace_span!",
        "Level::DEBUG",
        "Level::TRACE",
    ];
    let mut found = Vec::new();
    for path in &files {
        let source = std::fs::read_to_string(path).expect("a UTF-8 source");
        for (n, line) in code_lines(&source) {
            if below_info.iter().any(|m| line.contains(m)) && !line.trim_start().starts_with("//") {
                let relative = path.strip_prefix(&root).expect("under the repository");
                found.push(format!("{}:{n}: {}", relative.display(), line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "log call sites below INFO in the functions' code (compiled out of the zips):\n{}",
        found.join("\n")
    );
}
