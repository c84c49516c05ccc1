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

/// How many established TCP connections `pid` holds to `port` on the loopback: the
/// sockets among its file descriptors whose entry in its network namespace's
/// `/proc/net/tcp{,6}` is ESTABLISHED with that remote port.
pub fn connections_to(pid: u32, port: u16) -> usize {
    let owned: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| {
            let target = std::fs::read_link(fd.path()).ok()?;
            let inode = target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?;
            Some(inode.to_owned())
        })
        .collect();
    let port = format!("{port:04X}");
    ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok())
        .flat_map(|text| text.lines().skip(1).map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| {
            // `sl local_address rem_address st … uid timeout inode …`; state 01 is
            // ESTABLISHED, the remote port is the hex after the last ':'.
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 9
                && fields[3] == "01"
                && fields[2].rsplit(':').next() == Some(port.as_str())
                && owned.contains(fields[9])
        })
        .count()
}
