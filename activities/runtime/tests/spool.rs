//! The contract of the result spool, run against the in-memory fake and the file-system adapter,
//! and what only the file-system adapter has to do: survive a reopen, write atomically, keep the
//! token private, skip what it cannot read.

use std::path::Path;
use std::sync::Arc;

use activity_runtime::{
    FsResultSpool, MemoryResultSpool, ResultSpool, RuntimeError, SpooledReport, SpooledResult,
};
use chrono::{DateTime, Duration, Utc};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + seconds, 0).unwrap_or_default()
}

fn success(token: &str, spooled_at: i64) -> SpooledResult {
    SpooledResult {
        token: token.to_owned(),
        activity: "prepare-media".to_owned(),
        report: SpooledReport::Success {
            output: r#"{"audioKey":"a.flac"}"#.to_owned(),
        },
        spooled_at: at(spooled_at),
        expires_at: Some(at(spooled_at) + Duration::seconds(3600)),
        heartbeat_seconds: 60,
    }
}

fn failure(token: &str, spooled_at: i64) -> SpooledResult {
    SpooledResult {
        report: SpooledReport::Failure {
            error: "Worker.Interrupted".to_owned(),
            cause: "é".repeat(100),
        },
        expires_at: None,
        ..success(token, spooled_at)
    }
}

// ------------------------------------------------------------------------------------------
// The contract
// ------------------------------------------------------------------------------------------

/// Makes spools that share their storage: the second one stands for the same spool after a
/// restart.
trait SpoolFactory {
    fn open(&self) -> Arc<dyn ResultSpool>;
}

/// GIVEN an empty spool WHEN listed THEN it holds nothing.
async fn an_empty_spool_lists_nothing(spools: &dyn SpoolFactory) {
    assert!(spools.open().pending().await.expect("list").is_empty());
}

/// GIVEN results put in any order WHEN listed THEN each comes back whole, oldest first.
async fn put_results_come_back_whole_oldest_first(spools: &dyn SpoolFactory) {
    let spool = spools.open();
    let newer = failure("token-b", 20);
    let older = success("token-a", 10);
    spool.put(&newer).await.expect("put");
    spool.put(&older).await.expect("put");
    assert_eq!(spool.pending().await.expect("list"), vec![older, newer]);
}

/// GIVEN a spooled result WHEN another one is put for the same token THEN it replaces it.
async fn a_second_put_for_a_token_replaces_the_first(spools: &dyn SpoolFactory) {
    let spool = spools.open();
    spool.put(&success("token", 10)).await.expect("put");
    let replacement = failure("token", 11);
    spool.put(&replacement).await.expect("put");
    assert_eq!(spool.pending().await.expect("list"), vec![replacement]);
}

/// GIVEN two spooled results WHEN one is removed THEN only the other remains, and removing it
/// again (or an unknown token) is not an error.
async fn remove_forgets_one_token_and_is_idempotent(spools: &dyn SpoolFactory) {
    let spool = spools.open();
    let kept = success("kept", 10);
    spool.put(&kept).await.expect("put");
    spool.put(&success("removed", 11)).await.expect("put");
    spool.remove("removed").await.expect("remove");
    spool.remove("removed").await.expect("remove again");
    spool.remove("never-spooled").await.expect("remove unknown");
    assert_eq!(spool.pending().await.expect("list"), vec![kept]);
}

/// GIVEN results put through one handle WHEN the spool is opened again THEN they are there.
async fn results_survive_a_reopen(spools: &dyn SpoolFactory) {
    let result = success("survivor", 10);
    spools.open().put(&result).await.expect("put");
    assert_eq!(spools.open().pending().await.expect("list"), vec![result]);
}

/// GIVEN a token of 2,048 characters with slashes and dots (the API maximum) WHEN spooled THEN
/// it round-trips.
async fn any_token_round_trips(spools: &dyn SpoolFactory) {
    let token = format!("../{}/..", "AAAA+/=.".repeat(256))[..2048].to_owned();
    let spool = spools.open();
    let result = success(&token, 10);
    spool.put(&result).await.expect("put");
    assert_eq!(spool.pending().await.expect("list"), vec![result]);
    spool.remove(&token).await.expect("remove");
    assert!(spool.pending().await.expect("list").is_empty());
}

/// Every case, each on a fresh spool from `fresh`.
async fn run_contract(fresh: impl Fn() -> Box<dyn SpoolFactory>) {
    an_empty_spool_lists_nothing(fresh().as_ref()).await;
    put_results_come_back_whole_oldest_first(fresh().as_ref()).await;
    a_second_put_for_a_token_replaces_the_first(fresh().as_ref()).await;
    remove_forgets_one_token_and_is_idempotent(fresh().as_ref()).await;
    results_survive_a_reopen(fresh().as_ref()).await;
    any_token_round_trips(fresh().as_ref()).await;
}

struct Memory(MemoryResultSpool);

impl SpoolFactory for Memory {
    fn open(&self) -> Arc<dyn ResultSpool> {
        Arc::new(self.0.clone())
    }
}

struct Directory(tempfile::TempDir);

impl SpoolFactory for Directory {
    fn open(&self) -> Arc<dyn ResultSpool> {
        Arc::new(FsResultSpool::open(self.0.path()).expect("open the spool"))
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

#[tokio::test]
async fn the_memory_spool_passes_the_contract_suite() {
    run_contract(|| Box::new(Memory(MemoryResultSpool::new()))).await;
}

#[tokio::test]
async fn the_file_system_spool_passes_the_contract_suite() {
    run_contract(|| Box::new(Directory(temp_dir()))).await;
}

// ------------------------------------------------------------------------------------------
// The file-system adapter
// ------------------------------------------------------------------------------------------

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn given_a_missing_directory_when_opened_then_it_is_created() {
    let root = temp_dir();
    let dir = root.path().join("state").join("spool");
    let spool = FsResultSpool::open(&dir).expect("open");
    spool.put(&success("t", 1)).await.expect("put");
    assert_eq!(files(&dir).len(), 1);
}

#[tokio::test]
async fn given_a_put_when_it_returns_then_one_file_named_after_a_hash_remains_and_no_temporary_file()
 {
    let dir = temp_dir();
    let spool = FsResultSpool::open(dir.path()).expect("open");
    let token = "secret-task-token";
    spool.put(&success(token, 1)).await.expect("put");
    spool.put(&failure(token, 2)).await.expect("put again");
    let names = files(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".json"), "{names:?}");
    assert!(!names[0].contains(token), "the token is in the file name");
    assert_eq!(names[0].len(), 64 + ".json".len());
}

#[cfg(unix)]
#[tokio::test]
async fn given_a_spooled_token_when_stored_then_only_the_worker_can_read_it() {
    use std::os::unix::fs::PermissionsExt;
    let root = temp_dir();
    let dir = root.path().join("spool");
    let spool = FsResultSpool::open(&dir).expect("open");
    spool.put(&success("t", 1)).await.expect("put");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let file = dir.join(&files(&dir)[0]);
    assert_eq!(mode(&file), 0o600);
}

#[tokio::test]
async fn given_a_temporary_file_left_by_a_crash_when_the_spool_is_opened_then_it_is_removed_and_never_listed()
 {
    let dir = temp_dir();
    let leftover = dir.path().join(".0123abcd.00000000deadbeef.tmp");
    std::fs::write(&leftover, b"{\"version\":1,\"result\":").expect("write");
    let spool = FsResultSpool::open(dir.path()).expect("open");
    assert!(spool.pending().await.expect("list").is_empty());
    assert!(!leftover.exists());
}

#[tokio::test]
async fn given_a_file_that_does_not_parse_when_listed_then_it_is_skipped_and_left_in_place() {
    let dir = temp_dir();
    let spool = FsResultSpool::open(dir.path()).expect("open");
    let good = success("good", 1);
    spool.put(&good).await.expect("put");
    let corrupt = dir.path().join(format!("{}.json", "0".repeat(64)));
    std::fs::write(&corrupt, b"not json").expect("write");
    let unknown_version = dir.path().join(format!("{}.json", "1".repeat(64)));
    std::fs::write(
        &unknown_version,
        serde_json::json!({"version": 99, "result": {}}).to_string(),
    )
    .expect("write");

    assert_eq!(spool.pending().await.expect("list"), vec![good]);
    assert!(corrupt.exists());
    assert!(unknown_version.exists());
}

#[tokio::test]
async fn given_a_directory_that_cannot_be_created_when_opened_then_the_error_names_the_path() {
    let root = temp_dir();
    let file = root.path().join("a-file");
    std::fs::write(&file, b"").expect("write");
    let result = FsResultSpool::open(file.join("spool"));
    assert!(
        matches!(&result, Err(RuntimeError::Spool { action: "create", path, .. }) if path.starts_with(&file)),
        "{result:?}"
    );
}
