//! What the process's memory is made of as the program itself sees it: the
//! bytes its allocations hold (counted by a thin wrapper around the system
//! allocator) and the anonymous memory it has mapped (`/proc/self/maps`, which
//! qemu-user answers for the guest, not for itself). Beside the resident size
//! the kernel reports for the whole process, they tell a leak (the first
//! grows) from the allocator's own growth (the second) from an emulator's
//! (neither).

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes held by live allocations. A reallocation counts its growth as
/// allocated and its shrinking as deallocated (and once more, as a signed
/// total of its own, which is therefore not added here).
pub fn live_bytes() -> u64 {
    let stats = ALLOCATOR.stats();
    let held = stats.bytes_allocated as i128 - stats.bytes_deallocated as i128;
    u64::try_from(held.max(0)).unwrap_or(u64::MAX)
}

/// Bytes of anonymous memory mapped (the allocator's arenas and large
/// blocks, thread stacks), from `/proc/self/maps`; None where there is none.
pub fn mapped_anonymous_bytes() -> Option<u64> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    Some(anonymous_in(&maps))
}

fn anonymous_in(maps: &str) -> u64 {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let inode = fields.nth(3)?;
            let path = fields.next();
            let anonymous = inode == "0" && path.is_none_or(|p| p == "[heap]");
            let (start, end) = range.split_once('-')?;
            let size = u64::from_str_radix(end, 16).ok()? - u64::from_str_radix(start, 16).ok()?;
            anonymous.then_some(size)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_mappings_and_the_heap_are_counted_files_are_not() {
        let maps = "\
55d0c0000000-55d0c0021000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000100000 rw-p 00000000 00:00 0 
7f0000100000-7f0000200000 r-xp 00000000 08:01 1234                       /usr/lib/libc.so.6
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]";
        assert_eq!(anonymous_in(maps), 0x21000 + 0x100000);
    }

    #[test]
    fn what_is_allocated_is_counted_until_freed() {
        let before = live_bytes();
        let block = vec![0u8; 8 << 20];
        assert!(live_bytes() >= before + (8 << 20) - (1 << 20));
        drop(block);
        assert!(mapped_anonymous_bytes().is_some_and(|b| b > 0));
    }

    /// A vector grown by reallocation and freed leaves nothing counted
    /// (another test's allocations may come and go meanwhile: a margin).
    #[test]
    fn growth_by_reallocation_is_counted_once() {
        let before = live_bytes();
        for _ in 0..20 {
            let mut grown: Vec<u64> = Vec::new();
            for i in 0..100_000 {
                grown.push(i);
            }
        }
        let after = live_bytes();
        assert!(after < before + (4 << 20), "{before} -> {after}");
    }
}
