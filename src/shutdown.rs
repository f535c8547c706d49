//! Shutdown on SIGTERM/SIGINT as a [`CancellationToken`]: the daemon stops taking ticks, a cycle stops
//! starting new records and finishes the ones in flight, and its run is marked `interrupted`.
//! A cycle works on a child token, so a fatal error that ends one cycle never stops the daemon.

pub use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGINT or SIGTERM. The handlers are installed when this is
/// *called* (not when first awaited), so a signal during start-up is caught instead of killing the
/// process. Must be called inside a tokio runtime.
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let signal = signal();
    let cancel = token.clone();
    tokio::spawn(async move {
        signal.await;
        tracing::warn!("shutdown requested: finishing the records in flight");
        cancel.cancel();
    });
    token
}

/// Resolves on the first SIGINT or SIGTERM (handlers installed at the call).
fn signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {}
                _ = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
