//! The uniffi bindings generator, pinned to the workspace's uniffi version:
//! `cargo run -p authcore-ffi --features bindgen --bin uniffi-bindgen -- generate --library <libauthcore_ffi.so>
//! --language kotlin --out-dir <dir>` (see scripts/bindings.sh).

fn main() {
    uniffi::uniffi_bindgen_main()
}
