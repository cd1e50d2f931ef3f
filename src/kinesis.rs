//! Reading a Kinesis data stream, which the IoT rule fills with the MQTT
//! payloads: every open shard at once, each within Kinesis' 5 GetRecords calls
//! per second, expired iterators renewed where they stopped, and after a
//! reshard the parents read to their end before their children start (children
//! found from `ChildShards` when the service returns them, otherwise from
//! ListShards' `ParentShardId`). The usual tailers stop at a closed shard.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Only records put from now on.
    Latest,
    /// Everything the stream still holds.
    TrimHorizon,
    /// Records that arrived at or after this time.
    At(OffsetDateTime),
}

/// What to read: from where, until when, which shards.
#[derive(Debug, Clone)]
pub struct Selection {
    pub start: Start,
    /// Stop each shard at its first record that arrived after this time, or
    /// once it has caught up past it.
    pub until: Option<OffsetDateTime>,
    /// Only these shards (none: all, children included).
    pub shards: Vec<String>,
}

/// One record as read.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    pub shard: String,
    pub sequence: String,
    pub partition_key: String,
    /// When Kinesis took it (ApproximateArrivalTimestamp).
    pub arrived: Option<OffsetDateTime>,
    /// How far the shard's reader was behind the stream's tip.
    pub behind_ms: Option<i64>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum KinesisError {
    #[error("Kinesis stream {stream} does not exist")]
    NoStream { stream: String },
    #[error("Kinesis stream {stream} has no shard {shard}")]
    NoShard { stream: String, shard: String },
    #[error("Kinesis {operation} on {stream}: {message}")]
    Api {
        operation: &'static str,
        stream: String,
        message: String,
    },
}

impl crate::error::Diagnose for KinesisError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            KinesisError::NoStream { .. } => {
                "check the name (--stream, config kinesis.stream) and the region (--region)".into()
            }
            KinesisError::NoShard { stream, .. } => {
                format!("`aws kinesis list-shards --stream-name {stream}` lists its shards' ids")
            }
            KinesisError::Api { .. } => "check credentials (--profile), region (--region) and \
                 kinesis:ListShards, GetShardIterator, GetRecords permissions on the stream"
                .into(),
        })
    }
}

/// Calls per second Kinesis allows per shard.
const CALLS_PER_SECOND: u32 = 5;
/// Pause when a shard is caught up (what the KCL waits between idle reads).
const IDLE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Shard {
    id: String,
    parents: Vec<String>,
    closed: bool,
}

impl Start {
    /// `--from`'s words: `latest`, `trim-horizon`, `at-timestamp TIME` or a bare
    /// TIME, where TIME is RFC 3339 or a duration ago (`15m`).
    pub fn from_words(words: &[String]) -> Result<Start, String> {
        let at = |text: &str| {
            if let Ok(at) =
                OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            {
                return Ok(Start::At(at));
            }
            let ago = humantime::parse_duration(text)
                .map_err(|_| format!("{text:?} is neither an RFC 3339 time nor a duration"))?;
            time::Duration::try_from(ago)
                .ok()
                .and_then(|ago| OffsetDateTime::now_utc().checked_sub(ago))
                .map(Start::At)
                .ok_or_else(|| format!("{text} ago is before any time a stream holds"))
        };
        match words {
            [] => Ok(Start::Latest),
            [position] if position == "latest" => Ok(Start::Latest),
            [position] if position == "trim-horizon" => Ok(Start::TrimHorizon),
            [position, time] if position == "at-timestamp" => at(time),
            [position] if position == "at-timestamp" => {
                Err("--from at-timestamp needs a time after it".to_string())
            }
            [time] => at(time),
            _ => Err(format!("--from {} is not understood", words.join(" "))),
        }
    }
}

/// [`follow`] on the stream `stream` of the configured account.
pub async fn follow_stream(
    config: &crate::config::Config,
    stream: String,
    selection: Selection,
) -> mpsc::Receiver<Result<StreamRecord, KinesisError>> {
    let sdk = crate::aws::sdk_config(&config.aws).await;
    follow(crate::aws::kinesis(&sdk), stream, selection)
}

/// Reads `stream` from `start`; records arrive on the returned channel, each
/// shard in order, parents before children. Dropping the receiver stops the
/// readers.
pub fn follow(
    client: Client,
    stream: String,
    selection: Selection,
) -> mpsc::Receiver<Result<StreamRecord, KinesisError>> {
    let (tx, rx) = mpsc::channel(10_000);
    tokio::spawn(async move {
        let reader = Reader {
            client,
            stream,
            start: selection.start,
            until: selection.until,
            only: selection.shards,
            tx: tx.clone(),
        };
        if let Err(e) = reader.run().await {
            let _ = tx.send(Err(e)).await;
        }
    });
    rx
}

#[derive(Clone)]
struct Reader {
    client: Client,
    stream: String,
    start: Start,
    until: Option<OffsetDateTime>,
    only: Vec<String>,
    tx: mpsc::Sender<Result<StreamRecord, KinesisError>>,
}

impl Reader {
    fn error(
        &self,
        operation: &'static str,
        error: &(dyn std::error::Error + 'static),
    ) -> KinesisError {
        KinesisError::Api {
            operation,
            stream: self.stream.clone(),
            message: crate::aws::describe(error),
        }
    }

    async fn list_shards(&self) -> Result<Vec<Shard>, KinesisError> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = match &token {
                // A request with a NextToken must not name the stream.
                Some(token) => self.client.list_shards().next_token(token),
                None => self.client.list_shards().stream_name(&self.stream),
            };
            let page = match request.send().await {
                Ok(page) => page,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Err(KinesisError::NoStream {
                        stream: self.stream.clone(),
                    });
                }
                Err(e) => return Err(self.error("ListShards", &e)),
            };
            for shard in page.shards() {
                shards.push(Shard {
                    id: shard.shard_id().to_string(),
                    parents: [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                        .into_iter()
                        .flatten()
                        .map(str::to_string)
                        .collect(),
                    closed: shard
                        .sequence_number_range()
                        .and_then(|r| r.ending_sequence_number())
                        .is_some(),
                });
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => return Ok(shards),
            }
        }
    }

    /// Starts the shards whose parents are done, and their children as each ends.
    async fn run(&self) -> Result<(), KinesisError> {
        let shards = self.list_shards().await?;
        if let Some(missing) = self
            .only
            .iter()
            .find(|id| !shards.iter().any(|s| s.id == **id))
        {
            return Err(KinesisError::NoShard {
                stream: self.stream.clone(),
                shard: missing.clone(),
            });
        }
        let wanted = |id: &str| self.only.is_empty() || self.only.iter().any(|s| s == id);
        let mut plan = ShardPlan::new(self.start, shards);
        let mut readers = JoinSet::new();
        for (shard, start) in plan.first() {
            if wanted(&shard) {
                readers.spawn(self.clone().read_shard(shard, start));
            }
        }
        while let Some(joined) = readers.join_next().await {
            let (id, named) = joined.map_err(|e| KinesisError::Api {
                operation: "GetRecords",
                stream: self.stream.clone(),
                message: format!("a shard reader stopped: {e}"),
            })??;
            if self.tx.is_closed() {
                return Ok(()); // nobody is reading any more
            }
            let next = match plan.finished(&id, named) {
                Some(next) => next,
                // kinesalite and moto do not return ChildShards: ask ListShards.
                None => plan.finished_with_listing(&id, self.list_shards().await?),
            };
            for (shard, start) in next {
                if wanted(&shard) {
                    readers.spawn(self.clone().read_shard(shard, start));
                }
            }
        }
        Ok(())
    }

    async fn iterator(
        &self,
        shard: &str,
        start: Start,
        after: Option<&str>,
    ) -> Result<String, KinesisError> {
        let mut request = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream)
            .shard_id(shard);
        request = match (after, start) {
            (Some(sequence), _) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(sequence),
            (None, Start::Latest) => request.shard_iterator_type(ShardIteratorType::Latest),
            (None, Start::TrimHorizon) => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            (None, Start::At(at)) => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(
                    DateTime::from_nanos(at.unix_timestamp_nanos())
                        .unwrap_or(DateTime::from_secs(at.unix_timestamp())),
                ),
        };
        let output = request
            .send()
            .await
            .map_err(|e| self.error("GetShardIterator", &e))?;
        output
            .shard_iterator()
            .map(str::to_string)
            .ok_or_else(|| KinesisError::Api {
                operation: "GetShardIterator",
                stream: self.stream.clone(),
                message: format!("no iterator for shard {shard}"),
            })
    }

    /// Reads one shard to its end; returns its id and the children it named.
    async fn read_shard(
        self,
        shard: String,
        start: Start,
    ) -> Result<(String, Vec<Shard>), KinesisError> {
        let mut iterator = self.iterator(&shard, start, None).await?;
        tracing::info!("shard {shard}: reading from {start:?}");
        let mut last: Option<String> = None;
        let mut backoff = Duration::from_millis(200);
        let spacing = Duration::from_secs(1) / CALLS_PER_SECOND;
        loop {
            let called = Instant::now();
            let output = match self
                .client
                .get_records()
                .shard_iterator(&iterator)
                .limit(10_000)
                .send()
                .await
            {
                Ok(output) => output,
                Err(e) => {
                    let service = e.as_service_error();
                    if service.is_some_and(|s| s.is_provisioned_throughput_exceeded_exception()) {
                        // Another reader shares the shard's 5 calls/s: back off with jitter.
                        tokio::time::sleep(backoff.mul_f64(0.5 + fastrand::f64())).await;
                        backoff = (backoff * 2).min(Duration::from_secs(10));
                        continue;
                    }
                    if service.is_some_and(|s| s.is_expired_iterator_exception()) {
                        iterator = self.iterator(&shard, start, last.as_deref()).await?;
                        continue;
                    }
                    return Err(self.error("GetRecords", &e));
                }
            };
            backoff = Duration::from_millis(200);
            for record in output.records() {
                last = Some(record.sequence_number().to_string());
                let arrived = record
                    .approximate_arrival_timestamp()
                    .and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t.as_nanos()).ok());
                if let (Some(until), Some(arrived)) = (self.until, arrived)
                    && arrived > until
                {
                    return Ok((shard, Vec::new())); // read up to --until
                }
                let sent = self
                    .tx
                    .send(Ok(StreamRecord {
                        shard: shard.clone(),
                        sequence: record.sequence_number().to_string(),
                        partition_key: record.partition_key().to_string(),
                        arrived,
                        behind_ms: output.millis_behind_latest(),
                        data: record.data().as_ref().to_vec(),
                    }))
                    .await;
                if sent.is_err() {
                    return Ok((shard, Vec::new())); // nobody is reading any more
                }
            }
            let Some(next) = output.next_shard_iterator() else {
                let children = output
                    .child_shards()
                    .iter()
                    .map(|c| Shard {
                        id: c.shard_id().to_string(),
                        parents: c.parent_shards().to_vec(),
                        closed: false,
                    })
                    .collect();
                return Ok((shard, children));
            };
            iterator = next.to_string();
            let caught_up = output.records().is_empty() && output.millis_behind_latest() == Some(0);
            if caught_up
                && self
                    .until
                    .is_some_and(|until| OffsetDateTime::now_utc() >= until)
            {
                return Ok((shard, Vec::new())); // nothing more before --until
            }
            tokio::time::sleep_until(called + if caught_up { IDLE } else { spacing }).await;
        }
    }
}

/// Which shards to read and from where, as shards end: parents are read to
/// their end before their children start. Pure bookkeeping; [`Reader`] does
/// the calls.
#[derive(Debug)]
struct ShardPlan {
    start: Start,
    known: HashMap<String, Shard>,
    finished: HashSet<String>,
    started: HashSet<String>,
}

impl ShardPlan {
    fn new(start: Start, shards: Vec<Shard>) -> ShardPlan {
        ShardPlan {
            start,
            known: shards.into_iter().map(|s| (s.id.clone(), s)).collect(),
            finished: HashSet::new(),
            started: HashSet::new(),
        }
    }

    /// The shards to read first, by id, each from the plan's start.
    fn first(&mut self) -> Vec<(String, Start)> {
        let mut first: Vec<String> = self
            .known
            .values()
            .filter(|s| match self.start {
                // Closed shards hold nothing new.
                Start::Latest => !s.closed,
                // Parents that expired from the stream are not waited for.
                _ => s.parents.iter().all(|p| !self.known.contains_key(p)),
            })
            .map(|s| s.id.clone())
            .collect();
        first.sort();
        self.started.extend(first.iter().cloned());
        first.into_iter().map(|id| (id, self.start)).collect()
    }

    /// Shard `id` was read to its end and named `children`. Returns the
    /// shards to start now, or None when it named none: the children are
    /// then found in a fresh listing ([`ShardPlan::finished_with_listing`]).
    fn finished(&mut self, id: &str, children: Vec<Shard>) -> Option<Vec<(String, Start)>> {
        self.finished.insert(id.to_string());
        if children.is_empty() {
            return None;
        }
        let ids: Vec<String> = children.iter().map(|s| s.id.clone()).collect();
        self.known
            .extend(children.into_iter().map(|s| (s.id.clone(), s)));
        Some(self.ready(ids))
    }

    /// Shard `id` ended without naming its children: they are the shards of
    /// `listing` that name it as a parent.
    fn finished_with_listing(&mut self, id: &str, listing: Vec<Shard>) -> Vec<(String, Start)> {
        self.finished.insert(id.to_string());
        self.known = listing.into_iter().map(|s| (s.id.clone(), s)).collect();
        let mut children: Vec<String> = self
            .known
            .values()
            .filter(|s| s.parents.iter().any(|p| p == id))
            .map(|s| s.id.clone())
            .collect();
        children.sort();
        self.ready(children)
    }

    /// Of `children`, those whose parents are all done (or expired) and that
    /// have not started: a child holds only records newer than the reshard,
    /// so it is read from its beginning (or from the plan's time).
    fn ready(&mut self, children: Vec<String>) -> Vec<(String, Start)> {
        let start = match self.start {
            Start::At(t) => Start::At(t),
            _ => Start::TrimHorizon,
        };
        let mut ready = Vec::new();
        for child in children {
            let parents_done = self.known.get(&child).is_some_and(|shard| {
                shard
                    .parents
                    .iter()
                    .all(|p| self.finished.contains(p) || !self.known.contains_key(p))
            });
            if parents_done && self.started.insert(child.clone()) {
                ready.push((child, start));
            }
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Shard, ShardPlan, Start};

    proptest! {
        /// `--from` of any words (times, durations ago, far past or future)
        /// is a start or an error, never a panic.
        #[test]
        fn any_from_words_are_a_start_or_an_error(words in proptest::collection::vec("[a-z0-9:TZ.+-]{0,24}", 0..3)) {
            let _ = Start::from_words(&words);
        }

        #[test]
        fn durations_ago_of_any_size_are_a_start_or_an_error(amount in any::<u64>(), unit in "(s|m|h|d|y)") {
            let _ = Start::from_words(&[format!("{amount}{unit}")]);
        }
    }

    fn shard(id: &str, parents: &[&str], closed: bool) -> Shard {
        Shard {
            id: id.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            closed,
        }
    }

    fn ids(next: &[(String, Start)]) -> Vec<&str> {
        next.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// A split: the parent is read first, both children after it ends, from
    /// their beginning.
    #[test]
    fn a_split_parent_is_read_before_its_children() {
        let listing = vec![
            shard("p", &[], true),
            shard("a", &["p"], false),
            shard("b", &["p"], false),
        ];
        let mut plan = ShardPlan::new(Start::TrimHorizon, listing.clone());
        assert_eq!(ids(&plan.first()), ["p"]);
        assert!(
            plan.finished("p", Vec::new()).is_none(),
            "no children named"
        );
        let next = plan.finished_with_listing("p", listing);
        assert_eq!(ids(&next), ["a", "b"]);
        assert!(next.iter().all(|(_, start)| *start == Start::TrimHorizon));
    }

    /// A merge: the child waits for both parents and starts once.
    #[test]
    fn a_merged_child_waits_for_both_parents_and_starts_once() {
        let child = shard("c", &["p1", "p2"], false);
        let mut plan = ShardPlan::new(
            Start::TrimHorizon,
            vec![
                shard("p1", &[], true),
                shard("p2", &[], true),
                child.clone(),
            ],
        );
        assert_eq!(ids(&plan.first()), ["p1", "p2"]);
        let after_one = plan.finished("p1", vec![child.clone()]).expect("named");
        assert!(after_one.is_empty(), "p2 is still being read");
        let after_both = plan.finished("p2", vec![child.clone()]).expect("named");
        assert_eq!(ids(&after_both), ["c"]);
        assert!(plan.finished("p1", vec![child]).expect("named").is_empty());
    }

    /// From `latest`, closed shards hold nothing new: only open ones start.
    #[test]
    fn latest_starts_only_open_shards() {
        let mut plan = ShardPlan::new(
            Start::Latest,
            vec![
                shard("p", &[], true),
                shard("a", &["p"], false),
                shard("b", &["p"], false),
            ],
        );
        assert_eq!(ids(&plan.first()), ["a", "b"]);
    }

    /// A parent that expired from the stream is not waited for, and a child
    /// of a time-based read starts at that time.
    #[test]
    fn expired_parents_are_not_waited_for_and_times_carry_over() {
        let at = time::macros::datetime!(2026-01-01 00:00 UTC);
        let mut plan = ShardPlan::new(
            Start::At(at),
            vec![shard("a", &["gone"], true), shard("b", &["a"], false)],
        );
        assert_eq!(ids(&plan.first()), ["a"]);
        let next = plan
            .finished("a", vec![shard("b", &["a"], false)])
            .expect("named");
        assert_eq!(next, vec![("b".to_string(), Start::At(at))]);
    }
}
