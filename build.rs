//! Build script: generates the C header from `src/ffi` with cbindgen.
//!
//! The header is written to `OUT_DIR/hashmatch.h` and copied to the committed
//! `include/hashmatch.h` when its content changed (CI then fails on `git diff --exit-code
//! include/` if a change to `src/ffi` was committed without its header). Only the files of
//! `src/ffi` are parsed, never dependencies and never `cargo metadata`, so this stays fast and
//! works offline. A read-only source tree (docs.rs, a vendored copy) only gets a warning.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let ffi_dir = root.join("src/ffi");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed={}", ffi_dir.display());

    // cbindgen follows `mod` declarations from src/ffi/mod.rs to the other files of src/ffi.
    for entry in fs::read_dir(&ffi_dir).expect("src/ffi exists").flatten() {
        println!("cargo:rerun-if-changed={}", entry.path().display());
    }

    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let version = env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let mut parts = version.split(['.', '-', '+']);
    let mut next = || parts.next().unwrap_or("0").to_string();
    config.after_includes = Some(format!(
        "\n#define HM_VERSION_MAJOR {}\n#define HM_VERSION_MINOR {}\n#define HM_VERSION_PATCH {}",
        next(),
        next(),
        next()
    ));

    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(ffi_dir.join("mod.rs"))
        .generate()
        .expect("cbindgen parses src/ffi");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let generated = out_dir.join("hashmatch.h");
    bindings.write_to_file(&generated);

    refresh_committed_header(&generated, &root.join("include/hashmatch.h"));
}

/// Copies the generated header over the committed one when they differ; warns instead of
/// failing when the source tree cannot be written.
fn refresh_committed_header(generated: &Path, committed: &Path) {
    // Only a source checkout keeps the header under version control; a crate unpacked from a
    // registry or built by docs.rs leaves its sources alone.
    let checkout = committed
        .parent()
        .and_then(Path::parent)
        .map(|r| r.join(".git"));
    if env::var_os("DOCS_RS").is_some() || !checkout.is_some_and(|git| git.exists()) {
        return;
    }
    let new = fs::read(generated).expect("the header was just written");
    if fs::read(committed).ok().as_deref() == Some(&new[..]) {
        return;
    }
    let written = committed
        .parent()
        .map_or(Ok(()), fs::create_dir_all)
        .and_then(|()| fs::write(committed, &new));
    if let Err(e) = written {
        println!(
            "cargo:warning=could not refresh {} ({e}); the current header is {}",
            committed.display(),
            generated.display()
        );
    }
}
