//! The journal: appends, acknowledgements, the cap, repairs, reading back.

use super::*;

fn payloads(records: &[Entry]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.payload).into_owned())
        .collect()
}

#[test]
fn unacked_messages_survive_a_restart_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut outbox, pending) = Journal::open(dir.path(), 1 << 30).unwrap();
    assert!(pending.is_empty());
    for i in 0..10 {
        outbox.append("t", format!("m{i}").as_bytes()).unwrap();
    }
    outbox.sync().unwrap();
    for id in [0, 1, 2, 4] {
        outbox.ack(id).unwrap();
    }
    outbox.close().unwrap();
    drop(outbox);
    let (mut outbox, pending) = Journal::open(dir.path(), 1 << 30).unwrap();
    // 3 was never acknowledged, so 3.. come back (4 again: at-least-once).
    assert_eq!(
        payloads(&pending),
        ["m3", "m4", "m5", "m6", "m7", "m8", "m9"]
    );
    assert_eq!(
        outbox.append("t", b"new").unwrap(),
        10,
        "ids continue after a restart"
    );
}

#[test]
fn a_torn_tail_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (mut outbox, _) = Journal::open(dir.path(), 1 << 30).unwrap();
    outbox.append("t", b"whole").unwrap();
    outbox.append("t", b"torn").unwrap();
    outbox.close().unwrap();
    drop(outbox);
    let segment = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap();
    let len = fs::metadata(&segment).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 2)
        .unwrap();
    let (mut outbox, pending) = Journal::open(dir.path(), 1 << 30).unwrap();
    assert_eq!(payloads(&pending), ["whole"]);
    outbox.append("t", b"after").unwrap();
    outbox.close().unwrap();
    drop(outbox);
    let (_, pending) = Journal::open(dir.path(), 1 << 30).unwrap();
    assert_eq!(payloads(&pending), ["whole", "after"]);
}

#[test]
fn fully_acknowledged_segments_are_removed_and_the_cap_drops_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let (mut outbox, _) = Journal::open(dir.path(), 3 * SEGMENT_BYTES).unwrap();
    let payload = vec![b'x'; 64 * 1024];
    for _ in 0..80 {
        outbox.append("t", &payload).unwrap();
    }
    outbox.sync().unwrap();
    let segments = || {
        fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "log")
            })
            .count()
    };
    assert!(segments() <= 3, "cap holds: {} segments", segments());
    assert!(outbox.dropped > 0);
    let first_kept = (0..80).find(|id| !outbox.is_gone(*id)).unwrap();
    for id in first_kept..80 {
        outbox.ack(id).unwrap();
    }
    assert_eq!(outbox.unacked(), 0);
    assert_eq!(segments(), 1);
}

/// Messages read back by id (what a publisher holds only on disk during
/// an outage), unsynced ones included; those the cap dropped are skipped.
#[test]
fn messages_are_read_back_from_an_id_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut outbox, _) = Journal::open(dir.path(), 3 * SEGMENT_BYTES).unwrap();
    for i in 0..10u32 {
        outbox.append("t", &i.to_le_bytes()).unwrap();
    }
    let read = outbox.read_from(4, 3).unwrap();
    assert_eq!(read.iter().map(|e| e.id).collect::<Vec<_>>(), [4, 5, 6]);
    assert_eq!(read[0].payload, 4u32.to_le_bytes());
    assert_eq!(outbox.read_from(8, 100).unwrap().len(), 2);
    // Past the cap: the oldest segments are gone, reading starts later.
    let payload = vec![b'x'; 64 * 1024];
    for _ in 0..80 {
        outbox.append("t", &payload).unwrap();
    }
    let first = outbox.read_from(0, 1).unwrap()[0].id;
    assert!(
        first > 10 && outbox.is_gone(first - 1),
        "first kept: {first}"
    );
    assert_eq!(outbox.next_id(), 90);
}

fn only_segment(dir: &Path) -> PathBuf {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap()
}

#[test]
fn a_corrupt_record_mid_segment_is_skipped_and_later_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (mut outbox, _) = Journal::open(dir.path(), 1 << 30).unwrap();
    for i in 0..10 {
        outbox
            .append("t", format!("message-{i}").as_bytes())
            .unwrap();
    }
    outbox.close().unwrap();
    drop(outbox);
    let segment = only_segment(dir.path());
    let mut bytes = fs::read(&segment).unwrap();
    let record = bytes.len() / 10;
    // A flipped payload byte in record 3, and a garbled length in record 6.
    bytes[3 * record + record - 1] ^= 0xff;
    bytes[6 * record] = 0xee;
    bytes[6 * record + 3] = 0x7f;
    fs::write(&segment, &bytes).unwrap();

    let (mut outbox, pending) = Journal::open(dir.path(), 1 << 30).unwrap();
    assert_eq!(
        payloads(&pending),
        [
            "message-0",
            "message-1",
            "message-2",
            "message-4",
            "message-5",
            "message-7",
            "message-8",
            "message-9"
        ]
    );
    // Appending goes on after the last good record; nothing is cut.
    outbox.append("t", b"after").unwrap();
    outbox.close().unwrap();
    drop(outbox);
    let (_, pending) = Journal::open(dir.path(), 1 << 30).unwrap();
    assert_eq!(pending.len(), 9);
    assert_eq!(payloads(&pending).last().unwrap(), "after");
}
