//! Per-client connection slots: how many connections one client network holds open at once.
//!
//! Keyed like the harvesting defence ([`NetKey`]: IPv4 /32, IPv6 /64 by default), so one IPv6
//! /64 cannot open as many connections as it has addresses. An entry exists only while a
//! connection is open, so the map never holds more entries than the listener's global cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::limit::client::NetKey;

/// Open connections per client network, shared by the listeners of one protocol.
#[derive(Default)]
pub struct ClientSlots(Mutex<HashMap<NetKey, u32>>);

/// One client's open connection; releases its slot when dropped.
pub struct ClientSlot {
    slots: Arc<ClientSlots>,
    key: NetKey,
}

impl ClientSlots {
    /// Take a slot for `key` unless it already holds `max`.
    pub fn take(self: &Arc<Self>, key: NetKey, max: u32) -> Option<ClientSlot> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(key).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            slots: Arc::clone(self),
            key,
        })
    }

    /// Client networks holding at least one connection.
    pub fn clients(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.slots.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn key(s: &str) -> NetKey {
        NetKey::of(s.parse::<IpAddr>().expect("ip"), 32, 64)
    }

    #[test]
    fn a_client_network_gets_at_most_max_and_slots_come_back() {
        let slots = Arc::new(ClientSlots::default());
        let a = slots.take(key("2001:db8:1:2::1"), 2).expect("first");
        let _b = slots
            .take(key("2001:db8:1:2::ffff"), 2)
            .expect("second, same /64");
        assert!(
            slots.take(key("2001:db8:1:2::7"), 2).is_none(),
            "third in the /64"
        );
        assert!(
            slots.take(key("2001:db8:1:3::1"), 2).is_some(),
            "another /64"
        );
        drop(a);
        assert!(slots.take(key("2001:db8:1:2::7"), 2).is_some(), "released");
        assert_eq!(slots.clients(), 1);
    }
}
