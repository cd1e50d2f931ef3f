//! Recorded readings as a source: JSON lines of schema v1 (what
//! `iotpipe sense -o jsonl` writes), validated line by line.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use super::{SenseError, Source};
use crate::payload::Reading;

pub struct Replay {
    path: PathBuf,
    reader: std::io::BufReader<std::fs::File>,
    line: usize,
}

/// The longest line a recording may hold: a reading is a few hundred bytes,
/// and a line that never ends (a device file) must not fill memory.
const MAX_LINE: u64 = 1024 * 1024;

impl Replay {
    pub fn open(path: &Path) -> Result<Replay, SenseError> {
        let file = std::fs::File::open(path).map_err(|source| SenseError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Replay {
            path: path.to_path_buf(),
            reader: std::io::BufReader::new(file),
            line: 0,
        })
    }
}

/// The readings in order; None at the end of the file.
impl Iterator for Replay {
    type Item = Result<Reading, SenseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut text = Vec::new();
            let read = (&mut self.reader)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut text);
            self.line += 1;
            let fail = |reason: String| SenseError::Replay {
                path: self.path.clone(),
                line: self.line,
                reason,
            };
            match read {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(fail(e.to_string()))),
            }
            if text.len() as u64 > MAX_LINE {
                return Some(Err(fail(format!(
                    "longer than {MAX_LINE} bytes: not a reading (is this a recording?)"
                ))));
            }
            if text.trim_ascii().is_empty() {
                continue;
            }
            return Some(Reading::parse(&text).map_err(|e| fail(e.to_string())));
        }
    }
}

impl Source for Replay {
    fn next_reading(&mut self) -> Result<Reading, SenseError> {
        self.next().unwrap_or_else(|| {
            Err(SenseError::Replay {
                path: self.path.clone(),
                line: self.line,
                reason: "end of the recording".into(),
            })
        })
    }
}
