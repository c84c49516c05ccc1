//! Function processes as the kernel sees them: which run a marker in their command line
//! (a test's replicas, and no other test's), and whether one has exited.

/// Processes (not their `setpriv` wrapper) with `marker` in their command line.
pub fn pids_running(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (text.contains(marker) && !text.contains("setpriv") && !exited(pid)).then_some(pid)
        })
        .collect()
}

/// Whether `pid` is gone or a zombie (it has exited; its parent has not reaped it yet).
pub fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) state …`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_none_or(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}
