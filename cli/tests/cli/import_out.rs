//! Issue 21, item 4: `shifter import --out DIR` never writes outside DIR, whatever the function
//! keys say; each refused key is named.

use std::path::Path;

use super::shifter;

/// One SAM function under each hostile key, and one good one.
fn template(keys: &[&str]) -> String {
    let mut text = String::from("Resources:\n");
    for (i, key) in keys.iter().enumerate() {
        text.push_str(&format!(
            "  {key}:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: fn-{i}\n      AutoPublishAlias: live\n      DeploymentPreference: {{Type: AllAtOnce}}\n"
        ));
    }
    text
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn import_out_never_writes_outside_its_directory() {
    let base = std::env::temp_dir().join(format!("shifter-import-out-{}", std::process::id()));
    let out = base.join("out");
    std::fs::create_dir_all(&base).unwrap();
    let absolute = base.join("absolute");
    // Each key as YAML writes it (double-quoted, so escapes apply), and what the message shows.
    let hostile: Vec<(String, &str)> = vec![
        ("\"../escaped\"".into(), "path separator"),
        (format!("\"{}\"", absolute.display()), "path separator"),
        ("\"a/b\"".into(), "path separator"),
        ("\"a\\\\b\"".into(), "path separator"),
        ("\"..\"".into(), "names a directory"),
        ("\".\"".into(), "names a directory"),
        ("\"\"".into(), "empty key"),
        ("\"nul\\0x\"".into(), "NUL"),
        ("\"C:escaped\"".into(), "Windows drive letter"),
        ("\"tab\\tkey\"".into(), "control character"),
        ("\".hidden\"".into(), "hidden file"),
        (format!("\"{}\"", "x".repeat(240)), "too long"),
    ];
    let mut keys: Vec<&str> = hostile.iter().map(|(k, _)| k.as_str()).collect();
    keys.push("Good");
    let file = base.join("template.yaml");
    std::fs::write(&file, template(&keys)).unwrap();
    let result = shifter(&[
        "import",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert_eq!(files_in(&out), vec!["Good.json"], "{stderr}");
    assert_eq!(
        files_in(&base),
        vec!["out", "template.yaml"],
        "nothing beside DIR"
    );
    assert!(!Path::new("/escaped.json").exists());
    for (key, why) in &hostile {
        let shown: String = serde_json::from_str::<String>(key)
            .map(|k| format!("{k:?}"))
            .unwrap_or_else(|_| key.clone());
        let shown: String = shown.chars().take(40).collect();
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&shown) && l.contains("not written"))
            .unwrap_or_else(|| panic!("no refusal of {shown} in:\n{stderr}"));
        assert!(line.contains(why), "{line}\n  expected {why}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A file in DIR that is a link (to outside) is not written through.
    let outside = base.join("outside.json");
    std::fs::write(&outside, "keep").unwrap();
    std::os::unix::fs::symlink(&outside, out.join("Linked.json")).unwrap();
    std::fs::write(&file, template(&["Linked"])).unwrap();
    let result = shifter(&[
        "import",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
    std::fs::remove_dir_all(base).ok();
}
