pub mod cli;
pub mod fixtures;
