//! The deterministic discrete-event simulator.
#![forbid(unsafe_code)]
