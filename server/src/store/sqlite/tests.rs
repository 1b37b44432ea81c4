use super::*;

async fn reserve(store: &SqliteStore, now: u64) -> Attempt {
    store.reserve_attempt("user:1", now, 3, 900).await.unwrap()
}

#[tokio::test]
async fn attempts_are_counted_before_the_check_and_wait_while_in_flight() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    for failures in 1..=3 {
        assert!(
            matches!(reserve(&store, 1_000).await, Attempt::Reserved(s) if s.failures == failures)
        );
    }
    // All three are being checked: the fourth waits, nothing is locked yet.
    assert!(matches!(reserve(&store, 1_000).await, Attempt::Busy));
    // One proves wrong: the run is at the limit, so it locks.
    let state = store
        .settle_wrong_attempt("user:1", 1_001, 3, 900)
        .await
        .unwrap();
    assert_eq!((state.failures, state.locked_until), (3, Some(1_901)));
    assert!(matches!(
        reserve(&store, 1_002).await,
        Attempt::Locked { until: 1_901 }
    ));
    // Another one of the three proves right: the run ends, the lock with it.
    store.clear_password_failures("user:1").await.unwrap();
    assert!(matches!(reserve(&store, 1_003).await, Attempt::Reserved(s) if s.failures == 1));
}

#[tokio::test]
async fn reservations_never_settled_count_as_wrong_after_the_timeout() {
    let store = SqliteStore::open("sqlite::memory:").await.unwrap();
    for _ in 0..3 {
        assert!(matches!(reserve(&store, 1_000).await, Attempt::Reserved(_)));
    }
    // The requests were cancelled: once they cannot still be running, they lock.
    let later = 1_000 + RESERVATION_TIMEOUT_S - 1;
    assert!(matches!(reserve(&store, later).await, Attempt::Busy));
    let later = 1_000 + RESERVATION_TIMEOUT_S;
    assert!(
        matches!(reserve(&store, later).await, Attempt::Locked { until } if until == later + 900)
    );
    // The lock runs out: a fresh run.
    assert!(matches!(reserve(&store, later + 900).await, Attempt::Reserved(s) if s.failures == 1));
}

#[tokio::test]
async fn parallel_reservations_never_exceed_the_limit() {
    let store = std::sync::Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_attempt("user:7", 1_000, 10, 900).await })
        })
        .collect();
    let mut reserved = 0;
    for task in tasks {
        if matches!(task.await.unwrap().unwrap(), Attempt::Reserved(_)) {
            reserved += 1;
        }
    }
    assert_eq!(reserved, 10);
}
