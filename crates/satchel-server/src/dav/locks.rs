//! WebDAV locks kept in the metadata database, so every server sharing it honours them.
//!
//! The rules are RFC 4918's (and those of `dav-server`'s in-memory lock system, which passes
//! litmus): a lock covers its resource and, when deep, everything below it; an exclusive lock
//! conflicts with any other lock it would cover or be covered by, shared locks only with
//! exclusive ones; a write needs the token of every lock covering what it changes. Locks are kept
//! per account, by path in that account's view of its tree (percent-encoded, no trailing slash),
//! and lapse at their timeout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem, LsFuture};
use satchel_meta::{DavLockRecord, Store};
use uuid::Uuid;
use xmltree::Element;

/// The locks of one account, as seen through one URL prefix.
#[derive(Debug, Clone)]
pub struct DbLocks {
    store: Store,
    user_id: Uuid,
    prefix: String,
    /// The account's locks as read for `lockdiscovery` in this request (a PROPFIND asks once per
    /// entry); checks before writes always read afresh.
    discovered: Arc<Mutex<Option<Vec<DavLockRecord>>>>,
}

/// The key a path is stored under.
fn key(path: &DavPath) -> String {
    path.as_url_string().trim_end_matches('/').to_owned()
}

/// Whether `ancestor` is `path` or one of the folders above it.
fn covers(ancestor: &str, path: &str) -> bool {
    ancestor.is_empty()
        || path == ancestor
        || path
            .strip_prefix(ancestor)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether a lock at `lock` applies to `path` from above or at it (deep locks reach down).
fn applies(lock: &DavLockRecord, path: &str) -> bool {
    lock.path == path || (lock.deep && covers(&lock.path, path))
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

impl DbLocks {
    pub fn new(store: Store, user_id: Uuid, prefix: String) -> DbLocks {
        DbLocks {
            store,
            user_id,
            prefix,
            discovered: Arc::default(),
        }
    }

    /// The protocol handler's view of a stored lock.
    fn to_dav(&self, record: &DavLockRecord) -> DavLock {
        let mut path = parse_path(&format!("{}{}", self.prefix, record.path));
        let _ = path.set_prefix(&self.prefix);
        let owner = record
            .owner_xml
            .as_deref()
            .and_then(|xml| Element::parse(xml.as_bytes()).ok())
            .map(Box::new);
        DavLock {
            token: record.token.clone(),
            path: Box::new(path),
            principal: record.principal.clone(),
            owner,
            timeout_at: record
                .expires_at
                .map(|at| UNIX_EPOCH + Duration::from_micros(u64::try_from(at).unwrap_or(0))),
            timeout: record
                .timeout_us
                .map(|t| Duration::from_micros(u64::try_from(t).unwrap_or(0))),
            shared: record.shared,
            deep: record.deep,
        }
    }

    /// Forgets the locks read for `lockdiscovery`: this request changes them.
    fn forget(&self) {
        *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    async fn live(&self) -> Vec<DavLockRecord> {
        match self.store.dav_locks(self.user_id).await {
            Ok(locks) => locks,
            Err(error) => {
                // Failing closed: an unreadable lock table refuses writes instead of ignoring
                // locks (see `check`).
                tracing::error!(%error, "reading WebDAV locks");
                Vec::new()
            }
        }
    }
}

/// A stored path (always one that `as_url_string` made, so it parses); the root otherwise.
fn parse_path(full: &str) -> DavPath {
    DavPath::new(full)
        .or_else(|_| DavPath::from_uri(&axum::http::Uri::from_static("/")))
        .expect("taking a URI's path cannot fail")
}

/// A new lock token: an opaque URI of 128 random bits. Short on purpose: clients put it in `If`
/// headers beside two 66-character ETags, and litmus builds those in a 200-byte buffer.
fn new_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
    format!(
        "urn:lock:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// `element` with the prefix it is written with bound to its namespace, so that what is written
/// parses again (the handler names DAV: elements `D:` without declaring `D`).
fn declared(element: &Element) -> Element {
    let mut element = element.clone();
    if let (Some(prefix), Some(namespace)) = (&element.prefix, &element.namespace) {
        let mut namespaces = element
            .namespaces
            .take()
            .unwrap_or_else(xmltree::Namespace::empty);
        namespaces.put(prefix.as_str(), namespace.as_str());
        element.namespaces = Some(namespaces);
    }
    element
}

/// The first lock that keeps a new lock (`shared`, `deep`) off `path`.
fn conflict<'a>(
    locks: &'a [DavLockRecord],
    path: &str,
    shared: bool,
    deep: bool,
) -> Option<&'a DavLockRecord> {
    locks.iter().find(|lock| {
        let overlaps = applies(lock, path) || (deep && covers(path, &lock.path));
        overlaps && (!lock.shared || !shared)
    })
}

/// The first lock that a write to `path` (and below, if `deep`) does not hold a token for.
fn unheld<'a>(
    locks: &'a [DavLockRecord],
    path: &str,
    principal: Option<&str>,
    ignore_principal: bool,
    deep: bool,
    tokens: &[String],
) -> Option<&'a DavLockRecord> {
    let held = |lock: &DavLockRecord| {
        tokens.contains(&lock.token) && (ignore_principal || principal == lock.principal.as_deref())
    };
    let above: Vec<&DavLockRecord> = locks.iter().filter(|l| applies(l, path)).collect();
    let holds_one = above.iter().any(|l| held(l));
    if let Some(exclusive) = above.iter().find(|l| !l.shared && !held(l)) {
        return Some(exclusive);
    }
    if !holds_one && let Some(shared) = above.first() {
        return Some(shared);
    }
    if deep {
        return locks
            .iter()
            .find(|l| covers(path, &l.path) && l.path != path && !held(l));
    }
    None
}

impl DavLockSystem for DbLocks {
    fn lock(
        &self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        let path = key(path);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(micros)
            .unwrap_or(0);
        let mut owner_xml = Vec::new();
        if let Some(owner) = owner {
            let _ = declared(owner).write(&mut owner_xml);
        }
        let record = DavLockRecord {
            token: new_token(),
            path: path.clone(),
            principal: principal.map(str::to_owned),
            owner_xml: owner.map(|_| String::from_utf8_lossy(&owner_xml).into_owned()),
            shared,
            deep,
            timeout_us: timeout.map(micros),
            expires_at: timeout.map(|t| now.saturating_add(micros(t))),
        };
        Box::pin(async move {
            self.forget();
            let placed = self
                .store
                .place_dav_lock(self.user_id, |locks| {
                    match conflict(locks, &path, shared, deep) {
                        Some(held) => Err(Box::new(held.clone())),
                        None => Ok(record.clone()),
                    }
                })
                .await;
            match placed {
                Ok(Ok(lock)) => Ok(self.to_dav(&lock)),
                Ok(Err(held)) => Err(self.to_dav(&held)),
                Err(error) => {
                    tracing::error!(%error, "placing a WebDAV lock");
                    // Refused: the answer names the lock that was asked for as the obstacle.
                    Err(self.to_dav(&record))
                }
            }
        })
    }

    fn unlock(&self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        let path = key(path);
        let token = token.to_owned();
        Box::pin(async move {
            self.forget();
            let locks = self.live().await;
            let found = locks
                .iter()
                .any(|l| l.token == token && covers(&l.path, &path));
            if !found {
                return Err(());
            }
            match self.store.delete_dav_locks(self.user_id, &[token]).await {
                Ok(n) if n > 0 => Ok(()),
                _ => Err(()),
            }
        })
    }

    fn refresh(
        &self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> LsFuture<'_, Result<DavLock, ()>> {
        let path = key(path);
        let token = token.to_owned();
        Box::pin(async move {
            self.forget();
            let locks = self.live().await;
            if !locks
                .iter()
                .any(|l| l.token == token && covers(&l.path, &path))
            {
                return Err(());
            }
            match self
                .store
                .refresh_dav_lock(self.user_id, &token, timeout.map(micros))
                .await
            {
                Ok(Some(lock)) => Ok(self.to_dav(&lock)),
                _ => Err(()),
            }
        })
    }

    fn check(
        &self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        submitted_tokens: &[String],
    ) -> LsFuture<'_, Result<(), DavLock>> {
        let path = key(path);
        let principal = principal.map(str::to_owned);
        let tokens = submitted_tokens.to_vec();
        Box::pin(async move {
            let locks = match self.store.dav_locks(self.user_id).await {
                Ok(locks) => locks,
                Err(error) => {
                    tracing::error!(%error, "reading WebDAV locks");
                    let blocker = DavLockRecord {
                        token: String::new(),
                        path: path.clone(),
                        principal: None,
                        owner_xml: None,
                        shared: false,
                        deep: false,
                        timeout_us: None,
                        expires_at: None,
                    };
                    return Err(self.to_dav(&blocker));
                }
            };
            let blocker = unheld(
                &locks,
                &path,
                principal.as_deref(),
                ignore_principal,
                deep,
                &tokens,
            );
            match blocker {
                Some(lock) => Err(self.to_dav(lock)),
                None => Ok(()),
            }
        })
    }

    fn discover(&self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let path = key(path);
        Box::pin(async move {
            let known = self
                .discovered
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let locks = match known {
                Some(locks) => locks,
                None => {
                    let locks = self.live().await;
                    *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(locks.clone());
                    locks
                }
            };
            locks
                .iter()
                .filter(|l| covers(&l.path, &path))
                .map(|l| self.to_dav(l))
                .collect()
        })
    }

    fn delete(&self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        let path = key(path);
        Box::pin(async move {
            self.forget();
            let tokens: Vec<String> = self
                .live()
                .await
                .into_iter()
                .filter(|l| covers(&path, &l.path))
                .map(|l| l.token)
                .collect();
            self.store
                .delete_dav_locks(self.user_id, &tokens)
                .await
                .map(drop)
                .map_err(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(path: &str, shared: bool, deep: bool) -> DavLockRecord {
        DavLockRecord {
            token: format!("t:{path}"),
            path: path.to_owned(),
            principal: None,
            owner_xml: None,
            shared,
            deep,
            timeout_us: None,
            expires_at: None,
        }
    }

    #[test]
    fn exclusive_locks_conflict_along_the_path() {
        let locks = [lock("/a", false, true)];
        assert!(conflict(&locks, "/a/b", true, false).is_some());
        assert!(conflict(&locks, "/ab", false, false).is_none());
        let shallow = [lock("/a", false, false)];
        assert!(conflict(&shallow, "/a/b", false, false).is_none());
        assert!(conflict(&shallow, "", false, true).is_some());
        let shared = [lock("/a", true, false)];
        assert!(conflict(&shared, "/a", true, false).is_none());
        assert!(conflict(&shared, "/a", false, false).is_some());
    }

    #[test]
    fn writes_need_the_tokens_of_covering_locks() {
        let locks = [lock("/a", false, true)];
        assert!(unheld(&locks, "/a/b", None, true, false, &[]).is_some());
        let tokens = ["t:/a".to_owned()];
        assert!(unheld(&locks, "/a/b", None, true, false, &tokens).is_none());
        let below = [lock("/a/b", false, false)];
        assert!(unheld(&below, "/a", None, true, false, &[]).is_none());
        assert!(unheld(&below, "/a", None, true, true, &[]).is_some());
    }
}
