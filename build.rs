//! Build script. The C API's header generation (cbindgen over `src/ffi`) lands with the C layer;
//! until then it only tells cargo when to rerun.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
