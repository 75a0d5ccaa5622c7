//! A small local HTTP server answering AWS API calls, for the commands that talk to AWS with
//! no emulator at hand: each call is one POST; its operation is in `X-Amz-Target` (the JSON
//! protocols, e.g. Step Functions) or the form body's `Action` (the query protocol, e.g.
//! CloudFormation): <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One call as the server read it.
#[derive(Debug, Clone)]
pub struct Call {
    /// `X-Amz-Target`, or empty.
    pub target: String,
    /// The request body.
    pub body: String,
}

/// An answer: HTTP status, content type, body.
pub type Answer = (u16, &'static str, String);

fn read_call(reader: &mut BufReader<TcpStream>) -> Option<Call> {
    let (mut target, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "x-amz-target" => target = value.trim().to_owned(),
                "content-length" => length = value.trim().parse().ok()?,
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Call {
        target,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Serves `answer` on a free local port: its endpoint, and the calls it got, in order.
pub fn serve(answer: impl Fn(&Call) -> Answer + Send + 'static) -> (String, Arc<Mutex<Vec<Call>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            while let Some(call) = read_call(&mut reader) {
                let (status, content_type, body) = answer(&call);
                seen.lock().unwrap().push(call);
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if writer.write_all(response.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    (endpoint, calls)
}
