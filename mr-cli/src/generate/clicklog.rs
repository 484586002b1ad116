//! MOOC click logs: one JSON object per line, shaped like the 2013 Coursera click streams.
//!
//! ```text
//! {"key": "user.video.lecture.action", "value": "{\"currentTime\":257.066689,\"playbackRate\":1,...}",
//!  "username": "9930a0523403499b7347707c92bccbcbff1a", "timestamp": 1375223423427,
//!  "page_url": "https://class.mooc-platform.org/course-001/lecture/view?lecture_id=31", "client": "spark",
//!  "session": "30423409-1375223000000", "language": "en-US,en;q=0.5", "from": "https://...",
//!  "user_ip": "123.255.122.167", "user_agent": "Mozilla/5.0 ...", "12": ["{\"height\":678,\"width\":1207}"],
//!  "13": [0]}
//! ```
//!
//! # The simulation
//!
//! About `users / 100` sessions (at most 400) are active at any time. Each belongs to a distinct user drawn
//! with Zipf-skewed activity (weights `1/(rank + 10)`), and schedules its next event; a heap pops the earliest
//! event of all sessions, so lines come out in global time order, users interleaved. When a session ends,
//! a new one starts for another user shortly after.
//!
//! * **Video sessions** watch 1-6 lectures (Zipf popularity, often the next lecture of the course). A
//!   lecture is a page view followed by `play`, `pause`, `seeked`, `ratechange`, `waiting` and `ended`
//!   events seconds to minutes apart, with the playback position advancing at the playback rate. Pauses
//!   sometimes last more than 30 minutes before the same lecture resumes, sometimes exactly 30 minutes
//!   (1,800,000 ms, or one millisecond either side); consecutive events sometimes share a timestamp. After a
//!   lecture the user sometimes rewatches it at once, or an earlier lecture of the session later on.
//! * **Browse sessions** view course pages, forum threads (titles in many languages and scripts, with
//!   quotes, backslashes, tabs and emoji), wiki pages, lecture downloads, and attempt and submit quizzes.
//!
//! # Irregularities (what a robust job must survive)
//!
//! Per line, at most one of: `page_url` missing (1%) or `null` (0.5%); `username` missing (0.1%) or `null`
//! (0.05%); `timestamp` a float (0.05%) or a string (0.05%); a non-integer `lecture_id` in a lecture URL
//! (0.08% of lines, `lecture_id=abc` and the like); `from` `null` (0.2%); `user_agent` missing (0.05%).
//! The nested `value` JSON is sometimes ASCII-escaped (`\u00e9`, surrogate pairs) and sometimes raw UTF-8.
//! With `--bad-fraction`, that fraction of lines is cut at a random character boundary (invalid JSON).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::json::{push_escaped, push_json_str, push_seconds, push_u64};
use super::sink::PartWriter;
use super::words::splitmix64;
use super::zipf::ZipfTable;
use super::{ClicklogArgs, GenSummary};

/// Start of the simulated clock: 2013-06-01T00:00:00Z, in ms since the Unix epoch.
const START_MS: u64 = 1_370_044_800_000;
/// One second, in ms.
const SECOND_MS: u64 = 1_000;
/// One minute, in ms.
const MINUTE_MS: u64 = 60 * SECOND_MS;
/// The gap that usually separates a "watch" from a "review" of a lecture: 30 minutes (1,800,000 ms).
const LONG_PAUSE_MS: u64 = 30 * MINUTE_MS;
/// One second of video, in µs (playback positions are kept in µs and printed with 6 decimals).
const VIDEO_SECOND_US: u64 = 1_000_000;

/// One concurrently active session per this many users.
const USERS_PER_ACTIVE_SESSION: u32 = 100;
/// At most this many sessions are active at once.
const MAX_ACTIVE_SESSIONS: u32 = 400;
/// User activity weights are `1 / (rank + USER_ZIPF_SHIFT)`: the busiest user has about 1% of sessions.
const USER_ZIPF_SHIFT: f64 = 10.0;
/// URL popularity weights (within each kind of page) are `1 / (rank + URL_ZIPF_SHIFT)`.
const URL_ZIPF_SHIFT: f64 = 1.0;
/// Roughly one course per this many URLs.
const URLS_PER_COURSE: u32 = 300;
/// Forum thread ids of a course are spaced by up to this much.
const THREAD_ID_STRIDE: u32 = 37;
/// Lectures a session remembers for "rewatch an earlier lecture".
const HISTORY_LECTURES: usize = 16;
/// Initial capacity of the line buffer, in bytes (lines are about 600 bytes).
const LINE_CAPACITY_BYTES: usize = 4096;

/// Probabilities of the per-line irregularities, out of [`ANOMALY_SCALE`] (cumulative upper bounds).
const ANOMALY_SCALE: u32 = 100_000;
const PAGE_URL_MISSING: u32 = 1_000;
const PAGE_URL_NULL: u32 = PAGE_URL_MISSING + 500;
const USERNAME_MISSING: u32 = PAGE_URL_NULL + 100;
const USERNAME_NULL: u32 = USERNAME_MISSING + 50;
const TIMESTAMP_FLOAT: u32 = USERNAME_NULL + 50;
const TIMESTAMP_STRING: u32 = TIMESTAMP_FLOAT + 50;
const LECTURE_ID_ODD: u32 = TIMESTAMP_STRING + 80;
const FROM_NULL: u32 = LECTURE_ID_ODD + 200;
const USER_AGENT_MISSING: u32 = FROM_NULL + 50;

const HOST: &str = "https://class.mooc-platform.org";

/// Per-course pages, most visited first.
const STATIC_PAGES: &[&str] = &[
    "index",
    "lecture/index",
    "forum/index",
    "quiz/index",
    "announcements",
    "syllabus",
    "wiki/index",
    "grades",
];

/// Forum thread titles: several languages and scripts, emoji, and characters JSON must escape.
const THREAD_TITLES: &[&str] = &[
    "Problem with quiz 3 - help!",
    "Question sur le devoir 2 : « erreur de compilation »",
    "关于第三周作业的问题",
    "Great lecture 🎉👍",
    "Ошибка в лекции 5?",
    "¿Alguien más tiene problemas con el vídeo?",
    "Study group in São Paulo",
    "Week 4: \"Big-O\" notation confusion",
    "Typo in slide 12: C:\\Users\\path escapes",
    "日本語の字幕はありますか？",
    "Übung 2: Lösung für Aufgabe 3?",
    "Deadline extension? 😅",
    "Tab\tseparated\ttitle",
    "👨‍👩‍👧 family study group",
    "Lecture 7 — Dijkstra's algorithm",
    "Merci beaucoup ! ❤️",
    "Line\nbreak in title",
    "Διάλεξη 3: απορία",
    "मदद चाहिए: quiz 2",
    "Certificate of accomplishment",
];

/// Wiki page names (URL path segments, percent-encoded where needed).
const WIKI_PAGES: &[&str] = &[
    "Week_1_Notes",
    "FAQ",
    "Study_Groups",
    "R%C3%A9sum%C3%A9s_des_cours",
    "Glossary",
    "%E4%B8%AD%E6%96%87%E7%AC%94%E8%AE%B0",
    "Errata",
    "Resources",
    "Subtitles_Translation",
    "Week_2_Notes",
];

/// Browser user agents; a few carry non-ASCII text, quotes or mojibake.
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 6.1; rv:22.0) Gecko/20100101 Firefox/22.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/28.0.1500.72 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_8_4) AppleWebKit/536.30.1 (KHTML, like Gecko) Version/6.0.5 Safari/536.30.1",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:22.0) Gecko/20100101 Firefox/22.0",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)",
    "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 5.1; Trident/4.0; .NET CLR 2.0.50727)",
    "Mozilla/5.0 (iPad; CPU OS 6_1_3 like Mac OS X) AppleWebKit/536.26 (KHTML, like Gecko) Version/6.0 Mobile/10B329 Safari/8536.25",
    "Mozilla/5.0 (Linux; U; Android 4.1.2; ru-ru; GT-I9300 Build/JZO54K) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
    "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/28.0.1500.95 YaBrowser/13.7.1500.8323 Safari/537.36 (Яндекс.Браузер)",
    "Opera/9.80 (Windows NT 6.1; U; zh-cn) Presto/2.12.388 Version/12.15 (测试版)",
    "MOOC-App/2.1 (iPhone; iOS 6.1.4; Scale/2.00) \"beta\"",
    "Mozilla/5.0 (Windows NT 5.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/27.0.1453.116 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:21.0) Gecko/20100101 Firefox/21.0 Ãœber-Toolbar",
    "curl/7.29.0",
];

/// `Accept-Language` headers.
const LANGUAGES: &[&str] = &[
    "en-US,en;q=0.5",
    "en-US,en;q=0.8",
    "en-GB,en;q=0.8,en-US;q=0.6",
    "fr-FR,fr;q=0.8,en-US;q=0.6,en;q=0.4",
    "zh-CN,zh;q=0.8",
    "es-ES,es;q=0.8,en;q=0.6",
    "pt-BR,pt;q=0.8,en-US;q=0.6",
    "ru-RU,ru;q=0.8,en-US;q=0.6,en;q=0.4",
    "de-DE,de;q=0.8,en;q=0.6",
    "ja,en-US;q=0.7,en;q=0.3",
    "",
];

/// Referrers of a session's first event.
const EXTERNAL_REFERRERS: &[&str] = &[
    "https://www.mooc-platform.org/courses",
    "https://www.google.com/",
    "https://www.mooc-platform.org/",
    "https://t.co/Xk2Pq9",
    "",
];

/// Values of the `13` field.
const FLAG_13: &[u8] = &[0, 0, 0, 1];

/// Playback rates, in percent, and how they are printed.
const RATES: &[(u64, &str)] = &[
    (75, "0.75"),
    (100, "1"),
    (125, "1.25"),
    (150, "1.5"),
    (175, "1.75"),
    (200, "2"),
];
/// Index of rate 1 in [`RATES`].
const RATE_NORMAL: u8 = 1;

/// What `lecture_id=` is followed by in the odd lecture URLs.
const ODD_LECTURE_IDS: &[&str] = &["abc", "", "31abc", "12.0", "-1", "null", "%20"];

/// Download formats.
const DOWNLOAD_FORMATS: &[&str] = &["mp4", "srt", "txt", "pdf", "pptx"];

/// Login methods.
const LOGIN_METHODS: &[&str] = &["password", "password", "facebook", "google"];

/// Generates MOOC click logs as described in the module documentation.
pub fn clicklog(args: &ClicklogArgs) -> anyhow::Result<GenSummary> {
    if !(0.0..=1.0).contains(&args.bad_fraction) {
        crate::usage!(
            "--bad-fraction must be between 0 and 1, got {}",
            args.bad_fraction
        );
    }
    if args.users < 1 {
        crate::usage!("--users must be at least 1");
    }
    if args.urls < 1 {
        crate::usage!("--urls must be at least 1");
    }
    let mut writer =
        PartWriter::create(&args.output, "jsonl", args.files, args.gz_files, args.size)?;
    let mut sim = Simulation::new(args);
    let mut line = Vec::with_capacity(LINE_CAPACITY_BYTES);
    while !writer.done() {
        line.clear();
        sim.next_line(&mut line);
        writer.write_line(&line)?;
    }
    writer.finish()
}

/// What a URL points at.
#[derive(Debug, Clone, Copy)]
enum Page {
    Static,
    Lecture { duration_us: u64 },
    Download { id: u32 },
    Quiz { id: u32 },
    Thread { id: u32, title: u16 },
    Wiki { name: u16 },
}

/// One page URL, stored JSON-quoted.
#[derive(Debug)]
struct Url {
    /// `"https://..."`, quotes included.
    json: String,
    /// For lecture URLs, where the lecture id starts in `json`.
    id_at: usize,
    page: Page,
}

/// URLs of one kind, most popular first, with their popularity distribution.
#[derive(Debug)]
struct Pool {
    urls: Vec<u32>,
    zipf: ZipfTable,
}

impl Pool {
    fn new(urls: Vec<u32>) -> Self {
        let zipf = ZipfTable::new(urls.len() as u64, URL_ZIPF_SHIFT);
        Pool { urls, zipf }
    }

    fn pick(&self, rng: &mut ChaCha8Rng) -> u32 {
        self.urls[(self.zipf.sample(rng) - 1) as usize]
    }
}

/// The site: every URL and the pools to draw them from.
#[derive(Debug)]
struct Site {
    urls: Vec<Url>,
    statics: Pool,
    lectures: Pool,
    downloads: Pool,
    quizzes: Pool,
    threads: Pool,
    wikis: Pool,
    /// Number of courses; lecture `i` of `lectures.urls` is followed by lecture `i + courses`.
    courses: u32,
    /// Position of each lecture URL in `lectures.urls` (indexed by URL index, `u32::MAX` if not a lecture).
    lecture_pos: Vec<u32>,
}

impl Site {
    /// Builds about `n_urls` URLs over `n_urls / 300` courses.
    fn new(n_urls: u32, rng: &mut ChaCha8Rng) -> Self {
        let courses = (n_urls / URLS_PER_COURSE).max(1);
        let rest = n_urls.saturating_sub(courses * STATIC_PAGES.len() as u32);
        let lectures_per_course = (rest * 35 / 100 / courses).max(1);
        let quizzes_per_course = (rest / 10 / courses).max(1);
        let threads_per_course = (rest * 15 / 100 / courses).max(1);
        let wikis_per_course = (rest / 20 / courses).max(1);

        let mut urls = Vec::new();
        let push = |urls: &mut Vec<Url>, text: String, id_at: usize, page: Page| {
            urls.push(Url {
                json: format!("\"{text}\""),
                id_at: id_at + 1,
                page,
            });
            (urls.len() - 1) as u32
        };
        let course_path = |c: u32| format!("{HOST}/course-{:03}", c + 1);

        // Rank order: the first pages of every course, then the second ones, ...: early lectures and
        // course index pages are the most popular.
        let mut statics = Vec::new();
        for name in STATIC_PAGES {
            for c in 0..courses {
                statics.push(push(
                    &mut urls,
                    format!("{}/{name}", course_path(c)),
                    0,
                    Page::Static,
                ));
            }
        }
        let mut lectures = Vec::new();
        let mut downloads = Vec::new();
        for l in 1..=lectures_per_course {
            for c in 0..courses {
                let hash = splitmix64(u64::from(c) << 32 | u64::from(l));
                // 4 to 25 minutes, with a fractional second.
                let duration_us =
                    (240 + hash % 1_260) * VIDEO_SECOND_US + (hash >> 32) % VIDEO_SECOND_US;
                let prefix = format!("{}/lecture/view?lecture_id=", course_path(c));
                let id_at = prefix.len();
                let page = Page::Lecture { duration_us };
                lectures.push(push(&mut urls, format!("{prefix}{l}"), id_at, page));
                let prefix = format!("{}/lecture/download?lecture_id=", course_path(c));
                let id_at = prefix.len();
                let page = Page::Download { id: l };
                downloads.push(push(&mut urls, format!("{prefix}{l}"), id_at, page));
            }
        }
        let mut quizzes = Vec::new();
        for q in 1..=quizzes_per_course {
            for c in 0..courses {
                let text = format!("{}/quiz/attempt?quiz_id={q}", course_path(c));
                quizzes.push(push(&mut urls, text, 0, Page::Quiz { id: q }));
            }
        }
        let mut threads = Vec::new();
        for c in 0..courses {
            for k in 0..threads_per_course {
                // Increasing with gaps: distinct within the course.
                let id = 1 + k * THREAD_ID_STRIDE + rng.gen_range(0..THREAD_ID_STRIDE);
                let title = rng.gen_range(0..THREAD_TITLES.len() as u32) as u16;
                let text = format!("{}/forum/thread?thread_id={id}", course_path(c));
                threads.push(push(&mut urls, text, 0, Page::Thread { id, title }));
            }
        }
        let mut wikis = Vec::new();
        for w in 0..wikis_per_course {
            for c in 0..courses {
                let base = WIKI_PAGES[w as usize % WIKI_PAGES.len()];
                let round = w as usize / WIKI_PAGES.len();
                let name = if round == 0 {
                    base.to_owned()
                } else {
                    format!("{base}_{round}")
                };
                let text = format!("{}/wiki/{name}", course_path(c));
                let page = Page::Wiki {
                    name: (w as usize % WIKI_PAGES.len()) as u16,
                };
                wikis.push(push(&mut urls, text, 0, page));
            }
        }
        // Threads are popular in no particular order.
        for i in (1..threads.len()).rev() {
            let j = rng.gen_range(0..=i as u32) as usize;
            threads.swap(i, j);
        }

        let mut lecture_pos = vec![u32::MAX; urls.len()];
        for (pos, &url) in lectures.iter().enumerate() {
            lecture_pos[url as usize] = pos as u32;
        }
        Site {
            urls,
            statics: Pool::new(statics),
            lectures: Pool::new(lectures),
            downloads: Pool::new(downloads),
            quizzes: Pool::new(quizzes),
            threads: Pool::new(threads),
            wikis: Pool::new(wikis),
            courses,
            lecture_pos,
        }
    }

    /// The lecture after `url` in the same course, if any.
    fn next_lecture(&self, url: u32) -> Option<u32> {
        let pos = *self.lecture_pos.get(url as usize)?;
        let next = pos.checked_add(self.courses)?;
        self.lectures.urls.get(next as usize).copied()
    }

    fn lecture_duration(&self, url: u32) -> u64 {
        match self.urls[url as usize].page {
            Page::Lecture { duration_us, .. } => duration_us,
            _ => 10 * 60 * VIDEO_SECOND_US,
        }
    }
}

/// Fixed attributes of a user, derived from the user's rank and the seed.
#[derive(Debug, Clone, Copy)]
struct User {
    username: [u8; 36],
    ip: [u8; 4],
    user_agent: u8,
    language: u8,
    client: &'static str,
    height: u16,
    width: u16,
    /// Preferred playback rate (index in [`RATES`]).
    rate: u8,
}

impl User {
    fn derive(rank: u64, seed: u64) -> Self {
        let base = splitmix64(seed ^ splitmix64(rank));
        let h = |k: u64| splitmix64(base.wrapping_add(k));
        let mut username = [0u8; 36];
        let hex = b"0123456789abcdef";
        for (i, b) in username.iter_mut().enumerate() {
            let word = h(i as u64 / 16);
            *b = hex[((word >> (4 * (i % 16))) & 0xf) as usize];
        }
        let h3 = h(3);
        let ip = [
            (1 + h3 % 222) as u8,
            (h3 >> 8) as u8,
            (h3 >> 16) as u8,
            (1 + (h3 >> 24) % 254) as u8,
        ];
        let h4 = h(4);
        let client = match h4 % 100 {
            0..=79 => "spark",
            80..=89 => "web",
            90..=94 => "mobile-ios",
            _ => "mobile-android",
        };
        let rate = match (h4 >> 40) % 10 {
            0..=6 => RATE_NORMAL,
            7 | 8 => 2,
            _ => 3,
        };
        Self {
            username,
            ip,
            user_agent: ((h4 >> 8) % USER_AGENTS.len() as u64) as u8,
            language: ((h4 >> 16) % LANGUAGES.len() as u64) as u8,
            client,
            height: (500 + (h4 >> 24) % 700) as u16,
            width: (800 + (h4 >> 48) % 1_120) as u16,
            rate,
        }
    }
}

/// Kinds of page events (the `key` field, and what goes into `value`).
#[derive(Debug, Clone, Copy)]
enum PageEvent {
    View,
    Login,
    ThreadView,
    ForumPost,
    QuizAttempt { attempt: u8 },
    QuizSubmit { attempt: u8 },
    WikiView,
    WikiEdit,
    Download,
}

/// Video player events.
#[derive(Debug, Clone, Copy)]
enum VideoEvent {
    Play,
    Pause,
    Seeked { to_us: u64 },
    RateChange { to: u8 },
    Waiting,
    Ended,
}

/// The next event a session will emit.
#[derive(Debug, Clone, Copy)]
enum Pending {
    Page {
        url: u32,
        event: PageEvent,
    },
    /// The page view of a lecture, which starts watching it.
    OpenLecture {
        url: u32,
    },
    Video(VideoEvent),
}

/// What a session mostly does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Browse,
    Video,
}

/// The video player of a session.
#[derive(Debug, Clone, Copy, Default)]
struct Player {
    lecture: u32,
    duration_us: u64,
    /// Position at the pending event.
    pos_us: u64,
    /// Position at the previous video event (`prevTime`).
    prev_us: u64,
    rate: u8,
    paused: bool,
}

/// One user session.
#[derive(Debug)]
struct Session {
    rank: u64,
    user: User,
    /// `"12345678-1370044800000"`, quotes included.
    id_json: String,
    ip: [u8; 4],
    mode: Mode,
    /// Events (browse) or lectures (video) still to come.
    left: u32,
    pending: Pending,
    /// The page of the previous event (`None`: the external referrer).
    from: Option<u32>,
    referrer: u8,
    flag_13: u8,
    player: Player,
    history: Vec<u32>,
}

/// The event-driven simulation.
struct Simulation {
    rng: ChaCha8Rng,
    seed: u64,
    site: Site,
    n_users: u64,
    users: ZipfTable,
    sessions: Vec<Session>,
    /// (time of the pending event, session slot), earliest first.
    queue: BinaryHeap<Reverse<(u64, u32)>>,
    active: HashSet<u64>,
    bad_fraction: f64,
    /// Scratch buffer for the nested `value` JSON.
    value: Vec<u8>,
    /// User agents, JSON-quoted.
    agents_json: Vec<String>,
}

impl Simulation {
    fn new(args: &ClicklogArgs) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
        let site = Site::new(args.urls, &mut rng);
        let n_users = u64::from(args.users);
        let slots = (args.users / USERS_PER_ACTIVE_SESSION).clamp(1, MAX_ACTIVE_SESSIONS);
        let mut agents_json = Vec::new();
        for agent in USER_AGENTS {
            let mut json = Vec::new();
            push_json_str(&mut json, agent.as_bytes());
            agents_json.push(String::from_utf8(json).unwrap_or_default());
        }
        let mut sim = Simulation {
            rng,
            seed: args.seed,
            site,
            n_users,
            users: ZipfTable::new(n_users, USER_ZIPF_SHIFT),
            sessions: Vec::with_capacity(slots as usize),
            queue: BinaryHeap::with_capacity(slots as usize),
            active: HashSet::new(),
            bad_fraction: args.bad_fraction,
            value: Vec::new(),
            agents_json,
        };
        for slot in 0..slots {
            let start = START_MS + sim.rng.gen_range(0..10 * MINUTE_MS);
            let session = sim.new_session(start);
            sim.sessions.push(session);
            sim.queue.push(Reverse((start, slot)));
        }
        sim
    }

    /// Writes the next line (with its `\n`).
    fn next_line(&mut self, line: &mut Vec<u8>) {
        let Some(Reverse((t, slot))) = self.queue.pop() else {
            // Unreachable: every slot is always scheduled.
            return;
        };
        let s = slot as usize;
        self.write_event(s, t, line);
        let next = self.advance(s, t);
        let next = match next {
            Some(next) => next,
            None => {
                let rank = self.sessions[s].rank;
                self.active.remove(&rank);
                let start = t + self.rng.gen_range(0..2 * MINUTE_MS);
                self.sessions[s] = self.new_session(start);
                start
            }
        };
        self.queue.push(Reverse((next, slot)));
        if self.bad_fraction > 0.0 && self.rng.gen_bool(self.bad_fraction) && line.len() > 1 {
            let mut cut = self.rng.gen_range(1..line.len() as u64) as usize;
            while !is_char_boundary(line, cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        line.push(b'\n');
    }

    /// Starts a session for a user who has none at the moment.
    fn new_session(&mut self, start: u64) -> Session {
        let mut rank = self.users.sample(&mut self.rng);
        for _ in 0..8 {
            if !self.active.contains(&rank) {
                break;
            }
            rank = self.users.sample(&mut self.rng);
        }
        if self.active.contains(&rank) {
            rank = self.rng.gen_range(1..=self.n_users);
        }
        self.active.insert(rank);
        let user = User::derive(rank, self.seed);
        let rng = &mut self.rng;
        let id_json = format!("\"{:08}-{start}\"", rng.gen_range(0..100_000_000u32));
        let ip = if rng.gen_bool(0.9) {
            user.ip
        } else {
            rng.r#gen::<[u8; 4]>()
        };
        let (mode, left) = if rng.gen_bool(0.55) {
            (Mode::Video, rng.gen_range(1..=6))
        } else {
            (Mode::Browse, rng.gen_range(3..=25))
        };
        let pending = match rng.gen_range(0..100u32) {
            0..=24 => Pending::Page {
                // The first `courses` static pages are the course index pages.
                url: self.site.statics.urls[rng.gen_range(0..self.site.courses) as usize],
                event: PageEvent::Login,
            },
            25..=59 => Pending::Page {
                url: self.site.statics.pick(rng),
                event: PageEvent::View,
            },
            _ if mode == Mode::Video => Pending::OpenLecture {
                url: self.site.lectures.pick(rng),
            },
            _ => pick_page(&self.site, rng),
        };
        Session {
            rank,
            user,
            id_json,
            ip,
            mode,
            left,
            pending,
            from: None,
            referrer: rng.gen_range(0..EXTERNAL_REFERRERS.len() as u32) as u8,
            flag_13: FLAG_13[rng.gen_range(0..FLAG_13.len() as u32) as usize],
            player: Player::default(),
            history: Vec::new(),
        }
    }

    /// Applies the pending event of session `s` (at time `t`) and schedules the next one.
    /// Returns its time, or `None` when the session is over.
    fn advance(&mut self, s: usize, t: u64) -> Option<u64> {
        let Simulation {
            rng,
            site,
            sessions,
            ..
        } = self;
        let session = &mut sessions[s];
        match session.pending {
            Pending::Page { url, event } => {
                session.from = Some(url);
                if let PageEvent::QuizAttempt { attempt } = event
                    && rng.gen_bool(0.85)
                {
                    session.pending = Pending::Page {
                        url,
                        event: PageEvent::QuizSubmit { attempt },
                    };
                    return Some(t + rng.gen_range(2 * MINUTE_MS..25 * MINUTE_MS));
                }
                if session.mode == Mode::Video
                    && !matches!(event, PageEvent::Login | PageEvent::View)
                {
                    session.mode = Mode::Browse;
                }
                if session.mode == Mode::Video {
                    session.pending = Pending::OpenLecture {
                        url: site.lectures.pick(rng),
                    };
                    return Some(t + rng.gen_range(SECOND_MS..30 * SECOND_MS));
                }
                session.left = session.left.saturating_sub(1);
                if session.left == 0 {
                    return None;
                }
                // A browsing user sometimes starts watching.
                if rng.gen_bool(0.08) {
                    session.mode = Mode::Video;
                    session.left = rng.gen_range(1..=3);
                    session.pending = Pending::OpenLecture {
                        url: site.lectures.pick(rng),
                    };
                } else {
                    session.pending = pick_page(site, rng);
                }
                Some(t + browse_delay(rng))
            }
            Pending::OpenLecture { url } => {
                session.from = Some(url);
                session.mode = Mode::Video;
                session.player = Player {
                    lecture: url,
                    duration_us: site.lecture_duration(url),
                    pos_us: 0,
                    prev_us: 0,
                    rate: session.user.rate,
                    paused: true,
                };
                if session.history.len() == HISTORY_LECTURES {
                    session.history.remove(0);
                }
                session.history.push(url);
                session.pending = Pending::Video(VideoEvent::Play);
                let delay = if rng.gen_bool(0.03) {
                    0
                } else {
                    rng.gen_range(SECOND_MS..8 * SECOND_MS)
                };
                Some(t + delay)
            }
            Pending::Video(event) => {
                let player = &mut session.player;
                player.prev_us = player.pos_us;
                match event {
                    VideoEvent::Play => player.paused = false,
                    VideoEvent::Pause => player.paused = true,
                    VideoEvent::Seeked { to_us } => player.pos_us = to_us,
                    VideoEvent::RateChange { to } => player.rate = to,
                    VideoEvent::Waiting => {}
                    VideoEvent::Ended => {
                        player.paused = true;
                        return next_lecture(session, site, rng, t);
                    }
                }
                if player.paused {
                    schedule_after_pause(session, rng, t)
                } else {
                    Some(schedule_while_playing(player, &mut session.pending, rng, t))
                }
            }
        }
    }

    /// Writes the pending event of session `s` at time `t` as one JSON object (without `\n`).
    fn write_event(&mut self, s: usize, t: u64, line: &mut Vec<u8>) {
        let Simulation {
            rng,
            site,
            sessions,
            value,
            agents_json,
            ..
        } = self;
        let session = &sessions[s];
        let anomaly = rng.gen_range(0..ANOMALY_SCALE);

        // key and value
        let (key, url) = match session.pending {
            Pending::Page { url, event } => {
                let key = page_value(site, url, event, rng, value);
                (key, url)
            }
            Pending::OpenLecture { url } => {
                value.clear();
                value.extend_from_slice(b"{}");
                ("pageview", url)
            }
            Pending::Video(event) => {
                video_value(&session.player, event, value);
                ("user.video.lecture.action", session.player.lecture)
            }
        };
        line.extend_from_slice(b"{\"key\": \"");
        line.extend_from_slice(key.as_bytes());
        line.extend_from_slice(b"\", \"value\": ");
        push_json_str(line, value);

        match anomaly {
            PAGE_URL_NULL..USERNAME_MISSING => {}
            USERNAME_MISSING..USERNAME_NULL => line.extend_from_slice(b", \"username\": null"),
            _ => {
                line.extend_from_slice(b", \"username\": \"");
                line.extend_from_slice(&session.user.username);
                line.push(b'"');
            }
        }

        line.extend_from_slice(b", \"timestamp\": ");
        match anomaly {
            USERNAME_NULL..TIMESTAMP_FLOAT => {
                push_u64(line, t);
                line.push(b'.');
                if anomaly % 2 == 0 {
                    line.push(b'0');
                } else {
                    push_u64(line, u64::from(anomaly % 900 + 100));
                }
            }
            TIMESTAMP_FLOAT..TIMESTAMP_STRING => {
                line.push(b'"');
                push_u64(line, t);
                line.push(b'"');
            }
            _ => push_u64(line, t),
        }

        let page = &site.urls[url as usize];
        match anomaly {
            0..PAGE_URL_MISSING => {}
            PAGE_URL_MISSING..PAGE_URL_NULL => line.extend_from_slice(b", \"page_url\": null"),
            TIMESTAMP_STRING..LECTURE_ID_ODD
                if matches!(page.page, Page::Lecture { .. } | Page::Download { .. }) =>
            {
                line.extend_from_slice(b", \"page_url\": ");
                line.extend_from_slice(&page.json.as_bytes()[..page.id_at]);
                let odd = ODD_LECTURE_IDS[(anomaly as usize) % ODD_LECTURE_IDS.len()];
                line.extend_from_slice(odd.as_bytes());
                line.push(b'"');
            }
            _ => {
                line.extend_from_slice(b", \"page_url\": ");
                line.extend_from_slice(page.json.as_bytes());
            }
        }

        line.extend_from_slice(b", \"client\": \"");
        line.extend_from_slice(session.user.client.as_bytes());
        line.extend_from_slice(b"\", \"session\": ");
        line.extend_from_slice(session.id_json.as_bytes());
        line.extend_from_slice(b", \"language\": \"");
        line.extend_from_slice(LANGUAGES[session.user.language as usize].as_bytes());
        line.extend_from_slice(b"\", \"from\": ");
        match (anomaly, session.from) {
            (LECTURE_ID_ODD..FROM_NULL, _) => line.extend_from_slice(b"null"),
            (_, Some(from)) => line.extend_from_slice(site.urls[from as usize].json.as_bytes()),
            (_, None) => {
                line.push(b'"');
                line.extend_from_slice(EXTERNAL_REFERRERS[session.referrer as usize].as_bytes());
                line.push(b'"');
            }
        }

        line.extend_from_slice(b", \"user_ip\": \"");
        for (i, octet) in session.ip.iter().enumerate() {
            if i > 0 {
                line.push(b'.');
            }
            push_u64(line, u64::from(*octet));
        }
        line.push(b'"');
        if !(FROM_NULL..USER_AGENT_MISSING).contains(&anomaly) {
            line.extend_from_slice(b", \"user_agent\": ");
            line.extend_from_slice(agents_json[session.user.user_agent as usize].as_bytes());
        }
        line.extend_from_slice(b", \"12\": [\"{\\\"height\\\":");
        push_u64(line, u64::from(session.user.height));
        line.extend_from_slice(b",\\\"width\\\":");
        push_u64(line, u64::from(session.user.width));
        line.extend_from_slice(b"}\"], \"13\": [");
        push_u64(line, u64::from(session.flag_13));
        line.extend_from_slice(b"]}");
    }
}

/// Delay between two page events of a browsing user.
fn browse_delay(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..100u32) {
        0..=59 => rng.gen_range(2 * SECOND_MS..30 * SECOND_MS),
        60..=94 => rng.gen_range(30 * SECOND_MS..5 * MINUTE_MS),
        _ => rng.gen_range(5 * MINUTE_MS..20 * MINUTE_MS),
    }
}

/// Picks a page event for a browsing user.
fn pick_page(site: &Site, rng: &mut ChaCha8Rng) -> Pending {
    let (url, event) = match rng.gen_range(0..1000u32) {
        0..=299 => (site.statics.pick(rng), PageEvent::View),
        300..=499 => (site.threads.pick(rng), PageEvent::ThreadView),
        500..=529 => (site.threads.pick(rng), PageEvent::ForumPost),
        530..=609 => {
            let attempt = if rng.gen_bool(0.7) {
                1
            } else {
                rng.gen_range(2..=5)
            };
            (site.quizzes.pick(rng), PageEvent::QuizAttempt { attempt })
        }
        610..=689 => (site.wikis.pick(rng), PageEvent::WikiView),
        690..=699 => (site.wikis.pick(rng), PageEvent::WikiEdit),
        700..=799 => (site.downloads.pick(rng), PageEvent::Download),
        _ => (site.lectures.pick(rng), PageEvent::View),
    };
    Pending::Page { url, event }
}

/// After a lecture ended: picks the next lecture (or ends the session) and its delay.
fn next_lecture(session: &mut Session, site: &Site, rng: &mut ChaCha8Rng, t: u64) -> Option<u64> {
    session.left = session.left.saturating_sub(1);
    if session.left == 0 {
        return None;
    }
    let current = session.player.lecture;
    let history = &session.history;
    let (url, delay) = match rng.gen_range(0..100u32) {
        // Review it right away.
        0..=14 => (current, rng.gen_range(SECOND_MS..20 * SECOND_MS)),
        // Review an earlier lecture of this session.
        15..=24 if history.len() >= 2 => {
            let i = rng.gen_range(0..history.len() as u32 - 1) as usize;
            (history[i], rng.gen_range(5 * SECOND_MS..2 * MINUTE_MS))
        }
        25..=69 => (
            site.next_lecture(current)
                .unwrap_or_else(|| site.lectures.pick(rng)),
            rng.gen_range(3 * SECOND_MS..MINUTE_MS),
        ),
        _ => (
            site.lectures.pick(rng),
            rng.gen_range(5 * SECOND_MS..5 * MINUTE_MS),
        ),
    };
    let delay = match rng.gen_range(0..100u32) {
        0..=1 => LONG_PAUSE_MS,
        2..=4 => rng.gen_range(LONG_PAUSE_MS..2 * LONG_PAUSE_MS),
        _ => delay,
    };
    session.pending = Pending::OpenLecture { url };
    Some(t + delay)
}

/// The player is paused: the user resumes after a while, sometimes much later, or leaves.
fn schedule_after_pause(session: &mut Session, rng: &mut ChaCha8Rng, t: u64) -> Option<u64> {
    let delay = match rng.gen_range(0..1000u32) {
        0..=29 => return None,
        30..=44 => LONG_PAUSE_MS,
        45..=49 => LONG_PAUSE_MS - 1,
        50..=54 => LONG_PAUSE_MS + 1,
        55..=114 => rng.gen_range(LONG_PAUSE_MS + 1..6 * LONG_PAUSE_MS),
        115..=134 => 0,
        135..=334 => rng.gen_range(MINUTE_MS..10 * MINUTE_MS),
        _ => rng.gen_range(2 * SECOND_MS..MINUTE_MS),
    };
    session.pending = Pending::Video(VideoEvent::Play);
    Some(t + delay)
}

/// The player is playing: picks the next action, advances the position, returns its time.
fn schedule_while_playing(
    player: &mut Player,
    pending: &mut Pending,
    rng: &mut ChaCha8Rng,
    t: u64,
) -> u64 {
    let rate_percent = RATES[player.rate as usize].0;
    let remaining_ms = (player.duration_us.saturating_sub(player.pos_us)) / 10 / rate_percent;
    let delay = match rng.gen_range(0..100u32) {
        0..=4 => 0,
        5..=64 => rng.gen_range(3 * SECOND_MS..MINUTE_MS),
        _ => rng.gen_range(MINUTE_MS..5 * MINUTE_MS),
    };
    if delay >= remaining_ms {
        player.pos_us = player.duration_us;
        *pending = Pending::Video(VideoEvent::Ended);
        return t + remaining_ms;
    }
    player.pos_us += delay * 10 * rate_percent + rng.gen_range(0..1000);
    let event = match rng.gen_range(0..100u32) {
        0..=44 => VideoEvent::Pause,
        45..=74 => {
            let pos = player.pos_us;
            let to_us = if rng.gen_bool(0.6) {
                pos.saturating_sub(rng.gen_range(5 * VIDEO_SECOND_US..120 * VIDEO_SECOND_US))
            } else {
                (pos + rng.gen_range(10 * VIDEO_SECOND_US..300 * VIDEO_SECOND_US))
                    .min(player.duration_us.saturating_sub(VIDEO_SECOND_US))
            };
            VideoEvent::Seeked { to_us }
        }
        75..=89 => {
            let mut to = rng.gen_range(0..RATES.len() as u32) as u8;
            if to == player.rate {
                to = RATE_NORMAL;
            }
            VideoEvent::RateChange { to }
        }
        _ => VideoEvent::Waiting,
    };
    *pending = Pending::Video(event);
    t + delay
}

/// Writes the nested JSON of a page event into `value`; returns the event key.
fn page_value(
    site: &Site,
    url: u32,
    event: PageEvent,
    rng: &mut ChaCha8Rng,
    value: &mut Vec<u8>,
) -> &'static str {
    value.clear();
    let page = site.urls[url as usize].page;
    match (event, page) {
        (PageEvent::Login, _) => {
            value.extend_from_slice(b"{\"method\":\"");
            let method = LOGIN_METHODS[rng.gen_range(0..LOGIN_METHODS.len() as u32) as usize];
            value.extend_from_slice(method.as_bytes());
            value.extend_from_slice(b"\"}");
            "user.login"
        }
        (PageEvent::ThreadView | PageEvent::ForumPost, Page::Thread { id, title }) => {
            value.extend_from_slice(b"{\"thread_id\":");
            push_u64(value, u64::from(id));
            value.extend_from_slice(b",\"title\":\"");
            // Like Python's json.dumps, half of the producers escape everything non-ASCII.
            let ascii_only = id % 2 == 0;
            push_escaped(value, THREAD_TITLES[title as usize], ascii_only);
            value.push(b'"');
            if matches!(event, PageEvent::ForumPost) {
                value.extend_from_slice(b",\"post_length\":");
                push_u64(value, rng.gen_range(1..5_000));
                value.extend_from_slice(b",\"anonymous\":");
                value.extend_from_slice(if rng.gen_bool(0.1) { b"true" } else { b"false" });
                value.push(b'}');
                "user.forum.post"
            } else {
                value.push(b'}');
                "user.forum.thread.view"
            }
        }
        (PageEvent::QuizAttempt { attempt }, Page::Quiz { id }) => {
            value.extend_from_slice(b"{\"quiz_id\":");
            push_u64(value, u64::from(id));
            value.extend_from_slice(b",\"attempt\":");
            push_u64(value, u64::from(attempt));
            value.push(b'}');
            "user.quiz.attempt"
        }
        (PageEvent::QuizSubmit { attempt }, Page::Quiz { id }) => {
            value.extend_from_slice(b"{\"quiz_id\":");
            push_u64(value, u64::from(id));
            value.extend_from_slice(b",\"attempt\":");
            push_u64(value, u64::from(attempt));
            let score_tenths = rng.gen_range(0..=100u64);
            value.extend_from_slice(b",\"score\":");
            push_u64(value, score_tenths / 10);
            value.push(b'.');
            push_u64(value, score_tenths % 10);
            value.extend_from_slice(b",\"max_score\":10}");
            "user.quiz.submit"
        }
        (PageEvent::WikiView | PageEvent::WikiEdit, Page::Wiki { name }) => {
            value.extend_from_slice(b"{\"page\":\"");
            value.extend_from_slice(WIKI_PAGES[name as usize].as_bytes());
            value.push(b'"');
            if matches!(event, PageEvent::WikiEdit) {
                value.extend_from_slice(b",\"diff_chars\":");
                push_u64(value, rng.gen_range(1..2_000));
                value.push(b'}');
                "user.wiki.edit"
            } else {
                value.push(b'}');
                "user.wiki.view"
            }
        }
        (PageEvent::Download, Page::Download { id }) => {
            value.extend_from_slice(b"{\"lecture_id\":");
            push_u64(value, u64::from(id));
            value.extend_from_slice(b",\"format\":\"");
            let format = DOWNLOAD_FORMATS[rng.gen_range(0..DOWNLOAD_FORMATS.len() as u32) as usize];
            value.extend_from_slice(format.as_bytes());
            value.extend_from_slice(b"\"}");
            "user.lecture.download"
        }
        _ => {
            value.extend_from_slice(b"{}");
            "pageview"
        }
    }
}

/// Writes the nested JSON of a video event into `value`.
fn video_value(player: &Player, event: VideoEvent, value: &mut Vec<u8>) {
    value.clear();
    let (kind, current_us, prev_us, rate, paused) = match event {
        VideoEvent::Play => ("play", player.pos_us, player.prev_us, player.rate, false),
        VideoEvent::Pause => ("pause", player.pos_us, player.prev_us, player.rate, true),
        VideoEvent::Seeked { to_us } => {
            ("seeked", to_us, player.pos_us, player.rate, player.paused)
        }
        VideoEvent::RateChange { to } => (
            "ratechange",
            player.pos_us,
            player.prev_us,
            to,
            player.paused,
        ),
        VideoEvent::Waiting => ("waiting", player.pos_us, player.prev_us, player.rate, false),
        VideoEvent::Ended => (
            "ended",
            player.duration_us,
            player.prev_us,
            player.rate,
            true,
        ),
    };
    value.extend_from_slice(b"{\"currentTime\":");
    push_seconds(value, current_us);
    value.extend_from_slice(b",\"playbackRate\":");
    value.extend_from_slice(RATES[rate as usize].1.as_bytes());
    value.extend_from_slice(b",\"paused\":");
    value.extend_from_slice(if paused { b"true" } else { b"false" });
    value.extend_from_slice(b",\"type\":\"");
    value.extend_from_slice(kind.as_bytes());
    value.extend_from_slice(b"\",\"prevTime\":");
    push_seconds(value, prev_us);
    value.push(b'}');
}

/// True if `line[i]` starts a UTF-8 character (or `i` is the end).
fn is_char_boundary(line: &[u8], i: usize) -> bool {
    match line.get(i) {
        None => true,
        // Continuation bytes are 0b10xx_xxxx.
        Some(&b) => b & 0xc0 != 0x80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::HashMap;
    use tempfile::TempDir;

    fn args(dir: &TempDir, size: u64, seed: u64, bad_fraction: f64) -> ClicklogArgs {
        ClicklogArgs {
            size,
            seed,
            output: dir.path().join("out"),
            files: 4,
            gz_files: 1,
            bad_fraction,
            users: 40_000,
            urls: 3_000,
        }
    }

    fn generate(size: u64, seed: u64, bad_fraction: f64) -> (TempDir, GenSummary, Vec<u8>) {
        let dir = TempDir::new().unwrap();
        let summary = clicklog(&args(&dir, size, seed, bad_fraction)).unwrap();
        let bytes = super::super::tests::read_parts(&summary.files);
        (dir, summary, bytes)
    }

    fn lines(bytes: &[u8]) -> Vec<&str> {
        std::str::from_utf8(bytes)
            .unwrap()
            .split_terminator('\n')
            .collect()
    }

    #[test]
    fn deterministic_per_seed() {
        let (_d1, s1, a) = generate(300_000, 7, 0.01);
        let (_d2, s2, b) = generate(300_000, 7, 0.01);
        let (_d3, _, c) = generate(300_000, 8, 0.01);
        assert_eq!(a, b);
        assert_eq!(s1.lines, s2.lines);
        for (x, y) in s1.files.iter().zip(&s2.files) {
            assert_eq!(
                std::fs::read(x).unwrap(),
                std::fs::read(y).unwrap(),
                "{}",
                x.display()
            );
        }
        assert_ne!(a, c);
    }

    #[test]
    fn size_honoured_and_gz_decompresses() {
        let size = 1_000_000;
        let (_dir, summary, bytes) = generate(size, 1, 0.0);
        assert_eq!(bytes.len() as u64, summary.bytes);
        assert!(
            summary.bytes >= size && summary.bytes < size + 4096,
            "{}",
            summary.bytes
        );
        assert_eq!(lines(&bytes).len() as u64, summary.lines);
        assert_eq!(summary.files.len(), 4);
        assert!(
            summary.files[3]
                .to_str()
                .unwrap()
                .ends_with("part-00003.jsonl.gz")
        );
        assert!(
            summary.files[0]
                .to_str()
                .unwrap()
                .ends_with("part-00000.jsonl")
        );
        // Each file holds about a quarter.
        for file in &summary.files[..3] {
            let len = std::fs::metadata(file).unwrap().len();
            assert!((size / 4 - 4096..size / 4 + 4096).contains(&len), "{len}");
        }
    }

    #[test]
    fn every_line_is_valid_json_with_the_expected_shape() {
        let (_dir, _summary, bytes) = generate(10_000_000, 3, 0.0);
        let mut keys: HashMap<String, usize> = HashMap::new();
        let mut video_types: HashMap<String, usize> = HashMap::new();
        let (mut url_missing, mut url_null, mut odd_lecture, mut non_ascii) = (0, 0, 0, 0);
        let (mut ts_float, mut ts_string, mut user_missing) = (0, 0, 0);
        let mut last_ts = 0u64;
        let all = lines(&bytes);
        for line in &all {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let obj = v.as_object().unwrap();
            let key = obj["key"].as_str().unwrap();
            *keys.entry(key.to_owned()).or_default() += 1;
            let value: Value = serde_json::from_str(obj["value"].as_str().unwrap()).unwrap();
            assert!(value.is_object());
            if key == "user.video.lecture.action" {
                let kind = value["type"].as_str().unwrap();
                *video_types.entry(kind.to_owned()).or_default() += 1;
                assert!(value["currentTime"].as_f64().unwrap() >= 0.0);
            }
            match obj.get("username") {
                None => user_missing += 1,
                Some(Value::Null) => {}
                Some(u) => {
                    let u = u.as_str().unwrap();
                    assert_eq!(u.len(), 36);
                    assert!(u.bytes().all(|b| b.is_ascii_hexdigit()));
                }
            }
            match &obj["timestamp"] {
                Value::Number(n) if n.is_u64() => {
                    let ts = n.as_u64().unwrap();
                    assert!(ts >= last_ts, "timestamps go back: {ts} < {last_ts}");
                    assert!((1_370_000_000_000..1_400_000_000_000).contains(&ts));
                    last_ts = ts;
                }
                Value::Number(_) => ts_float += 1,
                Value::String(_) => ts_string += 1,
                other => panic!("timestamp {other}"),
            }
            match obj.get("page_url") {
                None => url_missing += 1,
                Some(Value::Null) => url_null += 1,
                Some(u) => {
                    let u = u.as_str().unwrap();
                    assert!(u.starts_with(HOST), "{u}");
                    if let Some((_, id)) = u.split_once("lecture_id=") {
                        odd_lecture += usize::from(id.parse::<u32>().is_err());
                    }
                }
            }
            non_ascii += usize::from(!line.is_ascii());
            for field in ["client", "session", "language", "user_ip", "12", "13"] {
                assert!(obj.contains_key(field), "{field} missing: {line}");
            }
        }
        let n = all.len();
        assert!(n > 4_000, "{n}");
        assert!(keys.len() >= 9, "{keys:?}");
        assert!(keys["user.video.lecture.action"] > n / 3, "{keys:?}");
        for kind in ["play", "pause", "seeked", "ratechange", "ended", "waiting"] {
            assert!(
                video_types.get(kind).copied().unwrap_or(0) > 0,
                "{video_types:?}"
            );
        }
        // 1% missing, 0.5% null, small but present irregularities.
        assert!(
            (n / 200..n / 50).contains(&url_missing),
            "{url_missing} of {n}"
        );
        assert!((n / 500..n / 100).contains(&url_null), "{url_null} of {n}");
        assert!(odd_lecture > 0 && ts_float > 0 && ts_string > 0 && user_missing > 0);
        assert!(non_ascii > n / 100, "{non_ascii}");
    }

    /// The cases a watch/review tagger must get right occur: gaps of exactly 30 minutes, equal
    /// timestamps, pauses longer than 30 minutes, and lectures watched more than once.
    #[test]
    fn per_user_sequences_have_the_interesting_cases() {
        let (_dir, _summary, bytes) = generate(8_000_000, 5, 0.0);
        let mut last: HashMap<String, (u64, String)> = HashMap::new();
        let (mut exact_30min, mut equal, mut long_gap, mut rewatch) = (0, 0, 0, 0);
        let mut watched: HashMap<(String, String), usize> = HashMap::new();
        for line in lines(&bytes) {
            let v: Value = serde_json::from_str(line).unwrap();
            let (Some(user), Some(ts)) = (v["username"].as_str(), v["timestamp"].as_u64()) else {
                continue;
            };
            let url = v["page_url"].as_str().unwrap_or("").to_owned();
            if v["key"] == "pageview" && url.contains("/lecture/view") {
                let n = watched.entry((user.to_owned(), url.clone())).or_default();
                *n += 1;
                rewatch += usize::from(*n == 2);
            }
            if let Some((prev, _)) = last.get(user) {
                let gap = ts - prev;
                exact_30min += usize::from(gap == LONG_PAUSE_MS);
                equal += usize::from(gap == 0);
                long_gap += usize::from(gap > LONG_PAUSE_MS);
            }
            last.insert(user.to_owned(), (ts, url));
        }
        assert!(exact_30min > 0, "no gap of exactly 30 minutes");
        assert!(equal > 0, "no equal timestamps");
        assert!(long_gap > 0, "no gaps over 30 minutes");
        assert!(rewatch > 0, "no lecture watched twice");
    }

    #[test]
    fn bad_fraction_roughly_right() {
        let (_dir, _summary, bytes) = generate(2_000_000, 9, 0.1);
        let all = lines(&bytes);
        let bad = all
            .iter()
            .filter(|l| serde_json::from_str::<Value>(l).is_err())
            .count();
        let fraction = bad as f64 / all.len() as f64;
        assert!((0.08..0.12).contains(&fraction), "{fraction}");
    }

    #[test]
    fn bad_arguments_rejected() {
        let dir = TempDir::new().unwrap();
        let mut a = args(&dir, 1000, 1, 1.5);
        assert!(clicklog(&a).is_err());
        a.bad_fraction = f64::NAN;
        assert!(clicklog(&a).is_err());
        a.bad_fraction = 0.0;
        a.gz_files = 5;
        assert!(clicklog(&a).is_err());
    }

    #[test]
    fn tiny_site_and_few_users_work() {
        let dir = TempDir::new().unwrap();
        let mut a = args(&dir, 200_000, 1, 0.0);
        a.users = 1;
        a.urls = 1;
        let summary = clicklog(&a).unwrap();
        let bytes = super::super::tests::read_parts(&summary.files);
        for line in lines(&bytes) {
            serde_json::from_str::<Value>(line).unwrap();
        }
    }
}
