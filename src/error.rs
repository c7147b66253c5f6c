//! What the library says about its errors beyond their message: hints for the user.

use std::error::Error as StdError;

/// A hint that says how to fix `error`, when the library has one for it.
///
/// The command line calls this on each error of a chain, so a hint attached to a cause deep
/// inside still reaches the user.
pub fn hint(error: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(e) = error.downcast_ref::<crate::pack::PackError>() {
        return e.hint();
    }
    None
}
