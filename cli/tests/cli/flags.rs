//! Issue 21, item 3: the flag catalog (`events/bad-inputs/flags.json`). Every rehearsal, plan
//! or import flag that cannot apply (a fault for a function the deployment never invokes, `x0`,
//! a time after the plan's end, an approval with no gate, a hook the input does not have) or
//! cannot be held (a huge duration, count or latency) is refused: status 2, one bounded line
//! on stderr naming the flag, never a panic or a stack trace.

use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

const FLAGS: &str = include_str!("../../../events/bad-inputs/flags.json");

/// Longest refusal accepted: one line a person reads.
const MAX_MESSAGE: usize = 600;

#[derive(Deserialize)]
struct Catalog {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    args: Vec<String>,
    /// What the refusal must contain: the flag, or the endpoint.
    names: String,
    /// Written to a file that `{input}` in `args` names.
    input: Option<Value>,
    /// Environment variables of the command (`AWS_ENDPOINT_URL` of an endpoint nothing serves).
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
}

fn cases() -> Vec<Case> {
    serde_json::from_str::<Catalog>(FLAGS)
        .expect("flags.json is the catalog")
        .cases
}

#[test]
fn the_flag_catalog_has_sixty_cases_with_unique_names() {
    let cases = cases();
    assert!(cases.len() >= 60, "{}", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
}

#[test]
fn every_flag_that_cannot_apply_is_refused_by_name_without_a_panic() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("shifter-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut refused, mut panics, mut problems) = (0, 0, Vec::new());
    for (i, case) in cases().iter().enumerate() {
        let input = dir.join(format!("input-{i}.json"));
        if let Some(body) = &case.input {
            std::fs::write(&input, body.to_string()).unwrap();
        }
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| {
                a.replace("{input}", input.to_str().unwrap())
                    .replace("{repo}", repo.to_str().unwrap())
            })
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_shifter"))
            .args(&args)
            .current_dir(&dir)
            .env("AWS_REGION", "us-east-1")
            .envs(&case.env)
            .output()
            .expect("shifter runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            panics += 1;
        }
        // Ours is one line; clap's (a value it cannot parse, a flag another requires) adds
        // the usage and a help hint, and may name the flag on its second line.
        let ours = !stderr.contains("For more information, try");
        let ok = out.status.code() == Some(2)
            && stderr.starts_with("error: ")
            && stderr.contains(&case.names)
            && stderr.chars().count() <= MAX_MESSAGE
            && (!ours || stderr.lines().count() == 1)
            && !stderr.contains("DispatchFailure");
        if ok {
            refused += 1;
        } else {
            problems.push(format!(
                "{}: expected status 2 and one line naming {:?}; got {:?}:\n{stderr}",
                case.name,
                case.names,
                out.status.code()
            ));
        }
    }
    std::fs::remove_dir_all(dir).ok();
    eprintln!("flag catalog: {refused} refused by name, {panics} panics");
    assert_eq!(panics, 0);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
