//! The module contexts (one per library per process: C_Initialize may
//! run once, and finalising would close every other key's sessions), the
//! logged-in sessions with one token, and the object a URI names.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use crate::{Pkcs11Error, Pkcs11Uri, Result};

/// Sessions opened per token key (the vault wraps and unwraps from the
/// appenders' threads; the sequencer signs from its own).
const SESSIONS: usize = 4;

/// A PKCS#11 failure at open or init (a wrong URI, PIN or token), in
/// words that say which key and what to do.
pub fn ck(what: &str, e: CkError) -> Pkcs11Error {
    Pkcs11Error::Config(format!("PKCS#11 {what}: {e}"))
}

/// A PKCS#11 failure while in use (the token went away, logged out): the
/// operation is refused; the caller may retry.
pub fn ck_unavailable(what: &str, e: CkError) -> Pkcs11Error {
    Pkcs11Error::Unavailable(format!("PKCS#11 {what}: {e}"))
}

/// The loaded modules, by path: a module is initialised once per process
/// and stays loaded (finalising it would close every other key's sessions).
fn module(path: &PathBuf) -> Result<Pkcs11> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut map = match MODULES.get_or_init(Default::default).lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some(m) = map.get(path) {
        return Ok(m.clone());
    }
    let m = Pkcs11::new(path)
        .map_err(|e| Pkcs11Error::Config(format!("PKCS#11 module {}: {e}", path.display())))?;
    match m.initialize(CInitializeArgs::OsThreads) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(ck(&format!("C_Initialize of {}", path.display()), e)),
    }
    map.insert(path.clone(), m.clone());
    Ok(m)
}

/// Logged-in sessions with the token a URI names.
pub struct Token {
    uri: Pkcs11Uri,
    sessions: Vec<Mutex<Session>>,
}

impl Token {
    /// Loads the module, finds the one token the URI names, and logs in
    /// with its PIN.
    pub fn open(uri: &Pkcs11Uri) -> Result<Token> {
        let pkcs11 = module(&uri.module_path)?;
        let slot = find_slot(&pkcs11, uri)?;
        let pin = uri.pin()?;
        let mut sessions = Vec::with_capacity(SESSIONS);
        for _ in 0..SESSIONS {
            let s = pkcs11.open_rw_session(slot).map_err(|e| ck("C_OpenSession", e))?;
            sessions.push(Mutex::new(s));
        }
        // Login is per application and token: once for every session.
        let first = lock(&sessions[0]);
        match first.login(UserType::User, Some(&AuthPin::new(pin.to_string()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(ck(&format!("login to token {}", token_name(uri)), e)),
        }
        drop(first);
        Ok(Token { uri: uri.clone(), sessions })
    }

    /// Runs `f` on a free session (or waits for the first one).
    pub fn with<T, E>(
        &self,
        f: impl FnOnce(&Session) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        for s in &self.sessions {
            if let Ok(g) = s.try_lock() {
                return f(&g);
            }
        }
        f(&lock(&self.sessions[0]))
    }

    /// The one object of `class` the URI names (by `object` label and/or
    /// `id`); `None` when there is none, an error when several match.
    pub fn find(&self, class: ObjectClass) -> Result<Option<ObjectHandle>> {
        let mut template = vec![Attribute::Class(class), Attribute::Token(true)];
        if let Some(label) = &self.uri.object {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let found = self.with(|s| s.find_objects(&template).map_err(|e| ck("C_FindObjects", e)))?;
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(Pkcs11Error::Config(format!(
                "{} objects in token {} match {}: give object= and id= to name one",
                found.len(),
                token_name(&self.uri),
                self.uri.to_stored_string()
            ))),
        }
    }

    /// The template attributes that name a new object as the URI does.
    pub fn naming(&self) -> Vec<Attribute> {
        let mut t = Vec::new();
        if let Some(label) = &self.uri.object {
            t.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.uri.id {
            t.push(Attribute::Id(id.clone()));
        }
        t
    }

    /// Refuses a private or secret key that the token would let out:
    /// CKA_SENSITIVE must be true and CKA_EXTRACTABLE false.
    pub fn check_kept_inside(&self, key: ObjectHandle, what: &str) -> Result<()> {
        let attrs = self.with(|s| {
            s.get_attributes(key, &[AttributeType::Sensitive, AttributeType::Extractable])
                .map_err(|e| ck("C_GetAttributeValue", e))
        })?;
        let (mut sensitive, mut extractable) = (false, true);
        for a in attrs {
            match a {
                Attribute::Sensitive(v) => sensitive = v,
                Attribute::Extractable(v) => extractable = v,
                _ => {}
            }
        }
        if !sensitive || extractable {
            return Err(Pkcs11Error::Config(format!(
                "the {what} {} can leave the token (CKA_SENSITIVE={sensitive}, \
                 CKA_EXTRACTABLE={extractable}): use a key made sensitive and non-extractable",
                self.uri.to_stored_string()
            )));
        }
        Ok(())
    }

    /// The URI, as recorded (no PIN).
    pub fn uri(&self) -> &Pkcs11Uri {
        &self.uri
    }
}

fn lock(m: &Mutex<Session>) -> MutexGuard<'_, Session> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn token_name(uri: &Pkcs11Uri) -> String {
    uri.token.clone().or_else(|| uri.serial.clone()).unwrap_or_default()
}

/// The one slot whose token matches every token attribute of the URI.
fn find_slot(pkcs11: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot> {
    let mut matches = Vec::new();
    for slot in pkcs11.get_slots_with_token().map_err(|e| ck("C_GetSlotList", e))? {
        if uri.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = pkcs11.get_token_info(slot).map_err(|e| ck("C_GetTokenInfo", e))?;
        let same = |want: &Option<String>, have: &str| {
            want.as_deref().is_none_or(|w| w.trim_end() == have.trim_end())
        };
        if same(&uri.token, info.label())
            && same(&uri.serial, info.serial_number())
            && same(&uri.manufacturer, info.manufacturer_id())
            && same(&uri.model, info.model())
        {
            matches.push(slot);
        }
    }
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(Pkcs11Error::Config(format!(
            "no token {:?} in PKCS#11 module {}: is the token present (and, for SoftHSM2, \
             SOFTHSM2_CONF pointing at its configuration)?",
            token_name(uri),
            uri.module_path.display()
        ))),
        _ => Err(Pkcs11Error::Config(format!(
            "{} tokens match {:?}: add serial= to the URI",
            matches.len(),
            token_name(uri)
        ))),
    }
}
