//! Hashing of everything that decides a compiler's output into a cache key
//! (`crate::key` holds the key type and the hasher).

pub mod asm;
pub mod direct;
pub mod has_include;
pub mod includes;
pub mod preprocessor;
pub mod record;
