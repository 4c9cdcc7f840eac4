//! A tiny HTTP/1.1 server on 127.0.0.1 for answers the peers cannot give
//! (AWS throttling, the Pricing API that moto lacks). It runs on plain
//! threads, so it serves the test's own clients and a spawned nodecast alike,
//! and records every request.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as received: lower-cased header lines and the body.
#[derive(Clone, Debug)]
pub struct Request {
    pub head: String,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}:", name.to_lowercase());
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::trim)
    }
}

/// (status line, content type, body) for the n-th request (from 0).
pub type Answer = (&'static str, &'static str, String);

pub struct FakeServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeServer {
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// One HTTP/1.1 message as received: its lower-cased head, and the raw
/// bytes of the head and its Content-Length body.
pub fn read_message(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (end, len) = loop {
        let n = s.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end, len);
        }
    };
    while buf.len() < end + 4 + len {
        let n = s.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.truncate(end + 4 + len);
    Some((String::from_utf8_lossy(&buf[..end]).to_lowercase(), buf))
}

fn read_request(s: &mut TcpStream) -> Option<Request> {
    let (head, raw) = read_message(s)?;
    let body = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    Some(Request {
        head,
        body: String::from_utf8_lossy(&raw[body..]).into_owned(),
    })
}

/// Serves `answer(n, &request)` to the n-th request, on keep-alive
/// connections, until the test process ends.
pub fn serve(answer: impl Fn(usize, &Request) -> Answer + Send + Sync + 'static) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
    let seen = requests.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let (seen, answer) = (seen.clone(), answer.clone());
            std::thread::spawn(move || {
                while let Some(req) = read_request(&mut s) {
                    let n = {
                        let Ok(mut all) = seen.lock() else { return };
                        all.push(req.clone());
                        all.len() - 1
                    };
                    let (status, content_type, body) = answer(n, &req);
                    let resp = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    FakeServer { url, requests }
}
