//! Search by name, case-insensitively, with filters; only the caller's own live nodes.

use reqwest::StatusCode;

use crate::helpers::{TestApp, User, expect_json, id_of, noise};

async fn found(app: &TestApp, user: &User, query: &str) -> Vec<String> {
    let page = expect_json(
        app.get(user, &format!("/api/v1/search?{query}")).await,
        StatusCode::OK,
    )
    .await;
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn finds_by_name_with_filters() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let bob = app.user("bob@example.org").await;
    let trips = id_of(&app.mkdir(&ana, "root", "Trips").await);
    app.upload(&ana, &trips, "Paris.JPG", noise(3_000, 1)).await;
    app.upload(&ana, &trips, "paris-notes.txt", noise(100, 2))
        .await;
    app.upload(&ana, "root", "100%_done.txt", noise(10, 3))
        .await;
    let gone = app
        .upload(&ana, "root", "paris-old.txt", noise(10, 4))
        .await;
    app.delete(&ana, &format!("/api/v1/nodes/{}", id_of(&gone)))
        .await;
    app.upload(&bob, "root", "paris-bob.txt", noise(10, 5))
        .await;

    assert_eq!(
        found(&app, &ana, "q=PARIS").await,
        ["/Trips/paris-notes.txt", "/Trips/Paris.JPG"]
    );
    assert_eq!(
        found(&app, &ana, "q=paris&mime=image/").await,
        ["/Trips/Paris.JPG"]
    );
    assert_eq!(
        found(&app, &ana, "q=paris&mime=text/plain").await,
        ["/Trips/paris-notes.txt"]
    );
    assert_eq!(
        found(&app, &ana, "q=paris&min_size=1000").await,
        ["/Trips/Paris.JPG"]
    );
    assert_eq!(
        found(&app, &ana, "q=paris&max_size=1000").await,
        ["/Trips/paris-notes.txt"]
    );
    assert_eq!(found(&app, &ana, "q=trip&kind=folder").await, ["/Trips"]);
    assert!(found(&app, &ana, "q=trip&kind=file").await.is_empty());
    assert_eq!(
        found(&app, &ana, "q=%25_").await,
        ["/100%_done.txt"],
        "LIKE wildcards match literally"
    );
    assert!(
        found(&app, &ana, "q=paris&modified_after=2999-01-01T00:00:00Z")
            .await
            .is_empty()
    );
    assert_eq!(found(&app, &bob, "q=paris").await, ["/paris-bob.txt"]);
}

/// A term longer than any name is a bad request, not a database error (a 50,000-byte `q` answered
/// 500 on SQLite: "LIKE or GLOB pattern too complex"); the longest possible name still searches.
#[tokio::test]
async fn a_search_term_is_bounded_by_the_longest_name() {
    let app = TestApp::spawn().await;
    let ana = app.user("ana@example.org").await;
    let long = "a".repeat(255);
    app.upload(&ana, "root", &long, noise(10, 4)).await;
    assert_eq!(
        found(&app, &ana, &format!("q={long}")).await,
        [format!("/{long}")]
    );
    for term in ["%".repeat(256), "ab".repeat(25_000)] {
        let answer = app
            .get(
                &ana,
                &format!("/api/v1/search?q={}", term.replace('%', "%25")),
            )
            .await;
        crate::helpers::expect_problem(answer, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}
