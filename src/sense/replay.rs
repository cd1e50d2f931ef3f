//! Recorded readings as a source: JSON lines of schema v1 (what
//! `iotpipe sense -o jsonl` writes), validated line by line.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::{SenseError, Source};
use crate::payload::Reading;

pub struct Replay {
    path: PathBuf,
    lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
    line: usize,
}

impl Replay {
    pub fn open(path: &Path) -> Result<Replay, SenseError> {
        let file = std::fs::File::open(path).map_err(|source| SenseError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Replay {
            path: path.to_path_buf(),
            lines: std::io::BufReader::new(file).lines(),
            line: 0,
        })
    }
}

/// The readings in order; None at the end of the file.
impl Iterator for Replay {
    type Item = Result<Reading, SenseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let text = self.lines.next()?;
            self.line += 1;
            let fail = |reason: String| SenseError::Replay {
                path: self.path.clone(),
                line: self.line,
                reason,
            };
            let text = match text {
                Ok(text) => text,
                Err(e) => return Some(Err(fail(e.to_string()))),
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some(Reading::parse(text.as_bytes()).map_err(|e| fail(e.to_string())));
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
