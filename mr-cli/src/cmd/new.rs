//! `mr new NAME [--path DIR]`: a job crate of one's own, outside this
//! workspace, depending on mr-core and mr-cli by path to this checkout: a
//! mapper/combiner/reducer skeleton, a law test, a sample input and a
//! README. `cargo run -- run NAME --input sample.txt` works at once.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// `mr new` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct NewArgs {
    /// The crate's name (also the binary's; the job's, with `-` made `_`:
    /// `my-job` runs as `my_job`): letters, digits, `_` and `-`, starting
    /// with a letter.
    pub name: String,
    /// The directory to create the crate in (it becomes DIR/NAME).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub path: PathBuf,
}

const CARGO_TOML: &str = include_str!("../../templates/new/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../../templates/new/lib.rs.tmpl");
const MAIN_RS: &str = include_str!("../../templates/new/main.rs.tmpl");
const SAMPLE: &str = include_str!("../../templates/new/sample.txt.tmpl");
const README: &str = include_str!("../../templates/new/README.md.tmpl");
/// The versions mr is built and tested with: the new crate starts from them.
const CARGO_LOCK: &str = include_str!("../../../Cargo.lock");

/// Names Cargo or Rust would refuse or misread as a crate name.
const RESERVED: &[&str] = &[
    "as",
    "async",
    "await",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "try",
    "gen",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "build",
    "mr",
    "mr_core",
    "mr_cli",
    "mr_jobs",
    "mr_examples",
    // The generated crate's own dependencies: a package of the same name
    // is two candidates for one crate (E0464).
    "serde",
    "serde_json",
    "proptest",
];

/// Checks a crate name: it becomes a directory, a Cargo package, a Rust
/// identifier and a job name, so only `[A-Za-z][A-Za-z0-9_-]*`, at most 64
/// characters, and no keyword. A bad name is a usage error (exit status 2).
///
/// ```
/// use mr_cli::cmd::new::check_name;
/// assert!(check_name("my_job").is_ok());
/// assert!(check_name("../evil").is_err());
/// assert!(check_name("a\"b").is_err());
/// assert!(check_name("fn").is_err_and(|e| e.is::<mr_cli::UsageError>()));
/// assert!(check_name("serde-json").is_err()); // a dependency of the crate
/// ```
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let starts = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !ok_chars || !starts || name.len() > 64 {
        crate::usage!(
            "invalid name {name:?}: use letters, digits, `_` and `-`, starting with a letter (at most 64)"
        );
    }
    if RESERVED.contains(&name.replace('-', "_").to_lowercase().as_str()) {
        crate::usage!("invalid name {name:?}: a Rust keyword or a reserved crate name");
    }
    Ok(())
}

/// `my_job` -> `MyJob`; a name not ending in "job" gets `Job` added.
fn type_name(snake: &str) -> String {
    let mut camel: String = snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    if !camel.ends_with("Job") || camel == "Job" {
        camel.push_str("Job");
    }
    camel
}

/// A string for a TOML basic string (between double quotes).
fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// This checkout of mr (where mr-core and mr-cli are).
fn mr_checkout() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.parent().unwrap_or(here);
    std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf())
}

/// Creates the crate; refuses to touch a directory that exists.
pub fn run(args: &NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let dir = args.path.join(&args.name);
    if dir.exists() {
        anyhow::bail!(
            "{} exists: choose another name or --path (mr new never writes into an existing directory)",
            dir.display()
        );
    }
    let mr = mr_checkout();
    let mr_str = mr
        .to_str()
        .context("the mr checkout's path is not UTF-8: Cargo.toml cannot name it")?;
    let lib = args.name.replace('-', "_");
    let fill = |t: &str| {
        t.replace("{{name}}", &args.name)
            .replace("{{job}}", &lib)
            .replace("{{lib}}", &lib)
            .replace("{{Type}}", &type_name(&lib))
            .replace("{{mr_path}}", &toml_escape(mr_str))
    };
    crate::create_dir_all(&args.path)?;
    // Atomic claim: fails if someone made it meanwhile.
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::create_dir(dir.join("src"))?;
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("Cargo.lock", CARGO_LOCK.to_string()),
        ("src/lib.rs", fill(LIB_RS)),
        ("src/main.rs", fill(MAIN_RS)),
        ("sample.txt", SAMPLE.to_string()),
        ("README.md", fill(README)),
        (".gitignore", "/target\n/out\n".to_string()),
    ];
    for (rel, content) in files {
        let p = dir.join(rel);
        std::fs::write(&p, content).with_context(|| format!("writing {}", p.display()))?;
    }
    if !mr.join("mr-core").is_dir() {
        mr_core::errln!(
            "mr: warning: {} has no mr-core: edit the paths in {}",
            mr.display(),
            dir.join("Cargo.toml").display()
        );
    }
    // Written, not `println!`, which panicked on a closed stdout or a full
    // disk after the crate was made (probe /tmp/probe3-ux repro 08).
    use std::io::Write as _;
    writeln!(
        std::io::stdout(),
        "Created the job crate {dir} (depends on mr at {mr}).\n\
         Next:\n  cd {dir}\n  cargo run -- run {lib} --input sample.txt   # the first build takes 5-20 minutes\n  \
         cargo test\n  $EDITOR src/lib.rs",
        dir = dir.display(),
        mr = mr.display(),
    )
    .context("writing to standard output")?;
    Ok(())
}
