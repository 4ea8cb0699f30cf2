//! `SimDisk` against the durability contract in `sluice_core::disk`, rule by rule, over many
//! seeds: every outcome a crash produces must be one the contract allows, and the harsh allowed
//! outcomes (dropped, torn, undone) must actually occur.

use sluice_core::disk::{Disk, DiskError};
use sluice_core::rng::Rng;
use sluice_sim::{SimDisk, SimRng};
use std::collections::BTreeSet;

const SEEDS: u64 = 400;

fn fresh(seed: u64) -> SimDisk {
    let mut disk = SimDisk::new(SimRng::new(seed));
    disk.create_dir_all("t-0").expect("mkdir");
    disk
}

/// The whole file as reads see it, or `None` if it does not exist.
fn read_all(disk: &mut SimDisk, path: &str) -> Option<Vec<u8>> {
    let len = match disk.len(path) {
        Ok(len) => len,
        Err(DiskError::NotFound(_)) => return None,
        Err(other) => panic!("len {path}: {other}"),
    };
    let mut buf = vec![0u8; len as usize];
    let read = disk.read_at(path, 0, &mut buf).expect("read");
    assert_eq!(read as u64, len);
    Some(buf)
}

fn create_synced(disk: &mut SimDisk, path: &str, data: &[u8]) {
    disk.create(path).expect("create");
    disk.write_at(path, 0, data).expect("write");
    disk.sync(path).expect("sync");
    disk.sync_dir("t-0").expect("sync_dir");
}

/// Rule 3 by an independent model: durable contents plus a prefix of the mutations, the last
/// kept write possibly cut to a prefix of its bytes.
fn allowed_outcomes(durable: &[u8], writes: &[(usize, &[u8])]) -> BTreeSet<Vec<u8>> {
    let mut allowed = BTreeSet::new();
    let mut base = durable.to_vec();
    allowed.insert(base.clone());
    for (offset, data) in writes {
        for kept in 0..=data.len() {
            let mut torn = base.clone();
            if kept > 0 {
                if torn.len() < offset + kept {
                    torn.resize(offset + kept, 0);
                }
                torn[*offset..offset + kept].copy_from_slice(&data[..kept]);
            }
            allowed.insert(torn);
        }
        let end = offset + data.len();
        if base.len() < end {
            base.resize(end, 0);
        }
        base[*offset..end].copy_from_slice(data);
    }
    allowed
}

#[test]
fn synced_data_survives_machine_crash() {
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        disk.set_torn_garbage(true);
        create_synced(&mut disk, "t-0/a.log", b"durable!");
        disk.write_at("t-0/a.log", 8, b"volatile").expect("write");
        disk.crash_machine(&mut SimRng::new(seed ^ 0xABCD));
        let after = read_all(&mut disk, "t-0/a.log").expect("a synced, dir-synced file survives");
        assert_eq!(&after[..8], b"durable!", "seed {seed}");
    }
}

#[test]
fn unsynced_writes_survive_as_an_ordered_prefix() {
    let writes: [(usize, &[u8]); 3] = [(4, b"BBBB"), (8, b"CCCC"), (14, b"DD")];
    let allowed = allowed_outcomes(b"AAAA", &writes);
    let everything = b"AAAABBBBCCCC\0\0DD".to_vec();
    let mut seen = BTreeSet::new();
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        create_synced(&mut disk, "t-0/a.log", b"AAAA");
        for (offset, data) in writes {
            disk.write_at("t-0/a.log", offset as u64, data)
                .expect("write");
        }
        disk.crash_machine(&mut SimRng::new(seed));
        let after = read_all(&mut disk, "t-0/a.log").expect("exists");
        assert!(
            allowed.contains(&after),
            "seed {seed}: {after:?} is not allowed"
        );
        seen.insert(after);
    }
    assert!(
        seen.contains(b"AAAA".as_slice()),
        "everything unsynced dropped"
    );
    assert!(seen.contains(&everything), "everything unsynced kept");
    let torn = |outcome: &&Vec<u8>| ![4, 8, 12, 16].contains(&outcome.len());
    assert!(seen.iter().any(|o| torn(&o)), "a torn write: {seen:?}");
}

#[test]
fn truncations_are_ordered_with_writes() {
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        create_synced(&mut disk, "t-0/a.log", b"0123456789");
        disk.truncate("t-0/a.log", 4).expect("truncate");
        disk.write_at("t-0/a.log", 4, b"xy").expect("write");
        disk.crash_machine(&mut SimRng::new(seed));
        let after = read_all(&mut disk, "t-0/a.log").expect("exists");
        let allowed: [&[u8]; 4] = [b"0123456789", b"0123", b"0123x", b"0123xy"];
        assert!(
            allowed.contains(&after.as_slice()),
            "seed {seed}: {after:?}"
        );
    }
}

#[test]
fn garbage_stays_inside_the_torn_write() {
    let mut garbled = 0;
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        disk.set_torn_garbage(true);
        create_synced(&mut disk, "t-0/a.log", b"AAAA");
        disk.write_at("t-0/a.log", 4, b"BBBBBBBB").expect("write");
        disk.crash_machine(&mut SimRng::new(seed));
        let after = read_all(&mut disk, "t-0/a.log").expect("exists");
        assert_eq!(&after[..4], b"AAAA", "seed {seed}");
        assert!(after.len() <= 12, "seed {seed}");
        if after[4..].iter().any(|byte| *byte != b'B') {
            garbled += 1;
        }
    }
    assert!(garbled > 0, "garbage occurs when enabled");
}

#[test]
fn process_crash_keeps_everything_but_not_durably() {
    let mut lost_later = false;
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        create_synced(&mut disk, "t-0/a.log", b"AAAA");
        disk.write_at("t-0/a.log", 4, b"BBBB").expect("write");
        disk.create("t-0/b.log").expect("create");
        disk.crash_process();
        assert_eq!(
            read_all(&mut disk, "t-0/a.log").as_deref(),
            Some(&b"AAAABBBB"[..])
        );
        assert_eq!(disk.list("t-0").expect("list"), vec!["a.log", "b.log"]);
        // The page cache was never flushed: a machine crash now may still lose the write.
        disk.crash_machine(&mut SimRng::new(seed));
        let after = read_all(&mut disk, "t-0/a.log").expect("exists");
        lost_later |= after.len() < 8;
    }
    assert!(lost_later);
}

#[test]
fn removal_is_undone_by_a_machine_crash_before_sync_dir() {
    let mut outcomes = BTreeSet::new();
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        create_synced(&mut disk, "t-0/a.log", b"synced");
        disk.write_at("t-0/a.log", 6, b" unsynced").expect("write");
        disk.remove("t-0/a.log").expect("remove");
        assert_eq!(read_all(&mut disk, "t-0/a.log"), None);
        disk.crash_machine(&mut SimRng::new(seed));
        let after = read_all(&mut disk, "t-0/a.log");
        // A file that reappears has its synced contents.
        assert!(
            matches!(after.as_deref(), None | Some(b"synced")),
            "seed {seed}: {after:?}"
        );
        outcomes.insert(after.is_some());
    }
    assert_eq!(outcomes.len(), 2, "both removed and reappeared happen");

    let mut disk = fresh(1);
    create_synced(&mut disk, "t-0/a.log", b"synced");
    disk.remove("t-0/a.log").expect("remove");
    disk.sync_dir("t-0").expect("sync_dir");
    disk.crash_machine(&mut SimRng::new(1));
    assert_eq!(read_all(&mut disk, "t-0/a.log"), None);
}

#[test]
fn creation_is_durable_only_after_sync_dir() {
    let mut outcomes = BTreeSet::new();
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        disk.create("t-0/a.log").expect("create");
        disk.write_at("t-0/a.log", 0, b"data").expect("write");
        disk.sync("t-0/a.log").expect("sync");
        disk.crash_machine(&mut SimRng::new(seed));
        let after = read_all(&mut disk, "t-0/a.log");
        assert!(
            matches!(after.as_deref(), None | Some(b"data")),
            "seed {seed}"
        );
        outcomes.insert(after.is_some());

        let mut disk = fresh(seed);
        create_synced(&mut disk, "t-0/a.log", b"data");
        disk.crash_machine(&mut SimRng::new(seed));
        assert_eq!(
            read_all(&mut disk, "t-0/a.log").as_deref(),
            Some(&b"data"[..])
        );
    }
    assert_eq!(outcomes.len(), 2, "created files both vanish and survive");
}

#[test]
fn rename_is_atomic() {
    let mut outcomes = BTreeSet::new();
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        create_synced(&mut disk, "t-0/a.log", b"old target");
        create_synced(&mut disk, "t-0/a.log.tmp", b"new contents");
        disk.rename("t-0/a.log.tmp", "t-0/a.log").expect("rename");
        assert_eq!(disk.list("t-0").expect("list"), vec!["a.log"]);
        assert_eq!(
            read_all(&mut disk, "t-0/a.log").as_deref(),
            Some(&b"new contents"[..])
        );
        disk.crash_machine(&mut SimRng::new(seed));
        let target = read_all(&mut disk, "t-0/a.log").expect("the target always exists");
        let source = read_all(&mut disk, "t-0/a.log.tmp");
        match target.as_slice() {
            b"new contents" => assert_eq!(source, None, "seed {seed}"),
            b"old target" => assert_eq!(source.as_deref(), Some(&b"new contents"[..])),
            other => panic!("seed {seed}: target holds {other:?}"),
        }
        outcomes.insert(target);
    }
    assert_eq!(outcomes.len(), 2, "renames are both kept and undone");
}

#[test]
fn enospc_writes_a_prefix() {
    let mut disk = fresh(1);
    disk.set_capacity(Some(10));
    disk.create("t-0/a.log").expect("create");
    disk.create("t-0/b.log").expect("create");
    disk.write_at("t-0/a.log", 0, b"1234").expect("fits");
    assert_eq!(
        disk.write_at("t-0/b.log", 0, b"abcdefghij"),
        Err(DiskError::NoSpace)
    );
    assert_eq!(
        read_all(&mut disk, "t-0/b.log").as_deref(),
        Some(&b"abcdef"[..])
    );
    assert_eq!(disk.used_bytes(), 10);
    // Overwriting in place needs no space.
    disk.write_at("t-0/b.log", 0, b"ABCDEF").expect("overwrite");
    assert_eq!(disk.truncate("t-0/a.log", 100), Err(DiskError::NoSpace));
    assert_eq!(disk.len("t-0/a.log"), Ok(4));
    // Freeing space lets writes through again.
    disk.remove("t-0/b.log").expect("remove");
    disk.truncate("t-0/a.log", 10).expect("fits now");
    disk.set_capacity(None);
    disk.write_at("t-0/a.log", 10, &[7u8; 1000])
        .expect("unlimited");
}

#[test]
fn armed_crash_interrupts_and_blocks_until_restart() {
    let mut disk = fresh(3);
    disk.create("t-0/a.log").expect("create");
    disk.arm_crash_after_ops(1);
    disk.write_at("t-0/a.log", 0, b"first")
        .expect("one op completes");
    assert_eq!(
        disk.write_at("t-0/a.log", 5, b"second"),
        Err(DiskError::Crashed)
    );
    assert!(disk.is_crashed());
    assert_eq!(disk.interrupted_op(), Some("write_at t-0/a.log @5 len 6"));
    let mut buf = [0u8; 4];
    assert_eq!(
        disk.read_at("t-0/a.log", 0, &mut buf),
        Err(DiskError::Crashed)
    );
    assert_eq!(disk.len("t-0/a.log"), Err(DiskError::Crashed));
    assert_eq!(disk.list("t-0"), Err(DiskError::Crashed));
    assert_eq!(disk.sync("t-0/a.log"), Err(DiskError::Crashed));
    disk.crash_process();
    assert!(!disk.is_crashed());
    assert_eq!(disk.interrupted_op(), None);
    let after = read_all(&mut disk, "t-0/a.log").expect("exists");
    assert!(b"firstsecond".starts_with(&after), "{after:?}");
    assert!(after.len() >= 5);
    disk.write_at("t-0/a.log", 0, b"usable")
        .expect("usable again");
}

#[test]
fn armed_crash_outcomes_vary_by_seed() {
    let mut write_prefixes = BTreeSet::new();
    let mut renamed = BTreeSet::new();
    for seed in 0..SEEDS {
        let mut disk = fresh(seed);
        disk.create("t-0/a.log").expect("create");
        disk.arm_crash_after_ops(0);
        assert_eq!(
            disk.write_at("t-0/a.log", 0, b"abcdefgh"),
            Err(DiskError::Crashed)
        );
        disk.crash_process();
        let after = read_all(&mut disk, "t-0/a.log").expect("exists");
        assert!(b"abcdefgh".starts_with(&after));
        write_prefixes.insert(after.len());

        disk.arm_crash_after_ops(0);
        assert_eq!(
            disk.rename("t-0/a.log", "t-0/b.log"),
            Err(DiskError::Crashed)
        );
        assert_eq!(disk.interrupted_op(), Some("rename t-0/a.log -> t-0/b.log"));
        disk.crash_process();
        let names = disk.list("t-0").expect("list");
        assert!(names == ["a.log"] || names == ["b.log"], "{names:?}");
        renamed.insert(names);
    }
    assert_eq!(write_prefixes.len(), 9, "every prefix length 0..=8 occurs");
    assert_eq!(renamed.len(), 2);
}

#[test]
fn machine_crash_disarms_and_restarts() {
    let mut disk = fresh(4);
    create_synced(&mut disk, "t-0/a.log", b"keep");
    disk.arm_crash_after_ops(0);
    assert_eq!(disk.sync("t-0/a.log"), Err(DiskError::Crashed));
    assert_eq!(disk.interrupted_op(), Some("sync t-0/a.log"));
    disk.crash_machine(&mut SimRng::new(4));
    assert_eq!(
        read_all(&mut disk, "t-0/a.log").as_deref(),
        Some(&b"keep"[..])
    );
    // Arm, then restart before the crash hits: the restart disarms.
    disk.arm_crash_after_ops(0);
    disk.crash_process();
    disk.write_at("t-0/a.log", 4, b"!").expect("disarmed");
}

#[test]
fn corruption_flips_one_durable_bit() {
    let mut disk = fresh(5);
    assert_eq!(
        disk.corrupt_durable_byte(&mut SimRng::new(1), |_| true),
        None
    );
    let mut offsets = BTreeSet::new();
    for seed in 0..50 {
        let mut disk = fresh(seed);
        create_synced(&mut disk, "t-0/a.log", &[0u8; 64]);
        create_synced(&mut disk, "t-0/a.index", &[0u8; 64]);
        disk.write_at("t-0/a.log", 64, &[0u8; 64])
            .expect("unsynced tail");
        let (path, offset) = disk
            .corrupt_durable_byte(&mut SimRng::new(seed), |path| path.ends_with(".log"))
            .expect("a candidate");
        assert_eq!(path, "t-0/a.log");
        assert!(offset < 64, "only the durable region rots");
        offsets.insert(offset);
        let after = read_all(&mut disk, &path).expect("exists");
        let flipped: u32 = after.iter().map(|byte| byte.count_ones()).sum();
        assert_eq!(flipped, 1, "exactly one bit, visible to reads");
        assert_eq!(after[offset as usize].count_ones(), 1);
        let index = read_all(&mut disk, "t-0/a.index").expect("exists");
        assert!(
            index.iter().all(|byte| *byte == 0),
            "the filter is respected"
        );
        // The flip is on the medium: it survives a machine crash.
        disk.crash_machine(&mut SimRng::new(seed));
        let durable = read_all(&mut disk, &path).expect("exists");
        assert_eq!(durable[offset as usize].count_ones(), 1);
    }
    assert!(offsets.len() > 10, "offsets vary");
}

/// A scripted workload with random syncs and a machine crash; returns everything observable.
fn scripted_run(seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut rng = SimRng::new(seed);
    let mut disk = SimDisk::new(rng.fork());
    disk.set_torn_garbage(true);
    disk.create_dir_all("t-0").expect("mkdir");
    for file in 0..3 {
        let path = format!("t-0/{file}.log");
        disk.create(&path).expect("create");
        for chunk in 0..10u64 {
            let mut data = vec![0u8; rng.range_inclusive(1, 64) as usize];
            rng.fill_bytes(&mut data);
            disk.write_at(&path, chunk * 64, &data).expect("write");
            if rng.chance(1, 3) {
                disk.sync(&path).expect("sync");
            }
        }
        if rng.chance(1, 2) {
            disk.sync_dir("t-0").expect("sync_dir");
        }
    }
    disk.crash_machine(&mut rng);
    let names = disk.list("t-0").expect("list");
    names
        .into_iter()
        .map(|name| {
            let contents = read_all(&mut disk, &format!("t-0/{name}")).expect("listed");
            (name, contents)
        })
        .collect()
}

#[test]
fn same_seed_same_outcome() {
    for seed in 0..50 {
        assert_eq!(scripted_run(seed), scripted_run(seed), "seed {seed}");
    }
    let distinct: BTreeSet<_> = (0..50).map(scripted_run).collect();
    assert!(
        distinct.len() > 40,
        "different seeds explore different outcomes"
    );
}
