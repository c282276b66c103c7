// No Rust runtime entry: std's start-up reads /proc/self/maps to set up the
// main thread's stack guard, a cost every cache hit would pay. The
// arguments are taken from `argv` (std learns them before main only on
// glibc), and `process::exit` still flushes stdout. (The test harness
// keeps its own main.)
#![cfg_attr(not(test), no_main)]

/// # Safety
/// Called by the C runtime only, with `argc` valid strings in `argv`.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(
    argc: std::ffi::c_int,
    argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    use std::os::unix::ffi::OsStrExt;
    let args = (0..usize::try_from(argc).unwrap_or(0)).map(|i| {
        // SAFETY: the C runtime passes `argc` valid NUL-terminated strings.
        let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
        std::ffi::OsStr::from_bytes(arg.to_bytes()).to_os_string()
    });
    std::process::exit(objcache::main_with_args(args.collect()))
}

/// libm's `pow`, from the pure-Rust `libm` crate. Only the progress bars'
/// rate estimator (indicatif raises 0.1 to a power) calls it, yet with the
/// C one a dynamically linked objcache loads libm.so at every start: nine
/// more system calls of a 140-call cache hit. Defined in the binary, the
/// symbol is resolved here and libm.so is not linked.
#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
