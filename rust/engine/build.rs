//! Regenerates the C# P/Invoke declarations from `src/ffi.rs` so the two sides cannot drift.
//! The output is committed (`dotnet/PerUserMfa/Native/NativeMethods.g.cs`): the .NET build
//! never needs cargo, and a diff in review shows every change to the native surface.

fn main() {
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dotnet/PerUserMfa/Native/NativeMethods.g.cs");
    // Packaging the crate alone (no dotnet/ beside it) must still build.
    if !out.parent().map(|p| p.is_dir()).unwrap_or(false) {
        return;
    }
    csbindgen::Builder::default()
        .input_extern_file("src/ffi.rs")
        .csharp_dll_name("perusermfa_engine")
        .csharp_namespace("PerUserMfa.Native")
        .csharp_class_name("NativeMethods")
        .csharp_class_accessibility("internal")
        .csharp_use_function_pointer(false)
        .csharp_generate_const_filter(|name| name.starts_with("PUMFA_"))
        .generate_csharp_file(&out)
        .expect("csbindgen could not write NativeMethods.g.cs");
}
