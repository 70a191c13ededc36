//! Parsed operations, kept by their text. Clients send the same few
//! operations over and over, and parsing one costs more than anything else a
//! request does before it reaches the database (a tenth of the CPU of a
//! 50-user page). Validation, depth and complexity limits still run on every
//! request; only the parse is reused.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Request;

/// Distinct operations kept: the SPA and GraphiQL send a few dozen.
const MAX_KEPT: usize = 256;
/// Longer texts are parsed each time, so that what is kept stays small.
const MAX_KEPT_LEN: usize = 8 * 1024;

#[derive(Default)]
pub struct ParsedQueries {
    by_text: Mutex<HashMap<String, ExecutableDocument>>,
}

impl ParsedQueries {
    /// Gives `request` its parsed operation, from what is kept or parsed now
    /// and kept. A text that does not parse is left for execution to report.
    pub fn prepare(&self, request: &mut Request) {
        if request.query.len() > MAX_KEPT_LEN {
            return;
        }
        if let Some(document) = self.kept().get(&request.query) {
            request.set_parsed_query(document.clone());
            return;
        }
        let Ok(document) = request.parsed_query() else {
            return;
        };
        let document = document.clone();
        let mut kept = self.kept();
        // Clients that build a new text per request (values inlined instead of
        // passed as variables) would otherwise grow this without bound.
        if kept.len() >= MAX_KEPT {
            kept.clear();
        }
        kept.insert(request.query.clone(), document);
    }

    /// Nothing here can panic halfway through a change, so a poisoned map is
    /// still whole.
    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, ExecutableDocument>> {
        self.by_text.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.kept().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_number_of_texts() {
        let parsed = ParsedQueries::default();
        for i in 0..MAX_KEPT + 10 {
            let mut request = Request::new(format!("{{ user(id: \"{i}\") {{ id }} }}"));
            parsed.prepare(&mut request);
            assert!(request.parsed_query().is_ok());
            assert!(parsed.len() <= MAX_KEPT);
        }
        assert_eq!(parsed.len(), 10, "the map starts over once full");
    }

    #[test]
    fn keeps_nothing_that_does_not_parse_or_is_too_long() {
        let parsed = ParsedQueries::default();
        let mut broken = Request::new("{ user(id: ");
        parsed.prepare(&mut broken);
        let mut long = Request::new(format!("{{ __typename }}{}", " ".repeat(MAX_KEPT_LEN)));
        parsed.prepare(&mut long);
        assert_eq!(parsed.len(), 0);
    }
}
