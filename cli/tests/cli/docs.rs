//! The documentation's links, checked offline: every relative link in README.md and docs/**/*.md
//! names a file or folder of the repository, and every `#anchor` names a heading of the target
//! page as GitHub spells its id. External http(s) and mailto links are not fetched.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// The repository's root (the `cli` crate's parent).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// The Markdown dialect GitHub renders (tables, strikethrough, task lists, footnotes).
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
}

/// A heading's id as GitHub makes it (github-slugger): the heading's text lower-cased, every
/// character that is not a letter, digit, `-`, `_` or space dropped, each space turned into `-`.
fn slug(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Every heading id of a page, in GitHub's way: a repeated slug gets `-1`, `-2`, … in order.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                let n = seen.entry(base.clone()).or_insert(0);
                let id = if *n == 0 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                };
                *n += 1;
                ids.insert(id);
            }
            _ => {}
        }
    }
    ids
}

/// Every link and image destination of a page, with the line it is on.
fn links(markdown: &str) -> Vec<(usize, String)> {
    Parser::new_ext(markdown, options())
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                let line = markdown[..range.start].matches('\n').count() + 1;
                Some((line, dest_url.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// `%XX` escapes decoded (a link to `a%20b.md` names `a b.md`).
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A path with `.` and `..` folded away; `None` when it climbs above its start.
fn normalised(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// Whether a link leaves the repository: a URL scheme (`https:`, `mailto:`) before any `/`.
fn is_external(dest: &str) -> bool {
    dest.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && !scheme.contains('/')
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

/// The broken links of `pages` (paths relative to `root`), one line each:
/// `page:line: link → why`.
fn broken_links(root: &Path, pages: &[PathBuf]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut headings: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for page in pages {
        let text = fs::read_to_string(root.join(page))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", page.display()));
        for (line, dest) in links(&text) {
            if is_external(&dest) {
                continue;
            }
            let (path, anchor) = match dest.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (dest.as_str(), None),
            };
            let path = percent_decoded(path.split('?').next().unwrap_or_default());
            let target = if path.is_empty() {
                Some(page.clone())
            } else if let Some(from_root) = path.strip_prefix('/') {
                normalised(Path::new(from_root))
            } else {
                normalised(&page.parent().unwrap_or(Path::new("")).join(&path))
            };
            let why = match target {
                None => Some("leaves the repository".to_string()),
                Some(t) if !root.join(&t).exists() => {
                    Some(format!("{} does not exist", t.display()))
                }
                Some(t) => anchor
                    .and_then(|a| anchor_problem(root, &t, &percent_decoded(a), &mut headings)),
            };
            if let Some(why) = why {
                problems.push(format!("{}:{line}: {dest} → {why}", page.display()));
            }
        }
    }
    problems
}

/// Why `#anchor` does not land in `target`, if it does not: a Markdown page needs a heading with
/// that id; another file takes only GitHub's line anchors (`#L10`, `#L10-L20`).
fn anchor_problem(
    root: &Path,
    target: &Path,
    anchor: &str,
    headings: &mut BTreeMap<PathBuf, BTreeSet<String>>,
) -> Option<String> {
    if target.extension().is_some_and(|e| e == "md") {
        if !headings.contains_key(target) {
            match fs::read_to_string(root.join(target)) {
                Ok(text) => headings.insert(target.to_path_buf(), anchors(&text)),
                Err(e) => return Some(format!("{} cannot be read: {e}", target.display())),
            };
        }
        (!headings[target].contains(anchor))
            .then(|| format!("no heading of {} has the id #{anchor}", target.display()))
    } else {
        let line = |s: &str| {
            s.strip_prefix('L')
                .is_some_and(|n| n.parse::<u32>().is_ok())
        };
        let ok = match anchor.split_once('-') {
            Some((a, b)) => line(a) && line(b),
            None => line(anchor),
        };
        (!ok).then(|| format!("#{anchor} is not a line anchor of {}", target.display()))
    }
}

/// README.md and every Markdown file under docs/, relative to `root`, sorted.
fn documentation(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            return;
        };
        for entry in entries.flatten() {
            let rel = dir.join(entry.file_name());
            if entry.path().is_dir() {
                walk(root, &rel, out);
            } else if rel.extension().is_some_and(|e| e == "md") {
                out.push(rel);
            }
        }
    }
    let mut pages = vec![PathBuf::from("README.md")];
    walk(root, Path::new("docs"), &mut pages);
    pages.sort();
    pages
}

#[test]
fn docs_links_land_on_files_and_headings() {
    let root = repo_root();
    let pages = documentation(&root);
    assert!(pages.len() > 1, "docs/ holds no Markdown page: {pages:?}");
    let problems = broken_links(&root, &pages);
    assert!(
        problems.is_empty(),
        "{} broken link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn docs_checker_reports_a_missing_file_and_an_unknown_anchor() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs-link-check");
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("docs")).expect("temporary docs folder");
    fs::write(
        root.join("README.md"),
        "# Title\n\nSee [the guide](docs/guide.md#set-it-up), [gone](docs/gone.md), \
         [wrong](docs/guide.md#no-such-part), [here](#title), [web](https://example.com/x#y), \
         [line](Cargo.toml#L3), [up](../outside.md).\n",
    )
    .expect("README");
    fs::write(
        root.join("docs/guide.md"),
        "# Guide\n\n## Set it up\n\nBack to [the top](../README.md#nowhere).\n",
    )
    .expect("guide");
    fs::write(root.join("Cargo.toml"), "[package]\n").expect("Cargo.toml");

    let problems = broken_links(&root, &documentation(&root));
    assert_eq!(
        problems,
        [
            "README.md:3: docs/gone.md → docs/gone.md does not exist",
            "README.md:3: docs/guide.md#no-such-part → no heading of docs/guide.md has the id #no-such-part",
            "README.md:3: ../outside.md → leaves the repository",
            "docs/guide.md:5: ../README.md#nowhere → no heading of README.md has the id #nowhere",
        ]
    );
}

#[test]
fn docs_heading_ids_follow_github() {
    let page = "# Traffic Shifter\n\n## `shifter plan`\n\n\
                ### Why `.waitForTaskToken` on a Lambda, and what it costs\n\n\
                ## From a CodeDeploy hook: one call changes\n\n## Errors\n\n## Errors\n\n\
                ## Roll back — never silently (5 %)\n";
    let ids: Vec<String> = anchors(page).into_iter().collect();
    assert_eq!(
        ids,
        [
            "errors",
            "errors-1",
            "from-a-codedeploy-hook-one-call-changes",
            "roll-back--never-silently-5-",
            "shifter-plan",
            "traffic-shifter",
            "why-waitfortasktoken-on-a-lambda-and-what-it-costs",
        ]
    );
}

/// Every ```text sample in the documentation that shows one `cargo run -p shifter-cli --`
/// command, with the command's arguments and the output shown under it.
fn command_samples(markdown: &str) -> Vec<(Vec<String>, String)> {
    const PROMPT: &str = "$ cargo run -p shifter-cli -- ";
    let mut samples = Vec::new();
    let mut block: Option<String> = None;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) if &*lang == "text" => {
                block = Some(String::new());
            }
            Event::Text(t) => {
                if let Some(b) = block.as_mut() {
                    b.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some(text) = block.take() else { continue };
                let Some((command, shown)) = text.split_once('\n') else {
                    continue;
                };
                if let Some(args) = command.strip_prefix(PROMPT)
                    && !shown.contains("\n$ ")
                {
                    let args = args.split_whitespace().map(str::to_owned).collect();
                    samples.push((args, shown.to_owned()));
                }
            }
            _ => {}
        }
    }
    samples
}

/// Output with the one figure that differs from run to run, the wall time, blanked.
fn without_wall_time(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once(" simulated in ") {
            Some((before, after)) => match after.split_once(" ms of wall time") {
                Some((_, rest)) => format!("{before} simulated in … ms of wall time{rest}"),
                None => line.to_owned(),
            },
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_owned()
}

#[test]
fn docs_command_samples_show_what_the_command_prints() {
    let root = repo_root();
    let mut checked = 0;
    for page in documentation(&root) {
        let text = fs::read_to_string(root.join(&page)).expect("a documentation page");
        for (args, shown) in command_samples(&text) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            // As a reader runs it: from the repository's root, where the samples' paths are.
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_shifter"))
                .args(&args)
                .current_dir(&root)
                .output()
                .expect("shifter runs");
            let printed = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                without_wall_time(&printed),
                without_wall_time(&shown),
                "{}: the sample of `shifter {}` is not what it prints",
                page.display(),
                args.join(" ")
            );
            checked += 1;
        }
    }
    // README: simulate and simulate --alarm-at 3m; docs/simulate.md the same; docs/plan.md one.
    assert!(checked >= 5, "only {checked} command samples found");
}

/// Every test the documentation names as `path/to/file.rs::test_name` (in inline code), with
/// the page that names it.
fn named_tests(markdown: &str) -> Vec<(String, String)> {
    Parser::new_ext(markdown, options())
        .filter_map(|event| match event {
            Event::Code(code) => {
                let (path, name) = code.split_once(".rs::")?;
                let plain = |s: &str| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-/.".contains(c))
                };
                (plain(path) && plain(name) && !name.contains(['/', '.']))
                    .then(|| (format!("{path}.rs"), name.to_owned()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn docs_name_only_tests_that_exist() {
    let root = repo_root();
    let mut missing = Vec::new();
    let mut named = 0;
    for page in documentation(&root) {
        let text = fs::read_to_string(root.join(&page)).expect("a documentation page");
        for (file, test) in named_tests(&text) {
            named += 1;
            let source = fs::read_to_string(root.join(&file)).unwrap_or_default();
            let declared = source.lines().any(|line| {
                line.trim_start()
                    .strip_prefix("async fn ")
                    .or_else(|| line.trim_start().strip_prefix("fn "))
                    .is_some_and(|rest| {
                        rest.strip_prefix(test.as_str())
                            .is_some_and(|after| after.starts_with('('))
                    })
            });
            if !declared {
                missing.push(format!("{}: {file}::{test}", page.display()));
            }
        }
    }
    assert!(
        named >= 40,
        "only {named} tests are named in the documentation"
    );
    assert!(
        missing.is_empty(),
        "tests named in the documentation that do not exist:\n{}",
        missing.join("\n")
    );
}
