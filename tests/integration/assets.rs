//! The checked-in completions and man pages must match what the binary generates.

use std::path::Path;

use crate::common::{iotpipe, temp_dir};

const REGENERATE: &str = "regenerate with: cargo run -- generate-assets .";

fn files_under(root: &Path, sub: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(sub))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn checked_in_completions_and_man_pages_are_current() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fresh = temp_dir();
    iotpipe(fresh.path())
        .args(["generate-assets", "."])
        .run()
        .success();
    for sub in ["completions", "docs/man"] {
        let generated = files_under(fresh.path(), sub);
        assert!(!generated.is_empty());
        assert_eq!(
            generated,
            files_under(repo, sub),
            "{sub}/ differs: {REGENERATE}"
        );
        for name in generated {
            let want = std::fs::read(fresh.path().join(sub).join(&name)).unwrap();
            let have = std::fs::read(repo.join(sub).join(&name)).unwrap();
            assert!(want == have, "{sub}/{name} is stale: {REGENERATE}");
        }
    }
    let completions = files_under(repo, "completions");
    for expected in [
        "iotpipe.bash",
        "_iotpipe",
        "iotpipe.fish",
        "_iotpipe.ps1",
        "iotpipe.elv",
    ] {
        assert!(
            completions.contains(&expected.to_string()),
            "{completions:?}"
        );
    }
}

#[test]
fn completions_command_prints_the_checked_in_script() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = temp_dir();
    for (shell, file) in [
        ("bash", "iotpipe.bash"),
        ("zsh", "_iotpipe"),
        ("fish", "iotpipe.fish"),
        ("elvish", "iotpipe.elv"),
        ("powershell", "_iotpipe.ps1"),
    ] {
        let run = iotpipe(dir.path())
            .args(["completions", shell])
            .run()
            .success();
        let checked_in = std::fs::read_to_string(repo.join("completions").join(file)).unwrap();
        assert!(
            run.stdout() == checked_in,
            "completions {shell} differs from completions/{file}: {REGENERATE}"
        );
        assert!(run.stdout().contains("sense"), "{shell}");
    }
}
