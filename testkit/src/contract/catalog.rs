//! Contract suite of [`Catalog`]: create-if-absent, the first expected count wins, conditional
//! transitions with exactly one winner (also under concurrency), patches, illegal transitions
//! rejected before any write, recordings scoped by user, the end signal, and the sweeper's
//! bounded work list. Every case uses fresh ids and filters shared query results to its own ids.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use meeting_domain::contracts::{EndSignal, timestamp};
use meeting_domain::ports::{Catalog, CatalogPatch};
use meeting_domain::{PortError, RecordingId, RecordingRef, RecordingStatus, UserId};

use super::chunk_table::unique_id;

fn ids() -> (UserId, RecordingRef) {
    let user = UserId::new(unique_id("cat-user")).expect("valid id");
    let rec = RecordingId::new(unique_id("cat-rec")).expect("valid id");
    (user.clone(), RecordingRef::new(user, rec))
}

/// Another recording of the same user.
fn sibling(user: &UserId) -> RecordingRef {
    RecordingRef::new(
        user.clone(),
        RecordingId::new(unique_id("cat-rec")).expect("valid id"),
    )
}

/// Where a new recording is first swept in these cases.
fn sweep0() -> DateTime<Utc> {
    t0() + Duration::days(7)
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
    due_for_sweep_lists_due_recordings_earliest_first_and_bounded(&make()).await;
    the_same_recording_id_of_two_users_is_two_recordings(&make()).await;
    a_manifest_end_signal_replaces_a_client_one_never_the_reverse(&make()).await;
    recordings_of_user_filter_by_status(&make()).await;
    racing_transitions_have_exactly_one_winner(Arc::new(make())).await;
}

/// `ensure` creates `recording` status once and returns the stored record afterwards.
pub async fn ensure_creates_a_recording_once(catalog: &impl Catalog) {
    let (_, rec) = ids();
    let created = catalog.ensure(&rec, t0(), sweep0()).await.expect("ensure");
    assert_eq!(created.status, RecordingStatus::Recording);
    assert_eq!(created.recording(), rec);
    assert_eq!(created.sweep_at, Some(timestamp(sweep0())));
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
        .ensure(&rec, t0() + Duration::seconds(5), sweep0())
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
    let (_, rec) = ids();
    let stored = catalog
        .set_expected_count(&rec, 3, EndSignal::Client, t0())
        .await
        .expect("set");
    assert_eq!(stored.end_signal, Some(EndSignal::Client));
    assert_eq!(stored.expected_chunk_count, Some(3));
    assert_eq!(stored.status, RecordingStatus::Recording);
    let stopped = stored.stopped_at.clone().expect("stoppedAt set");
    let again = catalog
        .set_expected_count(&rec, 3, EndSignal::Client, t0() + Duration::seconds(9))
        .await
        .expect("set");
    assert_eq!(
        again.stopped_at.as_deref(),
        Some(stopped.as_str()),
        "idempotent: stoppedAt unchanged"
    );
    let conflict = catalog
        .set_expected_count(&rec, 4, EndSignal::Manifest, t0())
        .await;
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
    let (_, rec) = ids();
    catalog.ensure(&rec, t0(), sweep0()).await.expect("ensure");
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
    let (_, rec) = ids();
    catalog
        .set_expected_count(&rec, 4, EndSignal::Client, t0())
        .await
        .expect("set");
    let incomplete = CatalogPatch {
        missing_chunks: Some(vec![1, 2]),
        failed_chunks: Some(vec![4]),
        error: Some(Some("Chunks.Incomplete".into())),
        cause: Some(Some("gaps".into())),
        sweep_at: Some(Some(sweep0())),
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
    assert_eq!(r.sweep_at, Some(timestamp(sweep0())));
    let ready = CatalogPatch {
        missing_chunks: Some(vec![]),
        execution_name: Some(rec.execution_name(0)),
        error: Some(None),
        sweep_at: Some(None),
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
    assert_eq!(
        r.sweep_at, None,
        "Some(None) takes it off the sweeper's index"
    );
}

/// An illegal transition is an error and writes nothing.
pub async fn an_illegal_transition_is_rejected_before_any_write(catalog: &impl Catalog) {
    let (_, rec) = ids();
    catalog.ensure(&rec, t0(), sweep0()).await.expect("ensure");
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

/// `due_for_sweep`: only recordings whose `sweepAt` has passed, earliest first, at most `limit`;
/// `set_sweep_at` moves or removes a recording's place, whatever its status.
pub async fn due_for_sweep_lists_due_recordings_earliest_first_and_bounded(catalog: &impl Catalog) {
    // Cases share a catalog with other cases' records; due times far in the future keep this
    // case's records apart (nothing else is scheduled after year 2100).
    let base = t0() + Duration::days(365 * 80);
    let (user, first) = ids();
    let second = sibling(&user);
    let later = sibling(&user);
    let removed = sibling(&user);
    for (rec, at) in [
        (&second, base + Duration::minutes(2)),
        (&first, base + Duration::minutes(1)),
        (&later, base + Duration::hours(5)),
        (&removed, base),
    ] {
        catalog.ensure(rec, t0(), at).await.expect("ensure");
    }
    catalog
        .set_sweep_at(&removed, None)
        .await
        .expect("set_sweep_at");
    let mine = |records: Vec<meeting_domain::contracts::CatalogRecord>| -> Vec<RecordingRef> {
        records
            .into_iter()
            .map(|r| r.recording())
            .filter(|r| [&first, &second, &later, &removed].contains(&r))
            .collect()
    };
    let due = catalog
        .due_for_sweep(base + Duration::minutes(3), 10_000)
        .await
        .expect("query");
    assert_eq!(mine(due), vec![first.clone(), second.clone()]);
    catalog
        .set_sweep_at(&first, Some(base + Duration::hours(6)))
        .await
        .expect("set_sweep_at");
    let due = catalog
        .due_for_sweep(base + Duration::hours(5), 10_000)
        .await
        .expect("query");
    assert_eq!(mine(due), vec![second.clone(), later.clone()]);
    let bounded = catalog
        .due_for_sweep(base + Duration::hours(7), 2)
        .await
        .expect("query");
    assert_eq!(bounded.len(), 2, "the limit bounds one sweep's work");
    let (_, absent) = ids();
    catalog
        .set_sweep_at(&absent, Some(base))
        .await
        .expect("set_sweep_at on a missing record is a no-op");
    assert!(catalog.get(&absent).await.expect("get").is_none());
}

/// Recording ids are chosen by clients: the same id of two users names two recordings, and
/// nothing one writes reaches the other.
pub async fn the_same_recording_id_of_two_users_is_two_recordings(catalog: &impl Catalog) {
    let (_, alice) = ids();
    let bob = RecordingRef::new(
        UserId::new(unique_id("cat-user")).expect("valid id"),
        alice.recording_id.clone(),
    );
    catalog
        .ensure(&alice, t0(), sweep0())
        .await
        .expect("ensure");
    catalog
        .set_expected_count(&bob, 5, EndSignal::Manifest, t0())
        .await
        .expect("set");
    assert!(
        catalog
            .transition(
                &bob,
                RecordingStatus::Recording,
                RecordingStatus::IncompleteChunks,
                CatalogPatch::default(),
                t0()
            )
            .await
            .expect("transition")
    );
    let a = catalog.get(&alice).await.expect("get").expect("alice's");
    assert_eq!(a.status, RecordingStatus::Recording);
    assert_eq!(a.expected_chunk_count, None);
    assert_eq!(a.user_id, alice.user_id);
    let b = catalog.get(&bob).await.expect("get").expect("bob's");
    assert_eq!(b.status, RecordingStatus::IncompleteChunks);
    assert_eq!(b.user_id, bob.user_id);
}

/// The end signal says whether a manifest (with checksums) exists: a manifest marks it even
/// after the client wrote the count; the client's write never hides a manifest.
pub async fn a_manifest_end_signal_replaces_a_client_one_never_the_reverse(catalog: &impl Catalog) {
    let (_, rec) = ids();
    catalog
        .set_expected_count(&rec, 2, EndSignal::Client, t0())
        .await
        .expect("set");
    let r = catalog
        .set_expected_count(&rec, 2, EndSignal::Manifest, t0() + Duration::seconds(1))
        .await
        .expect("set");
    assert_eq!(r.end_signal, Some(EndSignal::Manifest));
    let r = catalog
        .set_expected_count(&rec, 2, EndSignal::Client, t0() + Duration::seconds(2))
        .await
        .expect("set");
    assert_eq!(r.end_signal, Some(EndSignal::Manifest));
    assert_eq!(r.stopped_at, Some(timestamp(t0())), "the first stop stays");
}

/// `recordings_of_user` returns only that user's recordings, optionally of one status.
pub async fn recordings_of_user_filter_by_status(catalog: &impl Catalog) {
    let (user, a) = ids();
    let b = sibling(&user);
    let (_, c) = ids();
    catalog.ensure(&a, t0(), sweep0()).await.expect("ensure");
    catalog
        .ensure(&b, t0() + Duration::seconds(1), sweep0())
        .await
        .expect("ensure");
    catalog.ensure(&c, t0(), sweep0()).await.expect("ensure");
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
    let ids: Vec<RecordingRef> = all.iter().map(|r| r.recording()).collect();
    assert_eq!(ids, vec![b, a], "newest first, only this user");
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
    let (_, rec) = ids();
    catalog
        .set_expected_count(&rec, 1, EndSignal::Client, t0())
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
