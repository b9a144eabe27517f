//! The receiver's chunked-body decoder, fed any bytes in any splits with any `--max-body`: the
//! body it builds never exceeds the limit, and it never panics (no arithmetic wraps).
//! Input: 4 bytes of limit, 1 byte of split size, then the wire bytes.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use manage::receiver::fuzzing::{ChunkedDecoder, RequestError};

fuzz_target!(|input: &[u8]| {
    if input.len() < 5 {
        return;
    }
    let max_body = u32::from_le_bytes([input[0], input[1], input[2], input[3]]) as u64 % (1 << 16);
    let step = usize::from(input[4]).max(1);
    let mut decoder = ChunkedDecoder::default();
    let (mut buffered, mut body) = (BytesMut::new(), BytesMut::new());
    for piece in input[5..].chunks(step) {
        buffered.extend_from_slice(piece);
        let result = decoder.decode(&mut buffered, &mut body, max_body);
        assert!(body.len() as u64 <= max_body, "{} > {max_body}", body.len());
        match result {
            Ok(true) | Err(_) => break,
            Ok(false) => {}
        }
        if let Err(RequestError::BodyTooLarge(size)) = result {
            assert!(size > max_body);
        }
    }
});
