//! What the keys cover beyond the command line, and whether it still holds:
//! the preprocessed text (`preprocessor`), the files a compile read and the
//! header search list (`includes`), direct mode's records of them and
//! their check on a later call (`record`, `direct`), `__has_include`
//! answers (`has_include`), and assembler directives that read files no key
//! can cover (`asm`). The keys themselves are put together in `wrap::keys`
//! with `crate::key`'s hasher.

pub mod asm;
pub mod direct;
pub mod has_include;
pub mod includes;
pub mod preprocessor;
pub mod record;
