//! What goes into the keys, and whether it still holds: the key recipe
//! (`recipe`: the common digest, the manifest key, the result keys of
//! preprocessor and depend mode, built with `crate::key`'s hasher), the
//! preprocessed text (`preprocessor`), the files a compile read and the
//! header search list (`includes`), direct mode's records of them and
//! their check on a later call (`record`, `direct`), `__has_include`
//! answers (`has_include`), `__DATE__` in direct mode (`dated`), and assembler directives that read files no key
//! can cover (`asm`).

pub mod asm;
pub mod dated;
pub mod direct;
pub mod has_include;
pub mod includes;
pub mod preprocessor;
pub mod recipe;
pub mod record;
pub mod source;

#[cfg(test)]
mod tests;
