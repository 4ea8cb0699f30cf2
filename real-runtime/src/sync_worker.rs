//! Group commit: the syncs a node asks for ([`NodeOutput::Sync`]) run on a worker thread, off
//! the node's loop, and one fdatasync of a file completes every sync of it that was queued
//! before that fdatasync started.
//!
//! A sync is queued only after the writes it covers returned on the loop (they are pwrites to
//! the page cache, made while the node handled its input), so an fdatasync that starts after
//! the queueing covers them. While one batch is being synced, the next one queues up: the
//! slower the device, the more syncs each fdatasync completes.
//!
//! The worker is a dedicated thread rather than tokio's blocking pool: merging needs one
//! consumer that takes everything queued at once, and the pool would instead run a task per
//! sync side by side, each with its own fdatasync of the same file. A thread of our own also
//! lives exactly as long as the node's loop (it ends when the loop drops its queue).
//!
//! The completions come back on a tokio channel that the node's loop takes as one more input,
//! where [`NodeSyncs`] releases what waited on them (its [`SyncTracker`]), as the simulator's
//! driver does.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::{mpsc as std_mpsc, Arc};

use sluice_core::broker::{Completed, NodeOutput, SyncToken, SyncTracker};
use sluice_core::disk::{replace_file, DiskError};
use tokio::sync::mpsc;

use crate::file_disk::{disk_error, FileDisk};
use crate::records::{FileSync, RecordFiles};

/// One sync or replace the node asked for.
#[derive(Debug)]
enum SyncJob {
    /// Fdatasync these open files (the path is for errors), and fsync these directories.
    Files {
        token: SyncToken,
        files: Vec<(String, Arc<File>)>,
        dirs: Vec<(String, Arc<File>)>,
    },
    /// Replace `{dir}/{name}` under the disk `root` with `bytes` ([`replace_file`]).
    Replace {
        token: SyncToken,
        root: PathBuf,
        dir: String,
        name: String,
        bytes: Vec<u8>,
    },
}

/// Syncs whose IO finished, in the order they were queued. When each completes is the
/// tracker's to say ([`NodeSyncs::io_done`]): a sync chained after another waits for it.
#[derive(Debug)]
pub struct SyncsDone {
    /// Each sync and how its IO went.
    pub finished: Vec<(SyncToken, Result<(), DiskError>)>,
    /// The fdatasyncs it took to complete them.
    pub fdatasyncs: usize,
}

/// The worker's loop: takes everything queued, syncs it as one batch ([`sync_batch`]),
/// reports it on `done`, and starts over; returns once `jobs` has no sender left or nobody
/// listens on `done`.
fn run(jobs: std_mpsc::Receiver<SyncJob>, done: mpsc::UnboundedSender<SyncsDone>) {
    // The worker's own view of each disk it replaces files on: its handles are its own, so
    // the loop's cache never sees a name change under it.
    let mut disks: BTreeMap<PathBuf, FileDisk> = BTreeMap::new();
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter());
        let started = std::time::Instant::now();
        let synced = sync_batch(batch, &mut disks);
        // How much the merging saves on this device (RUST_LOG=sluice::sync_worker=trace).
        tracing::trace!(
            syncs = synced.finished.len(),
            fdatasyncs = synced.fdatasyncs,
            micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "synced a batch"
        );
        if done.send(synced).is_err() {
            return;
        }
    }
}

/// Fdatasyncs each distinct file of `batch` once, in the order the batch first names them,
/// and completes every job: each with the first error among its files, if any.
///
/// Files are told apart by inode, not by handle: the node's handle cache may have reopened a
/// file between two syncs of it, and one fdatasync flushes the inode whichever descriptor
/// asks. Every job of the batch shares the one result of its file's fdatasync, which matters
/// on failure: Linux reports a writeback error once per descriptor, so a second fdatasync
/// could report success for pages the first one lost.
fn sync_batch(batch: Vec<SyncJob>, disks: &mut BTreeMap<PathBuf, FileDisk>) -> SyncsDone {
    let mut synced: BTreeMap<(u64, u64), Result<(), DiskError>> = BTreeMap::new();
    let mut fdatasyncs = 0;
    let mut finished = Vec::with_capacity(batch.len());
    for job in batch {
        let (token, files, dirs) = match job {
            SyncJob::Files { token, files, dirs } => (token, files, dirs),
            SyncJob::Replace {
                token,
                root,
                dir,
                name,
                bytes,
            } => {
                finished.push((token, replace_on(disks, root, &dir, &name, &bytes)));
                continue;
            }
        };
        let mut result = Ok(());
        let all = files
            .iter()
            .map(|f| (f, false))
            .chain(dirs.iter().map(|d| (d, true)));
        for ((path, file), is_dir) in all {
            let outcome = match file.metadata() {
                Ok(metadata) => synced
                    .entry((metadata.dev(), metadata.ino()))
                    .or_insert_with(|| {
                        fdatasyncs += 1;
                        // A directory's names are metadata: fsync, not fdatasync.
                        let done = match is_dir {
                            true => file.sync_all(),
                            false => file.sync_data(),
                        };
                        done.map_err(|error| disk_error(path, &error))
                    })
                    .clone(),
                Err(error) => Err(disk_error(path, &error)),
            };
            if result.is_ok() {
                result = outcome;
            }
        }
        finished.push((token, result));
    }
    assert_eq!(fdatasyncs, synced.len());
    SyncsDone {
        finished,
        fdatasyncs,
    }
}

/// Replaces `{dir}/{name}` on the disk at `root`, opening the worker's view of it on first use.
fn replace_on(
    disks: &mut BTreeMap<PathBuf, FileDisk>,
    root: PathBuf,
    dir: &str,
    name: &str,
    bytes: &[u8],
) -> Result<(), DiskError> {
    if !disks.contains_key(&root) {
        let disk = FileDisk::open(&root)
            .map_err(|error| disk_error(&root.display().to_string(), &error))?;
        disks.insert(root.clone(), disk);
    }
    let disk = disks.get_mut(&root).expect("opened above");
    let result = replace_file(disk, dir, name, bytes);
    // Nothing else runs here between replaces: keeping handles open would only hold the
    // replaced inodes.
    disk.close(&format!("{dir}/{name}"));
    disk.close(&format!("{dir}/{name}.tmp"));
    result
}

/// The worker thread, as the node's loop sees it: a queue. Dropping it ends the thread once
/// the batch under way is done (nothing waits for it: the loop that would hear is gone).
///
/// The queue has no bound of its own, like the node's input channel: the node asks for at most
/// one sync per request that wrote, so the requests in flight bound it.
#[derive(Debug)]
struct SyncWorker {
    jobs: std_mpsc::Sender<SyncJob>,
}

impl SyncWorker {
    fn spawn(done: mpsc::UnboundedSender<SyncsDone>) -> std::io::Result<SyncWorker> {
        let (jobs, queue) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("sluice-sync".to_string())
            .spawn(move || run(queue, done))?;
        Ok(SyncWorker { jobs })
    }
}

/// The node loop's side of its syncs: where each runs, the channel its completion comes back
/// on, and the outputs waiting for it.
///
/// Call order, the simulator driver's: [`NodeSyncs::begin`] for each `Sync` output,
/// [`NodeSyncs::replace`] for each `Replace`, and [`NodeSyncs::admit`] for each other output
/// as they come out of `poll_output`; for each finished IO [`NodeSyncs::done`] hands over,
/// [`NodeSyncs::io_done`]: first carry out the outputs it releases, then tell the node of
/// each sync it completes (`handle_sync_done`), then drain the node's outputs as after any
/// input.
#[derive(Debug)]
pub struct NodeSyncs {
    tracker: SyncTracker,
    // Started at the first sync of a real file, so a disk that syncs on the loop (the
    // in-memory one of the turmoil tests) never gets a thread.
    worker: Option<SyncWorker>,
    done_sender: mpsc::UnboundedSender<SyncsDone>,
    done: mpsc::UnboundedReceiver<SyncsDone>,
    /// The paths each replace under way on the worker changes: the loop's disk forgets its
    /// handles to them when it completes.
    replacing: BTreeMap<SyncToken, String>,
}

impl Default for NodeSyncs {
    fn default() -> NodeSyncs {
        NodeSyncs::new()
    }
}

impl NodeSyncs {
    /// No sync under way.
    pub fn new() -> NodeSyncs {
        let (done_sender, done) = mpsc::unbounded_channel();
        NodeSyncs {
            tracker: SyncTracker::new(),
            worker: None,
            done_sender,
            done,
            replacing: BTreeMap::new(),
        }
    }

    /// Starts the sync `token` of `files` and `dirs` (paths on `disk`), the node's `Sync`
    /// output, on the loop that wrote them: the handles are taken now, before retention can
    /// remove a file. It completes after the sync `after`, if any.
    pub fn begin(
        &mut self,
        disk: &mut impl RecordFiles,
        token: SyncToken,
        after: Option<SyncToken>,
        files: Vec<String>,
        dirs: Vec<String>,
    ) {
        self.tracker.issued(token, after);
        let mut later = Vec::with_capacity(files.len());
        let mut later_dirs = Vec::with_capacity(dirs.len());
        let mut result = Ok(());
        for path in files {
            match disk.begin_sync(&path) {
                Ok(FileSync::Later(file)) => later.push((path, file)),
                Ok(FileSync::Done) => {}
                // Gone already: the node removed it (retention, a deleted topic) after
                // writing it, so its records are gone by the node's own choice and there is
                // nothing left to make durable; the simulator's driver does the same. This
                // holds because no record file is ever renamed (only the node's small state
                // files are, by `Replace`): a renamed one would need its new path here.
                Err(DiskError::NotFound(_)) => {}
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        for dir in dirs {
            if result.is_err() {
                break;
            }
            match disk.begin_sync_dir(&dir) {
                Ok(FileSync::Later(file)) => later_dirs.push((dir, file)),
                Ok(FileSync::Done) => {}
                Err(error) => result = Err(error),
            }
        }
        let result = match result {
            Ok(()) if !later.is_empty() || !later_dirs.is_empty() => {
                let job = SyncJob::Files {
                    token,
                    files: later,
                    dirs: later_dirs,
                };
                match self.submit(job) {
                    // The worker reports it.
                    Ok(()) => return,
                    Err(error) => Err(error),
                }
            }
            result => result,
        };
        self.report(token, result);
    }

    /// Replaces `{dir}/{name}` with `bytes` atomically and durably, the node's `Replace`
    /// output `token` (completing after the sync `after`, if any). On a disk of real files
    /// the worker does it, in order with the syncs queued before it: the node reads such a
    /// file only when it opens, and forgets its handles to it when the replace completes.
    /// Other disks replace on the loop.
    pub fn replace(
        &mut self,
        disk: &mut impl RecordFiles,
        token: SyncToken,
        after: Option<SyncToken>,
        dir: &str,
        name: &str,
        bytes: &[u8],
    ) {
        self.tracker.issued(token, after);
        let Some(root) = disk.replace_root() else {
            let result = replace_file(disk, dir, name, bytes);
            self.report(token, result);
            return;
        };
        let job = SyncJob::Replace {
            token,
            root,
            dir: dir.to_string(),
            name: name.to_string(),
            bytes: bytes.to_vec(),
        };
        match self.submit(job) {
            Ok(()) => {
                self.replacing.insert(token, format!("{dir}/{name}"));
            }
            Err(error) => self.report(token, Err(error)),
        }
    }

    /// Reports the IO of `token` through the channel, never at once: outputs waiting on
    /// `token` come out of the node after its output, and must find it under way to be held,
    /// then released or turned into errors like any others.
    fn report(&self, token: SyncToken, result: Result<(), DiskError>) {
        let done = SyncsDone {
            finished: vec![(token, result)],
            fdatasyncs: 0,
        };
        self.done_sender
            .send(done)
            .expect("the receiver lives in self");
    }

    /// Queues `job` on the worker, starting it first if need be.
    fn submit(&mut self, job: SyncJob) -> Result<(), DiskError> {
        if self.worker.is_none() {
            let worker = SyncWorker::spawn(self.done_sender.clone())
                .map_err(|error| DiskError::Io(format!("cannot start the sync worker: {error}")))?;
            self.worker = Some(worker);
        }
        let worker = self.worker.as_ref().expect("started above");
        // Fails only if the worker thread died (a panic): the sync cannot run, and the node
        // hears so.
        worker
            .jobs
            .send(job)
            .map_err(|_| DiskError::Io("the sync worker stopped".to_string()))
    }

    /// The output `output` if it may go now; `None` when it waits for a sync (see
    /// [`SyncTracker::admit`]).
    pub fn admit(&mut self, output: NodeOutput) -> Option<NodeOutput> {
        self.tracker.admit(output)
    }

    /// The next syncs that completed. Never ends: the loop holds a sender itself.
    pub async fn done(&mut self) -> SyncsDone {
        self.done
            .recv()
            .await
            .expect("a sender lives in self, so the channel stays open")
    }

    /// The IO of sync `token` finished: the syncs that complete with it, in the order to
    /// tell the node, and the outputs they held, to carry out first (see
    /// [`SyncTracker::io_done`]).
    pub fn io_done(
        &mut self,
        disk: &mut impl RecordFiles,
        token: SyncToken,
        result: Result<(), DiskError>,
    ) -> Completed {
        if let Some(path) = self.replacing.remove(&token) {
            disk.forget(&path);
            disk.forget(&format!("{path}.tmp"));
        }
        self.tracker.io_done(token, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_core::api::TopicPartition;
    use sluice_core::api::{ErrorCode, ProducePartitionResponse, ProduceResponse, Response};
    use sluice_core::disk::{read_exact_at, Disk};
    use sluice_core::mem_disk::MemDisk;

    use crate::file_disk::FileDisk;

    fn disk_with(files: &[&str]) -> (tempfile::TempDir, FileDisk) {
        let dir = tempfile::tempdir().unwrap();
        let mut disk = FileDisk::open(dir.path().join("root")).unwrap();
        for file in files {
            disk.create(file).unwrap();
            disk.write_at(file, 0, b"records").unwrap();
        }
        (dir, disk)
    }

    fn job(disk: &mut FileDisk, token: u64, files: &[&str]) -> SyncJob {
        let files = files
            .iter()
            .map(|path| match disk.begin_sync(path).unwrap() {
                FileSync::Later(file) => (path.to_string(), file),
                FileSync::Done => panic!("a file disk syncs on the worker"),
            })
            .collect();
        SyncJob::Files {
            token: SyncToken(token),
            files,
            dirs: Vec::new(),
        }
    }

    fn files_of(job: &mut SyncJob) -> &mut Vec<(String, Arc<File>)> {
        match job {
            SyncJob::Files { files, .. } => files,
            SyncJob::Replace { .. } => unreachable!("a sync job"),
        }
    }

    fn batch_of(batch: Vec<SyncJob>) -> SyncsDone {
        sync_batch(batch, &mut BTreeMap::new())
    }

    /// Begins the sync `token` of the one file `path`, after nothing.
    fn begin_file(syncs: &mut NodeSyncs, disk: &mut impl RecordFiles, token: u64, path: &str) {
        let files = vec![path.to_string()];
        syncs.begin(disk, SyncToken(token), None, files, Vec::new());
    }

    fn tokens(done: &SyncsDone) -> Vec<u64> {
        done.finished.iter().map(|(token, _)| token.0).collect()
    }

    fn all_ok(done: &SyncsDone) -> bool {
        done.finished.iter().all(|(_, result)| result.is_ok())
    }

    #[test]
    fn syncs_queued_together_take_one_fdatasync_of_their_file() {
        let (_dir, mut disk) = disk_with(&["00.log"]);
        let (jobs, queue) = std_mpsc::channel();
        for token in 0..8 {
            jobs.send(job(&mut disk, token, &["00.log"])).unwrap();
        }
        // Everything is queued before the worker looks, so it is one batch; with the sender
        // gone, the worker returns after it, here on the test's thread.
        drop(jobs);
        let (done_sender, mut done) = mpsc::unbounded_channel();
        run(queue, done_sender);
        let batch = done.try_recv().unwrap();
        assert_eq!(tokens(&batch), (0..8).collect::<Vec<_>>());
        assert!(all_ok(&batch));
        assert_eq!(batch.fdatasyncs, 1);
        assert!(done.try_recv().is_err());
    }

    #[test]
    fn each_distinct_file_is_synced_once() {
        let (_dir, mut disk) = disk_with(&["a.log", "b.log"]);
        let batch = vec![
            job(&mut disk, 0, &["a.log"]),
            job(&mut disk, 1, &["b.log"]),
            job(&mut disk, 2, &["a.log", "b.log"]),
            job(&mut disk, 3, &["b.log"]),
        ];
        let done = batch_of(batch);
        assert_eq!(tokens(&done), [0, 1, 2, 3]);
        assert!(all_ok(&done));
        assert_eq!(done.fdatasyncs, 2);
    }

    #[test]
    fn a_file_reopened_by_the_handle_cache_is_still_one_file() {
        let (_dir, disk) = disk_with(&["a.log", "b.log"]);
        let mut disk = disk.with_open_files_max(1);
        let mut first = job(&mut disk, 0, &["a.log"]);
        // Opening b closes a's cached handle; a's next sync gets a new handle on its inode.
        let other = job(&mut disk, 1, &["b.log"]);
        let mut second = job(&mut disk, 2, &["a.log"]);
        assert!(!Arc::ptr_eq(
            &files_of(&mut first)[0].1,
            &files_of(&mut second)[0].1
        ));
        let done = batch_of(vec![first, other, second]);
        assert!(all_ok(&done));
        assert_eq!(done.fdatasyncs, 2);
    }

    #[test]
    fn a_failed_fdatasync_fails_every_sync_of_that_file_only() {
        let (_dir, mut disk) = disk_with(&["a.log"]);
        // A real descriptor whose fdatasync fails: character devices take no fsync (EINVAL).
        let null = Arc::new(File::options().write(true).open("/dev/null").unwrap());
        let broken = |token| SyncJob::Files {
            token: SyncToken(token),
            files: vec![("null".to_string(), Arc::clone(&null))],
            dirs: Vec::new(),
        };
        let mut both = job(&mut disk, 1, &["a.log"]);
        files_of(&mut both).push(("null".to_string(), Arc::clone(&null)));
        let batch = vec![broken(0), both, job(&mut disk, 2, &["a.log"]), broken(3)];
        let done = batch_of(batch);
        let failed: Vec<bool> = done.finished.iter().map(|(_, r)| r.is_err()).collect();
        assert_eq!(failed, [true, true, false, true]);
        assert!(matches!(&done.finished[0].1, Err(DiskError::Io(_))));
        assert_eq!(done.fdatasyncs, 2);
    }

    fn produced(client: u64, after: u64) -> NodeOutput {
        let partition = ProducePartitionResponse {
            partition: TopicPartition {
                topic: "t".to_string(),
                partition: 0,
            },
            error: ErrorCode::None,
            base_offset: 0,
            log_append_time_ms: -1,
            log_start_offset: 0,
        };
        NodeOutput::Respond {
            client,
            response: Response::Produce(ProduceResponse {
                partitions: vec![partition],
            }),
            after: Some(SyncToken(after)),
        }
    }

    #[tokio::test]
    async fn answers_wait_for_the_worker_and_leave_on_its_completion() {
        let (_dir, mut disk) = disk_with(&["a.log"]);
        let mut syncs = NodeSyncs::new();
        begin_file(&mut syncs, &mut disk, 0, "a.log");
        assert!(syncs.admit(produced(7, 0)).is_none());
        let done = syncs.done().await;
        assert_eq!(tokens(&done), [0]);
        assert!(all_ok(&done));
        assert_eq!(done.fdatasyncs, 1);
        let completed = syncs.io_done(&mut disk, SyncToken(0), Ok(()));
        assert_eq!(completed.syncs, [(SyncToken(0), Ok(()))]);
        assert!(matches!(
            completed.outputs[..],
            [NodeOutput::Respond { client: 7, .. }]
        ));
    }

    #[tokio::test]
    async fn a_removed_file_counts_as_synced_and_still_completes_later() {
        let (_dir, mut disk) = disk_with(&["a.log"]);
        disk.remove("a.log").unwrap();
        let mut syncs = NodeSyncs::new();
        begin_file(&mut syncs, &mut disk, 0, "a.log");
        // The answer that comes out after the sync waits for the completion all the same.
        assert!(syncs.admit(produced(7, 0)).is_none());
        let done = syncs.done().await;
        assert!(all_ok(&done));
        assert_eq!(done.fdatasyncs, 0);
        assert!(syncs.worker.is_none());
        let completed = syncs.io_done(&mut disk, SyncToken(0), Ok(()));
        assert_eq!(completed.outputs.len(), 1);
    }

    #[tokio::test]
    async fn a_replace_runs_on_the_worker_and_the_loop_reads_the_new_file_after_it() {
        let (_dir, mut disk) = disk_with(&[]);
        disk.create_dir_all("t-0").unwrap();
        disk.create("t-0/checkpoint").unwrap();
        disk.write_at("t-0/checkpoint", 0, b"old").unwrap();
        // The loop's handle cache holds the old file, as after an open that read it.
        let mut old = [0u8; 3];
        read_exact_at(&mut disk, "t-0/checkpoint", 0, &mut old).unwrap();
        let mut syncs = NodeSyncs::new();
        syncs.replace(&mut disk, SyncToken(0), None, "t-0", "checkpoint", b"newer");
        disk.create("t-0/00.log").unwrap();
        let files = vec!["t-0/00.log".to_string()];
        syncs.begin(
            &mut disk,
            SyncToken(1),
            None,
            files,
            vec!["t-0".to_string()],
        );
        assert!(syncs.worker.is_some());
        let mut finished = Vec::new();
        while finished.len() < 2 {
            finished.extend(syncs.done().await.finished);
        }
        assert_eq!(
            finished.iter().map(|(t, _)| t.0).collect::<Vec<_>>(),
            [0, 1]
        );
        assert!(finished.iter().all(|(_, result)| result.is_ok()));
        for (token, result) in finished {
            syncs.io_done(&mut disk, token, result);
        }
        assert_eq!(disk.len("t-0/checkpoint").unwrap(), 5);
        let mut new = [0u8; 5];
        read_exact_at(&mut disk, "t-0/checkpoint", 0, &mut new).unwrap();
        assert_eq!(&new, b"newer");
        assert_eq!(disk.list("t-0").unwrap(), ["00.log", "checkpoint"]);
    }

    #[tokio::test]
    async fn a_disk_without_files_syncs_on_the_loop_and_starts_no_thread() {
        let mut disk = MemDisk::default();
        disk.create("a.log").unwrap();
        disk.write_at("a.log", 0, b"records").unwrap();
        let mut syncs = NodeSyncs::new();
        begin_file(&mut syncs, &mut disk, 0, "a.log");
        assert!(syncs.worker.is_none());
        let done = syncs.done().await;
        assert_eq!(tokens(&done), [0]);
        assert!(all_ok(&done));
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_opened_fails_its_sync() {
        let (_dir, mut disk) = disk_with(&[]);
        let mut syncs = NodeSyncs::new();
        begin_file(&mut syncs, &mut disk, 0, "../escapes");
        assert!(syncs.admit(produced(7, 0)).is_none());
        let done = syncs.done().await;
        assert!(matches!(&done.finished[..], [(_, Err(DiskError::Io(_)))]));
        let [(token, result)] = done.finished.try_into().unwrap();
        let released = syncs.io_done(&mut disk, token, result).outputs;
        let [NodeOutput::Respond {
            response: Response::Produce(produce),
            ..
        }] = &released[..]
        else {
            panic!("the answer comes out: {released:?}");
        };
        assert_eq!(produce.partitions[0].error, ErrorCode::KafkaStorageError);
    }

    #[tokio::test]
    async fn a_replace_after_a_worker_sync_completes_after_it() {
        let (_dir, mut disk) = disk_with(&["raft.log"]);
        disk.create_dir_all("raft").unwrap();
        let mut syncs = NodeSyncs::new();
        begin_file(&mut syncs, &mut disk, 1, "raft.log");
        // Queued after the sync; whichever IO ends first, it completes second.
        syncs.replace(
            &mut disk,
            SyncToken(2),
            Some(SyncToken(1)),
            "raft",
            "state",
            b"vote",
        );
        assert!(syncs.admit(produced(7, 2)).is_none());
        let mut order = Vec::new();
        let mut released = Vec::new();
        while order.len() < 2 {
            for (token, result) in syncs.done().await.finished {
                let completed = syncs.io_done(&mut disk, token, result);
                order.extend(completed.syncs.into_iter().map(|(token, _)| token.0));
                released.extend(completed.outputs);
            }
        }
        assert_eq!(order, [1, 2]);
        assert_eq!(released.len(), 1);
        assert_eq!(contents_of(&mut disk, "raft/state"), b"vote");
    }

    fn contents_of(disk: &mut FileDisk, path: &str) -> Vec<u8> {
        let mut buf = vec![0; disk.len(path).unwrap() as usize];
        sluice_core::disk::read_exact_at(disk, path, 0, &mut buf).unwrap();
        buf
    }
}
