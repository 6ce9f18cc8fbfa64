pub mod cli;
pub mod fixtures;
pub mod seed;
