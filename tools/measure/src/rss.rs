//! Resident memory of this process, read from Linux's `/proc/self/status`.
//!
//! `bench` checks the memory a cached decode needs: the weights, the KV cache and a little
//! for activations. It resets the *peak* resident size (`VmHWM`) once the model is built, runs
//! a generation, and reads the peak again: what the decode itself held at its highest.
//! Elsewhere (no `/proc`) the figures are `None` and the report says so.

/// Peak resident set size since the start or the last [`reset_peak`], bytes.
pub fn peak_bytes() -> Option<u64> {
    status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Reset the peak to the current resident size (Linux: write `5` to `/proc/self/clear_refs`).
/// Returns whether it worked.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The value of one `Name:   1234 kB` line of `/proc/self/status`, in KiB.
fn status_kib(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib(&status, name)
}

fn parse_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    let mut words = line[name.len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_kib_lines_of_proc_status() {
        let status = "Name:\tbench\nVmHWM:\t  523412 kB\nVmRSS:\t   1024 kB\n";
        assert_eq!(parse_kib(status, "VmHWM:"), Some(523_412));
        assert_eq!(parse_kib(status, "VmRSS:"), Some(1024));
        assert_eq!(parse_kib(status, "VmSwap:"), None);
        assert_eq!(parse_kib("VmRSS:\t12 pages\n", "VmRSS:"), None, "only kB is understood");
    }

    #[test]
    fn on_linux_the_peak_is_at_least_the_current_size() {
        // one read of the file: two reads could see the process grow in between
        let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return };
        let (peak, now) = (parse_kib(&status, "VmHWM:").unwrap(), parse_kib(&status, "VmRSS:").unwrap());
        assert!(peak >= now, "VmHWM {peak} < VmRSS {now}");
        assert!(now > 0);
    }
}
