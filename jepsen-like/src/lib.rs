//! Operation histories and the checker that judges them.
//!
//! Empty until the replication issue brings the Kafka queue workload's checker; see
//! `shared/CHECKER.md` for the vocabulary it will use.
#![forbid(unsafe_code)]
