//! The sluice-chaos command.
fn main() {}
