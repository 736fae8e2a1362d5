//! A real headless Chromium driven over W3C WebDriver (chromedriver), with plain HTTP
//! calls: enough to open a page, type into a field, press a button and read an
//! element's text.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// The W3C key under which an element reference comes back.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Debug)]
pub struct Browser {
    driver: Child,
    session: String,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session. The flags
    /// keep Chromium off the network it cannot reach here (see the machine notes).
    pub async fn launch() -> Self {
        let port = shared::testing::reserve_port();
        let mut driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (apt-get install chromium chromium-driver)");
        let stdout = driver.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        // chromedriver announces readiness on stdout; no polling.
        let started = lines.any(|line| line.is_ok_and(|l| l.contains("started successfully")));
        assert!(started, "chromedriver did not start");
        let profile = tempfile::tempdir().expect("profile dir");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        // The implicit wait lets element look-ups wait for the page a click navigated to
        // (a form submission returns before the next page has loaded).
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "timeouts": {"implicit": 10_000},
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let created = call(
            &http,
            reqwest::Method::POST,
            &format!("{base}/session"),
            Some(capabilities),
        )
        .await;
        let session = created["sessionId"].as_str().expect("a session id").to_owned();
        Self {
            driver,
            session,
            base,
            http,
            _profile: profile,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        call(&self.http, method, &url, body).await
    }

    pub async fn open(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The element `css` selects, waiting (the implicit wait) for a page that is still
    /// loading: what a test calls to know the next page has arrived.
    pub async fn find(&self, css: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Types `text` into the element (W3C "Element Send Keys").
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn current_url(&self) -> String {
        let url = self.command(reqwest::Method::GET, "/url", None).await;
        url.as_str().expect("a URL").to_owned()
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let text = self
            .command(reqwest::Method::GET, &format!("/element/{element}/text"), None)
            .await;
        text.as_str().expect("element text").to_owned()
    }

    pub async fn page_source(&self) -> String {
        let source = self.command(reqwest::Method::GET, "/source", None).await;
        source.as_str().expect("page source").to_owned()
    }

    /// Saves what the browser shows as a PNG at `path` (W3C "Take Screenshot").
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine as _;
        let shot = self.command(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().expect("base64 PNG"))
            .expect("base64");
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Ends the session (closing Chromium) and stops the driver.
    pub async fn close(mut self) {
        self.command(reqwest::Method::DELETE, "", None).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// One WebDriver call; returns its `value`, failing the test on a WebDriver error.
async fn call(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<Value>) -> Value {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("chromedriver reachable");
    let status = response.status();
    let mut reply: Value = response.json().await.expect("webdriver JSON");
    assert!(status.is_success(), "webdriver {url}: {status} {reply}");
    reply["value"].take()
}
