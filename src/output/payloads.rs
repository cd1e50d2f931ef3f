//! How `tail` prints payloads: a table row per reading (raw text for the
//! others), or each payload byte for byte as a JSON line; malformed ones warned
//! about, the first few each and then a count.

use std::io::Write;

use serde::Serialize;

use super::{Column, Format, Records, Row, number, sanitize};
use crate::payload::Reading;

/// A payload as a table row: valid readings show their values, others their
/// raw text. `topic` is the MQTT topic, or the shard a Kinesis record came from.
#[derive(Serialize)]
#[serde(untagged)]
pub enum MessageRow {
    Reading {
        topic: String,
        reading: Box<Reading>,
    },
    Malformed {
        topic: String,
        raw: String,
    },
}

impl Row for MessageRow {
    const COLUMNS: &'static [Column] = &[
        Column::left("time", 24),
        Column::left("topic/shard", 12),
        Column::left("device", 12),
        Column::right("seq", 5),
        Column::right("temp °C", 7),
        Column::right("humidity %", 10),
        Column::right("pressure hPa", 12),
    ];

    fn cells(&self) -> Vec<String> {
        match self {
            MessageRow::Reading { topic, reading: r } => vec![
                r.ts.clone(),
                topic.clone(),
                r.device_id.clone(),
                r.seq.to_string(),
                number(r.temperature_c, 2),
                number(r.humidity_pct, 2),
                number(r.pressure_hpa, 2),
            ],
            MessageRow::Malformed { topic, raw } => {
                let preview: String = raw.chars().take(80).collect();
                vec![
                    "(not schema v1)".into(),
                    topic.clone(),
                    preview,
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]
            }
        }
    }
}

/// Warnings about malformed payloads: each of the first few, then a count.
struct Malformed {
    seen: u64,
}

impl Malformed {
    const SHOWN: u64 = 20;

    fn warn(&mut self, topic: &str, error: &crate::payload::Invalid, payload: &[u8]) {
        self.seen += 1;
        if self.seen <= Self::SHOWN {
            let preview = String::from_utf8_lossy(&payload[..payload.len().min(120)]).into_owned();
            tracing::warn!(
                "malformed payload on {}: {error}: {}",
                sanitize(topic),
                sanitize(&preview)
            );
        }
    }

    fn finish(&self) {
        if self.seen > Self::SHOWN {
            tracing::warn!(
                "{} malformed payloads in all ({} shown)",
                self.seen,
                Self::SHOWN
            );
        }
    }
}

/// Prints payloads as they arrive: a table row, or the payload itself as a JSON line.
pub struct Printer {
    format: Format,
    terminal: bool,
    /// "topic" or "shard": what `-v` wraps each payload with.
    source: &'static str,
    show_source: bool,
    malformed: Malformed,
}

impl Printer {
    /// `source` names what `-v` wraps each payload with ("topic", "shard").
    pub fn new(output: &super::Output, source: &'static str, show_source: bool) -> Printer {
        Printer {
            format: output.format,
            terminal: output.is_terminal(),
            source,
            show_source,
            malformed: Malformed { seen: 0 },
        }
    }

    pub fn print(
        &mut self,
        records: &mut Records<'_, MessageRow>,
        source: &str,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let parsed = Reading::parse(payload);
        if let Err(error) = &parsed {
            self.malformed.warn(source, error, payload);
        }
        match self.format {
            Format::Jsonl => {
                let is_json = parsed.is_ok()
                    || serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_ok();
                let shown = self.show_source.then_some((self.source, source));
                // Byte for byte when piped; escaped where a terminal would act on it.
                let escaped;
                let payload = if self.terminal {
                    escaped = sanitize(&String::from_utf8_lossy(payload)).into_owned();
                    escaped.as_bytes()
                } else {
                    payload
                };
                write_jsonl(records.raw(), shown, payload, is_json)?
            }
            _ => records.write(&match parsed {
                Ok(reading) => MessageRow::Reading {
                    topic: source.to_string(),
                    reading: Box::new(reading),
                },
                Err(_) => MessageRow::Malformed {
                    topic: source.to_string(),
                    raw: String::from_utf8_lossy(payload).into_owned(),
                },
            })?,
        }
        if self.terminal {
            records.flush()?;
        }
        Ok(())
    }

    pub fn finish(&self) {
        self.malformed.finish();
    }
}

/// Writes one payload as received; with -v, wrapped with its topic (or shard)
/// as one JSON object.
fn write_jsonl(
    out: &mut dyn Write,
    source: Option<(&str, &str)>,
    payload: &[u8],
    is_json: bool,
) -> std::io::Result<()> {
    let Some((name, source)) = source else {
        out.write_all(payload)?;
        return out.write_all(b"\n");
    };
    let source = serde_json::to_string(source).unwrap_or_default();
    if is_json {
        write!(out, "{{\"{name}\":{source},\"payload\":")?;
        out.write_all(payload)?;
        out.write_all(b"}\n")
    } else {
        let raw = serde_json::to_string(&String::from_utf8_lossy(payload)).unwrap_or_default();
        writeln!(out, "{{\"{name}\":{source},\"payload_raw\":{raw}}}")
    }
}
