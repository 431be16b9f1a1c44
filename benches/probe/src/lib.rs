//! A probe of what Spin charges a request: variables read, the store opened, statements run,
//! fresh memory touched.
//! The response is written whole before its head is set, as the portal writes it.

use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::wit::wasi::http0_2_0::types::OutgoingBody;

#[http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    let path = request.path_with_query().unwrap_or_default();
    let count = |prefix: &str| path.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
    let mut answered = 0;
    if let Some(mebibytes) = count("/first-touch/") {
        // What Argon2's fresh blocks cost before any hashing: memory above what Spin keeps
        // resident between requests is faulted in page by page. Answers the microseconds of a
        // first write to each 4 KiB page, then of a second.
        // Capacity only: `vec![0; n]` would write (fault in) every page before the clock starts.
        let mut memory: Vec<u8> = Vec::with_capacity(mebibytes << 20);
        let mut pass = |value: u8| {
            let start = std::time::Instant::now();
            for page in memory.spare_capacity_mut().chunks_mut(4096) {
                page[0].write(value);
            }
            std::hint::black_box(&memory);
            start.elapsed().as_micros()
        };
        let (first, second) = (pass(1), pass(2));
        let body = format!("{first} {second}").into_bytes();
        return respond(response_out, body);
    }
    if let Some(variables) = count("/variables/") {
        for i in 0..variables {
            answered += spin_sdk::variables::get(&format!("v{}", i % 10)).map_or(0, |value| value.len());
        }
    } else if let Some(statements) = count("/sqlite/") {
        let connection = spin_sdk::sqlite::Connection::open_default().expect("the default store");
        for _ in 0..statements {
            // A statement on the schema table: SQLite reads the schema first, as for any statement on
            // a table (a bare `SELECT 1` would not).
            answered += connection
                .execute("SELECT COUNT(*) FROM sqlite_master", &[])
                .map_or(0, |result| result.rows.len());
        }
    }
    respond(response_out, answered.to_string().into_bytes());
}

fn respond(response_out: ResponseOutparam, body: Vec<u8>) {
    let headers = Fields::from_list(&[("content-length".to_owned(), body.len().to_string().into_bytes())])
        .expect("a content-length header");
    let response = OutgoingResponse::new(headers);
    let outgoing = response.body().expect("a body");
    {
        let stream = outgoing.write().expect("a body stream");
        stream.write(&body).expect("a small body fits the host's buffer");
    }
    OutgoingBody::finish(outgoing, None).expect("the body ends");
    response_out.set(response);
}
