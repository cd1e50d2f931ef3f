//! The local dashboard: one self-contained HTML page (inline CSS and SVG, no
//! scripts, no CDN) built from the compacted Parquet and the raw objects still
//! pending, which are drawn dashed and labelled as such.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, Float64Array, StringArray, TimestampMillisecondArray};

use super::{Dashboard, DashboardError, PageSummary, Refreshed, svg};
use crate::counter::{BatchState, Counter};
use crate::payload::Reading;
use crate::store::content::{column, parquet_columns};
use crate::store::{self, Store};

/// The three charted measurements.
const CHARTS: [(&str, &str, &str); 3] = [
    ("Temperature", "°C", "temperature_c"),
    ("Humidity", "%rH", "humidity_pct"),
    ("Pressure", "hPa", "pressure_hpa"),
];

#[derive(Default)]
struct DeviceData {
    /// Per chart: compacted points and pending points.
    compacted: [Vec<(i64, f64)>; 3],
    pending: [Vec<(i64, f64)>; 3],
    latest: Option<(i64, [Option<f64>; 3])>,
}

impl DeviceData {
    /// Drops compacted points older than `window_ms` before the device's newest.
    fn keep_window(&mut self, window_ms: i64) {
        let Some((newest, _)) = self.latest else {
            return;
        };
        let from = newest.saturating_sub(window_ms);
        for points in &mut self.compacted {
            points.retain(|(t, _)| *t >= from);
        }
    }

    fn add(&mut self, millis: i64, values: [Option<f64>; 3], pending: bool) {
        for (i, value) in values.iter().enumerate() {
            if let Some(v) = value {
                let target = if pending {
                    &mut self.pending[i]
                } else {
                    &mut self.compacted[i]
                };
                target.push((millis, *v));
            }
        }
        if self.latest.is_none_or(|(t, _)| millis >= t) {
            self.latest = Some((millis, values));
        }
    }
}

/// The self-contained HTML page with SVG charts, from the store and the counter.
pub struct Html {
    pub store: Arc<dyn Store>,
    pub counter: Arc<dyn Counter>,
    pub out: PathBuf,
    /// How far back the charts reach from the newest reading.
    pub window: std::time::Duration,
}

#[async_trait::async_trait]
impl Dashboard for Html {
    async fn refresh(&self) -> Result<Refreshed, DashboardError> {
        refresh(
            self.store.clone(),
            self.counter.clone(),
            &self.out,
            self.window,
        )
        .await
        .map(Refreshed::Page)
    }
}

/// Builds `<out>/index.html` from the store and the counter. Charts reach
/// `window` back from the newest reading: only the files of those days are
/// read for points (the others for their row count), so memory stays bounded
/// however long the table grows.
pub async fn refresh(
    store: Arc<dyn Store>,
    counter: Arc<dyn Counter>,
    out: &Path,
    window: std::time::Duration,
) -> Result<PageSummary, DashboardError> {
    let (html, mut summary) = page(store, counter, window, Delivery::File).await?;
    summary.path = write_page(out, &html)?;
    Ok(summary)
}

/// How the page reaches its reader, which decides how it stays current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A file opened from disk: it reloads itself.
    File,
    /// Served over HTTP (`up`, `refresh-dashboard --serve`): it fetches
    /// itself again and swaps its content in place.
    Served,
}

/// The page as `up` and `refresh-dashboard --serve` serve it: built afresh
/// at each request.
pub fn served(
    store: Arc<dyn Store>,
    counter: Arc<dyn Counter>,
    window: std::time::Duration,
) -> crate::http::PageFn {
    Arc::new(move || {
        let (store, counter) = (store.clone(), counter.clone());
        Box::pin(async move {
            page(store, counter, window, Delivery::Served)
                .await
                .map(|(html, _)| html)
                .map_err(|e| e.to_string())
        })
    })
}

/// The page, built from the store and the counter.
pub async fn page(
    store: Arc<dyn Store>,
    counter: Arc<dyn Counter>,
    window: std::time::Duration,
    delivery: Delivery,
) -> Result<(String, PageSummary), DashboardError> {
    let mut devices: BTreeMap<String, DeviceData> = BTreeMap::new();
    let mut summary = PageSummary::default();
    read_compacted_window(&*store, window, &mut devices, &mut summary).await?;
    read_pending(&*store, &mut devices, &mut summary).await?;
    for object in store.list(store::REJECTED).await? {
        let body = store.get(&object.key).await?;
        summary.rejected_payloads += body.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let batches = counter.batches().await?;
    let count = |state| batches.iter().filter(|b| b.state == state).count();
    summary.batches_claimed = count(BatchState::Claimed);
    summary.batches_compacted = count(BatchState::Compacted);
    summary.batches_failed = count(BatchState::Failed);
    summary.devices = devices.len();
    let last_readings = crate::counter::device_last_readings(&*counter).await?;
    Ok((
        render(&devices, &summary, &last_readings, delivery),
        summary,
    ))
}

/// Reads the points of the compacted files within `window` of the newest
/// day, and the row count of every file.
async fn read_compacted_window(
    store: &dyn Store,
    window: std::time::Duration,
    devices: &mut BTreeMap<String, DeviceData>,
    summary: &mut PageSummary,
) -> Result<(), DashboardError> {
    // Each data file with its day number.
    let files: Vec<_> = store
        .list(store::COMPACTED)
        .await?
        .into_iter()
        .filter(|o| o.key.ends_with(".parquet") && !o.key.contains("/."))
        .map(|o| {
            let day = day_of(&o.key);
            (o, day)
        })
        .collect();
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    // Points from the start of the day `window` before the newest day on: the
    // exact cut-off (newest reading - window) is applied once all are read.
    let first_day = files
        .iter()
        .filter_map(|(_, day)| *day)
        .max()
        .map(|newest| newest.saturating_sub(window_ms.div_euclid(DAY_MS) + 1));
    for (object, day) in &files {
        let body = store.get(&object.key).await?;
        let charted = match (*day, first_day) {
            (Some(day), Some(first)) => day >= first,
            _ => true,
        };
        let read = if charted {
            read_compacted(body, devices)
        } else {
            crate::store::content::parquet_rows(&body)
        };
        summary.compacted_rows += read.map_err(|reason| DashboardError::Read {
            key: object.key.clone(),
            reason,
        })?;
        summary.compacted_files += 1;
    }
    for data in devices.values_mut() {
        data.keep_window(window_ms);
    }
    Ok(())
}

/// Adds the readings of the raw objects still pending, drawn dashed.
async fn read_pending(
    store: &dyn Store,
    devices: &mut BTreeMap<String, DeviceData>,
    summary: &mut PageSummary,
) -> Result<(), DashboardError> {
    for object in store.list(store::RAW).await? {
        let body = store.get(&object.key).await?;
        let data = crate::store::content::decode(&body).map_err(|e| DashboardError::Read {
            key: object.key.clone(),
            reason: e.to_string(),
        })?;
        summary.pending_objects += 1;
        for reading in serde_json::Deserializer::from_slice(&data)
            .into_iter::<Reading>()
            .flatten()
        {
            let Ok(at) = reading.timestamp() else {
                continue;
            };
            let millis = (at.unix_timestamp_nanos() / 1_000_000) as i64;
            let values = [
                reading.temperature_c,
                reading.humidity_pct,
                reading.pressure_hpa,
            ];
            devices
                .entry(reading.device_id.clone())
                .or_default()
                .add(millis, values, true);
            summary.pending_rows += 1;
        }
    }
    Ok(())
}

/// Replaces `<out>/index.html` with `html` in one rename: an open tab never
/// reads half a page.
fn write_page(out: &Path, html: &str) -> Result<PathBuf, DashboardError> {
    std::fs::create_dir_all(out).map_err(|source| DashboardError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let path = out.join("index.html");
    let tmp = out.join(".index.html.tmp");
    std::fs::write(&tmp, html)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|source| DashboardError::Write {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

const DAY_MS: i64 = 86_400_000;

/// The day number (since 1970-01-01) of a `compacted/dt=YYYY-MM-DD/...` key.
fn day_of(key: &str) -> Option<i64> {
    let day = crate::compact::day_of_key(key)?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(day, format).ok()?;
    Some(i64::from(
        date.to_julian_day() - time::Date::from_ordinal_date(1970, 1).ok()?.to_julian_day(),
    ))
}

/// Adds a compacted file's rows to `devices`; returns how many.
fn read_compacted(
    body: Vec<u8>,
    devices: &mut BTreeMap<String, DeviceData>,
) -> Result<u64, String> {
    let columns = [
        "device_id",
        "ts",
        "temperature_c",
        "humidity_pct",
        "pressure_hpa",
    ];
    let mut rows = 0;
    for batch in parquet_columns(body, &columns)? {
        let batch = batch?;
        let device = column::<StringArray>(&batch, "device_id")?;
        let ts = column::<TimestampMillisecondArray>(&batch, "ts")?;
        let measures: Vec<&Float64Array> = CHARTS
            .iter()
            .map(|(_, _, name)| column::<Float64Array>(&batch, name))
            .collect::<Result<_, _>>()?;
        for i in 0..batch.num_rows() {
            let value = |m: &Float64Array| (!m.is_null(i)).then(|| m.value(i));
            let values = [value(measures[0]), value(measures[1]), value(measures[2])];
            devices
                .entry(device.value(i).to_string())
                .or_default()
                .add(ts.value(i), values, false);
            rows += 1;
        }
    }
    Ok(rows)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An open tab reloads the page this often: `up` redraws it after each
/// compaction, `refresh-dashboard` whenever it is run.
const REFRESH_SECONDS: u32 = 15;

/// A served page fetches itself this often and swaps its body in place (no
/// reload, no CDN: the script is these lines).
const LIVE_SECONDS: u32 = 5;

fn render(
    devices: &BTreeMap<String, DeviceData>,
    summary: &PageSummary,
    last_readings: &BTreeMap<String, String>,
    delivery: Delivery,
) -> String {
    let now = time::OffsetDateTime::now_utc();
    let generated = crate::payload::format_ts(now);
    let tiles = tiles(summary);
    let latest = latest_rows(devices);
    let seen = last_seen_rows(last_readings, now);
    let charts = charts(devices);
    let (stay_current, how) = match delivery {
        Delivery::File => (
            format!(r#"<meta http-equiv="refresh" content="{REFRESH_SECONDS}">"#),
            format!("reloads every {REFRESH_SECONDS} s"),
        ),
        Delivery::Served => (
            format!(
                r#"<script>
setInterval(async () => {{
  try {{
    const response = await fetch(location.pathname, {{ cache: "no-store" }});
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    document.body.innerHTML = page.body.innerHTML;
  }} catch (e) {{ /* the server is restarting: try again at the next tick */ }}
}}, {LIVE_SECONDS}000);
</script>"#
            ),
            format!("live, updated every {LIVE_SECONDS} s"),
        ),
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
{stay_current}
<title>iotpipe dashboard</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 820px; color: #222; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }} h2 {{ font-size: 16px; margin: 24px 0 6px; }}
.meta {{ color: #666; }} .tiles {{ display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }}
.tile {{ border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 110px; }}
.tile .v {{ font-size: 20px; font-weight: 600; }} .tile .l {{ color: #666; font-size: 12px; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #eee; padding: 4px 6px; text-align: left; }}
.dot {{ display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 6px; }}
svg {{ width: 100%; height: auto; background: #fafafa; border: 1px solid #eee; }}
svg .grid {{ stroke: #e4e4e4; }} svg .tick, svg .unit, svg .empty {{ font-size: 11px; fill: #666; }}
.legend {{ color: #666; font-size: 12px; margin-top: 16px; }} .legend .entry {{ margin-right: 14px; white-space: nowrap; }}
</style></head>
<body>
<h1>iotpipe dashboard</h1>
<div class="meta">Generated {generated}; {how}. Solid lines: compacted Parquet. Dashed lines: raw objects still pending compaction.</div>
<div class="tiles">{tiles}</div>
<h2>Latest values</h2>
<table><thead><tr><th>device</th><th>time (UTC)</th><th>temperature °C</th><th>humidity %</th><th>pressure hPa</th></tr></thead>
<tbody>{latest}</tbody></table>
<h2>Devices</h2>
<table><thead><tr><th>device</th><th>newest reading (UTC)</th><th>last seen</th></tr></thead>
<tbody>{seen}</tbody></table>
{charts}
</body></html>
"#
    )
}

/// The tiles of counts at the top of the page.
fn tiles(summary: &PageSummary) -> String {
    let tile = |label: &str, value: String| {
        format!(
            r#"<div class="tile"><div class="v">{value}</div><div class="l">{label}</div></div>"#
        )
    };
    [
        tile("devices", summary.devices.to_string()),
        tile("readings compacted", summary.compacted_rows.to_string()),
        tile("readings pending", summary.pending_rows.to_string()),
        tile("raw objects pending", summary.pending_objects.to_string()),
        tile(
            "batches compacted / claimed / failed",
            format!(
                "{} / {} / {}",
                summary.batches_compacted, summary.batches_claimed, summary.batches_failed
            ),
        ),
        tile("rejected payloads", summary.rejected_payloads.to_string()),
    ]
    .join("")
}

/// A row per device the sinks have seen: its newest reading and how long ago.
fn last_seen_rows(last_readings: &BTreeMap<String, String>, now: time::OffsetDateTime) -> String {
    let mut rows = String::new();
    for (device, at) in last_readings {
        let age = crate::output::ago(at, now);
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{age}</td></tr>",
            escape(device),
            escape(at)
        ));
    }
    if rows.is_empty() {
        rows.push_str(r#"<tr><td colspan="3">no reading landed by a sink yet</td></tr>"#);
    }
    rows
}

/// A table row per device with its latest values.
fn latest_rows(devices: &BTreeMap<String, DeviceData>) -> String {
    let mut latest = String::new();
    for (index, (device, data)) in devices.iter().enumerate() {
        let Some((millis, values)) = data.latest else {
            continue;
        };
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
            .map(crate::payload::format_ts)
            .unwrap_or_default();
        let cell = |v: Option<f64>, d: usize| v.map_or_else(|| "–".into(), |v| format!("{v:.d$}"));
        latest.push_str(&format!(
            r#"<tr><td><span class="dot" style="background:{}"></span>{}</td><td>{at}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            svg::PALETTE[index % svg::PALETTE.len()],
            escape(device),
            cell(values[0], 2),
            cell(values[1], 1),
            cell(values[2], 1)
        ));
    }
    latest
}

/// An SVG line chart per measurement, a line per device.
fn charts(devices: &BTreeMap<String, DeviceData>) -> String {
    let mut charts = legend(devices);
    for (chart, (title, unit, _)) in CHARTS.iter().enumerate() {
        let sampled: Vec<Sampled> = devices
            .iter()
            .enumerate()
            .map(|(index, (device, data))| {
                (
                    device.clone(),
                    svg::PALETTE[index % svg::PALETTE.len()],
                    svg::downsample(&sorted(&data.compacted[chart]), 800),
                    svg::downsample(&sorted(&data.pending[chart]), 400),
                )
            })
            .collect();
        let mut series = Vec::new();
        for (device, color, compacted, pending) in &sampled {
            series.push(svg::Series {
                label: device,
                points: compacted,
                dashed: false,
                color,
            });
            series.push(svg::Series {
                label: device,
                points: pending,
                dashed: true,
                color,
            });
        }
        charts.push_str(&format!(
            "<section><h2>{title} <small>({unit})</small></h2>{}</section>",
            svg::line_chart(title, &series)
        ));
    }
    charts
}

/// Which colour is which device, and what solid and dashed lines mean.
fn legend(devices: &BTreeMap<String, DeviceData>) -> String {
    let entries: String = devices
        .keys()
        .enumerate()
        .map(|(index, device)| {
            format!(
                r#"<span class="entry"><span class="dot" style="background:{}"></span>{}</span>"#,
                svg::PALETTE[index % svg::PALETTE.len()],
                escape(device)
            )
        })
        .collect();
    format!(
        r#"<div class="legend" id="legend">{entries}<span class="entry">── compacted</span><span class="entry">- - pending</span></div>"#
    )
}

/// A device's chart lines: label, colour, compacted points, pending points.
type Sampled = (String, &'static str, Vec<(i64, f64)>, Vec<(i64, f64)>);

fn sorted(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut points = points.to_vec();
    points.sort_by_key(|p| p.0);
    points
}
