//! Output that is complete or absent: tasks write under `DIR/_temporary/`;
//! only when every task succeeded are the parts moved into `DIR` and an empty
//! `_SUCCESS` written. On failure the directory is removed.

use crate::error::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// The marker of a complete output directory.
pub const SUCCESS: &str = "_SUCCESS";
/// Where tasks write before the commit.
pub const TEMPORARY: &str = "_temporary";
/// Where skipped records are kept.
pub const BAD_RECORDS: &str = "_bad_records";

/// An output directory being written.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    committed: bool,
}

impl OutputDir {
    /// Creates `dir` and `dir/_temporary`. An existing `dir` is an error,
    /// unless `overwrite`, in which case it is removed first.
    pub fn create(dir: &Path, overwrite: bool) -> Result<OutputDir> {
        if dir.exists() {
            if !overwrite {
                return Err(Error::OutputExists(dir.to_path_buf()));
            }
            let r = if dir.is_dir() {
                fs::remove_dir_all(dir)
            } else {
                fs::remove_file(dir)
            };
            r.map_err(|e| Error::io("removing old output", dir, e))?;
        }
        let tmp = dir.join(TEMPORARY);
        fs::create_dir_all(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary directory tasks write into.
    pub fn temporary(&self) -> PathBuf {
        self.dir.join(TEMPORARY)
    }

    /// Moves every file of `_temporary/` into place, then writes `_SUCCESS`.
    pub fn commit(mut self) -> Result<PathBuf> {
        let tmp = self.temporary();
        let entries = fs::read_dir(&tmp).map_err(|e| Error::io("listing", &tmp, e))?;
        for e in entries {
            let e = e.map_err(|e| Error::io("listing", &tmp, e))?;
            let to = self.dir.join(e.file_name());
            fs::rename(e.path(), &to).map_err(|err| Error::io("moving into place", &to, err))?;
        }
        fs::remove_dir(&tmp).map_err(|e| Error::io("removing", &tmp, e))?;
        let ok = self.dir.join(SUCCESS);
        fs::write(&ok, b"").map_err(|e| Error::io("writing", &ok, e))?;
        self.committed = true;
        Ok(self.dir.clone())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the run already failed with a better error.
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_existing_and_cleans_up_on_failure() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        assert!(matches!(
            OutputDir::create(&out, false),
            Err(Error::OutputExists(_))
        ));
        {
            let o = OutputDir::create(&out, true).unwrap();
            fs::write(o.temporary().join("part-00000"), "x").unwrap();
        } // dropped without commit
        assert!(!out.exists());
        let o = OutputDir::create(&out, false).unwrap();
        fs::write(o.temporary().join("part-00000"), "x").unwrap();
        o.commit().unwrap();
        assert!(out.join("part-00000").exists());
        assert!(out.join(SUCCESS).exists());
        assert!(!out.join(TEMPORARY).exists());
    }
}
