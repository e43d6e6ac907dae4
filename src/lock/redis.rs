//! The `redis` backend: the lock and the shared token store on a real Redis.
//!
//! The lock is `SET key value NX PX ttl`; it is released by a Lua script that deletes
//! the key only while it still holds the caller's value, so a holder whose lock expired
//! never deletes the lock someone else took since (the pattern of Redis's own
//! documentation of SET). Tokens are one JSON record per client, written by whoever
//! renewed them, read by every instance in every process. All keys live under
//! `tokenstorm:<namespace>:`, the namespace being the run's id.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;

use super::LockError;

/// Deletes KEYS[1] only if it holds ARGV[1].
const COMPARE_AND_DELETE: &str = r#"
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
else
    return 0
end
"#;

/// How long a token record or a marker outlives its last write, so that a Redis shared
/// by many runs does not fill up.
const RECORD_TTL: Duration = Duration::from_secs(24 * 3600);

pub(crate) struct RedisLocks {
    conn: MultiplexedConnection,
    namespace: String,
    release: redis::Script,
}

fn failed(e: redis::RedisError) -> String {
    e.to_string()
}

impl RedisLocks {
    /// Connects to `url` (`redis://host:port`, `unix:///path/to/socket`).
    pub(crate) async fn connect(url: &str, namespace: &str) -> Result<RedisLocks, LockError> {
        let unreachable = |e: redis::RedisError| {
            LockError::Service(format!("could not reach Redis at {url}: {e}"))
        };
        let client = redis::Client::open(url).map_err(unreachable)?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(unreachable)?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(unreachable)?;
        Ok(RedisLocks {
            conn,
            namespace: namespace.to_string(),
            release: redis::Script::new(COMPARE_AND_DELETE),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("tokenstorm:{}:{key}", self.namespace)
    }

    /// SET key value NX PX ttl: true when taken.
    pub(crate) async fn set_nx(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, String> {
        let mut conn = self.conn.clone();
        let ms = ttl.as_millis().max(1) as u64;
        let answer: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ms)
            .query_async(&mut conn)
            .await
            .map_err(failed)?;
        Ok(answer.is_some())
    }

    /// Deletes `key` if it still holds `value`: true when it did.
    pub(crate) async fn compare_and_delete(&self, key: &str, value: &str) -> Result<bool, String> {
        let mut conn = self.conn.clone();
        let deleted: i64 = self
            .release
            .key(self.key(key))
            .arg(value)
            .invoke_async(&mut conn)
            .await
            .map_err(failed)?;
        Ok(deleted == 1)
    }

    /// The text stored at `key`, if any.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<String>, String> {
        let mut conn = self.conn.clone();
        conn.get(self.key(key)).await.map_err(failed)
    }

    /// Stores `value` at `key`.
    pub(crate) async fn put(&self, key: &str, value: &str) -> Result<(), String> {
        let mut conn = self.conn.clone();
        conn.pset_ex(self.key(key), value, RECORD_TTL.as_millis() as u64)
            .await
            .map_err(failed)
    }

    /// Marks `key` as seen: true when it was already marked (by any process).
    pub(crate) async fn mark(&self, key: &str) -> Result<bool, String> {
        Ok(!self.set_nx(key, "1", RECORD_TTL).await?)
    }
}
