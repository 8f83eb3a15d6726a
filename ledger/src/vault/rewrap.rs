//! What a master key rotation needs of the vault: every wrapped-key write
//! under a ticket (so that the rotation can wait for those in flight), a
//! wrapped key brought under the current master key before it is
//! written, and stored keys re-wrapped in batches without racing an
//! erasure (docs/long-term.md, "Master key rotation").

use std::sync::{Condvar, Mutex};

use super::{key_aad, KeyId, KeyStore, Vault};
use crate::error::{LedgerError, Result};
use crate::sealing::Aead;

/// First byte of a key wrapped under a master key of epoch >= 1
/// (`0x04 || epoch u32 BE || the epoch key's own wrap`, [`crate::epochs`]).
pub const LAYOUT_EPOCH: u8 = 4;
const EPOCH_HEADER: usize = 1 + 4;

/// A master-key epoch number (0: the key made at `init`).
pub type Epoch = u32;

/// The epoch a wrapped key names, and the epoch key's own wrap in it.
pub fn split_wrapped(wrapped: &[u8]) -> Result<(Epoch, &[u8])> {
    if wrapped.first() != Some(&LAYOUT_EPOCH) {
        return Ok((0, wrapped));
    }
    let epoch = wrapped
        .get(1..EPOCH_HEADER)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| LedgerError::Corrupt("a wrapped key's epoch header is cut short".into()))?;
    if epoch == 0 {
        return Err(LedgerError::Corrupt("a wrapped key names epoch 0 in an epoch header".into()));
    }
    Ok((epoch, &wrapped[EPOCH_HEADER..]))
}

/// The AEAD a wrapped key was made with, where its layout names one (a
/// token's wrap does not: `None`).
pub fn wrapped_aead(wrapped: &[u8]) -> Option<Aead> {
    let (_, inner) = split_wrapped(wrapped).ok()?;
    Aead::from_layout(*inner.first()?).ok()
}

/// Wrapped-key writes in flight.
#[derive(Default)]
pub(super) struct Gate {
    state: Mutex<GateState>,
    cv: Condvar,
}

#[derive(Default)]
struct GateState {
    writers: usize,
    closed: bool,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn wait<'a>(
        &self,
        g: std::sync::MutexGuard<'a, GateState>,
    ) -> std::sync::MutexGuard<'a, GateState> {
        match self.cv.wait(g) {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// Held from the moment a wrapped key is brought under the current master
/// key until it is written (or dropped): a rotation's drain waits for it.
pub struct WriteTicket<'a> {
    gate: &'a Gate,
}

impl Drop for WriteTicket<'_> {
    fn drop(&mut self) {
        let mut g = self.gate.lock();
        g.writers -= 1;
        drop(g);
        self.gate.cv.notify_all();
    }
}

/// Stored keys re-wrapped by one call of [`Vault::rewrap_stored`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rewrapped {
    /// Brought under the current master key.
    pub rewrapped: usize,
    /// Left as they were: an erasure in progress holds them (deleted by
    /// it, or re-wrapped by a later pass if it fails).
    pub held: usize,
}

impl Vault {
    /// A ticket for one wrapped-key write: take it before
    /// [`Vault::current_wrap`], keep it until the write is done. Never
    /// take a second while holding one (a drain would wait for ever).
    pub fn write_ticket(&self) -> WriteTicket<'_> {
        let mut g = self.gate.lock();
        while g.closed {
            g = self.gate.wait(g);
        }
        g.writers += 1;
        WriteTicket { gate: &self.gate }
    }

    /// Waits until every ticket taken before now is dropped (new ones wait
    /// meanwhile): after it, every wrapped-key write starts after the
    /// rotation's switch, so it writes the current master key's wrap.
    pub fn drain_writes(&self) {
        let mut g = self.gate.lock();
        g.closed = true;
        while g.writers > 0 {
            g = self.gate.wait(g);
        }
        g.closed = false;
        drop(g);
        self.gate.cv.notify_all();
    }

    /// `wrapped` if it names the current master key, else `key` wrapped
    /// anew under it (with the AEAD `wrapped` used).
    pub(super) fn current_form(
        &self,
        id: &KeyId,
        wrapped: &[u8],
        key: &[u8; 32],
    ) -> Result<Vec<u8>> {
        if self.master.is_current(wrapped) {
            return Ok(wrapped.to_vec());
        }
        let aead = wrapped_aead(wrapped).unwrap_or(self.aead());
        self.master.wrap_with(aead, key, &key_aad(id))
    }

    /// The form of a new wrapped key to write now (under a ticket): the
    /// current master key's, re-wrapped from the cached key or from the
    /// epoch it names while that one is still held.
    pub fn current_wrap(&self, id: &KeyId, wrapped: &[u8]) -> Result<Vec<u8>> {
        if self.master.is_current(wrapped) {
            return Ok(wrapped.to_vec());
        }
        let cached = self.lock().keys.get(id).map(|c| c.key.clone());
        let key = match cached {
            Some(k) => k,
            None => self.master.unwrap(wrapped, &key_aad(id)).map_err(|e| {
                LedgerError::Unavailable(format!(
                    "a new document key was wrapped under a master key since retired ({e}); retry"
                ))
            })?,
        };
        self.current_form(id, wrapped, &key)
    }

    /// Re-wraps the cached keys not yet written (after a rotation's switch).
    pub fn rewrap_pending(&self) -> Result<()> {
        let mut inner = self.lock();
        let ids: Vec<KeyId> = inner
            .keys
            .iter()
            .filter(|(_, c)| c.pending.as_deref().is_some_and(|w| !self.master.is_current(w)))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(c) = inner.keys.get_mut(&id) {
                if let Some(w) = &c.pending {
                    let new = self.current_form(&id, w, &c.key)?;
                    c.pending = Some(new);
                }
            }
        }
        Ok(())
    }

    /// Re-wraps stored keys that name a master key other than the current
    /// one, written in one unsynced batch (made durable by the rotation's
    /// synced write before it retires anything). Under the vault's lock:
    /// an erasure marks its key before it deletes it, so a key it erases
    /// is never written back.
    pub fn rewrap_stored(
        &self,
        store: &dyn KeyStore,
        items: &[(KeyId, Vec<u8>)],
    ) -> Result<Rewrapped> {
        let inner = self.lock();
        let mut out = Vec::new();
        let mut held = 0;
        for (id, wrapped) in items {
            if self.master.is_current(wrapped) {
                continue;
            }
            if inner.erased.contains(id) {
                held += 1;
                continue;
            }
            let key = self.master.unwrap(wrapped, &key_aad(id))?;
            out.push((*id, self.current_form(id, wrapped, &key)?));
        }
        if !out.is_empty() {
            store.put_wrapped_keys(&out)?;
        }
        drop(inner);
        Ok(Rewrapped { rewrapped: out.len(), held })
    }

    /// Whether `wrapped` names the current master key.
    pub fn is_current(&self, wrapped: &[u8]) -> bool {
        self.master.is_current(wrapped)
    }
}
