//! The Athena engine: compacts a batch with the statements of [`athena_sql`],
//! polling each until Athena says SUCCEEDED, FAILED or CANCELLED; Ctrl-C stops
//! the running query before iotpipe exits.
//!
//! A batch runs in four steps. The survey asks Athena which days each object
//! holds and which rows are not schema v1. Objects Athena cannot read (a data
//! error, rows that are not v1, keys it skips or cannot see) are compacted by
//! the local engine instead, which sets their bad lines or bytes aside under
//! `rejected/`: a poison object never blocks its batch. Then the files an
//! earlier attempt of the batch wrote are deleted (its rows carry the batch
//! id), the INSERTs run, deduplicated against the table, and a verification
//! proves every reading of the objects is in the table exactly once before
//! anything is marked or deleted. Any other failure fails the batch (left
//! retryable, with Athena's reason).

mod query;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use aws_sdk_athena::Client;

pub use self::query::{Workgroup, cost_usd, workgroup};
use super::athena_sql::{self, Target};
use super::run_index::RunIndex;
use super::{CompactError, Compaction, Compactor, Estimate, Progress, TableSetup};
use crate::counter::Batch;
use crate::signal::Cancel;
use crate::store::s3::S3Store;
use crate::store::{COMPACTED, Store};

pub struct AthenaEngine {
    client: Client,
    store: Arc<S3Store>,
    target: Target,
    workgroup: String,
    output_location: Option<String>,
    /// Fired by Ctrl-C or SIGTERM: the running query is stopped, the batch failed.
    cancel: Cancel,
}

impl AthenaEngine {
    pub fn new(
        client: Client,
        store: Arc<S3Store>,
        athena: &crate::config::AthenaConfig,
        cancel: Cancel,
    ) -> AthenaEngine {
        let target = Target {
            database: athena.database.clone(),
            raw_table: athena.raw_table.clone(),
            lines_table: format!("{}_lines", athena.raw_table),
            table: athena.table.clone(),
            raw_location: store.uri(crate::store::RAW),
            compacted_location: store.uri(COMPACTED),
        };
        AthenaEngine {
            client,
            store,
            target,
            workgroup: athena.workgroup.clone(),
            output_location: athena.output_location.clone(),
            cancel,
        }
    }

    /// The statements a run of the batch would send (days guessed from the keys).
    pub fn batch_statements(
        &self,
        batch_id: &str,
        keys: &[String],
    ) -> Result<Vec<String>, CompactError> {
        athena_sql::planned_statements(&self.target, batch_id, keys, |key| self.store.uri(key))
            .map_err(|e| CompactError::Engine(e.to_string()))
    }

    /// Asks Athena what `uris` hold. Returns the objects it read cleanly with
    /// their days and row count; the rest (keys) go to `aside`.
    async fn survey(
        &self,
        uris: &[String],
        aside: &mut Vec<String>,
        compaction: &mut Compaction,
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<(Vec<Surveyed>, u64), CompactError> {
        let mut candidates = uris.to_vec();
        for attempt in 0..2 {
            if candidates.is_empty() {
                break;
            }
            let sql = athena_sql::survey(&self.target, &candidates);
            let run = match self.query(&sql, "survey", compaction, progress, lost).await {
                Ok(run) => run,
                Err(CompactError::Query { reason, .. }) if is_data_error(&reason) => {
                    tracing::warn!("Athena cannot read some objects ({reason}); checking them");
                    let unreadable = if attempt == 0 {
                        self.unreadable(&candidates).await?
                    } else {
                        Vec::new()
                    };
                    // Unreadable to Athena alone (or twice failing): the local
                    // engine reads them all.
                    let moved: Vec<String> = if unreadable.is_empty() {
                        std::mem::take(&mut candidates)
                    } else {
                        candidates.retain(|u| !unreadable.contains(u));
                        unreadable
                    };
                    aside.extend(moved.iter().map(|u| self.key_of(u)));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (mut found, bad) = read_survey(self.results(&run.id).await?)?;
            let mut good = Vec::new();
            let mut rows = 0;
            for uri in candidates {
                match found.remove(&uri) {
                    Some(surveyed) if !bad.contains(&uri) => {
                        rows += surveyed.rows;
                        for (device, at) in &surveyed.newest {
                            compaction.saw(device, at);
                        }
                        good.push(surveyed);
                    }
                    // Rows that are not v1, conflicting copies of a reading,
                    // or nothing Athena read (a name it skips, a key outside
                    // the table's LOCATION, an empty object).
                    _ => aside.push(self.key_of(&uri)),
                }
            }
            return Ok((good, rows));
        }
        Ok((Vec::new(), 0))
    }

    /// The objects among `uris` the local engine finds unreadable or not v1.
    async fn unreadable(&self, uris: &[String]) -> Result<Vec<String>, CompactError> {
        let mut bad = Vec::new();
        for uri in uris {
            let key = self.key_of(uri);
            match self.store.get(&key).await {
                Ok(body) => {
                    if let Some(reason) = super::local::problem(&body) {
                        tracing::warn!("{key}: {reason}");
                        bad.push(uri.clone());
                    }
                }
                Err(crate::store::StoreError::NotFound { .. }) => bad.push(uri.clone()),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(bad)
    }

    /// The layout key of an object URI of this bucket.
    fn key_of(&self, uri: &str) -> String {
        let physical = uri
            .strip_prefix(&format!("s3://{}/", self.store.bucket()))
            .unwrap_or(uri);
        self.store.logical(physical)
    }

    /// Deletes the files an earlier attempt of the batch wrote on `days`.
    async fn clear_earlier_attempt(
        &self,
        batch_id: &str,
        days: &BTreeSet<String>,
        compaction: &mut Compaction,
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<(), CompactError> {
        if days.is_empty() {
            return Ok(());
        }
        let sql = athena_sql::own_files(&self.target, batch_id, days);
        let run = self
            .query(&sql, "clean-up", compaction, progress, lost)
            .await?;
        let stale: Vec<String> = self
            .results(&run.id)
            .await?
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .map(|uri| self.key_of(&uri))
            .filter(|key| key.starts_with(COMPACTED))
            .collect();
        if !stale.is_empty() {
            tracing::info!(
                "batch {batch_id}: deleting {} files of an earlier attempt",
                stale.len()
            );
            self.store.delete_many(&stale).await?;
        }
        Ok(())
    }
}

/// What Athena read in each object, and the objects it may not insert.
type Findings = (HashMap<String, Surveyed>, HashSet<String>);

/// The survey's rows by object: what Athena read in each, and the objects it
/// may not insert (rows that are not v1, or conflicting copies of a reading).
fn read_survey(rows: Vec<Vec<Option<String>>>) -> Result<Findings, CompactError> {
    let mut found: HashMap<String, Surveyed> = HashMap::new();
    let mut bad: HashSet<String> = HashSet::new();
    for row in rows {
        let [
            Some(object),
            day,
            device,
            run_id,
            Some(count),
            Some(invalid),
            first,
            last,
            latest,
            versions,
        ] = <[Option<String>; 10]>::try_from(row)
            .map_err(|_| CompactError::Engine("Athena's survey has 10 columns".into()))?
        else {
            return Err(CompactError::Engine("Athena's survey has a NULL".into()));
        };
        if invalid != "0" || versions.as_deref().is_some_and(|v| v != "1") {
            bad.insert(object.clone());
        }
        let surveyed = found.entry(object.clone()).or_insert_with(|| Surveyed {
            uri: object.clone(),
            ..Surveyed::default()
        });
        surveyed.rows += count.parse::<u64>().unwrap_or(0);
        let seqs = first
            .and_then(|f| f.parse::<u64>().ok())
            .zip(last.and_then(|l| l.parse::<u64>().ok()));
        if let (Some(day), Some(device), Some(run_id), Some((first, last))) =
            (day, device, run_id, seqs)
        {
            if let Some(at) = latest.as_deref().and_then(athena_sql::result_timestamp) {
                surveyed.newest.push((device.clone(), at));
            }
            surveyed.days.insert(day.clone());
            surveyed.runs.push(SurveyedRun {
                day,
                device,
                run: run_id,
                first,
                last,
            });
        }
    }
    Ok((found, bad))
}

/// Where the table may hold a reading an INSERT writes: its own days, and
/// the days the run index names for the same runs and `seq`s.
fn look_in(run: &athena_sql::Insert, good: &[&Surveyed], index: &RunIndex) -> BTreeSet<String> {
    let mut days = run.days.clone();
    for r in written_by(run, good) {
        if let Some(held) = index.get(&r.device, &r.run) {
            days.extend(
                held.days_meeting(r.first, r.last, &r.day)
                    .map(str::to_string),
            );
        }
    }
    days
}

/// What the survey found of the readings an INSERT writes: each run's
/// islands in its objects, on its days.
fn written_by<'a>(
    run: &'a athena_sql::Insert,
    good: &'a [&'a Surveyed],
) -> impl Iterator<Item = &'a SurveyedRun> + 'a {
    // A set: a chunk holds thousands of objects.
    let uris: HashSet<&str> = run.uris.iter().map(String::as_str).collect();
    good.iter()
        .filter(move |s| uris.contains(s.uri.as_str()))
        .flat_map(|s| s.runs.iter())
        .filter(|r| run.days.contains(&r.day))
}

/// The readings an INSERT writes, as the survey found them in its objects.
fn expected(run: &athena_sql::Insert, good: &[&Surveyed]) -> athena_sql::Expected {
    let mut expected = athena_sql::Expected::default();
    for r in written_by(run, good) {
        expected.add(&r.device, &r.run, r.first, r.last);
    }
    expected
}

/// What the survey found in one object Athena can compact.
#[derive(Default)]
struct Surveyed {
    uri: String,
    days: BTreeSet<String>,
    rows: u64,
    /// Each run's readings per day: consecutive `seq`s, first to last.
    runs: Vec<SurveyedRun>,
    /// Each device's newest reading.
    newest: Vec<(String, String)>,
}

struct SurveyedRun {
    day: String,
    device: String,
    run: String,
    first: u64,
    last: u64,
}

/// Athena could not read an object (bad gzip, a line that is not a JSON
/// object, a value that does not fit its column).
fn is_data_error(reason: &str) -> bool {
    ["HIVE_BAD_DATA", "HIVE_CURSOR_ERROR"]
        .iter()
        .any(|code| reason.contains(code))
}
#[async_trait::async_trait]
impl Compactor for AthenaEngine {
    fn name(&self) -> &'static str {
        "Athena"
    }

    fn stops_on_cancel(&self) -> bool {
        true
    }

    fn estimate(
        &self,
        batch_id: &str,
        keys: &[String],
        bytes: u64,
    ) -> Result<Option<Estimate>, CompactError> {
        let sql = self.batch_statements(batch_id, keys)?;
        // Athena bills each statement for what it scans: its share of the batch.
        let per_statement = bytes / sql.len().max(1) as u64;
        Ok(Some(Estimate {
            cost_usd: sql.len() as f64 * cost_usd(per_statement),
            sql,
        }))
    }

    fn billed(&self) -> bool {
        true
    }

    async fn compact(
        &self,
        batch: &Batch,
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<Compaction, CompactError> {
        // Keys that are not objects (a console "folder" counted before such
        // keys were refused) go straight to the local engine, which sets them
        // aside. In key order: of conflicting copies of a reading, the one in
        // the first object is kept, as the local engine keeps it.
        let mut keys = batch.keys.clone();
        keys.sort_unstable();
        let (objects, mut aside): (Vec<String>, Vec<String>) = keys
            .iter()
            .cloned()
            .partition(|key| crate::store::check_key(key).is_ok());
        let uris: Vec<String> = objects.iter().map(|k| self.store.uri(k)).collect();
        let chunks = athena_sql::chunks(&self.target, &batch.id, &uris)
            .map_err(|e| CompactError::Engine(e.to_string()))?;
        let mut compaction = Compaction {
            bytes_in: batch.bytes,
            ..Compaction::default()
        };
        let mut good: HashMap<String, Surveyed> = HashMap::new();
        let mut rows_in = 0;
        for chunk in &chunks {
            let (surveyed, rows) = self
                .survey(chunk, &mut aside, &mut compaction, progress, lost)
                .await?;
            rows_in += rows;
            good.extend(surveyed.into_iter().map(|s| (self.key_of(&s.uri), s)));
        }
        let days: BTreeSet<String> = good.values().flat_map(|s| s.days.iter().cloned()).collect();
        self.clear_earlier_attempt(&batch.id, &days, &mut compaction, progress, lost)
            .await?;
        // Written ahead of the INSERTs, under the writer lock.
        let mut index = RunIndex::default();
        let runs: Vec<&SurveyedRun> = good.values().flat_map(|s| s.runs.iter()).collect();
        let ids: Vec<(&str, &str)> = runs
            .iter()
            .map(|r| (r.device.as_str(), r.run.as_str()))
            .collect();
        index.load(self.store.as_ref(), ids).await?;
        for r in runs {
            index.add(&r.day, &r.device, &r.run, r.first, r.last);
        }
        index.save(self.store.as_ref()).await?;

        // Objects in key order, Athena's and iotpipe's in turns, so the first
        // copy of a reading is kept whichever engine reads it.
        let mut inserted = 0;
        let mut aside_turns = 0;
        let mut turn: Vec<String> = Vec::new();
        let mut keys = keys.into_iter().peekable();
        while let Some(key) = keys.next() {
            let athena = good.contains_key(&key);
            turn.push(key);
            if keys
                .peek()
                .is_some_and(|next| good.contains_key(next) == athena)
            {
                continue;
            }
            let objects = std::mem::take(&mut turn);
            if !athena {
                aside_turns += 1;
                self.compact_aside(batch, aside_turns, objects, &mut compaction, progress, lost)
                    .await?;
                continue;
            }
            let uris: Vec<String> = objects.iter().map(|k| self.store.uri(k)).collect();
            let chunks = athena_sql::chunks(&self.target, &batch.id, &uris)
                .map_err(|e| CompactError::Engine(e.to_string()))?;
            for chunk in chunks {
                let chunk: Vec<&Surveyed> = chunk
                    .iter()
                    .filter_map(|u| good.get(&self.key_of(u)))
                    .collect();
                inserted += self
                    .insert_and_verify(&batch.id, &chunk, &index, &mut compaction, progress, lost)
                    .await?;
            }
        }
        compaction.rows_in += rows_in;
        compaction.rows_out += inserted;
        compaction.rows_verified_by_query = inserted;
        compaction.duplicates += rows_in.saturating_sub(inserted);
        Ok(compaction)
    }
}

impl AthenaEngine {
    /// Compacts the objects Athena cannot read with the local engine, which
    /// sets their bad lines or bytes aside: a poison object never blocks its batch.
    async fn compact_aside(
        &self,
        batch: &Batch,
        turn: usize,
        aside: Vec<String>,
        compaction: &mut Compaction,
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<(), CompactError> {
        tracing::warn!(
            "batch {}: {} objects Athena cannot read are compacted by iotpipe itself",
            batch.id,
            aside.len()
        );
        let local = super::local::LocalEngine::new(self.store.clone(), None);
        // Each turn writes files of its own (named by the batch, and the
        // turn after the first), the same ones again when the batch is retried.
        let part = Batch {
            id: match turn {
                1 => batch.id.clone(),
                n => format!("{}-{n}", batch.id),
            },
            keys: aside,
            ..batch.clone()
        };
        let done = local.compact(&part, progress, lost).await?;
        compaction.outputs.extend(done.outputs);
        compaction.rows_in += done.rows_in;
        compaction.rows_out += done.rows_out;
        compaction.duplicates += done.duplicates;
        compaction.invalid += done.invalid;
        compaction.bytes_out += done.bytes_out;
        compaction.set_aside.extend(done.set_aside);
        for (device, at) in done.newest {
            compaction.saw(&device, &at);
        }
        Ok(())
    }

    /// INSERTs a chunk of surveyed objects (each statement within Athena's
    /// partition limit), then proves every reading of them is in the table
    /// exactly once. Returns the rows inserted.
    async fn insert_and_verify(
        &self,
        batch_id: &str,
        good: &[&Surveyed],
        index: &RunIndex,
        compaction: &mut Compaction,
        progress: &dyn Progress,
        lost: &Cancel,
    ) -> Result<u64, CompactError> {
        let objects: Vec<(String, BTreeSet<String>)> = good
            .iter()
            .map(|s| (s.uri.clone(), s.days.clone()))
            .collect();
        let runs = athena_sql::inserts(&objects);
        let look_in: Vec<BTreeSet<String>> =
            runs.iter().map(|run| look_in(run, good, index)).collect();
        let mut inserted = 0;
        for (run, look_in) in runs.iter().zip(&look_in) {
            let sql = athena_sql::insert(&self.target, batch_id, &run.uris, &run.days, look_in);
            let query = self
                .query(&sql, "insert", compaction, progress, lost)
                .await?;
            inserted += self.update_count(&query.id).await?;
        }
        // Each INSERT's readings verified on their own: a statement listing
        // every day of a long backfill would pass Athena's query length.
        let (mut readings, mut missing, mut doubled) = (0, 0, 0);
        for (run, look_in) in runs.iter().zip(&look_in) {
            let expected = expected(run, good);
            let mut found = 0;
            for sql in athena_sql::verify(&self.target, &expected, look_in) {
                let query = self
                    .query(&sql, "verify", compaction, progress, lost)
                    .await?;
                let counts: Vec<u64> = self
                    .results(&query.id)
                    .await?
                    .into_iter()
                    .next()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| v.and_then(|v| v.parse().ok()).unwrap_or(0))
                    .collect();
                let [part_found, part_doubled] = counts[..] else {
                    return Err(CompactError::Engine(
                        "Athena's verification has 2 columns".into(),
                    ));
                };
                found += part_found;
                doubled += part_doubled;
            }
            readings += expected.readings();
            missing += expected.readings().saturating_sub(found);
        }
        if missing > 0 || doubled > 0 {
            return Err(CompactError::Verify {
                key: format!("batch {batch_id}"),
                reason: format!(
                    "after the INSERTs, {missing} of the {readings} readings of {} objects \
                     are not in {}.{} and {doubled} are there more than once; nothing is \
                     marked or deleted, and the next run clears this attempt's files and \
                     tries again",
                    good.len(),
                    self.target.database,
                    self.target.table
                ),
            });
        }
        Ok(inserted)
    }
}

/// `compact --init`: the database, the raw table and the compacted table.
#[async_trait::async_trait]
impl TableSetup for AthenaEngine {
    fn statements(&self) -> Vec<String> {
        athena_sql::ddl(&self.target)
    }

    async fn run(&self, statement: &str, progress: &dyn Progress) -> Result<String, CompactError> {
        Ok(self
            .run_until(statement, progress, &Cancel::never())
            .await?
            .id)
    }
}
