//! The inbox processor applies a claimed batch's plain Creates together (bulk reads, one
//! transaction that also removes them from the queue) and everything else one by one. These
//! tests queue mixed batches directly (as the inbox does after verifying) and check that the
//! outcome is what applying them one by one in arrival order gives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_federation::urls::LocalUrls;
use cohort_federation::{FederationConfig, FederationState};
use cohort_model::{AuthorKind, Domain, Id, Role, Username, Visibility};
use cohort_policy::Audience;
use cohort_store::testing::on_each_engine;
use cohort_store::{
    FollowState, NewInboxActivity, NewLocalAccount, NewRemoteAccount, NewStatus, Page, PostMedia,
    RemotePost, Store, StoreError,
};
use serde_json::{Value, json};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// Nothing listens there: an actor unknown here cannot be fetched (a transient failure).
const PEER: &str = "peer.localhost:1";

async fn local(store: &Store, urls: &LocalUrls, name: &str) -> Id {
    let keys = cohort_federation::keys::generate_actor_keys().unwrap();
    let username = Username::parse(name).unwrap();
    store
        .create_local_account(&NewLocalAccount {
            email: format!("{name}@example.org"),
            role: Role::Member,
            author_kind: AuthorKind::Caregiver,
            password_hash: String::new(),
            approved: true,
            locked: false,
            actor_uri: urls.actor(&username),
            inbox_uri: urls.inbox(&username),
            shared_inbox_uri: urls.shared_inbox(),
            followers_uri: urls.followers(&username),
            url: urls.profile_page(&username),
            key_id: urls.key_id(&username),
            public_key_pem: keys.public_key_pem,
            private_key_pem: keys.private_key_pem,
            username,
        })
        .await
        .unwrap()
        .id
}

fn actor(name: &str) -> String {
    format!("http://{PEER}/users/{name}")
}

async fn remote(store: &Store, name: &str) -> Id {
    store
        .upsert_remote_account(&NewRemoteAccount {
            username: name.into(),
            domain: Domain::parse(PEER).unwrap(),
            actor_uri: actor(name),
            inbox_uri: format!("{}/inbox", actor(name)),
            shared_inbox_uri: None,
            followers_uri: Some(format!("{}/followers", actor(name))),
            display_name: String::new(),
            is_group: false,
        })
        .await
        .unwrap()
}

fn note(author: &str, n: u32) -> String {
    format!("{}/statuses/{n}", actor(author))
}

/// `Create(Note)` number `n` of `author` (activity id `.../n/activity{suffix}`), public.
fn create(author: &str, n: u32, suffix: &str, extra: Value) -> Value {
    let mut object = json!({
        "id": note(author, n), "type": "Note", "attributedTo": actor(author),
        "content": format!("<p>post {n} of {author}</p><script>x()</script>"),
        "to": [PUBLIC], "cc": [format!("{}/followers", actor(author))],
    });
    if let (Some(object), Some(extra)) = (object.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            object.insert(k.clone(), v.clone());
        }
    }
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activity{suffix}", note(author, n)),
        "type": "Create", "actor": actor(author), "to": [PUBLIC], "object": object,
    })
}

async fn queue(store: &Store, activities: &[Value]) {
    let texts: Vec<(String, String, String)> = activities
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["actor"].as_str().unwrap().to_owned(),
                a.to_string(),
            )
        })
        .collect();
    let items: Vec<NewInboxActivity<'_>> = texts
        .iter()
        .map(|(id, actor, json)| NewInboxActivity {
            activity_uri: id,
            actor_uri: actor,
            activity_json: json,
        })
        .collect();
    let fresh = store.enqueue_inbox_activities(&items).await.unwrap();
    assert!(fresh.iter().all(|f| *f), "every activity queued");
}

async fn stored(store: &Store, uri: &str) -> Option<cohort_store::StatusRecord> {
    match store.status_id_by_uri(uri).await.unwrap() {
        Some(id) => Some(store.status(id).await.unwrap()),
        None => None,
    }
}

#[tokio::test]
async fn a_mixed_batch_ends_as_applying_it_one_by_one_would() {
    on_each_engine(|store| async move {
        let domain = Domain::parse("cohort.localhost:4001").unwrap();
        let state = FederationState::new(store.clone(), FederationConfig::new(domain.clone(), true))
            .await
            .unwrap();
        let urls = LocalUrls::new(&domain, true);
        let pat = local(&store, &urls, "pat").await;
        let alice = remote(&store, "alice").await;
        remote(&store, "bob").await;
        let carol = remote(&store, "carol").await;
        store.set_follow(pat, alice, FollowState::Accepted).await.unwrap();
        store.set_follow(pat, carol, FollowState::Accepted).await.unwrap();
        store.set_suspended(carol, true).await.unwrap();
        let pats_post = cohort_store::testing::local_status(
            store.next_id(),
            pat,
            format!("{}/statuses/1", urls.actor(&Username::parse("pat").unwrap())),
            Visibility::Public,
            "hi",
        );
        store.create_status(&pats_post).await.unwrap();

        let mut update = create("alice", 1, "", json!({"content": "<p>post 1, edited</p>"}));
        update["type"] = json!("Update");
        update["id"] = json!(format!("{}/update", note("alice", 1)));
        let batch = vec![
            create("alice", 1, "", json!({})),
            // Hashtags and an attachment.
            create("alice", 3, "", json!({
                "tag": [{"type": "Hashtag", "name": "#NightLows"}],
                "attachment": [{"type": "Document", "mediaType": "image/png",
                                "url": "http://peer.localhost:1/media/1.png", "name": "chart"}],
            })),
            // The same post again under another activity id: stored once.
            create("alice", 1, "/again", json!({})),
            // A reply to a post of the same batch: stored after it, in its thread.
            create("alice", 2, "", json!({"inReplyTo": note("alice", 1)})),
            // Nobody here follows bob: dropped, unless it answers a post here.
            create("bob", 1, "", json!({})),
            create("bob", 2, "", json!({"inReplyTo": pats_post.uri})),
            // An edit after its Create, in the same batch.
            update,
            // A suspended actor's post: dropped.
            create("carol", 1, "", json!({})),
            // An actor never seen here: handed to the one-by-one path, whose fetch of the
            // actor fails; the item stays queued for a retry.
            create("dave", 1, "", json!({})),
            // A mention of a local account: notified.
            create("alice", 4, "", json!({
                "to": [PUBLIC, urls.actor(&Username::parse("pat").unwrap())],
                "tag": [{"type": "Mention", "href": urls.actor(&Username::parse("pat").unwrap()),
                         "name": "@pat@cohort.localhost:4001"}],
            })),
        ];
        queue(&store, &batch).await;
        let handled = state.inbox_processor().run_until_idle().await.unwrap();
        assert_eq!(handled, batch.len());
        assert_eq!(
            store.inbox_queue_len().await.unwrap(),
            1,
            "only the unknown actor's Create is left, for a retry"
        );
        assert_eq!(store.inbox_items_due().await.unwrap(), 0, "and it waits");
        assert!(stored(&store, &note("dave", 1)).await.is_none());

        let a1 = stored(&store, &note("alice", 1)).await.expect("alice 1 stored");
        assert_eq!(a1.content_html, "<p>post 1, edited</p>", "the Update applied after the Create");
        assert!(a1.edited_at.is_some());
        assert_eq!(a1.facts.audience.visibility, Visibility::Public);
        let a2 = stored(&store, &note("alice", 2)).await.expect("alice 2 stored");
        assert_eq!(a2.in_reply_to_id, Some(a1.facts.id), "the reply found its parent");
        let threads = store
            .statuses_by_uri(&[note("alice", 2).as_str()])
            .await
            .unwrap();
        assert_eq!(threads[&note("alice", 2)].thread_root, a1.facts.id);
        assert!(stored(&store, &note("bob", 1)).await.is_none(), "unrelated post dropped");
        let b2 = stored(&store, &note("bob", 2)).await.expect("a reply to pat is kept");
        assert_eq!(b2.in_reply_to_id, Some(pats_post.id));
        assert!(stored(&store, &note("carol", 1)).await.is_none(), "suspended actor's post dropped");
        let a3 = stored(&store, &note("alice", 3)).await.expect("alice 3 stored");
        assert!(!a3.content_html.contains("script"), "content sanitised");
        assert_eq!(
            store.tags_of(&[a3.facts.id]).await.unwrap().remove(&a3.facts.id),
            Some(vec!["nightlows".to_owned()])
        );
        let media = store
            .media_of_statuses(&[a3.facts.id])
            .await
            .unwrap()
            .remove(&a3.facts.id)
            .unwrap_or_default();
        assert_eq!(media.len(), 1);
        assert_eq!(media[0].description, "chart");
        let a4 = stored(&store, &note("alice", 4)).await.expect("alice 4 stored");
        assert_eq!(a4.facts.addressed, vec![pat]);
        let page = Page { max_id: None, since_id: None, min_id: None, limit: 20 };
        let notifications = store.notifications(pat, page).await.unwrap();
        assert_eq!(notifications.len(), 1);
        assert_eq!(notifications[0].kind, "mention");
        assert_eq!(notifications[0].from_account, alice);
    })
    .await;
}

fn remote_post(store: &Store, author: Id, uri: &str) -> RemotePost {
    RemotePost {
        status: NewStatus {
            id: store.next_id(),
            author,
            uri: uri.to_owned(),
            url: None,
            local: false,
            audience: Audience::new(Visibility::Public),
            text_source: String::new(),
            content_html: "<p>x</p>".into(),
            spoiler_text: String::new(),
            sensitive: false,
            language: None,
            in_reply_to: None,
            reblog_of: None,
            addressed: Vec::new(),
            held_reason: None,
            expires_at: None,
        },
        parent: None,
        media: PostMedia::default(),
        tags: vec!["Tag".into()],
    }
}

#[tokio::test]
async fn posts_and_their_queue_items_are_written_together_or_not_at_all() {
    on_each_engine(|store| async move {
        let alice = remote(&store, "alice").await;
        let first = create("alice", 1, "", json!({}));
        let second = create("alice", 2, "", json!({}));
        queue(&store, &[first, second]).await;
        let items = store.claim_inbox_items(10, 60_000).await.unwrap();
        let ids: Vec<Id> = items.iter().map(|i| i.id).collect();
        assert_eq!(ids.len(), 2);
        store
            .store_remote_posts(&[remote_post(&store, alice, &note("alice", 1))], &ids[..1])
            .await
            .unwrap();
        assert_eq!(store.inbox_queue_len().await.unwrap(), 1);

        // The second batch repeats a stored post: nothing of it is written, its item stays.
        let batch = [
            remote_post(&store, alice, &note("alice", 2)),
            remote_post(&store, alice, &note("alice", 1)),
        ];
        let failed = store.store_remote_posts(&batch, &ids[1..]).await;
        assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
        assert_eq!(
            store.inbox_queue_len().await.unwrap(),
            1,
            "its item is still queued"
        );
        assert!(
            store
                .status_id_by_uri(&note("alice", 2))
                .await
                .unwrap()
                .is_none()
        );

        store
            .store_remote_posts(&batch[..1], &ids[1..])
            .await
            .unwrap();
        assert_eq!(store.inbox_queue_len().await.unwrap(), 0);
        let stored = store
            .status_id_by_uri(&note("alice", 2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.tags_of(&[stored]).await.unwrap().remove(&stored),
            Some(vec!["tag".to_owned()])
        );
    })
    .await;
}

#[tokio::test]
async fn a_batch_queues_each_activity_id_once() {
    on_each_engine(|store| async move {
        let seen = create("alice", 9, "", json!({}));
        queue(&store, std::slice::from_ref(&seen)).await;
        let seen_id = seen["id"].as_str().unwrap();
        let a = create("alice", 1, "", json!({})).to_string();
        let b = create("alice", 2, "", json!({})).to_string();
        let alice = actor("alice");
        let (one, two) = ("http://peer.localhost:1/a/1", "http://peer.localhost:1/a/2");
        let items: Vec<NewInboxActivity<'_>> = [(one, &a), (two, &b), (one, &b), (seen_id, &a)]
            .into_iter()
            .map(|(id, json)| NewInboxActivity {
                activity_uri: id,
                actor_uri: &alice,
                activity_json: json,
            })
            .collect();
        let fresh = store.enqueue_inbox_activities(&items).await.unwrap();
        assert_eq!(fresh, vec![true, true, false, false]);
        assert_eq!(store.inbox_queue_len().await.unwrap(), 3);
        let claimed = store.claim_inbox_items(10, 60_000).await.unwrap();
        let order: Vec<&str> = claimed.iter().map(|i| i.activity_uri.as_str()).collect();
        assert_eq!(order, vec![seen_id, one, two]);
        assert_eq!(
            claimed[1].activity_json, a,
            "the first copy is the one kept"
        );
        // Claimed items are leased: a second claim finds nothing.
        assert!(
            store
                .claim_inbox_items(10, 60_000)
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}
