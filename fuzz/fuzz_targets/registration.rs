//! The body of `POST /agent/identity`: any bytes become a typed request or a 4xx error,
//! never a panic, and no error message repeats what the client sent.
#![no_main]

use identity_service::http::RegistrationRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match RegistrationRequest::from_body(body) {
        Ok(RegistrationRequest::VerifiedEmail(email)) => {
            // Whatever was accepted can be addressed by the mailer.
            assert!(email.as_str().parse::<lettre::Address>().is_ok(), "{email}");
        }
        Ok(_) => {}
        Err(error) => {
            let status = actix_web::ResponseError::status_code(&error);
            assert!(status.is_client_error(), "{error} answered {status}");
            // Our messages are plain words; an echo of the body would bring its quotes,
            // braces or bytes outside this alphabet along.
            let message = error.to_string();
            let plain = |c: char| c.is_ascii_alphanumeric() || " -_.,;:()`/'".contains(c);
            assert!(message.chars().all(plain), "not our own words: {message}");
        }
    }
});
