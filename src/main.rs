// No Rust runtime entry: std's start-up reads /proc/self/maps to set up the
// main thread's stack guard, a cost every cache hit would pay. Arguments
// still come from std (glibc hands them over before main), and
// `process::exit` still flushes stdout. (The test harness keeps its own main.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    std::process::exit(objcache::main_with_args(std::env::args_os().collect()))
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
