//! Raft messages between voters, and the committed reads voters serve to brokers. Entry and
//! snapshot data are the metadata log's own bytes (`MetadataRecord` batches as the controller
//! encodes them), carried as they are.

use sluice_core::raft::{AppendOutcome, CommittedRead, Entry, Message};

use super::wire::{Reader, Writer};
use super::{DecodeError, EncodeError};

const PRE_VOTE: u8 = 0;
const PRE_VOTE_RESPONSE: u8 = 1;
const REQUEST_VOTE: u8 = 2;
const REQUEST_VOTE_RESPONSE: u8 = 3;
const APPEND_ENTRIES: u8 = 4;
const APPEND_ENTRIES_RESPONSE: u8 = 5;
const HEARTBEAT: u8 = 6;
const HEARTBEAT_RESPONSE: u8 = 7;
const INSTALL_SNAPSHOT: u8 = 8;
const INSTALL_SNAPSHOT_RESPONSE: u8 = 9;

/// Term, index and a length: the fewest bytes an entry takes.
const ENTRY_BYTES_MIN: usize = 20;

pub(super) fn encode_message(w: &mut Writer, message: &Message) -> Result<(), EncodeError> {
    match message {
        Message::PreVote {
            term,
            last_log_index,
            last_log_term,
        } => {
            w.u8(PRE_VOTE);
            w.u64(*term);
            w.u64(*last_log_index);
            w.u64(*last_log_term);
        }
        Message::PreVoteResponse { term, granted } => {
            w.u8(PRE_VOTE_RESPONSE);
            w.u64(*term);
            w.bool(*granted);
        }
        Message::RequestVote {
            term,
            last_log_index,
            last_log_term,
        } => {
            w.u8(REQUEST_VOTE);
            w.u64(*term);
            w.u64(*last_log_index);
            w.u64(*last_log_term);
        }
        Message::RequestVoteResponse { term, granted } => {
            w.u8(REQUEST_VOTE_RESPONSE);
            w.u64(*term);
            w.bool(*granted);
        }
        Message::AppendEntries {
            term,
            prev_index,
            prev_term,
            entries,
            commit,
        } => {
            w.u8(APPEND_ENTRIES);
            w.u64(*term);
            w.u64(*prev_index);
            w.u64(*prev_term);
            encode_entries(w, entries)?;
            w.u64(*commit);
        }
        Message::AppendEntriesResponse { term, outcome } => {
            w.u8(APPEND_ENTRIES_RESPONSE);
            w.u64(*term);
            encode_outcome(w, outcome);
        }
        Message::Heartbeat { term, commit } => {
            w.u8(HEARTBEAT);
            w.u64(*term);
            w.u64(*commit);
        }
        Message::HeartbeatResponse { term } => {
            w.u8(HEARTBEAT_RESPONSE);
            w.u64(*term);
        }
        Message::InstallSnapshot {
            term,
            index,
            snapshot_term,
            data,
        } => {
            w.u8(INSTALL_SNAPSHOT);
            w.u64(*term);
            w.u64(*index);
            w.u64(*snapshot_term);
            w.bytes(data)?;
        }
        Message::InstallSnapshotResponse { term, match_index } => {
            w.u8(INSTALL_SNAPSHOT_RESPONSE);
            w.u64(*term);
            w.u64(*match_index);
        }
    }
    Ok(())
}

pub(super) fn decode_message(r: &mut Reader<'_>) -> Result<Message, DecodeError> {
    let kind = r.u8("raft message type")?;
    let message = match kind {
        PRE_VOTE => Message::PreVote {
            term: r.u64("term")?,
            last_log_index: r.u64("last_log_index")?,
            last_log_term: r.u64("last_log_term")?,
        },
        PRE_VOTE_RESPONSE => Message::PreVoteResponse {
            term: r.u64("term")?,
            granted: r.bool("granted")?,
        },
        REQUEST_VOTE => Message::RequestVote {
            term: r.u64("term")?,
            last_log_index: r.u64("last_log_index")?,
            last_log_term: r.u64("last_log_term")?,
        },
        REQUEST_VOTE_RESPONSE => Message::RequestVoteResponse {
            term: r.u64("term")?,
            granted: r.bool("granted")?,
        },
        APPEND_ENTRIES => Message::AppendEntries {
            term: r.u64("term")?,
            prev_index: r.u64("prev_index")?,
            prev_term: r.u64("prev_term")?,
            entries: decode_entries(r)?,
            commit: r.u64("commit")?,
        },
        APPEND_ENTRIES_RESPONSE => Message::AppendEntriesResponse {
            term: r.u64("term")?,
            outcome: decode_outcome(r)?,
        },
        HEARTBEAT => Message::Heartbeat {
            term: r.u64("term")?,
            commit: r.u64("commit")?,
        },
        HEARTBEAT_RESPONSE => Message::HeartbeatResponse {
            term: r.u64("term")?,
        },
        INSTALL_SNAPSHOT => Message::InstallSnapshot {
            term: r.u64("term")?,
            index: r.u64("index")?,
            snapshot_term: r.u64("snapshot_term")?,
            data: r.bytes("snapshot data")?,
        },
        INSTALL_SNAPSHOT_RESPONSE => Message::InstallSnapshotResponse {
            term: r.u64("term")?,
            match_index: r.u64("match_index")?,
        },
        other => {
            return Err(DecodeError::UnknownType {
                what: "raft message",
                value: other,
            })
        }
    };
    Ok(message)
}

const SUCCESS: u8 = 0;
const CONFLICT: u8 = 1;
const STALE_TERM: u8 = 2;

fn encode_outcome(w: &mut Writer, outcome: &AppendOutcome) {
    match outcome {
        AppendOutcome::Success { match_index } => {
            w.u8(SUCCESS);
            w.u64(*match_index);
        }
        AppendOutcome::Conflict {
            prev_index,
            conflict_term,
            first_index,
        } => {
            w.u8(CONFLICT);
            w.u64(*prev_index);
            w.option_u64(*conflict_term);
            w.u64(*first_index);
        }
        AppendOutcome::StaleTerm => w.u8(STALE_TERM),
    }
}

fn decode_outcome(r: &mut Reader<'_>) -> Result<AppendOutcome, DecodeError> {
    match r.u8("append outcome")? {
        SUCCESS => Ok(AppendOutcome::Success {
            match_index: r.u64("match_index")?,
        }),
        CONFLICT => Ok(AppendOutcome::Conflict {
            prev_index: r.u64("prev_index")?,
            conflict_term: r.option_u64("conflict_term")?,
            first_index: r.u64("first_index")?,
        }),
        STALE_TERM => Ok(AppendOutcome::StaleTerm),
        other => Err(DecodeError::UnknownType {
            what: "append outcome",
            value: other,
        }),
    }
}

fn encode_entries(w: &mut Writer, entries: &[Entry]) -> Result<(), EncodeError> {
    w.list(entries, |w, entry| {
        w.u64(entry.term);
        w.u64(entry.index);
        w.bytes(&entry.data)
    })
}

fn decode_entries(r: &mut Reader<'_>) -> Result<Vec<Entry>, DecodeError> {
    r.list(ENTRY_BYTES_MIN, "entries", |r| {
        Ok(Entry {
            term: r.u64("entry term")?,
            index: r.u64("entry index")?,
            data: r.bytes("entry data")?,
        })
    })
}

const ENTRIES: u8 = 0;
const SNAPSHOT: u8 = 1;
const UP_TO_DATE: u8 = 2;

pub(super) fn encode_read(w: &mut Writer, read: &CommittedRead) -> Result<(), EncodeError> {
    match read {
        CommittedRead::Entries { entries, commit } => {
            w.u8(ENTRIES);
            encode_entries(w, entries)?;
            w.u64(*commit);
        }
        CommittedRead::Snapshot { index, term, data } => {
            w.u8(SNAPSHOT);
            w.u64(*index);
            w.u64(*term);
            w.bytes(data)?;
        }
        CommittedRead::UpToDate { commit } => {
            w.u8(UP_TO_DATE);
            w.u64(*commit);
        }
    }
    Ok(())
}

pub(super) fn decode_read(r: &mut Reader<'_>) -> Result<CommittedRead, DecodeError> {
    match r.u8("committed read")? {
        ENTRIES => Ok(CommittedRead::Entries {
            entries: decode_entries(r)?,
            commit: r.u64("commit")?,
        }),
        SNAPSHOT => Ok(CommittedRead::Snapshot {
            index: r.u64("snapshot index")?,
            term: r.u64("snapshot term")?,
            data: r.bytes("snapshot data")?,
        }),
        UP_TO_DATE => Ok(CommittedRead::UpToDate {
            commit: r.u64("commit")?,
        }),
        other => Err(DecodeError::UnknownType {
            what: "committed read",
            value: other,
        }),
    }
}
