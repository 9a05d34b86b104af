//! Start the real binary on 127.0.0.1:0 and talk to it as a client would: raw HTTP/1.1 over a
//! TCP socket, so tests can also send what no polite client sends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A running server; killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub whois_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// Path of the config file the server was started with.
    pub config: PathBuf,
    log: Arc<Mutex<String>>,
    _config_dir: Option<tempfile::TempDir>,
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The whole response as received (head and body), for leak checks.
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rddsd")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

impl Server {
    /// Start `rddsd serve` with the demo registry plus `extra` flags. Budgets are off: most tests
    /// send far more queries than the default limits allow from one address.
    pub fn start(extra: &[&str]) -> Self {
        Self::with_config("", extra)
    }

    /// Start with a config file holding `toml`; `[limits] enabled = false` unless `toml` has its
    /// own `[limits]` table.
    pub fn with_config(toml: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("rddsd.toml");
        let text = if toml.contains("[limits]") {
            toml.to_string()
        } else {
            format!("{toml}\n[limits]\nenabled = false\n")
        };
        std::fs::write(&cfg, text).expect("write config");
        let mut srv = Self::spawn(&cfg, extra);
        srv._config_dir = Some(dir);
        srv
    }

    /// Like [`Server::with_config`], but started through `wrapper` (e.g. a shell that lowers a
    /// resource limit and then execs the server: `$0` is the binary, `$@` its arguments).
    pub fn with_config_wrapped(toml: &str, extra: &[&str], wrapper: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("rddsd.toml");
        std::fs::write(&cfg, format!("{toml}\n[limits]\nenabled = false\n")).expect("write config");
        let mut srv = Self::spawn_cmd(&cfg, extra, wrapper);
        srv._config_dir = Some(dir);
        srv
    }

    /// The demo registry (budgets off) with extra environment variables.
    pub fn with_env(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("rddsd.toml");
        std::fs::write(&cfg, "[limits]\nenabled = false\n").expect("write config");
        let mut srv = Self::spawn_full(&cfg, &[], &[], env);
        srv._config_dir = Some(dir);
        srv
    }

    fn spawn(config: &Path, extra: &[&str]) -> Self {
        Self::spawn_cmd(config, extra, &[])
    }

    fn spawn_cmd(config: &Path, extra: &[&str], wrapper: &[&str]) -> Self {
        Self::spawn_full(config, extra, wrapper, &[])
    }

    fn spawn_full(config: &Path, extra: &[&str], wrapper: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = match wrapper.split_first() {
            None => Command::new(bin()),
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin());
                c
            }
        };
        let mut child = cmd
            .envs(env.iter().copied())
            .arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--admin-listen", "127.0.0.1:0"])
            .args([
                "--rdap-listen",
                "127.0.0.1:0",
                "--whois-listen",
                "127.0.0.1:0",
                "--log",
                "info",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rddsd");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().expect("log lock");
                l.push_str(&line);
                l.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut addr, mut whois_addr, mut admin_addr) = (None, None, None);
        while addr.is_none() || whois_addr.is_none() || admin_addr.is_none() {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("rdap listening on http://") {
                        addr = Some(rest.parse().expect("address"));
                    }
                    if let Some(rest) = line.strip_prefix("whois listening on ") {
                        whois_addr = Some(rest.parse().expect("address"));
                    }
                    if let Some(rest) = line.strip_prefix("admin listening on http://") {
                        admin_addr = Some(rest.parse().expect("address"));
                    }
                }
                _ => panic!(
                    "server exited before listening; log:\n{}",
                    log.lock().expect("log")
                ),
            }
        }
        let (addr, whois_addr, admin_addr) = (
            addr.expect("rdap"),
            whois_addr.expect("whois"),
            admin_addr.expect("admin"),
        );
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            addr,
            whois_addr,
            admin_addr,
            config: config.to_path_buf(),
            log,
            _config_dir: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Wait until the log contains `needle` (bounded), returning whether it appeared.
    pub fn wait_log(&self, needle: &str) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Wait until the log contains `needle` at least `n` times (bounded); returns whether it did.
    pub fn wait_log_count(&self, needle: &str, n: usize) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if self.log().matches(needle).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The value of one metric line (`name{labels}`) on the admin listener.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let body = String::from_utf8_lossy(&self.admin_get("/metrics").body).to_string();
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// Wait until a metric has `value` (bounded); panics naming the last value seen.
    pub fn wait_metric(&self, series: &str, value: f64) {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.metric(series);
            if seen == Some(value) {
                return;
            }
            assert!(
                Instant::now() < until,
                "{series} never reached {value}: {seen:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Wait for the process to exit (bounded); returns its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[])
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        )
        .into_bytes();
        for (k, v) in headers {
            raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        self.raw(&raw)
    }

    /// A TCP connection to `to` from the loopback source address `from`, with a 15 s read
    /// timeout so a test never hangs.
    pub fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
        let domain = if to.is_ipv4() {
            socket2::Domain::IPV4
        } else {
            socket2::Domain::IPV6
        };
        let sock = socket2::Socket::new(domain, socket2::Type::STREAM, None).expect("socket");
        sock.bind(&SocketAddr::new(from, 0).into())
            .expect("bind source address");
        sock.connect(&to.into()).expect("connect");
        let s: TcpStream = sock.into();
        s.set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        s
    }

    /// Send raw bytes to `to` from the loopback source address `from`.
    pub fn raw_from(from: IpAddr, to: SocketAddr, bytes: &[u8]) -> Vec<u8> {
        let mut s = Self::connect_from(from, to);
        s.write_all(bytes).expect("write");
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        buf
    }

    /// An RDAP GET from a given loopback source address, with extra headers.
    pub fn get_from(&self, from: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut raw = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        )
        .into_bytes();
        for (k, v) in headers {
            raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        parse(&Self::raw_from(from.parse().expect("ip"), self.addr, &raw))
    }

    /// A WHOIS query (raw bytes) from a given loopback source address.
    pub fn whois_from(&self, from: &str, bytes: &[u8]) -> String {
        String::from_utf8_lossy(&Self::raw_from(
            from.parse().expect("ip"),
            self.whois_addr,
            bytes,
        ))
        .to_string()
    }

    /// GET a path on the admin listener.
    pub fn admin_get(&self, path: &str) -> Resp {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        parse(&Self::raw_from(LOCALHOST, self.admin_addr, raw.as_bytes()))
    }

    /// Send raw bytes to port 43, read until the server closes.
    pub fn whois_raw(&self, bytes: &[u8]) -> Vec<u8> {
        Self::raw_from(LOCALHOST, self.whois_addr, bytes)
    }

    /// One WHOIS query as a client sends it (CR LF), answer as text.
    pub fn whois(&self, query: &str) -> String {
        String::from_utf8(self.whois_raw(format!("{query}\r\n").as_bytes())).expect("UTF-8 answer")
    }

    /// Send raw bytes, read until the server closes, parse the response.
    pub fn raw(&self, bytes: &[u8]) -> Resp {
        parse(&Self::raw_from(LOCALHOST, self.addr, bytes))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET to a server's RDAP address, from any thread.
pub fn get_at(addr: SocketAddr, path: &str) -> Resp {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    parse(&Server::raw_from(LOCALHOST, addr, raw.as_bytes()))
}

/// A request with headers to a server's RDAP address, from any thread.
pub fn request_at(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut raw =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    for (k, v) in headers {
        raw.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    parse(&Server::raw_from(LOCALHOST, addr, &raw))
}

pub fn parse(buf: &[u8]) -> Resp {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: buf[split + 4..].to_vec(),
        raw: buf.to_vec(),
    }
}

/// Every fixture object, as parsed JSON lines.
pub fn fixture_objects(kind: &str) -> Vec<serde_json::Value> {
    let dir = fixtures().join("registry");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read fixture");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
            if v["kind"] == kind {
                out.push(v);
            }
        }
    }
    out
}

/// Percent-encode a path segment (non-ASCII and reserved bytes).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Run the `rddsd` CLI; whether it succeeded, and its stdout and stderr together.
pub fn rddsd(args: &[&str]) -> (bool, String) {
    // A database URL in the caller's environment would turn `check` into a database check.
    let out = Command::new(bin())
        .args(args)
        .env_remove("RDDSD_DATABASE_URL")
        .output()
        .expect("run rddsd");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Issue a credential with the real CLI (`rddsd authority add`), expiring in 2099; its id and
/// the bearer token printed once.
pub fn issue_credential(creds: &Path, authority: &str, purposes: &str) -> (String, String) {
    let (ok, out) = rddsd(&[
        "authority",
        "add",
        "--credentials",
        creds.to_str().expect("utf-8"),
        "--authority",
        authority,
        "--jurisdiction",
        "CH",
        "--contact",
        "desk@police.example",
        "--purposes",
        purposes,
        "--expires",
        "2099-01-01",
    ]);
    assert!(ok, "{out}");
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("secret (shown once, store it safely): "))
        .expect("token")
        .to_string();
    let id = token.split('_').nth(1).expect("id").to_string();
    (id, token)
}

/// The entries of a file disclosure log, one JSON object per line (none while it does not exist).
pub fn log_entries(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("log line is JSON"))
        .collect()
}
