//! Crash safety of the directory store, proven the hard way: a writer process stores objects from
//! many threads (the same keys and different keys, small and multi-MiB) and is killed with SIGKILL
//! at a random point; the data directory is then reopened and every object it lists must read back
//! whole and match its metadata. Repeated for many rounds on the same directory, so every round
//! also recovers from the wreckage of the previous ones.
//!
//! The writer is this test binary run again: the test re-executes itself with
//! [`WRITER_DIR_ENV`] set, and the same test function then plays the writer instead of the judge.
//! The content is self-verifying (the key, a unique write id and the length in a header, then bytes
//! derived from the header), so a torn object, another key's bytes or another write's metadata is
//! recognised without remembering what was written.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use md5::{Digest as _, Md5};
use meeting_domain::PortError;
use meeting_domain::ports::ObjectStore;
use sha2::Digest as _;
use sha2::Sha256;

use super::DirObjectStore;

/// Set in the re-executed test: the data directory the writer writes to.
const WRITER_DIR_ENV: &str = "RECORDER_LOCAL_CRASH_WRITER_DIR";
/// Set in the re-executed test: the seed of the writer's choices and of its write ids.
const WRITER_SEED_ENV: &str = "RECORDER_LOCAL_CRASH_WRITER_SEED";
/// What the writer prints once it starts writing.
const READY: &str = "crash writer: writing";

const BUCKET: &str = "crash";
/// Kill rounds on one data directory.
const ROUNDS: u64 = 40;
/// Concurrent writer tasks in the writer process.
const WRITERS: usize = 8;
/// Keys every writer task writes to (concurrent writers of the same key).
const SHARED_KEYS: usize = 3;
/// Keys each writer task has to itself.
const OWN_KEYS: usize = 2;
/// The longest the judge waits before killing the writer, in milliseconds.
const MAX_KILL_DELAY_MS: u64 = 250;
/// The size of the header every object starts with is well below this.
const MIN_OBJECT_BYTES: u64 = 128;

/// SplitMix64: a small seeded generator, so a failing run can be replayed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

fn every_key() -> Vec<String> {
    let shared = (0..SHARED_KEYS).map(|k| format!("shared/object-{k}.bin"));
    let own =
        (0..WRITERS).flat_map(|w| (0..OWN_KEYS).map(move |k| format!("writer-{w}/object-{k}.bin")));
    shared.chain(own).collect()
}

fn content_type(id: &str) -> String {
    format!("application/x-crash-test; id={id}")
}

/// `len` bytes: a header naming the key, the write and the length, then bytes derived from it.
fn body(key: &str, id: &str, len: u64) -> Vec<u8> {
    let header = format!("{key}\n{id}\n{len}\n");
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    out.extend_from_slice(header.as_bytes());
    let mut rng = Rng(u64::from_le_bytes(
        Sha256::digest(header.as_bytes())[..8]
            .try_into()
            .unwrap_or_default(),
    ));
    while (out.len() as u64) < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(usize::try_from(len).unwrap_or(0));
    out
}

/// Checks that `bytes` is a whole object written for `key`; returns its write id.
fn whole_object_id(key: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
    let mut lines = text.split('\n');
    let (Some(written_key), Some(id), Some(len)) = (lines.next(), lines.next(), lines.next())
    else {
        panic!(
            "{key}: {} bytes without the writer's header (torn or empty object)",
            bytes.len()
        );
    };
    assert_eq!(written_key, key, "{key}: holds the bytes of another key");
    let len: u64 = len
        .parse()
        .unwrap_or_else(|_| panic!("{key}: unreadable length in the header"));
    assert_eq!(
        bytes.len() as u64,
        len,
        "{key}: write {id} is {len} bytes, {} are stored (torn object)",
        bytes.len()
    );
    assert!(
        bytes == body(key, id, len).as_slice(),
        "{key}: write {id} is corrupt"
    );
    id.to_owned()
}

/// The content type the store keeps in its metadata file (the port does not return it).
fn stored_content_type(root: &Path, key: &str) -> String {
    let path = root.join("meta").join(BUCKET).join(format!("{key}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{key}: metadata file: {e}"));
    let meta: serde_json::Value =
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{key}: metadata file: {e}"));
    meta["contentType"].as_str().unwrap_or_default().to_owned()
}

/// Opens the store on `root` as a restarted process would and checks every object; returns how
/// many objects it listed.
async fn check_every_object(root: &Path, round: u64) -> usize {
    let store = DirObjectStore::new(root);
    let listed = store
        .list(BUCKET, "")
        .await
        .unwrap_or_else(|e| panic!("round {round}: list failed: {e}"));
    let keys = every_key();
    let listed_keys: BTreeSet<&str> = listed.iter().map(|m| m.key.as_str()).collect();
    for meta in &listed {
        let key = meta.key.as_str();
        assert!(
            keys.iter().any(|k| k == key),
            "round {round}: lists {key}, which no writer wrote (a temporary file?)"
        );
        let bytes = store
            .get_bytes(BUCKET, key)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {key} is listed but unreadable: {e}"));
        let id = whole_object_id(key, &bytes);
        assert_eq!(meta.size, bytes.len() as u64, "round {round}: {key} size");
        assert_eq!(
            meta.sha256.as_deref(),
            Some(hex::encode(Sha256::digest(&bytes)).as_str()),
            "round {round}: {key}: the SHA-256 of the metadata is not that of the bytes ({id})"
        );
        assert_eq!(
            meta.etag,
            hex::encode(Md5::digest(&bytes)),
            "round {round}: {key}: the ETag of the metadata is not that of the bytes ({id})"
        );
        assert_eq!(
            stored_content_type(root, key),
            content_type(&id),
            "round {round}: {key}: the content type belongs to another write"
        );
        let head = store
            .head(BUCKET, key)
            .await
            .unwrap_or_else(|e| panic!("round {round}: head {key}: {e}"));
        assert_eq!(
            head.as_ref(),
            Some(meta),
            "round {round}: head and list of {key}"
        );
        let middle = bytes.len() / 2;
        let range = store
            .get_range(BUCKET, key, middle as u64, 4096)
            .await
            .unwrap_or_else(|e| panic!("round {round}: range of {key}: {e}"));
        assert_eq!(
            range.as_ref(),
            &bytes[middle..bytes.len().min(middle + 4096)],
            "round {round}: range of {key}"
        );
    }
    for key in keys.iter().filter(|k| !listed_keys.contains(k.as_str())) {
        let head = store.head(BUCKET, key).await;
        assert!(
            matches!(head, Ok(None)),
            "round {round}: {key} is not listed, head says {head:?}"
        );
        let get = store.get_bytes(BUCKET, key).await;
        assert!(
            matches!(get, Err(PortError::NotFound { .. })),
            "round {round}: {key} is not listed, get says {:?}",
            get.map(|b| b.len())
        );
    }
    listed.len()
}

/// The writer: `WRITERS` tasks storing objects until the process is killed (or its stdin closes,
/// so a writer never outlives a judge that died).
fn write_until_killed(root: &Path, seed: u64) {
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    let sources = root.with_extension("sources");
    std::fs::create_dir_all(&sources).expect("sources folder");
    // Only this process writes, and its sweep runs before its first write: every unlocked staging
    // file is a dead writer's, whatever its age.
    let store = Arc::new(DirObjectStore::new(root).with_stale_staging_after(Duration::ZERO));
    runtime.block_on(async {
        println!("{READY}");
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let store = Arc::clone(&store);
            let source = sources.join(format!("writer-{writer}.bin"));
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng(seed ^ (writer as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
                for n in 0u64.. {
                    let key = if rng.below(2) == 0 {
                        format!("shared/object-{}.bin", rng.below(SHARED_KEYS as u64))
                    } else {
                        format!("writer-{writer}/object-{}.bin", rng.below(OWN_KEYS as u64))
                    };
                    let len = match rng.below(10) {
                        0 => 1024 * 1024 + rng.below(3 * 1024 * 1024),
                        1 | 2 => 64 * 1024 + rng.below(1024 * 1024),
                        _ => MIN_OBJECT_BYTES + rng.below(64 * 1024),
                    };
                    let id = format!("{seed:016x}-{writer}-{n}");
                    let bytes = body(&key, &id, len);
                    let result = if rng.below(3) == 0 {
                        std::fs::write(&source, &bytes).expect("source file");
                        store
                            .upload_from(BUCKET, &key, &source, &content_type(&id))
                            .await
                    } else {
                        store
                            .put_bytes(BUCKET, &key, Bytes::from(bytes), &content_type(&id))
                            .await
                    };
                    if let Err(e) = result {
                        eprintln!("crash writer: storing {key} ({id}) failed: {e}");
                        std::process::exit(3);
                    }
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    });
}

fn this_test_name() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, rest)| rest);
    format!("{module}::a_writer_killed_at_random_points_never_leaves_a_torn_or_mismatched_object")
}

#[test]
fn a_writer_killed_at_random_points_never_leaves_a_torn_or_mismatched_object() {
    if let Ok(root) = std::env::var(WRITER_DIR_ENV) {
        let seed = std::env::var(WRITER_SEED_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
            .expect("writer seed");
        write_until_killed(&PathBuf::from(root), seed);
        return;
    }
    // GIVEN one data directory that writer processes keep being killed on
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("data");
    let exe = std::env::current_exe().expect("test binary");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rng = Rng(0x5EED_0015);
    let mut listed = 0;
    for round in 0..ROUNDS {
        // WHEN a writer is killed with SIGKILL at a random point of its writes
        let mut writer = Command::new(&exe)
            .args([
                this_test_name().as_str(),
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_DIR_ENV, &root)
            .env(WRITER_SEED_ENV, rng.next().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the writer");
        let stdout = writer.stdout.take().expect("writer stdout");
        let started = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.ends_with(READY));
        assert!(started, "round {round}: the writer ended before writing");
        std::thread::sleep(Duration::from_millis(rng.below(MAX_KILL_DELAY_MS + 1)));
        let _ = writer.kill();
        let status = writer.wait().expect("writer status");
        assert!(
            status.code().is_none(),
            "round {round}: the writer stopped by itself ({status}) instead of being killed"
        );

        // THEN every object the reopened store lists reads back whole, with its own metadata
        listed += runtime.block_on(check_every_object(&root, round));
    }
    assert!(
        listed > 0,
        "no round listed any object: the writers never stored anything"
    );
    // AND the staging files of the killed writers are swept: only the last one's are left, at
    // most one per writer task
    for folder in [root.join("objects/.staging"), root.join("meta/.staging")] {
        let left = std::fs::read_dir(&folder).map_or(0, Iterator::count);
        assert!(
            left <= WRITERS,
            "{} staging files left in {}",
            left,
            folder.display()
        );
    }
}
