//! Job decoding: any bytes in a job hash's `data` field (zlib or not, pickle or JSON) either
//! decode or give an error; never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use manage::rq::serializer::{decode_data, parse_python_json};

fuzz_target!(|data: &[u8]| {
    let _ = decode_data(data);
    let _ = parse_python_json(data);
});
