//! Group commit: callers hand in one item each and wait for its result; a background task
//! takes whatever has queued up (at most `max` items) and runs it as one batch, so that many
//! concurrent requests share one database transaction (on SQLite, one turn of the single
//! writer and one commit) or one set of queries. No timer: a batch forms from the requests
//! that arrived while the previous one ran, so a lone request waits for nothing but its own
//! work.
//!
//! The task starts on the first call (so a [`Batcher`] can be built outside a runtime) and
//! ends when every handle is dropped.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

type Job<T, R> = (T, oneshot::Sender<R>);
type Start = Box<dyn FnOnce() + Send>;

/// A handle to a batching task.
pub(crate) struct Batcher<T, R> {
    tx: mpsc::UnboundedSender<Job<T, R>>,
    start: Arc<Mutex<Option<Start>>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Batcher {
            tx: self.tx.clone(),
            start: self.start.clone(),
        }
    }
}

impl<T, R> std::fmt::Debug for Batcher<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// A batcher running `run` over at most `max` items at a time. `run` gets the items in
    /// arrival order and must return one result per item, in the same order (a missing
    /// result reaches its caller as `None`).
    pub(crate) fn new<F, Fut>(max: usize, run: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<R>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job<T, R>>();
        let max = max.max(1);
        let start: Start = Box::new(move || {
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut items = Vec::with_capacity(max);
                    let mut replies = Vec::with_capacity(max);
                    items.push(first.0);
                    replies.push(first.1);
                    while items.len() < max {
                        match rx.try_recv() {
                            Ok((item, reply)) => {
                                items.push(item);
                                replies.push(reply);
                            }
                            Err(_) => break,
                        }
                    }
                    let results = run(items).await;
                    for (result, reply) in results.into_iter().zip(replies) {
                        let _ = reply.send(result);
                    }
                }
            });
        });
        Batcher {
            tx,
            start: Arc::new(Mutex::new(Some(start))),
        }
    }

    /// Queues `item` and waits for its result; `None` if the task is gone or gave no result.
    pub(crate) async fn call(&self, item: T) -> Option<R> {
        if let Ok(mut start) = self.start.lock()
            && let Some(start) = start.take()
        {
            start();
        }
        let (reply, answer) = oneshot::channel();
        self.tx.send((item, reply)).ok()?;
        answer.await.ok()
    }
}
