fn main() {
    std::process::exit(objcache::main_with_args(std::env::args_os().collect()));
}
