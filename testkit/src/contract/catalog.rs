//! Contract suite of [`Catalog`]: create-if-absent, the first expected count wins, conditional
//! transitions with exactly one winner (also under concurrency), patches, illegal transitions
//! rejected before any write, and the sweeper's work list. Every case uses fresh recording ids
//! and filters shared query results to its own ids.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use meeting_domain::ports::{Catalog, CatalogPatch};
use meeting_domain::{PortError, RecordingId, RecordingStatus, UserId};

use super::chunk_table::unique_id;

fn ids() -> (UserId, RecordingId) {
    (
        UserId::new(unique_id("cat-user")).expect("valid id"),
        RecordingId::new(unique_id("cat-rec")).expect("valid id"),
    )
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
}

/// Runs every case.
pub async fn run_all<T: Catalog + 'static>(make: impl Fn() -> T) {
    ensure_creates_a_recording_once(&make()).await;
    the_first_expected_count_wins_and_a_contradiction_is_a_conflict(&make()).await;
    a_transition_applies_only_from_the_stored_status(&make()).await;
    a_patch_changes_only_the_given_fields(&make()).await;
    an_illegal_transition_is_rejected_before_any_write(&make()).await;
    awaiting_completion_lists_due_recordings_only(&make()).await;
    recordings_of_user_filter_by_status(&make()).await;
    racing_transitions_have_exactly_one_winner(Arc::new(make())).await;
}

/// `ensure` creates `recording` status once and returns the stored record afterwards.
pub async fn ensure_creates_a_recording_once(catalog: &impl Catalog) {
    let (user, rec) = ids();
    let created = catalog.ensure(&user, &rec, t0()).await.expect("ensure");
    assert_eq!(created.status, RecordingStatus::Recording);
    assert_eq!(
        (created.user_id.clone(), created.recording_id.clone()),
        (user.clone(), rec.clone())
    );
    assert!(
        catalog
            .transition(
                &rec,
                RecordingStatus::Recording,
                RecordingStatus::IncompleteChunks,
                CatalogPatch::default(),
                t0()
            )
            .await
            .expect("transition")
    );
    let again = catalog
        .ensure(&user, &rec, t0() + Duration::seconds(5))
        .await
        .expect("ensure");
    assert_eq!(
        again.status,
        RecordingStatus::IncompleteChunks,
        "ensure must not reset a record"
    );
    assert_eq!(
        catalog.get(&rec).await.expect("get").map(|r| r.status),
        Some(RecordingStatus::IncompleteChunks)
    );
    let (_, unknown) = ids();
    assert!(catalog.get(&unknown).await.expect("get").is_none());
}

/// Same count → idempotent; other count → `Conflict`; the record is created when missing.
pub async fn the_first_expected_count_wins_and_a_contradiction_is_a_conflict(
    catalog: &impl Catalog,
) {
    let (user, rec) = ids();
    let stored = catalog
        .set_expected_count(&user, &rec, 3, t0())
        .await
        .expect("set");
    assert_eq!(stored.expected_chunk_count, Some(3));
    assert_eq!(stored.status, RecordingStatus::Recording);
    let stopped = stored.stopped_at.clone().expect("stoppedAt set");
    let again = catalog
        .set_expected_count(&user, &rec, 3, t0() + Duration::seconds(9))
        .await
        .expect("set");
    assert_eq!(
        again.stopped_at.as_deref(),
        Some(stopped.as_str()),
        "idempotent: stoppedAt unchanged"
    );
    let conflict = catalog.set_expected_count(&user, &rec, 4, t0()).await;
    assert!(
        matches!(conflict, Err(PortError::Conflict { .. })),
        "{conflict:?}"
    );
    assert_eq!(
        catalog
            .get(&rec)
            .await
            .expect("get")
            .and_then(|r| r.expected_chunk_count),
        Some(3)
    );
}

/// A transition from a status that is not stored returns `false` and changes nothing.
pub async fn a_transition_applies_only_from_the_stored_status(catalog: &impl Catalog) {
    let (user, rec) = ids();
    catalog.ensure(&user, &rec, t0()).await.expect("ensure");
    let lost = catalog
        .transition(
            &rec,
            RecordingStatus::IncompleteChunks,
            RecordingStatus::ReadyForProcessing,
            CatalogPatch::default(),
            t0(),
        )
        .await
        .expect("transition");
    assert!(!lost);
    assert!(
        catalog
            .transition(
                &rec,
                RecordingStatus::Recording,
                RecordingStatus::ReadyForProcessing,
                CatalogPatch::default(),
                t0()
            )
            .await
            .expect("transition")
    );
    assert!(
        !catalog
            .transition(
                &rec,
                RecordingStatus::Recording,
                RecordingStatus::ReadyForProcessing,
                CatalogPatch::default(),
                t0()
            )
            .await
            .expect("transition")
    );
    let (_, missing) = ids();
    assert!(
        !catalog
            .transition(
                &missing,
                RecordingStatus::Recording,
                RecordingStatus::ReadyForProcessing,
                CatalogPatch::default(),
                t0()
            )
            .await
            .expect("transition on a missing record")
    );
}

/// `Some` fields replace, `None` fields stay, `Some(None)` clears.
pub async fn a_patch_changes_only_the_given_fields(catalog: &impl Catalog) {
    let (user, rec) = ids();
    catalog
        .set_expected_count(&user, &rec, 4, t0())
        .await
        .expect("set");
    let incomplete = CatalogPatch {
        missing_chunks: Some(vec![1, 2]),
        failed_chunks: Some(vec![4]),
        error: Some(Some("Chunks.Incomplete".into())),
        cause: Some(Some("gaps".into())),
        ..CatalogPatch::default()
    };
    assert!(
        catalog
            .transition(
                &rec,
                RecordingStatus::Recording,
                RecordingStatus::IncompleteChunks,
                incomplete,
                t0()
            )
            .await
            .expect("transition")
    );
    let r = catalog.get(&rec).await.expect("get").expect("record");
    assert_eq!(
        (r.missing_chunks.clone(), r.failed_chunks.clone()),
        (vec![1, 2], vec![4])
    );
    assert_eq!(r.error.as_deref(), Some("Chunks.Incomplete"));
    let ready = CatalogPatch {
        missing_chunks: Some(vec![]),
        execution_name: Some(rec.execution_name(0)),
        error: Some(None),
        ..CatalogPatch::default()
    };
    assert!(
        catalog
            .transition(
                &rec,
                RecordingStatus::IncompleteChunks,
                RecordingStatus::ReadyForProcessing,
                ready,
                t0()
            )
            .await
            .expect("transition")
    );
    let r = catalog.get(&rec).await.expect("get").expect("record");
    assert!(r.missing_chunks.is_empty());
    assert_eq!(r.failed_chunks, vec![4], "not in the patch: unchanged");
    assert_eq!(r.execution_name, Some(rec.execution_name(0)));
    assert_eq!(r.error, None);
    assert_eq!(r.cause.as_deref(), Some("gaps"));
    assert_eq!(r.expected_chunk_count, Some(4));
}

/// An illegal transition is an error and writes nothing.
pub async fn an_illegal_transition_is_rejected_before_any_write(catalog: &impl Catalog) {
    let (user, rec) = ids();
    catalog.ensure(&user, &rec, t0()).await.expect("ensure");
    let illegal = catalog
        .transition(
            &rec,
            RecordingStatus::Recording,
            RecordingStatus::Completed,
            CatalogPatch::default(),
            t0(),
        )
        .await;
    assert!(illegal.is_err(), "{illegal:?}");
    assert!(!illegal.as_ref().is_err_and(PortError::is_retryable));
    assert_eq!(
        catalog.get(&rec).await.expect("get").map(|r| r.status),
        Some(RecordingStatus::Recording)
    );
}

/// Only `recording`/`incomplete_chunks` with a count and `stoppedAt` ≤ the cutoff are due.
pub async fn awaiting_completion_lists_due_recordings_only(catalog: &impl Catalog) {
    let (user, due) = ids();
    let (_, incomplete_due) = ids();
    let (_, too_recent) = ids();
    let (_, no_count) = ids();
    let (_, started) = ids();
    catalog
        .set_expected_count(&user, &due, 2, t0())
        .await
        .expect("set");
    catalog
        .set_expected_count(&user, &incomplete_due, 2, t0())
        .await
        .expect("set");
    catalog
        .transition(
            &incomplete_due,
            RecordingStatus::Recording,
            RecordingStatus::IncompleteChunks,
            CatalogPatch::default(),
            t0(),
        )
        .await
        .expect("transition");
    catalog
        .set_expected_count(&user, &too_recent, 2, t0() + Duration::hours(1))
        .await
        .expect("set");
    catalog
        .ensure(&user, &no_count, t0())
        .await
        .expect("ensure");
    catalog
        .set_expected_count(&user, &started, 2, t0())
        .await
        .expect("set");
    catalog
        .transition(
            &started,
            RecordingStatus::Recording,
            RecordingStatus::ReadyForProcessing,
            CatalogPatch::default(),
            t0(),
        )
        .await
        .expect("transition");
    let listed = catalog
        .awaiting_completion(t0() + Duration::minutes(1))
        .await
        .expect("query");
    let mine: Vec<&RecordingId> = listed
        .iter()
        .map(|r| &r.recording_id)
        .filter(|id| [&due, &incomplete_due, &too_recent, &no_count, &started].contains(id))
        .collect();
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.contains(&&due) && mine.contains(&&incomplete_due));
}

/// `recordings_of_user` returns only that user's recordings, optionally of one status.
pub async fn recordings_of_user_filter_by_status(catalog: &impl Catalog) {
    let (user, a) = ids();
    let (_, b) = ids();
    let (other_user, c) = ids();
    catalog.ensure(&user, &a, t0()).await.expect("ensure");
    catalog
        .ensure(&user, &b, t0() + Duration::seconds(1))
        .await
        .expect("ensure");
    catalog.ensure(&other_user, &c, t0()).await.expect("ensure");
    catalog
        .transition(
            &b,
            RecordingStatus::Recording,
            RecordingStatus::IncompleteChunks,
            CatalogPatch::default(),
            t0() + Duration::seconds(2),
        )
        .await
        .expect("transition");
    let all = catalog
        .recordings_of_user(&user, None, 10)
        .await
        .expect("query");
    let ids: Vec<&RecordingId> = all.iter().map(|r| &r.recording_id).collect();
    assert_eq!(ids, vec![&b, &a], "newest first, only this user");
    let incomplete = catalog
        .recordings_of_user(&user, Some(RecordingStatus::IncompleteChunks), 10)
        .await
        .expect("query");
    assert_eq!(incomplete.len(), 1);
    assert_eq!(
        catalog
            .recordings_of_user(&user, None, 1)
            .await
            .expect("query")
            .len(),
        1
    );
}

/// Concurrent `recording → ready_for_processing`: exactly one `true`.
pub async fn racing_transitions_have_exactly_one_winner<T: Catalog + 'static>(catalog: Arc<T>) {
    let (user, rec) = ids();
    catalog
        .set_expected_count(&user, &rec, 1, t0())
        .await
        .expect("set");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (catalog, rec) = (Arc::clone(&catalog), rec.clone());
            tokio::spawn(async move {
                catalog
                    .transition(
                        &rec,
                        RecordingStatus::Recording,
                        RecordingStatus::ReadyForProcessing,
                        CatalogPatch::default(),
                        t0(),
                    )
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        if t.await.expect("task").expect("transition") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}
