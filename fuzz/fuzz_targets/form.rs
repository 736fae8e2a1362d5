//! `/oauth2/*` form bodies: any bytes parse in one linear pass or are refused, never a
//! panic. A parsed form agrees with the standard parser: at most `MAX_PARAMS` names,
//! each once but RFC 8707 `resource`, every non-empty value readable, every empty one
//! absent.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use token_service::http::form::{FormParams, MAX_PARAMS};

fuzz_target!(|body: &[u8]| {
    let parsed = FormParams::from_body(body);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let once: Vec<&str> = pairs
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|n| *n != "resource")
        .collect();
    let distinct: HashSet<&str> = once.iter().copied().collect();
    let acceptable = pairs.len() <= MAX_PARAMS && distinct.len() == once.len();
    let Ok(form) = parsed else {
        assert!(!acceptable, "refused a form the standard parser reads cleanly");
        return;
    };
    assert!(acceptable, "accepted a repeated name or too many parameters");
    for (name, value) in pairs.iter().filter(|(name, _)| name != "resource") {
        let expected = (!value.is_empty()).then_some(value.as_str());
        assert_eq!(form.get(name), expected);
    }
    let resources: Vec<&str> = pairs
        .iter()
        .filter(|(name, value)| name == "resource" && !value.is_empty())
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(form.get_all("resource").collect::<Vec<_>>(), resources);
});
