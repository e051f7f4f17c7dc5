//! Contract suite of [`ChunkTable`]: first writer wins, redelivery is a no-op, re-uploads replace
//! only with a newer sequencer and count once each, also under concurrency. Implementation-
//! agnostic: every case uses fresh recording ids, so it runs against a shared, non-empty table
//! (DynamoDB on moto) as well as against the fake.

use std::sync::Arc;

use meeting_domain::contracts::{ChunkRecord, ChunkStatus};
use meeting_domain::ports::{ChunkTable, RecordOutcome};
use meeting_domain::{ChunkIndex, RecordingId, RecordingRef, UserId};

/// A fresh id with `prefix`, unique within the process and across runs (time-based), so suites
/// can share a persistent table without assuming it is empty.
pub fn unique_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{nanos}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A chunk record for tests.
pub fn chunk(
    recording: &RecordingId,
    user: &UserId,
    index: u32,
    etag: &str,
    sequencer: &str,
) -> ChunkRecord {
    ChunkRecord {
        recording_id: recording.clone(),
        chunk_index: ChunkIndex::new(index).expect("test index in range"),
        user_id: user.clone(),
        uploaded_at: format!("2026-01-01T00:00:{:02}.000Z", index % 60),
        s3_key: format!("users/{user}/chunks/{recording}/chunk_{index:03}.mp4"),
        file_size: 100 + u64::from(index),
        etag: etag.to_owned(),
        sequencer: sequencer.to_owned(),
        sha256: None,
        status: ChunkStatus::Validated,
        reupload_count: 0,
        last_error: None,
        // Every adapter must store it: the execution joins the first chunk's trace.
        trace_header: Some(format!(
            "Root=1-6a5b0000-{index:024x};Parent=53995c3f42cd8ad8;Sampled=1"
        )),
    }
}

/// `recording` of `user`.
pub fn scoped(recording: &RecordingId, user: &UserId) -> RecordingRef {
    RecordingRef::new(user.clone(), recording.clone())
}

fn ids() -> (RecordingId, UserId) {
    (
        RecordingId::new(unique_id("ct-rec")).expect("valid id"),
        UserId::new(unique_id("ct-user")).expect("valid id"),
    )
}

/// Runs every case.
pub async fn run_all<T: ChunkTable + 'static>(make: impl Fn() -> T) {
    first_write_inserts_and_a_redelivery_is_a_duplicate(&make()).await;
    a_newer_sequencer_replaces_and_counts_one_reupload(&make()).await;
    an_older_sequencer_is_stale_and_changes_nothing(&make()).await;
    sequencers_compare_after_right_padding_with_zeros(&make()).await;
    chunks_are_listed_in_index_order(&make()).await;
    mark_failed_only_applies_to_the_same_object(&make()).await;
    the_same_recording_id_of_two_users_keeps_two_sets_of_chunks(&make()).await;
    chunks_of_user_are_newest_first_filtered_and_limited(&make()).await;
    racing_redeliveries_insert_exactly_once(Arc::new(make())).await;
    racing_reuploads_keep_the_newest_and_count_each_replacement_once(Arc::new(make())).await;
}

/// The first write inserts; the same object again is a duplicate.
pub async fn first_write_inserts_and_a_redelivery_is_a_duplicate(table: &impl ChunkTable) {
    let (rec, user) = ids();
    let c = chunk(&rec, &user, 0, "e1", "0A");
    assert_eq!(
        table.record(&c).await.expect("record"),
        RecordOutcome::Inserted
    );
    assert_eq!(
        table.record(&c).await.expect("record"),
        RecordOutcome::Duplicate
    );
    let stored = table.chunks(&scoped(&rec, &user)).await.expect("chunks");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].etag, "e1");
    assert_eq!(stored[0].status, ChunkStatus::Validated);
    assert_eq!(stored[0].reupload_count, 0);
}

/// Another object with a newer sequencer replaces the item once.
pub async fn a_newer_sequencer_replaces_and_counts_one_reupload(table: &impl ChunkTable) {
    let (rec, user) = ids();
    table
        .record(&chunk(&rec, &user, 1, "old", "0A"))
        .await
        .expect("record");
    let mut newer = chunk(&rec, &user, 1, "new", "0B");
    newer.file_size = 999;
    assert_eq!(
        table.record(&newer).await.expect("record"),
        RecordOutcome::Replaced {
            previous_etag: "old".into()
        }
    );
    assert_eq!(
        table.record(&newer).await.expect("record"),
        RecordOutcome::Duplicate
    );
    let stored = table.chunks(&scoped(&rec, &user)).await.expect("chunks");
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].etag.as_str(), stored[0].file_size), ("new", 999));
    assert_eq!(stored[0].reupload_count, 1);
}

/// Another object with an older (or equal) sequencer is ignored.
pub async fn an_older_sequencer_is_stale_and_changes_nothing(table: &impl ChunkTable) {
    let (rec, user) = ids();
    table
        .record(&chunk(&rec, &user, 0, "new", "0B"))
        .await
        .expect("record");
    assert_eq!(
        table
            .record(&chunk(&rec, &user, 0, "old", "0A"))
            .await
            .expect("record"),
        RecordOutcome::Stale
    );
    assert_eq!(
        table
            .record(&chunk(&rec, &user, 0, "same-seq", "0B"))
            .await
            .expect("record"),
        RecordOutcome::Stale
    );
    let stored = table.chunks(&scoped(&rec, &user)).await.expect("chunks");
    assert_eq!(stored[0].etag, "new");
    assert_eq!(stored[0].reupload_count, 0);
}

/// `0A` < `0A01` (padded `0A00`), and `0B` > `0A01`.
pub async fn sequencers_compare_after_right_padding_with_zeros(table: &impl ChunkTable) {
    let (rec, user) = ids();
    table
        .record(&chunk(&rec, &user, 0, "a", "0A"))
        .await
        .expect("record");
    assert!(matches!(
        table
            .record(&chunk(&rec, &user, 0, "b", "0A01"))
            .await
            .expect("record"),
        RecordOutcome::Replaced { .. }
    ));
    assert_eq!(
        table
            .record(&chunk(&rec, &user, 0, "c", "0A"))
            .await
            .expect("record"),
        RecordOutcome::Stale
    );
    assert!(matches!(
        table
            .record(&chunk(&rec, &user, 0, "d", "0B"))
            .await
            .expect("record"),
        RecordOutcome::Replaced { .. }
    ));
}

/// `chunks` is ordered by index.
pub async fn chunks_are_listed_in_index_order(table: &impl ChunkTable) {
    let (rec, user) = ids();
    for i in [5, 0, 12, 3, 100] {
        table
            .record(&chunk(&rec, &user, i, &format!("e{i}"), "01"))
            .await
            .expect("record");
    }
    let indices: Vec<u32> = table
        .chunks(&scoped(&rec, &user))
        .await
        .expect("chunks")
        .iter()
        .map(|c| c.chunk_index.get())
        .collect();
    assert_eq!(indices, vec![0, 3, 5, 12, 100]);
    let (other, _) = ids();
    assert!(
        table
            .chunks(&scoped(&other, &user))
            .await
            .expect("chunks")
            .is_empty()
    );
}

/// `mark_failed` needs the same ETag; a later re-upload resets the status.
pub async fn mark_failed_only_applies_to_the_same_object(table: &impl ChunkTable) {
    let (rec, user) = ids();
    let index = ChunkIndex::new(0).expect("index");
    table
        .record(&chunk(&rec, &user, 0, "e1", "01"))
        .await
        .expect("record");
    assert!(
        !table
            .mark_failed(&scoped(&rec, &user), index, "other", "bad")
            .await
            .expect("mark")
    );
    assert!(
        table
            .mark_failed(&scoped(&rec, &user), index, "e1", "sha256 mismatch")
            .await
            .expect("mark")
    );
    let stored = &table.chunks(&scoped(&rec, &user)).await.expect("chunks")[0];
    assert_eq!(stored.status, ChunkStatus::Failed);
    assert_eq!(stored.last_error.as_deref(), Some("sha256 mismatch"));
    table
        .record(&chunk(&rec, &user, 0, "e2", "02"))
        .await
        .expect("record");
    let stored = &table.chunks(&scoped(&rec, &user)).await.expect("chunks")[0];
    assert_eq!(stored.status, ChunkStatus::Validated);
    assert_eq!(stored.reupload_count, 1);
    let (missing, _) = ids();
    assert!(
        !table
            .mark_failed(&scoped(&missing, &user), index, "e1", "bad")
            .await
            .expect("mark")
    );
}

/// The user index: newest first, `since` inclusive, at most `limit`.
pub async fn chunks_of_user_are_newest_first_filtered_and_limited(table: &impl ChunkTable) {
    let (rec, user) = ids();
    for i in 0..5 {
        table
            .record(&chunk(&rec, &user, i, &format!("e{i}"), "01"))
            .await
            .expect("record");
    }
    let all = table.chunks_of_user(&user, None, 10).await.expect("query");
    let indices: Vec<u32> = all.iter().map(|c| c.chunk_index.get()).collect();
    assert_eq!(indices, vec![4, 3, 2, 1, 0]);
    let since = table
        .chunks_of_user(&user, Some("2026-01-01T00:00:02.000Z"), 10)
        .await
        .expect("query");
    assert_eq!(since.len(), 3);
    assert_eq!(
        table
            .chunks_of_user(&user, None, 2)
            .await
            .expect("query")
            .len(),
        2
    );
}

/// Many concurrent deliveries of one chunk: one insert, the rest duplicates.
pub async fn racing_redeliveries_insert_exactly_once<T: ChunkTable + 'static>(table: Arc<T>) {
    let (rec, user) = ids();
    let c = chunk(&rec, &user, 7, "e", "01");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (table, c) = (Arc::clone(&table), c.clone());
            tokio::spawn(async move { table.record(&c).await })
        })
        .collect();
    let mut inserted = 0;
    for t in tasks {
        match t.await.expect("task").expect("record") {
            RecordOutcome::Inserted => inserted += 1,
            RecordOutcome::Duplicate => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(inserted, 1);
}

/// Many concurrent re-uploads of one index: the newest wins, and `reuploadCount` equals the
/// number of `Replaced` outcomes (no replacement is lost or double counted).
pub async fn racing_reuploads_keep_the_newest_and_count_each_replacement_once<
    T: ChunkTable + 'static,
>(
    table: Arc<T>,
) {
    let (rec, user) = ids();
    let tasks: Vec<_> = (0..16u32)
        .map(|i| {
            let table = Arc::clone(&table);
            let c = chunk(
                &rec,
                &user,
                3,
                &format!("etag{i:02}"),
                &format!("{:04X}", 0x100 + i),
            );
            tokio::spawn(async move { table.record(&c).await })
        })
        .collect();
    let (mut inserted, mut replaced) = (0, 0);
    for t in tasks {
        match t.await.expect("task").expect("record") {
            RecordOutcome::Inserted => inserted += 1,
            RecordOutcome::Replaced { .. } => replaced += 1,
            RecordOutcome::Stale => {}
            RecordOutcome::Duplicate => panic!("distinct objects are never duplicates"),
        }
    }
    assert_eq!(inserted, 1);
    let stored = table.chunks(&scoped(&rec, &user)).await.expect("chunks");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].etag, "etag15");
    assert_eq!(stored[0].reupload_count, replaced);
}

/// Recording ids are chosen by clients: a chunk of user B's recording `r` is not a chunk of user
/// A's recording `r`.
pub async fn the_same_recording_id_of_two_users_keeps_two_sets_of_chunks(table: &impl ChunkTable) {
    let (rec, alice) = ids();
    let (_, bob) = ids();
    table
        .record(&chunk(&rec, &alice, 0, "ea", "01"))
        .await
        .expect("record");
    let outcome = table
        .record(&chunk(&rec, &bob, 0, "eb", "01"))
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Inserted, "bob's chunk is his own");
    let of_alice = table.chunks(&scoped(&rec, &alice)).await.expect("chunks");
    assert_eq!(of_alice.len(), 1);
    assert_eq!(of_alice[0].etag, "ea");
    let of_bob = table.chunks(&scoped(&rec, &bob)).await.expect("chunks");
    assert_eq!(of_bob.len(), 1);
    assert_eq!(of_bob[0].etag, "eb");
}
