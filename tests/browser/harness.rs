//! The browser harness: one chromedriver per test process (killed when the process ends, however
//! it ends), Chromium sessions with a fake camera and microphone and a fresh profile each,
//! polling waits, axe-core and screenshots.

use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use thirtyfour::prelude::*;

/// How long an ordinary step may take (a page reacting to a click, a list refreshing).
pub const WAIT: Duration = Duration::from_secs(15);

/// A phone-sized viewport for the citizen pages; a desk screen for the staff pages.
pub const PHONE: (u32, u32) = (412, 915);
pub const DESK: (u32, u32) = (1366, 900);
/// The narrow phones the citizen pages must fit (issue 12: 360 and 390 px wide).
pub const NARROW_PHONES: [(u32, u32); 2] = [(360, 740), (390, 844)];

/// What an Android phone's Chrome sends (phone-sized windows say they are phones).
const PHONE_USER_AGENT: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
    (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36";

// ---------------------------------------------------------------------------
// Polling

/// Polls `probe` until it returns `Ok`, or panics after `timeout` with `what` and the last
/// `Err` (what the page showed instead). Never a fixed sleep standing in for an assertion.
pub async fn wait_until<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(25);
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if started.elapsed() >= timeout => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}

/// Waits until `sql` (one value) returns a row: what the server stores a moment after the page
/// shows it.
pub async fn stored(app: &crate::helpers::TestApp, what: &str, sql: &str) -> String {
    wait_until(WAIT, what, || async {
        app.scalar(sql)
            .await
            .ok_or_else(|| "not stored yet".to_string())
    })
    .await
}

// ---------------------------------------------------------------------------
// chromedriver: one per test process

static DRIVER_PID: AtomicI32 = AtomicI32::new(0);

/// Browser profile folders not yet removed (a failed test's browser is cleaned up in the
/// background, which the end of the process may cut short).
static PROFILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn kill_chromedriver() {
    let pid = DRIVER_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // chromedriver leads its own process group; the browsers it started are in it too.
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    if let Ok(mut left) = PROFILES.try_lock() {
        for dir in left.drain(..) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn forget_profile(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    if let Ok(mut left) = PROFILES.lock() {
        left.retain(|d| d != dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// The chromedriver of this test process (started on first use): its base URL.
pub fn chromedriver() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let bin = std::env::var("LOKET_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let mut last_error = String::new();
        for _ in 0..3 {
            match start_chromedriver(&bin) {
                Ok(url) => return url,
                Err(e) => last_error = e,
            }
        }
        panic!(
            "could not start chromedriver ({bin}): {last_error}. Run scripts/test (it installs \
             chromium and chromium-driver), or `apt-get install chromium chromium-driver`."
        )
    })
}

fn start_chromedriver(bin: &str) -> Result<String, String> {
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe. The parent-death signal follows the launching
    // thread, which waits on the child for as long as it runs (and so lives as long as the
    // process unless chromedriver exits first): a killed test process takes chromedriver along.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let exited = std::sync::Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let exited = exited.clone();
        std::thread::Builder::new()
            .name("loket-chromedriver".into())
            .spawn(move || match cmd.spawn() {
                Ok(mut child) => {
                    let _ = tx.send(Ok(child.id()));
                    let _ = child.wait();
                    exited.store(true, Ordering::SeqCst);
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            })
            .map_err(|e| e.to_string())?;
    }
    let pid = rx.recv().map_err(|e| e.to_string())??;
    let pid = i32::try_from(pid).map_err(|e| e.to_string())?;
    if DRIVER_PID.swap(pid, Ordering::SeqCst) == 0 {
        // SAFETY: registering a plain extern "C" fn with no captured state.
        unsafe {
            libc::atexit(kill_chromedriver);
        }
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if exited.load(Ordering::SeqCst) {
            return Err(format!("chromedriver exited at start (port {port} taken?)"));
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    kill_chromedriver();
    Err("chromedriver did not listen within 20 s".into())
}

// ---------------------------------------------------------------------------
// A browser session

/// One Chromium window with its own fresh profile. Tests end it with [`Browser::quit`]; one
/// dropped without (a failed assertion) is ended in the background, and its profile removed.
pub struct Browser {
    driver: Option<WebDriver>,
    profile: PathBuf,
    /// Prefixes messages: "citizen", "clerk"…
    pub who: &'static str,
}

impl Browser {
    /// A phone-sized window (the citizen pages).
    pub async fn phone(who: &'static str) -> Browser {
        Browser::open(who, PHONE).await
    }

    /// A desk-sized window (the staff pages).
    pub async fn desk(who: &'static str) -> Browser {
        Browser::open(who, DESK).await
    }

    /// A phone-sized window whose fake camera shows the frames of `y4m` (looped; one frame is
    /// a still picture) instead of Chromium's moving test pattern.
    pub async fn phone_with_camera(who: &'static str, y4m: &Path) -> Browser {
        let arg = format!("--use-file-for-fake-video-capture={}", y4m.display());
        Browser::open_with(who, PHONE, &[arg]).await
    }

    async fn open(who: &'static str, size: (u32, u32)) -> Browser {
        Browser::open_with(who, size, &[]).await
    }

    async fn open_with(
        who: &'static str,
        (width, height): (u32, u32),
        extra: &[String],
    ) -> Browser {
        let url = chromedriver();
        let profile = tempdir("loket-chromium");
        if let Ok(mut left) = PROFILES.lock() {
            left.push(profile.clone());
        }
        let mut caps = DesiredCapabilities::chrome();
        let binary = std::env::var("LOKET_CHROMIUM").ok().or_else(|| {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .into_iter()
                .find(|p| Path::new(p).exists())
                .map(String::from)
        });
        if let Some(binary) = binary {
            caps.set_binary(&binary).expect("binary");
        }
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ] {
            caps.add_arg(arg).expect("arg");
        }
        if width < 500 {
            // A desktop window is at least 500 px wide: narrower (phone) viewports are emulated,
            // as Chrome's device mode does, with the window just around them. Without the
            // mobile/touch part of device mode: under it WebDriver's pointer clicks landed on
            // the wrong elements.
            // The browser says it is a phone (user agent and client hints), as a real one does:
            // pages may offer less there (no screen sharing).
            caps.add_experimental_option(
                "mobileEmulation",
                json!({
                    "deviceMetrics": {
                        "width": width, "height": height, "pixelRatio": 1.0,
                        "mobile": false, "touch": false,
                    },
                    "userAgent": PHONE_USER_AGENT,
                    "clientHints": {"platform": "Android", "mobile": true},
                }),
            )
            .expect("mobile emulation");
            caps.add_arg(&format!("--window-size=500,{}", height + 100))
                .expect("arg");
        } else {
            caps.add_arg(&format!("--window-size={width},{height}"))
                .expect("arg");
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.display()))
            .expect("arg");
        for arg in extra {
            caps.add_arg(arg).expect("arg");
        }
        let driver = WebDriver::new(url, caps)
            .await
            .unwrap_or_else(|e| panic!("{who}: opening a Chromium session: {e}"));
        driver
            .set_script_timeout(Duration::from_secs(60))
            .await
            .expect("script timeout");
        Browser {
            driver: Some(driver),
            profile,
            who,
        }
    }

    pub fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("session open")
    }

    /// From the next page load on, every RTCPeerConnection the page makes is kept in
    /// `window.__pcs` so the test can read its statistics; with `policy` its
    /// `iceTransportPolicy` is forced too (the browser's own setting). The page is unchanged.
    pub async fn keep_connections(&self, policy: Option<&str>) {
        let force = policy
            .map(|p| format!("config = {{ ...(config || {{}}), iceTransportPolicy: '{p}' }};"))
            .unwrap_or_default();
        let source = format!(
            "(() => {{\
               const Native = window.RTCPeerConnection;\
               window.__pcs = [];\
               const Wrapped = function (config, ...rest) {{\
                 {force}\
                 const pc = new Native(config, ...rest);\
                 window.__pcs.push(pc);\
                 return pc;\
               }};\
               Wrapped.prototype = Native.prototype;\
               Object.setPrototypeOf(Wrapped, Native);\
               window.RTCPeerConnection = Wrapped;\
             }})();"
        );
        self.driver()
            .cdp()
            .send_raw(
                "Page.addScriptToEvaluateOnNewDocument",
                json!({ "source": source }),
            )
            .await
            .expect("inject the connection keeper");
    }

    /// Quits the session (at the end of a test; a dropped Browser that was not quit is
    /// cleaned up in the background).
    pub async fn quit(&self) {
        let _ = self.driver().clone().quit().await;
    }

    pub async fn goto(&self, url: &str) {
        self.driver()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("{}: opening {url}: {e}", self.who));
    }

    pub async fn reload(&self) {
        self.driver()
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("{}: reload: {e}", self.who));
    }

    /// Runs a script (its `return` value comes back as JSON).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.driver()
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("{}: script failed: {e}\n{script}", self.who))
            .json()
            .clone()
    }

    /// Runs a script whose result is a promise: `return await …` inside an async function.
    pub async fn js_await(&self, body: &str, args: Vec<Value>) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];\
             const args = Array.prototype.slice.call(arguments, 0, -1);\
             (async function () {{ {body} }}).apply(null, args)\
               .then((v) => done({{ ok: v === undefined ? null : v }}),\
                     (e) => done({{ err: String(e && e.stack || e) }}));"
        );
        let v = self
            .driver()
            .execute_async(script, args)
            .await
            .unwrap_or_else(|e| panic!("{}: async script failed: {e}\n{body}", self.who))
            .json()
            .clone();
        if let Some(err) = v.get("err") {
            panic!("{}: async script threw: {err}\n{body}", self.who);
        }
        v["ok"].clone()
    }

    /// What the page shows for a selector: None when absent or not rendered (hidden, in a
    /// hidden section, display:none), else its text.
    pub async fn visible_text(&self, css: &str) -> Option<String> {
        let v = self
            .js(
                "const el = document.querySelector(arguments[0]);\
                 if (!el || !el.isConnected || el.getClientRects().length === 0\
                     || getComputedStyle(el).visibility === 'hidden') return null;\
                 return el.innerText;",
                vec![json!(css)],
            )
            .await;
        v.as_str().map(str::to_string)
    }

    pub async fn is_visible(&self, css: &str) -> bool {
        self.visible_text(css).await.is_some()
    }

    /// A short description of the page for timeout messages: URL, visible alerts, headings.
    pub async fn describe(&self) -> String {
        self.js(
            "const vis = (el) => el.getClientRects().length > 0;\
             const pick = (sel) => [...document.querySelectorAll(sel)].filter(vis)\
               .map((e) => (e.id ? '#' + e.id + ': ' : '') + e.innerText.trim().slice(0, 160))\
               .filter((t) => t).join(' | ');\
             return location.pathname + location.hash + ' — headings: [' + pick('h1, h2, h3')\
               + '] alerts: [' + pick('[role=alert], .alert, .field-error') + ']';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Waits until `css` is rendered; returns its text.
    pub async fn wait_visible(&self, css: &str) -> String {
        wait_until(
            WAIT,
            &format!("{}: {css} to show", self.who),
            || async move {
                match self.visible_text(css).await {
                    Some(t) => Ok(t),
                    None => Err(self.describe().await),
                }
            },
        )
        .await
    }

    /// Waits until `css` is rendered and `check` accepts its text.
    pub async fn wait_text(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let check = &check;
        wait_until(
            WAIT,
            &format!("{}: {css} {what}", self.who),
            || async move {
                match self.visible_text(css).await {
                    Some(t) if check(&t) => Ok(t),
                    Some(t) => Err(format!("text {t:?}")),
                    None => Err(format!("not shown; {}", self.describe().await)),
                }
            },
        )
        .await
    }

    /// Waits until `css` is hidden or gone.
    pub async fn wait_hidden(&self, css: &str) {
        wait_until(
            WAIT,
            &format!("{}: {css} to hide", self.who),
            || async move {
                match self.visible_text(css).await {
                    None => Ok(()),
                    Some(t) => Err(format!("still shows {t:?}")),
                }
            },
        )
        .await
    }

    /// Waits until a rendered, enabled element matches `css`, scrolls it into view and clicks it
    /// like a user (a real pointer click, refused if something covers it).
    pub async fn click(&self, css: &str) {
        let el = self.wait_enabled(css).await;
        el.scroll_into_view()
            .await
            .unwrap_or_else(|e| panic!("{}: scrolling to {css}: {e}", self.who));
        let el = &el;
        wait_until(
            WAIT,
            &format!("{}: clicking {css}", self.who),
            || async move { el.click().await.map_err(|e| e.to_string()) },
        )
        .await;
    }

    /// Clicks `css` once if it is shown and enabled right now; for buttons that may come and go
    /// while a test retries (waiting for one that has just been hidden would time out).
    pub async fn click_if_shown(&self, css: &str) -> bool {
        let Ok(el) = self.driver().find(By::Css(css)).await else {
            return false;
        };
        let ready =
            el.is_displayed().await.unwrap_or(false) && el.is_enabled().await.unwrap_or(false);
        ready && el.click().await.is_ok()
    }

    async fn wait_enabled(&self, css: &str) -> WebElement {
        wait_until(
            WAIT,
            &format!("{}: {css} to show, enabled", self.who),
            || async move {
                let el = match self.driver().find(By::Css(css)).await {
                    Ok(el) => el,
                    Err(_) => return Err(format!("absent; {}", self.describe().await)),
                };
                let shown = el.is_displayed().await.unwrap_or(false);
                let enabled = el.is_enabled().await.unwrap_or(false);
                if shown && enabled {
                    Ok(el)
                } else {
                    Err(format!("shown {shown}, enabled {enabled}"))
                }
            },
        )
        .await
    }

    /// Types into an input (cleared first) like a user.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self.wait_enabled(css).await;
        el.clear()
            .await
            .unwrap_or_else(|e| panic!("{}: clearing {css}: {e}", self.who));
        if !text.is_empty() {
            el.send_keys(text)
                .await
                .unwrap_or_else(|e| panic!("{}: typing into {css}: {e}", self.who));
        }
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.js(
            "const el = document.querySelector(arguments[0]);\
             return el ? el.getAttribute(arguments[1]) : null;",
            vec![json!(css), json!(name)],
        )
        .await
        .as_str()
        .map(str::to_string)
    }

    /// The current address as the browser has it.
    pub async fn location(&self) -> String {
        self.js("return location.href;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves the viewport as `<target>/screenshots/<name>.png` (see [`screenshot_dir`]); with
    /// `LOKET_UPDATE_SCREENSHOTS=1` also as `docs/screenshots/<name>.png`, the README's pictures.
    /// A plain test run so leaves the checkout as it was.
    pub async fn screenshot(&self, name: &str) {
        // Let pending layout and video frames paint before the picture.
        let _ = self
            .js_await(
                "await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));",
                vec![],
            )
            .await;
        let png = self
            .driver()
            .screenshot_as_png()
            .await
            .unwrap_or_else(|e| panic!("{}: screenshot {name}: {e}", self.who));
        save_png(&screenshot_dir(), name, &png);
        if update_docs_screenshots() {
            save_png(&docs_screenshot_dir(), name, &png);
        }
    }

    /// Emulates a viewport of `width` × `height` CSS pixels from now on (the page re-lays out as
    /// on a phone of that size), and waits for the new layout to paint.
    pub async fn set_viewport(&self, (width, height): (u32, u32)) {
        self.driver()
            .cdp()
            .send_raw(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
            )
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}: setting the viewport to {width}×{height}: {e}",
                    self.who
                )
            });
        let _ = self
            .js_await(
                "await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));",
                vec![],
            )
            .await;
    }

    /// Fails unless the page, as it is now, fits the width of every phone in [`NARROW_PHONES`]:
    /// the document is no wider than the viewport (nothing to pan sideways) and no rendered
    /// element sticks out past either edge. Restores the window's own viewport afterwards.
    /// `label` names the page state in the message.
    pub async fn assert_fits_phones(&self, label: &str) {
        for size in NARROW_PHONES {
            self.set_viewport(size).await;
            let found = self.js(OVERFLOW_PROBE, vec![]).await;
            let width = found["viewport"].as_f64().unwrap_or(0.0);
            let doc = found["document"].as_f64().unwrap_or(f64::MAX);
            let sticking_out = found["elements"].as_array().cloned().unwrap_or_default();
            assert!(
                doc <= width && sticking_out.is_empty(),
                "{}: {label} at {}×{} is {doc} px wide for a {width} px viewport; past the \
                 edges: {}",
                self.who,
                size.0,
                size.1,
                serde_json::to_string_pretty(&sticking_out).unwrap_or_default()
            );
        }
        self.driver()
            .cdp()
            .send_raw("Emulation.clearDeviceMetricsOverride", json!({}))
            .await
            .unwrap_or_else(|e| panic!("{}: restoring the viewport: {e}", self.who));
    }

    /// Runs axe-core in the page: every violation as axe reports it (id, impact, help, nodes).
    pub async fn axe_violations(&self) -> Vec<Value> {
        let source = axe_source();
        let loaded = self
            .js("return typeof window.axe === 'object';", vec![])
            .await;
        if loaded != json!(true) {
            // WebDriver-injected scripts are not subject to the page's CSP.
            self.js(&format!("{source}\n;return true;"), vec![]).await;
        }
        let violations = self
            .js_await(
                "const r = await window.axe.run(document, { resultTypes: ['violations'] });\
                 return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,\
                   nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 200),\
                     summary: n.failureSummary })) }));",
                vec![],
            )
            .await;
        violations
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("{}: axe.run gave {violations}", self.who))
    }

    /// Runs axe-core in the page and fails on any `serious` or `critical` violation, printing
    /// them all. `label` names the page state in the message.
    pub async fn axe(&self, label: &str) {
        let violations = self.axe_violations().await;
        let describe = |v: &Value| {
            let nodes = v["nodes"]
                .as_array()
                .map(|ns| {
                    ns.iter()
                        .map(|n| {
                            format!(
                                "      at {}\n        {}\n        {}",
                                n["target"].as_str().unwrap_or(""),
                                n["html"].as_str().unwrap_or(""),
                                n["summary"]
                                    .as_str()
                                    .unwrap_or("")
                                    .replace('\n', "\n        ")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            format!(
                "  [{}] {}: {}\n{nodes}",
                v["impact"].as_str().unwrap_or("?"),
                v["id"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("")
            )
        };
        let (bad, minor): (Vec<&Value>, Vec<&Value>) = violations
            .iter()
            .partition(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")));
        if !minor.is_empty() {
            eprintln!(
                "axe ({label}): {} minor/moderate finding(s), not failing:\n{}",
                minor.len(),
                minor
                    .iter()
                    .map(|v| describe(v))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        assert!(
            bad.is_empty(),
            "axe-core found {} serious/critical violation(s) on {label}:\n{}",
            bad.len(),
            bad.iter()
                .map(|v| describe(v))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let Some(driver) = self.driver.take() else {
            return;
        };
        let profile = self.profile.clone();
        let session = driver.session_id().to_string();
        if driver.leak().is_err() {
            // Quit already (the test ended normally): only the profile is left.
            forget_profile(&profile);
            return;
        }
        // A test that failed: end the session from a thread of its own, without blocking the
        // test's runtime (which also runs the server under test), and never for long — a
        // browser that does not quit within 10 s is killed. The process-exit hook kills
        // whatever is still left.
        let url = format!("{}/session/{session}", chromedriver());
        let _ = std::thread::Builder::new()
            .name("loket-browser-quit".into())
            .spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(async {
                        let delete = reqwest::Client::new().delete(&url).send();
                        let _ = tokio::time::timeout(Duration::from_secs(10), delete).await;
                    });
                }
                kill_browser_of(&profile);
                forget_profile(&profile);
            });
    }
}

/// Kills the Chromium started with this profile folder, if it is still running (its
/// `--user-data-dir` names the folder, unique to one [`Browser`]).
fn kill_browser_of(profile: &Path) {
    let flag = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline.split(|b| *b == 0).any(|arg| arg == flag.as_bytes()) {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// The document's width against the viewport's, and the rendered elements whose box reaches past
/// the viewport's left or right edge (what a user would have to pan to), outermost first.
/// Elements inside a box that scrolls sideways on purpose (the day list) are left to that box;
/// one that escapes it still widens the document, which is checked first.
const OVERFLOW_PROBE: &str = r#"
const vw = document.documentElement.clientWidth;
const doc = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
const scrollsX = (el) => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(el).overflowX);
const inScroller = (el) => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) if (scrollsX(p)) return true;
  return false;
};
const out = [];
for (const el of document.body.querySelectorAll('*')) {
  if (out.length >= 12) break;
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (r.left >= -0.5 && r.right <= vw + 0.5) continue;
  if (getComputedStyle(el).visibility === 'hidden' || inScroller(el)) continue;
  if (out.some((o) => o.node.contains(el))) continue;
  out.push({ node: el, left: Math.round(r.left), right: Math.round(r.right) });
}
const name = (n) => n.tagName.toLowerCase() + (n.id ? '#' + n.id : '')
  + (typeof n.className === 'string' && n.className.trim() ? '.' + n.className.trim().split(/\s+/).join('.') : '');
return { viewport: vw, document: doc, elements: out.map((o) => ({
  element: name(o.node), left: o.left, right: o.right,
  text: (o.node.innerText || '').trim().slice(0, 60) })) };
"#;

/// Where the browser tests' screenshots are written: `<target>/screenshots/`, out of the
/// checkout's tracked files.
pub fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("screenshots")
}

/// The README's pictures, rewritten only on request.
pub fn docs_screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

/// `LOKET_UPDATE_SCREENSHOTS=1`: also copy every screenshot to docs/screenshots/.
pub fn update_docs_screenshots() -> bool {
    std::env::var("LOKET_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1")
}

/// Writes `<dir>/<name>.png` whole, then renames it into place: a reader (or another test) never
/// sees half a file.
fn save_png(dir: &Path, name: &str, png: &[u8]) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let tmp = dir.join(format!(".{name}.{}.png", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, png).unwrap_or_else(|e| panic!("writing {}: {e}", tmp.display()));
    std::fs::rename(&tmp, dir.join(format!("{name}.png")))
        .unwrap_or_else(|e| panic!("renaming {}: {e}", tmp.display()));
}

/// axe-core's browser bundle, read once. Its path comes from `LOKET_AXE_JS`, which scripts/test
/// sets after installing the npm package; without it the accessibility checks fail loudly.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var("LOKET_AXE_JS").unwrap_or_else(|_| {
            panic!(
                "LOKET_AXE_JS is not set, so the axe-core accessibility check cannot run. Run \
                 scripts/test (it installs axe-core with npm and sets LOKET_AXE_JS), or set \
                 LOKET_AXE_JS to the path of axe-core's axe.min.js."
            )
        });
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("LOKET_AXE_JS={path} cannot be read ({e}); run scripts/test to install axe-core")
        })
    })
}

/// A fresh, private temp folder.
fn tempdir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
