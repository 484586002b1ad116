//! `top_lectures`: the ten most viewed lectures, in two steps, to show (and
//! test) multi-step jobs.
//!
//! 1. **count**: each event on a lecture page (`.../lecture/view?lecture_id=N`)
//!    counts one view of lecture `[course, N]`, where `course` is the URL
//!    before `/lecture/view`; combiner and reducer sum.
//! 2. **select**: every `(lecture, views)` record goes to one key (`null`);
//!    the combiner keeps a local top ten (a top ten of top tens is the top
//!    ten: associative), the reducer emits the global top ten, most viewed
//!    first, ties broken by the lecture in ascending order.
//!
//! Output: `[course, lecture_id]<TAB>views`, ten lines, most viewed first.

use mr_core::reducers::Sum;
use mr_core::{Emitter, Job, JobError, Json, Mapper, Reducer, Step, Values};
use mr_jobs::video_tagging::{Event, lecture_id};

/// How many lectures the job keeps.
pub const TOP: usize = 10;

/// A lecture: the course URL and the lecture id.
pub type Lecture = (String, u64);

/// The job.
pub struct TopLectures;

impl Job for TopLectures {
    fn name(&self) -> &str {
        "top_lectures"
    }
    fn description(&self) -> &str {
        "The ten most viewed lectures (a two-step example: count, then select)."
    }
    fn steps(&self) -> Vec<Step> {
        vec![
            Step::map(LectureViews)
                .combine(Sum::new())
                .reduce(Sum::new()),
            Step::map(ToOneKey).combine(TopTen).reduce(TopTenOut),
        ]
    }
}

/// Step 1's mapper: `(lecture, 1)` per event on a lecture page.
#[derive(Clone, Copy)]
pub struct LectureViews;

impl Mapper for LectureViews {
    type Input<'a> = Json<Event<'a>>;
    type Key = Lecture;
    type Value = u64;

    fn map(
        &mut self,
        Json(e): Json<Event<'_>>,
        out: &mut Emitter<Lecture, u64>,
    ) -> Result<(), JobError> {
        let Some(url) = e.page_url() else {
            return Ok(());
        };
        if let Ok(id) = lecture_id(url) {
            let path = url.split(['?', '#']).next().unwrap_or(url);
            let course = path.strip_suffix("/lecture/view").unwrap_or(path);
            out.emit(&(course.to_string(), id), 1)?;
        }
        Ok(())
    }
}

/// Step 2's mapper: every `(lecture, views)` to the single key `()` (`null`).
#[derive(Clone, Copy)]
pub struct ToOneKey;

impl Mapper for ToOneKey {
    type Input<'a> = (Lecture, u64);
    type Key = ();
    type Value = (u64, Lecture);

    fn map(
        &mut self,
        (lecture, views): (Lecture, u64),
        out: &mut Emitter<(), (u64, Lecture)>,
    ) -> Result<(), JobError> {
        out.emit(&(), (views, lecture))
    }
}

/// Keeps the [`TOP`] most viewed: as a combiner it emits `(views, lecture)`
/// records, as a reducer `lecture -> views` lines, most viewed first.
#[derive(Clone, Copy)]
pub struct TopTen;

fn top(values: Values<'_, (u64, Lecture)>) -> Vec<(u64, Lecture)> {
    let mut best: Vec<(u64, Lecture)> = Vec::with_capacity(TOP + 1);
    for v in values {
        best.push(v);
        if best.len() > 4 * TOP {
            best.sort_by(rank);
            best.truncate(TOP);
        }
    }
    best.sort_by(rank);
    best.truncate(TOP);
    best
}

fn rank(a: &(u64, Lecture), b: &(u64, Lecture)) -> std::cmp::Ordering {
    b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1))
}

impl Reducer for TopTen {
    type Key = ();
    type Value = (u64, Lecture);
    type OutKey = ();
    type OutValue = (u64, Lecture);

    fn reduce(
        &mut self,
        key: (),
        values: Values<'_, (u64, Lecture)>,
        out: &mut Emitter<(), (u64, Lecture)>,
    ) -> Result<(), JobError> {
        for v in top(values) {
            out.emit(&key, v)?;
        }
        Ok(())
    }
}

/// The final reducer: the global top ten as `lecture -> views`.
#[derive(Clone, Copy)]
pub struct TopTenOut;

impl Reducer for TopTenOut {
    type Key = ();
    type Value = (u64, Lecture);
    type OutKey = Lecture;
    type OutValue = u64;

    fn reduce(
        &mut self,
        _: (),
        values: Values<'_, (u64, Lecture)>,
        out: &mut Emitter<Lecture, u64>,
    ) -> Result<(), JobError> {
        for (views, lecture) in top(values) {
            out.emit(&lecture, views)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mr_core::testing::run_in_memory;

    fn view(course: &str, id: u64) -> String {
        format!(
            r#"{{"page_url": "https://m.org/{course}/lecture/view?lecture_id={id}", "username": "u"}}"#
        )
    }

    #[test]
    fn top_ten_most_viewed_first_ties_by_lecture() {
        let mut lines = Vec::new();
        // Lecture i of course-a gets i views, for i in 1..=12; course-b 5 gets 9.
        for i in 1..=12u64 {
            for _ in 0..i {
                lines.push(view("course-a", i));
            }
        }
        for _ in 0..9 {
            lines.push(view("course-b", 5));
        }
        lines.push(r#"{"page_url": "https://m.org/course-a/quiz/attempt?quiz_id=1"}"#.to_string());
        lines.push(r#"{"page_url": null}"#.to_string());
        let (out, _) = run_in_memory(&TopLectures, &lines).unwrap();
        let want: Vec<String> = [
            ("course-a", 12, 12),
            ("course-a", 11, 11),
            ("course-a", 10, 10),
            ("course-a", 9, 9),
            ("course-b", 5, 9),
            ("course-a", 8, 8),
            ("course-a", 7, 7),
            ("course-a", 6, 6),
            ("course-a", 5, 5),
            ("course-a", 4, 4),
        ]
        .iter()
        .map(|(c, id, n)| format!("[\"https://m.org/{c}\",{id}]\t{n}"))
        .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn laws() {
        // Both steps, on values recorded from lines like the shipped logs.
        let mut lines = Vec::new();
        for i in 0..60u64 {
            lines.push(view(
                if i % 3 == 0 { "course-a" } else { "course-b" },
                i % 13,
            ));
        }
        mr_core::laws::assert_job_laws(&TopLectures, &lines);
    }
}
