//! The open-files limit against the connection caps.
//!
//! Every connection is a descriptor. If the caps add up to more than the process may open,
//! `accept` fails with EMFILE before any cap refuses, and new clients wait in the kernel's
//! backlog instead of getting a clear "busy". So at start the soft limit is raised as far as
//! the hard limit allows, and if that is still too low the caps are lowered to fit, loudly.

/// Busy answers being written at once, per protocol; past it a refused connection is closed
/// without an answer. Their descriptors are part of [`RESERVED`].
pub const REFUSING: usize = 64;

/// Descriptors kept back for everything that is not a client connection: listeners, the
/// runtime, log and data files, the disclosure log, reload, the refusals being written, and the
/// pre-empted connections still closing ([`crate::limit::conns::MAX_PREEMPTING`] per protocol).
pub const RESERVED: u64 = 64 + 2 * (REFUSING as u64 + crate::limit::conns::MAX_PREEMPTING as u64);

/// Connection caps, as configured or as lowered to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// RDAP connections in total.
    pub rdap: usize,
    /// Port 43 connections in total.
    pub whois: usize,
    /// Admin connections in total.
    pub admin: usize,
}

impl Caps {
    fn total(self) -> u64 {
        (self.rdap + self.whois + self.admin) as u64
    }

    /// The caps that fit in `limit` descriptors: unchanged when they fit, otherwise RDAP and
    /// port 43 shrunk in proportion (each at least 1; admin is small and kept).
    pub fn fit(self, limit: u64) -> Self {
        let need = self.total() + RESERVED;
        if need <= limit {
            return self;
        }
        let room = limit.saturating_sub(RESERVED + self.admin as u64);
        let public = (self.rdap + self.whois) as u64;
        let scale = |n: usize| -> usize {
            usize::try_from(u128::from(n as u64) * u128::from(room) / u128::from(public.max(1)))
                .unwrap_or(usize::MAX)
                .max(1)
        };
        Self {
            rdap: scale(self.rdap),
            whois: scale(self.whois),
            admin: self.admin,
        }
    }
}

/// Raise the soft open-files limit towards what `caps` need (never above the hard limit) and
/// return the caps that fit what the process got.
pub fn raise_and_fit(caps: Caps) -> Caps {
    let need = caps.total() + RESERVED;
    let limit = match rlimit::increase_nofile_limit(need) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-files limit; keeping the configured connection caps");
            return caps;
        }
    };
    let fitted = caps.fit(limit);
    if fitted != caps {
        tracing::warn!(
            open_files_limit = limit,
            needed = need,
            rdap_max_connections = fitted.rdap,
            whois_max_connections = fitted.whois,
            "the open-files limit is below the connection caps; caps lowered to fit (raise LimitNOFILE / ulimit -n)"
        );
    } else {
        tracing::debug!(
            open_files_limit = limit,
            needed = need,
            "open-files limit fits the connection caps"
        );
    }
    fitted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_fit_the_limit() {
        let caps = Caps {
            rdap: 1024,
            whois: 256,
            admin: 16,
        };
        assert_eq!(caps.fit(100_000), caps);
        let small = caps.fit(256);
        assert!(small.total() + RESERVED <= 256, "{small:?}");
        assert!(small.rdap > small.whois && small.whois >= 1);
        let tiny = caps.fit(10);
        assert_eq!((tiny.rdap, tiny.whois), (1, 1));
    }
}
